"""The catalogue of GAMA's language (``catalogue.json``, written by scripts/extract_gaml_catalogue.py
from GAMA's Java annotations; it names the GAMA commit), and the checker's :class:`Problem`."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CATALOGUE_PATH", "Catalogue", "Problem", "load_catalogue"]

CATALOGUE_PATH = Path(__file__).with_name("catalogue.json")

#: OrdinalAttributeDeclaration.java @facets), used when the catalogue has no "declarations" key
_FALLBACK_DECLARATION_FACETS = {
    "name", "type", "of", "index", "init", "value", "update", "function", "const", "category", "parameter",
    "on_change", "among", "min", "max", "step", "size", "fill_with",
}




@dataclass(frozen=True, order=True)
class Problem:
    """One problem at ``line``:``column`` (1-based)."""

    line: int
    column: int
    message: str

    def format(self, path: str) -> str:
        return f"{path}:{self.line}:{self.column}: {self.message}"



class Catalogue:
    """The parts of ``catalogue.json`` the checker reads, with derived indexes."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.gama_commit: str = data.get("gama_commit", "")
        self.statements: dict[str, dict] = data.get("statements", {})
        self.operators: dict[str, dict] = data.get("operators", {})
        self.types: dict[str, dict] = data.get("types", {})
        self.skills: dict[str, dict] = data.get("skills", {})
        self.builtin_attributes: dict[str, dict] = data.get("builtin_attributes", {})
        self.builtin_actions: dict[str, dict] = data.get("builtin_actions", {})
        self.constants: dict[str, dict] = data.get("constants", {})
        self.type_attributes: dict[str, dict] = data.get("type_attributes", {})
        self.kind_codes: dict[str, int] = data.get("symbol_kinds", {})
        decl = data.get("declarations") or {}
        facets: set[str] = set()
        for entry in decl.values():
            facets.update(entry.get("facets", {}))
        self.declaration_facets: set[str] = facets or set(_FALLBACK_DECLARATION_FACETS)
        # every attribute / action name that exists somewhere (for receivers of unknown type)
        skill_attributes = [sk.get("attributes", {}) for sk in self.skills.values()]
        action_tables = [*self.builtin_actions.values(), *(sk.get("actions", {}) for sk in self.skills.values())]
        self.all_builtin_attributes = _keys_of(
            [*self.builtin_attributes.values(), *self.type_attributes.values(), *skill_attributes]
        )
        self.all_builtin_actions = _keys_of(action_tables)
        self.all_builtin_action_args = _keys_of([act.get("args", {}) for table in action_tables for act in table.values()])

    def kind_code(self, kind: str | None) -> int | None:
        return self.kind_codes.get(kind) if kind else None

    def builtin_action(self, name: str) -> dict | None:
        for table in self.builtin_actions.values():
            if name in table:
                return table[name]
        for sk in self.skills.values():
            if name in sk.get("actions", {}):
                return sk["actions"][name]
        return None


def _keys_of(tables: list[dict[str, Any]]) -> frozenset[str]:
    """Every name that is a key of one of ``tables``."""
    return frozenset(name for table in tables for name in table)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read ``catalogue.json`` (the shipped one by default)."""
    return _load(str(path or CATALOGUE_PATH))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Catalogue:
    with open(path, encoding="utf-8") as f:
        return Catalogue(json.load(f))

