"""Check GAML names the way GAMA's validator does, from the catalogue extracted from GAMA's sources.

``check_text(text)`` / ``check_file(path)`` return a list of :class:`Problem` (line, column, message):
a syntax error (from :mod:`.parser`), then, on a tree that parsed, every

* statement keyword that GAMA does not know (nor a type or species, which make a declaration), a facet
  that the statement does not take, a required facet that is missing, a statement where GAMA does not
  allow it (``@inside``);
* built-in operator that does not exist, or called with a number of operands it does not take;
* type, skill, ``#constant`` / unit that does not exist;
* name that is not in scope: locals (declared before use), loop variables, action arguments, the
  attributes and actions of the current agent (its own, its parents', its skills', the built-in ones of
  agents / grids / the world / experiments), the global ones, species and experiment names;
* action called with ``do`` that the agent does not have, or an argument it does not take;
* member ``a.b`` that the type of ``a`` does not have (when that type is known; otherwise ``b`` must be
  an attribute of something).

The catalogue (``catalogue.json``, written by scripts/extract_gaml_catalogue.py) names the GAMA commit.
Where the static type of an expression is not known (an ``ask`` of a computed list, say) the checker
accepts any attribute that exists somewhere, as GAMA would accept it once typed: it refuses only names
that exist nowhere.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Token, Tree

from .parser import GamlSyntaxError, parse

__all__ = ["Problem", "Catalogue", "load_catalogue", "check_text", "check_file", "check_tree", "CATALOGUE_PATH"]

log = logging.getLogger(__name__)

CATALOGUE_PATH = Path(__file__).with_name("catalogue.json")

#: facet value types whose expression is a name being defined or a label, not a name to look up
_NAME_FACET_TYPES = {"id", "label", "new_temp_id", "new_var_id"}
#: facets of an attribute declaration (GAMA: gama.api/.../variables/AttributeDeclaration.java and
#: OrdinalAttributeDeclaration.java @facets), used when the catalogue has no "declarations" key
_FALLBACK_DECLARATION_FACETS = {
    "name", "type", "of", "index", "init", "value", "update", "function", "const", "category", "parameter",
    "on_change", "among", "min", "max", "step", "size", "fill_with",
}


#: one-operand types that take several operands gathered into a list
_LIST_OPERANDS = {"container", "list", "unknown"}


@dataclass(frozen=True, order=True)
class Problem:
    """One problem at ``line``:``column`` (1-based)."""

    line: int
    column: int
    message: str

    def format(self, path: str) -> str:
        return f"{path}:{self.line}:{self.column}: {self.message}"


# ----------------------------------------------------------------------------------------- catalogue
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
        names: set[str] = set()
        for table in self.builtin_attributes.values():
            names.update(table)
        for table in self.type_attributes.values():
            names.update(table)
        for sk in self.skills.values():
            names.update(sk.get("attributes", {}))
        self.all_builtin_attributes = frozenset(names)
        acts: set[str] = set()
        for table in self.builtin_actions.values():
            acts.update(table)
        for sk in self.skills.values():
            acts.update(sk.get("actions", {}))
        self.all_builtin_actions = frozenset(acts)
        args: set[str] = set()
        for table in list(self.builtin_actions.values()) + [sk.get("actions", {}) for sk in self.skills.values()]:
            for act in table.values():
                args.update(act.get("args", {}))
        self.all_builtin_action_args = frozenset(args)

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


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read ``catalogue.json`` (the shipped one by default)."""
    return _load(str(path or CATALOGUE_PATH))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Catalogue:
    with open(path, encoding="utf-8") as f:
        return Catalogue(json.load(f))


# ----------------------------------------------------------------------------------------- model table
@dataclass
class ActionInfo:
    name: str
    args: set[str] | None  # None: not known (accept any)


@dataclass
class SpeciesInfo:
    """A species, grid, the global section or an experiment, with what it declares."""

    name: str
    kind: str  # species | grid | global | experiment | class | skill
    host: SpeciesInfo | None = None
    parent: str | None = None
    skills: list[str] = field(default_factory=list)
    attrs: dict[str, str | None] = field(default_factory=dict)  # name -> declared type text
    mirrors: bool = False  # `mirrors:` species get a `target` attribute
    actions: dict[str, ActionInfo] = field(default_factory=dict)
    line: int = 0


def _tok(node: Any) -> Token | None:
    return node if isinstance(node, Token) else None


def _trees(node: Tree, name: str | None = None) -> list[Tree]:
    return [c for c in node.children if isinstance(c, Tree) and (name is None or c.data == name)]


def _pos(node: Any) -> tuple[int, int]:
    if isinstance(node, Token):
        return node.line or 1, node.column or 1
    if isinstance(node, Tree):
        meta = node.meta
        if not getattr(meta, "empty", True):
            return meta.line, meta.column
        for c in node.children:
            p = _pos(c)
            if p != (0, 0):
                return p
    return 0, 0


def _valid_id(node: Any) -> str:
    """Text of a valid_id tree (or a token)."""
    if isinstance(node, Token):
        return str(node)
    if isinstance(node, Tree) and node.data == "valid_id":
        return str(node.children[0])
    raise TypeError(node)


def _type_text(node: Tree) -> str:
    """`list<point>` from a typeref / typed_head / type_expr tree."""
    name = _valid_id(node.children[0])
    infos = _trees(node, "typeinfo")
    if not infos:
        return name
    params = [_type_text(t) for t in _trees(infos[0], "typeref")]
    return f"{name}<{','.join(params)}>"


def _split_type(text: str | None) -> tuple[str | None, list[str]]:
    if not text:
        return None, []
    if "<" not in text:
        return text, []
    base, rest = text.split("<", 1)
    rest = rest[:-1]
    depth, cur, parts = 0, "", []
    for ch in rest:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "<"
        depth -= ch == ">"
        cur += ch
    parts.append(cur)
    return base, parts


def _facets(stmt: Tree) -> list[Tree]:
    return [c for c in stmt.children if isinstance(c, Tree) and c.data.startswith("facet")]


def _facet_name(f: Tree) -> str:
    if f.data == "facet":
        return str(f.children[0])[:-1]
    if f.data == "facet_arrow":
        return "<-"
    if f.data == "facet_function":
        return "->"
    return str(f.children[0])[:-1]  # facet_action


def _facet_expr(f: Tree) -> Any:
    kids = [c for c in f.children if not (isinstance(c, Token) and c.type in ("FACET", "ACTION_FACET", "LFUNC"))]
    return kids[0] if kids else None


def _canonical_facet(keyword: str, name: str) -> str:
    if name == "<-":
        return "value" if keyword in ("let", "set") else "init"
    if name == "->":
        return "function"
    return name


def _generic_parts(stmt: Tree) -> tuple[str, Tree | None, Any, list[Tree], Tree | None]:
    """(keyword, typed_head or None, expression or None, facets, block) of a `generic` statement."""
    head = stmt.children[0]
    typed = head if isinstance(head, Tree) and head.data == "typed_head" else None
    keyword = _valid_id(typed.children[0]) if typed is not None else str(head)
    expr = None
    rest = stmt.children[1:]
    if rest and not (isinstance(rest[0], Tree) and (rest[0].data.startswith("facet") or rest[0].data == "block")):
        expr = rest[0]
    facets = _facets(stmt)
    blocks = _trees(stmt, "block")
    return keyword, typed, expr, facets, blocks[0] if blocks else None


def _declared_name(expr: Any) -> str | None:
    """The name in a declaration's expression slot: `x` (a var_ref) or `"x"` (a string)."""
    if isinstance(expr, Tree):
        if expr.data == "var_ref":
            return _valid_id(expr.children[0])
        if expr.data == "literal" and expr.children[0].type == "STRING":
            return str(expr.children[0])[1:-1]
    return None


# ----------------------------------------------------------------------------------------- the checker
@dataclass
class _Ctx:
    agent: SpeciesInfo | None  # None: not known statically
    myself: SpeciesInfo | None
    parent_keyword: str
    parent_kinds: frozenset[int]
    locals: list[dict[str, str | None]]
    in_display: bool = False
    extra_in: frozenset[str] = frozenset()  # the parent's skills / control (for `state` in an fsm species)

    def child(self, **kw: Any) -> _Ctx:
        d = dict(self.__dict__)
        d["locals"] = self.locals + [{}]
        d.update(kw)
        return _Ctx(**d)


class Checker:
    """Checks one parsed model against a catalogue; ``problems`` holds the result."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.cat = catalogue
        self.problems: set[Problem] = set()
        self.species: dict[str, SpeciesInfo] = {}
        self.experiments: dict[str, SpeciesInfo] = {}
        self.world = SpeciesInfo("world", "global")
        self.all_attrs: set[str] = set()
        self.all_actions: dict[str, set[str] | None] = {}
        self.aliases: set[str] = set()  # `import "m.gaml" as alias`
        self._pre_species: set[str] = set()
        self.model_names: set[str] = set()

    # ---------------------------------------------------------------- reporting
    def error(self, node: Any, message: str) -> None:
        line, col = _pos(node)
        self.problems.add(Problem(line or 1, col or 1, message))

    # ---------------------------------------------------------------- pass 1: declarations
    def collect(self, tree: Tree, base_dir: Path | None = None, _seen: set[str] | None = None) -> None:
        """Gather species, experiments, attributes and actions (imported models' too)."""
        seen = _seen if _seen is not None else set()
        for sub in tree.iter_subtrees():
            if sub.data in ("species_", "other_section"):
                name = _valid_id(_trees(sub, "valid_id")[0])
                self.species.setdefault(name, SpeciesInfo(name, "species"))
                self._pre_species.add(name)
        imports: list[tuple[Tree, str]] = [(imp, str(imp.children[0])[1:-1]) for imp in _trees(tree, "import_")]
        for imp in _trees(tree, "import_"):
            alias = _trees(imp, "valid_id")
            if alias:
                self.aliases.add(_valid_id(alias[0]))
        if tree.data == "experiment_file":  # `experiment e model: "file.gaml"`: the model it runs
            for f in _facets(tree.children[0]):
                e = _facet_expr(f)
                if _facet_name(f) == "model" and isinstance(e, Tree) and e.data == "literal":
                    imports.append((f, str(e.children[0])[1:-1]))
        for imp, rel in imports:
            if base_dir is None:
                continue
            path = (base_dir / rel).resolve()
            if str(path) in seen:
                continue
            seen.add(str(path))
            try:
                sub_tree = parse(path.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                self.error(imp, f"imported file not found: {rel}")
                continue
            except GamlSyntaxError as e:
                self.error(imp, f"imported file {rel} has a syntax error at {e.line}:{e.column}")
                continue
            self.collect(sub_tree, path.parent, seen)
        if tree.data == "start":
            self.model_names.add(_valid_id(_trees(tree, "valid_id")[0]))
        self._collect_sections(tree)

    def _collect_sections(self, tree: Tree) -> None:
        for sec in tree.children:
            if not isinstance(sec, Tree):
                continue
            if sec.data == "global_":
                for f in _facets(sec):
                    e = _facet_expr(f)
                    if _facet_name(f) == "parent" and isinstance(e, Tree) and e.data == "var_ref":
                        self.world.parent = _valid_id(e.children[0])  # e.g. `global parent: physical_world`
                self._collect_body(self.world, sec)
                self.world.skills += self._skills_of(sec)
            elif sec.data in ("species_", "other_section"):
                self._collect_species(sec, self.world)
            elif sec.data == "experiment_":
                self._collect_experiment(sec)
        for sp in list(self.species.values()) + list(self.experiments.values()) + [self.world]:
            self.all_attrs.update(sp.attrs)
            for a in sp.actions.values():
                prev = self.all_actions.get(a.name, set())
                self.all_actions[a.name] = None if prev is None or a.args is None else prev | a.args

    def _skills_of(self, sec: Tree) -> list[str]:
        out = []
        for f in _facets(sec):
            if _facet_name(f) in ("skills", "control"):
                e = _facet_expr(f)
                for v in (e.iter_subtrees() if isinstance(e, Tree) else []):
                    if v.data == "var_ref":
                        out.append(_valid_id(v.children[0]))
        return out

    def _collect_species(self, sec: Tree, host: SpeciesInfo) -> None:
        if sec.data == "species_":
            kind = str(sec.children[0].children[0])
        else:
            kind = str(sec.children[0])
        name = _valid_id(_trees(sec, "valid_id")[0])
        sp = SpeciesInfo(name, kind, host=host, line=_pos(sec)[0])
        for f in _facets(sec):
            if _facet_name(f) == "parent":
                e = _facet_expr(f)
                if isinstance(e, Tree) and e.data == "var_ref":
                    sp.parent = _valid_id(e.children[0])
        sp.skills = self._skills_of(sec)
        sp.mirrors = any(_facet_name(f) == "mirrors" for f in _facets(sec))
        if name in self._pre_species:  # the placeholder of the first pass
            self._pre_species.discard(name)
            self.species[name] = sp
        elif name in self.species:  # the same species in an imported model: GAMA merges them
            old = self.species[name]
            old.skills += sp.skills
            old.parent = old.parent or sp.parent
            old.mirrors = old.mirrors or sp.mirrors
            sp = old
        else:
            self.species[name] = sp
        self._collect_body(sp, sec)

    def _collect_experiment(self, sec: Tree) -> None:
        name_node = [c for c in sec.children if (isinstance(c, Tree) and c.data == "valid_id")
                     or (isinstance(c, Token) and c.type == "STRING")][0]
        name = _valid_id(name_node) if isinstance(name_node, Tree) else str(name_node)[1:-1]
        sp = SpeciesInfo(name, "experiment", host=self.world, line=_pos(sec)[0])
        for f in _facets(sec):
            if _facet_name(f) == "parent":
                e = _facet_expr(f)
                if isinstance(e, Tree) and e.data == "var_ref":
                    sp.parent = _valid_id(e.children[0])
        sp = self.experiments.setdefault(name, sp)  # an experiment of the same name in an import: merged
        self._collect_body(sp, sec)

    def _collect_body(self, sp: SpeciesInfo, sec: Tree) -> None:
        blocks = _trees(sec, "block")
        if not blocks:
            return
        for st in blocks[0].children:
            if not isinstance(st, Tree):
                continue
            if st.data == "generic":
                decl = self._declaration(st)
                if decl is not None:
                    sp.attrs[decl[0]] = decl[1]
            elif st.data in ("action_", "method_"):
                name = _valid_id(_trees(st, "valid_id")[0])
                args = {_valid_id(_trees(a, "valid_id")[0]) for ad in _trees(st, "arg_defs") for a in _trees(ad, "arg_def")}
                for inner in (_trees(_trees(st, "block")[0]) if _trees(st, "block") else []):
                    if inner.data == "generic" and _generic_parts(inner)[0] == "arg":
                        n = _declared_name(_generic_parts(inner)[2])
                        if n:
                            args.add(n)
                sp.actions[name] = ActionInfo(name, args)
            elif st.data in ("species_", "other_section"):
                self._collect_species(st, sp)

    def _is_type(self, name: str) -> bool:
        return name in self.cat.types or name in self.species or name in ("var", "const") or name in self.aliases

    def _declaration(self, st: Tree) -> tuple[str, str | None] | None:
        """(name, type) if this generic statement declares an attribute / a local."""
        keyword, typed, expr, facets, block = _generic_parts(st)
        if typed is not None:
            name = _declared_name(expr)
            return (name, _type_text(typed)) if name else None
        if keyword in self.cat.statements and not (keyword in self.cat.types and _declared_name(expr)):
            return None
        if not self._is_type(keyword):
            return None
        name = _declared_name(expr)
        if name is None:
            for f in facets:
                if _facet_name(f) == "name":
                    name = _declared_name(_facet_expr(f))
        if name is None:
            return None
        typ: str | None = keyword
        if keyword in ("var", "const"):
            typ = None
            for f in facets:
                if _facet_name(f) == "type":
                    e = _facet_expr(f)
                    typ = self._expr_type_text(e)
        return name, typ

    def _expr_type_text(self, e: Any) -> str | None:
        if isinstance(e, Tree):
            if e.data == "var_ref":
                return _valid_id(e.children[0])
            if e.data in ("type_expr", "typeref"):
                return _type_text(e)
        return None

    # ---------------------------------------------------------------- lookups
    def _lineage(self, sp: SpeciesInfo | None) -> list[SpeciesInfo]:
        out, seen = [], set()
        while sp is not None and id(sp) not in seen:
            seen.add(id(sp))
            out.append(sp)
            parent = self.species.get(sp.parent) or self.experiments.get(sp.parent) if sp.parent else None
            sp = parent
        return out

    def _builtin_tables(self, sp: SpeciesInfo, table: dict[str, dict]) -> list[dict]:
        keys = ["agent"]
        if sp.kind == "grid":
            keys.append("grid")
        if sp.kind == "global":
            keys += ["model", "global"]
        if sp.kind == "experiment":
            keys.append("experiment")
        for s in self._lineage(sp):
            if s.parent and s.parent in table:
                keys.append(s.parent)
        out = [table[k] for k in keys if k in table]
        for s in self._lineage(sp):
            for sk in s.skills:
                if sk in self.cat.skills:
                    out.append(self.cat.skills[sk].get("attributes" if table is self.cat.builtin_attributes
                                                       else "actions", {}))
        return out

    def attr_of(self, sp: SpeciesInfo, name: str) -> tuple[bool, str | None]:
        for s in self._lineage(sp):
            if name in s.attrs:
                return True, s.attrs[name]
        micro = self.species.get(name)
        if micro is not None and (micro.host is sp or sp is self.world):  # a population is its host's attribute
            return True, f"species<{name}>"
        if name in ("members", "agents") or (name == "target" and any(s.mirrors for s in self._lineage(sp))):
            return True, None
        for t in self._builtin_tables(sp, self.cat.builtin_attributes):
            if name in t:
                return True, t[name] if isinstance(t[name], str) else None
        return False, None

    def action_of(self, sp: SpeciesInfo, name: str) -> tuple[bool, set[str] | None]:
        for s in self._lineage(sp):
            if name in s.actions:
                return True, s.actions[name].args
        for t in self._builtin_tables(sp, self.cat.builtin_actions):
            if name in t:
                return True, set(t[name].get("args", {}))
        return False, None

    def _hosts(self, ctx: _Ctx) -> list[SpeciesInfo]:
        out = []
        sp = ctx.agent
        while sp is not None:
            out.append(sp)
            sp = sp.host
        if self.world not in out:
            out.append(self.world)
        return out

    def resolve(self, name: str, ctx: _Ctx) -> tuple[bool, str | None]:
        """Is `name` a value in scope? (found, declared type)"""
        for frame in reversed(ctx.locals):
            if name in frame:
                return True, frame[name]
        if ctx.agent is None:
            if name in self.all_attrs or name in self.cat.all_builtin_attributes:
                return True, None
        for sp in self._hosts(ctx):
            found, typ = self.attr_of(sp, name)
            if found:
                return True, typ
        if name in self.species:
            return True, f"species<{name}>"
        if name in self.experiments or name in self.cat.types or name in self.cat.skills or name in self.aliases \
                or (name.endswith("_model") and name[:-6] in self.model_names):
            return True, None
        if name in self.cat.builtin_attributes or name in ("world", "simulation", "experiment", "gama"):
            return True, name
        op = self.cat.operators.get(name)
        if op is not None and 0 in op.get("arities", []):
            return True, None
        if self.find_action(name, ctx)[0]:  # an action passed as a value (`wizard("w", my_action, ...)`)
            return True, "action"
        return False, None

    def find_action(self, name: str, ctx: _Ctx, target: SpeciesInfo | None | str = "ctx") -> tuple[bool, set[str] | None]:
        if target == "ctx":
            if ctx.agent is None:
                return self._any_action(name)
            for sp in self._hosts(ctx):
                found, args = self.action_of(sp, name)
                if found:
                    return True, args
            return False, None
        if target is None or isinstance(target, str):
            return self._any_action(name)
        return self.action_of(target, name)

    def _any_action(self, name: str) -> tuple[bool, set[str] | None]:
        if name in self.all_actions:
            return True, self.all_actions[name]
        args: set[str] | None = None
        tables = list(self.cat.builtin_actions.values()) + [sk.get("actions", {}) for sk in self.cat.skills.values()]
        for table in tables:  # an agent of unknown species: any built-in action of that name
            if name in table:
                args = (args or set()) | set(table[name].get("args", {}))
        return (True, args) if args is not None else (False, None)

    # ---------------------------------------------------------------- static types (just enough)
    def species_of_type(self, typ: str | None) -> SpeciesInfo | None:
        base, params = _split_type(typ)
        if base is None:
            return None
        if base in self.species:
            return self.species[base]
        if base in ("list", "container", "species") and params:
            return self.species_of_type(params[-1])
        if base in ("world", "global"):
            return self.world
        return None

    def infer(self, e: Any, ctx: _Ctx) -> str | None:
        """A type text for `e` when it is cheap to know (a declared name, a species, self...)."""
        if isinstance(e, Tree):
            if e.data == "var_ref":
                name = _valid_id(e.children[0])
                if name in ("world", "simulation"):
                    return "world"
                found, typ = self.resolve(name, ctx)
                return typ if found else None
            if e.data == "literal":
                tok = e.children[0]
                if tok.type == "KEYWORD" and str(tok) == "self" and ctx.agent is not None:
                    return ctx.agent.name if ctx.agent.kind != "global" else "world"
                if tok.type == "KEYWORD" and str(tok) == "myself" and ctx.myself is not None:
                    return ctx.myself.name if ctx.myself.kind != "global" else "world"
                return None
            if e.data == "index":
                base, params = _split_type(self.infer(e.children[0], ctx))
                if base in ("list", "species", "container") and params:
                    return params[-1]
                return None
            if e.data == "point_lit":
                return "point"
            if e.data == "function":
                name = _valid_id(e.children[0])
                if name in self.species:
                    return name
                if name in ("one_of", "first", "last", "any") and _trees(e, "exprlist"):
                    base, params = _split_type(self.infer(_trees(e, "exprlist")[0].children[0], ctx))
                    if base in ("list", "species", "container") and params:
                        return params[-1]
                return None
            if e.data == "binary":
                op = _valid_id(e.children[1])
                if op in ("where", "select", "sort_by", "among", "reverse", "shuffle"):
                    return self.infer(e.children[0], ctx)
                if op in ("first_with", "last_with", "one_of", "with_min_of", "with_max_of", "closest_to"):
                    base, params = _split_type(self.infer(e.children[0], ctx))
                    if base in ("list", "species", "container") and params:
                        return params[-1]
                return None
            if e.data == "paren" and len(e.children[0].children) == 1:
                return self.infer(e.children[0].children[0], ctx)
        return None

    # ---------------------------------------------------------------- pass 2: checks
    def check(self, tree: Tree) -> None:
        model_kinds = self._codes("MODEL", "SPECIES")
        root = _Ctx(self.world, None, "model", model_kinds, [{}])
        if tree.data == "experiment_file":
            self.check_experiment(tree.children[0], root.child(parent_keyword="experiment file"))
            return
        for sec in tree.children:
            if not isinstance(sec, Tree):
                continue
            if sec.data == "global_":
                self.check_facets("global", _facets(sec), sec, root)
                self.check_block(sec, root.child(parent_keyword="global", extra_in=frozenset(self.world.skills)))
            elif sec.data == "species_":
                self.check_species(sec, root)
            elif sec.data == "other_section":
                kw = str(sec.children[0])
                if kw not in ("class", "skill"):
                    self.error(sec.children[0], f"unknown section '{kw}' (expected global, species, grid or experiment)")
                self.check_species(sec, root)
            elif sec.data == "experiment_":
                self.check_experiment(sec, root)

    def _codes(self, *kinds: str | None) -> frozenset[int]:
        return frozenset(c for c in (self.cat.kind_code(k) for k in kinds) if c is not None)

    def _stmt_kinds(self, keyword: str) -> frozenset[int]:
        st = self.cat.statements.get(keyword) or {}
        return self._codes(*(st.get("kinds") or [st.get("kind")]))

    def check_inside(self, keyword: str, node: Any, ctx: _Ctx) -> None:
        st = self.cat.statements.get(keyword)
        if not st:
            return
        allowed = st.get("in") or []
        if not allowed:
            return
        if ctx.parent_keyword in allowed or any(self.cat.kind_code(k) in ctx.parent_kinds for k in allowed):
            return
        if ctx.extra_in & set(allowed):
            return
        self.error(node, f"'{keyword}' is not allowed in '{ctx.parent_keyword}'")

    def check_species(self, sec: Tree, ctx: _Ctx) -> None:
        if sec.data == "species_":
            kind = str(sec.children[0].children[0])
        else:
            kind = str(sec.children[0])
        name = _valid_id(_trees(sec, "valid_id")[0])
        if ctx.in_display:
            layer = "species_layer" if kind == "species" else "display_grid"
            self.check_inside(layer, sec, ctx)
            sp = self.species.get(name)
            self.check_facets(layer, _facets(sec), sec, ctx.child(agent=sp) if sp else ctx, skip_values={"aspect"})
            if name not in self.species:
                self.error(_trees(sec, "valid_id")[0], f"unknown species '{name}'")
            self.check_block(sec, ctx.child(agent=sp, parent_keyword=layer, parent_kinds=self._stmt_kinds(layer)))
            return
        self.check_inside(kind, sec, ctx)
        sp = self.species.get(name)
        self.check_facets(kind if kind in self.cat.statements else "species", _facets(sec), sec, ctx)
        if sp is not None and sp.parent and sp.parent not in self.species and sp.parent not in self.cat.builtin_attributes \
                and sp.parent not in self.cat.types:
            self.error(sec, f"unknown parent species '{sp.parent}'")
        inner = _Ctx(sp, None, kind, self._codes("SPECIES"), [{}],
                     extra_in=frozenset(s for s2 in self._lineage(sp) for s in s2.skills) if sp else frozenset())
        self.check_block(sec, inner)

    def check_experiment(self, sec: Tree, ctx: _Ctx) -> None:
        name_node = [c for c in sec.children if (isinstance(c, Tree) and c.data == "valid_id")
                     or (isinstance(c, Token) and c.type == "STRING")][0]
        name = _valid_id(name_node) if isinstance(name_node, Tree) else str(name_node)[1:-1]
        sp = self.experiments.get(name)
        if sp is None:  # an experiment file
            sp = SpeciesInfo(name, "experiment", host=self.world)
            self.experiments[name] = sp
            self._collect_body(sp, sec)
        skip = {"type", "parent", "model"} if ctx.parent_keyword == "experiment file" else {"type", "parent"}
        facets = [f for f in _facets(sec) if not (_facet_name(f) == "model" and "model" in skip)]
        self.check_facets("experiment", facets, sec, ctx.child(agent=sp), skip_values=skip)
        self.check_type_facet("experiment", sec)
        self.check_block(sec, _Ctx(sp, None, "experiment", self._codes("EXPERIMENT"), [{}]))

    def check_type_facet(self, keyword: str, node: Tree) -> None:
        """An experiment's or display's ``type:`` against the catalogue's ``<keyword>_types``."""
        types = self.cat.data.get(f"{keyword}_types")
        for f in _facets(node):
            if _facet_name(f) == "type":
                e = _facet_expr(f)
                t = _valid_id(e.children[0]) if isinstance(e, Tree) and e.data == "var_ref" else None
                if t is not None and types and t not in types:
                    self.error(e, f"unknown {keyword} type '{t}' (one of {', '.join(types)})")

    def check_block(self, node: Tree, ctx: _Ctx) -> None:
        for b in _trees(node, "block"):
            for st in b.children:
                if isinstance(st, Tree):
                    self.check_statement(st, ctx)

    def _block_ctx(self, keyword: str, ctx: _Ctx, **kw: Any) -> _Ctx:
        return ctx.child(parent_keyword=keyword, parent_kinds=self._stmt_kinds(keyword) or ctx.parent_kinds, **kw)

    def check_statement(self, st: Tree, ctx: _Ctx) -> None:
        d = st.data
        seen: set[str] = set()
        for f in _facets(st):
            name = _facet_name(f)
            if name in seen:
                self.error(f, f"facet '{name}' is given twice")
            seen.add(name)
        if d == "generic":
            self.check_generic(st, ctx)
        elif d == "assignment":
            lhs, rhs = st.children[1], st.children[3]
            self.check_expr(lhs, ctx)
            self.check_expr(rhs, ctx)
            self.check_inside("set", st, ctx)
            for f in _facets(st):
                self.check_expr(_facet_expr(f), ctx)
        elif d == "call_stmt":
            self.check_expr(st.children[1], ctx)
        elif d == "if_":
            self.check_inside("if", st, ctx)
            exprs = [c for c in st.children if isinstance(c, Tree) and c.data not in ("block", "if_")]
            for e in exprs:
                self.check_expr(e, ctx)
            for c in st.children:
                if isinstance(c, Tree) and c.data == "block":
                    self._check_stmts(c, self._block_ctx("if", ctx))
                elif isinstance(c, Tree) and c.data == "if_":
                    self.check_statement(c, ctx)
        elif d == "try_":
            self.check_inside("try", st, ctx)
            for c in _trees(st, "block"):
                self._check_stmts(c, self._block_ctx("try", ctx))
        elif d == "loop_":
            self.check_inside("loop", st, ctx)
            self.check_facets("loop", _facets(st), st, ctx)
            inner = self._block_ctx("loop", ctx)
            names = _trees(st, "valid_id")
            if names:
                var = _valid_id(names[0])
                typ = None
                for f in _facets(st):
                    if _facet_name(f) == "over":
                        base, params = _split_type(self.infer(_facet_expr(f), ctx))
                        typ = params[-1] if params else None
                    elif _facet_name(f) in ("from", "to"):
                        typ = "int"
                inner.locals[-1][var] = typ
            self.check_block(st, inner)
        elif d == "return_":
            self.check_inside("return", st, ctx)
            for e in _trees(st):
                self.check_expr(e, ctx)
        elif d == "do_":
            self.check_do(st, ctx)
        elif d == "reflex_":
            kw = str(st.children[0].children[0])
            self.check_inside(kw, st, ctx)
            self.check_facets(kw, _facets(st), st, ctx)
            self.check_block(st, self._block_ctx(kw, ctx))
        elif d == "method_" and not _trees(st, "arg_defs") and not _trees(_trees(st, "typeref")[0], "typeinfo") \
                and _valid_id(_trees(st, "typeref")[0].children[0]) in self.cat.statements \
                and not self._is_type(_valid_id(_trees(st, "typeref")[0].children[0])):
            # `ask alert_target() { ... }` reads like a typed action without arguments
            kw_node = _trees(st, "typeref")[0].children[0]
            call = Tree("function", [_trees(st, "valid_id")[0]], meta=st.meta)
            rest = [c for c in st.children if isinstance(c, Tree) and (c.data.startswith("facet") or c.data == "block")]
            self.check_generic(Tree("generic", [Token("ID", _valid_id(kw_node), line=_pos(kw_node)[0],
                                                      column=_pos(kw_node)[1]), call, *rest], meta=st.meta), ctx)
        elif d in ("action_", "method_"):
            self.check_inside("action", st, ctx)
            inner = self._block_ctx("action", ctx)
            for ad in _trees(st, "arg_defs"):
                for a in _trees(ad, "arg_def"):
                    self.check_typeref(_trees(a, "typeref")[0])
                    for e in _trees(a)[2:]:
                        self.check_expr(e, ctx)
                    inner.locals[-1][_valid_id(_trees(a, "valid_id")[0])] = _type_text(_trees(a, "typeref")[0])
            if d == "method_":
                self.check_typeref(_trees(st, "typeref")[0])
            self.check_facets("action", _facets(st), st, ctx)
            self.check_block(st, inner)
        elif d == "display_":
            self.check_inside("display", st, ctx)
            self.check_facets("display", _facets(st), st, ctx, skip_values={"type", "parent"})
            self.check_type_facet("display", st)
            self.check_block(st, self._block_ctx("display", ctx, in_display=True))
        elif d == "species_":
            self.check_species(st, ctx)
        elif d == "equation_":
            self.check_inside("equation", st, ctx)
            inner = ctx.child()
            for e in _trees(st):
                if e.data not in ("valid_id",) and not e.data.startswith("facet"):
                    self._check_expr_lenient(e, inner)
        elif d == "solve_":
            self.check_inside("solve", st, ctx)
            self.check_facets("solve", _facets(st), st, ctx)
            self.check_block(st, self._block_ctx("solve", ctx))

    def _check_stmts(self, block: Tree, ctx: _Ctx) -> None:
        for s in block.children:
            if isinstance(s, Tree):
                self.check_statement(s, ctx)

    def _check_expr_lenient(self, e: Any, ctx: _Ctx) -> None:
        """Equations: `diff(x, t) = ...` where t and derivatives are declared by the equation itself."""
        for sub in (e.iter_subtrees() if isinstance(e, Tree) else []):
            if sub.data == "binary":
                self._check_binary_op(sub)

    def check_generic(self, st: Tree, ctx: _Ctx) -> None:
        keyword, typed, expr, facets, block = _generic_parts(st)
        decl = self._declaration(st)
        if decl is not None:
            name, typ = decl
            if typed is not None:
                self.check_typeref(typed)
            for f in facets:
                fname = _canonical_facet("var", _facet_name(f))
                if fname not in self.cat.declaration_facets:
                    self.error(f, f"facet '{fname}' is not allowed in a declaration of '{name}'")
                if fname == "on_change" and f.data == "facet_action":
                    e = _facet_expr(f)
                    if isinstance(e, Tree) and e.data == "valid_id":
                        if not self.find_action(_valid_id(e), ctx)[0]:
                            self.error(e, f"unknown action '{_valid_id(e)}'")
                    elif isinstance(e, Tree):
                        self.check_block(f, ctx.child(parent_keyword="action",
                                                     parent_kinds=self._codes("ACTION", "SEQUENCE_STATEMENT")))
                    continue
                if fname == "type":
                    continue
                if fname in ("of", "index"):
                    continue
                self.check_expr(_facet_expr(f), ctx)
            if len(ctx.locals) > 1 or ctx.parent_keyword not in ("global", "species", "grid", "experiment",
                                                                   "class", "skill", "model"):
                ctx.locals[-1][name] = typ
            if block is not None:
                self.check_block(st, self._block_ctx("action", ctx))
            return
        if keyword == "method" and _declared_name(expr) in self.cat.statements:  # `method pso ...` (batch)
            keyword, expr = _declared_name(expr), None
        st_def = self.cat.statements.get(keyword)
        if st_def is None or st_def.get("internal"):
            if keyword in self.cat.types or keyword in self.species:
                self.error(st, f"a declaration of type '{keyword}' needs a name")
            else:
                self.error(st, f"unknown statement or type '{keyword}'")
            if expr is not None and _declared_name(expr) is None:  # `flaot x;`: x is the name declared
                self.check_expr(expr, ctx)
            for f in facets:
                self.check_expr(_facet_expr(f), ctx)
            return
        if ctx.in_display and keyword == "image":
            keyword = "image_layer" if "image_layer" in self.cat.statements else keyword
        self.check_inside(keyword, st, ctx)
        omissible = st_def.get("omissible")
        fdefs = st_def.get("facets", {})
        # the expression is the omissible facet
        target: Any = "ctx"
        if expr is not None and keyword == "create" and isinstance(expr, Tree) and expr.data == "function":
            # `create species(attr: v, ...)`: the species (or `simulation`, or the model's `<name>_model`)
            sname = _valid_id(expr.children[0])
            if sname not in self.species and (sname in self.cat.operators or sname in self.cat.types):  # `create species(self)`
                self.check_expr(expr, ctx)
            elif not (sname in self.species or sname == "simulation"
                      or (sname.endswith("_model") and sname[:-6] in self.model_names)):
                self.error(expr, f"unknown species '{sname}'")
            tsp = self.species.get(sname)
            for el in (_trees(expr, "exprlist") if sname in self.species or sname not in self.cat.operators else []):
                for a in el.children:
                    if isinstance(a, Tree) and a.data == "named_arg":
                        key = str(a.children[0])[:-1] if isinstance(a.children[0], Token) \
                            else _valid_id(a.children[0].children[0])
                        if tsp is not None and not self.attr_of(tsp, key)[0]:
                            self.error(a, f"species '{sname}' has no attribute '{key}'")
                        self.check_expr(a.children[-1], ctx)
                    elif isinstance(a, Tree):
                        self.check_expr(a, ctx)
        elif expr is not None:
            if omissible and omissible in fdefs:
                self._check_facet_value(keyword, omissible, fdefs[omissible], expr, ctx)
            else:
                self.check_expr(expr, ctx)
        given = {_canonical_facet(keyword, _facet_name(f)) for f in facets}
        for fname, fd in fdefs.items():
            if not fd.get("optional", True) and not fd.get("internal") and fname not in given and fname != omissible:
                if not (fname == "name" and expr is not None):
                    self.error(st, f"'{keyword}' is missing its facet '{fname}'")
        if omissible and not fdefs.get(omissible, {}).get("optional", True) and expr is None \
                and omissible not in given and not fdefs.get(omissible, {}).get("internal"):
            self.error(st, f"'{keyword}' is missing its facet '{omissible}'")
        # remote context: ask / create / ... run their block as the target agent
        remote = st_def.get("remote_context", False)
        if remote:
            tgt = expr.children[0] if isinstance(expr, Tree) and expr.data == "function" and keyword == "create" else expr
            for f in facets:
                if _facet_name(f) in ("target", "species") and tgt is None:
                    tgt = _facet_expr(f)
            if isinstance(tgt, Tree) and tgt.data == "valid_id":  # `create s(attr: v) { ... }`
                tgt = Tree("var_ref", [tgt])
            target = self.species_of_type(self.infer(tgt, ctx)) if tgt is not None else None
            if isinstance(tgt, Tree) and tgt.data == "var_ref" and _valid_id(tgt.children[0]) in self.species:
                target = self.species[_valid_id(tgt.children[0])]
            for f in facets:  # `capture ... as: micro_species { ... }`
                e = _facet_expr(f)
                if _facet_name(f) == "as" and isinstance(e, Tree) and e.data == "var_ref" \
                        and _valid_id(e.children[0]) in self.species:
                    target = self.species[_valid_id(e.children[0])]
        for f in facets:
            fname = _canonical_facet(keyword, _facet_name(f))
            fd = fdefs.get(fname)
            if fd is None or fd.get("internal") and fname not in ("as", "control"):
                if st_def.get("args") and keyword in ("create",) and isinstance(target, SpeciesInfo):
                    if not self.attr_of(target, fname)[0]:
                        self.error(f, f"species '{target.name}' has no attribute '{fname}' (in '{keyword}')")
                    self.check_expr(_facet_expr(f), ctx)
                    continue
                if not st_def.get("args"):
                    self.error(f, f"facet '{fname}' is not allowed in '{keyword}'")
                if f.data == "facet_action":
                    continue
                e = _facet_expr(f)
                if e is not None and isinstance(e, Tree):
                    self.check_expr(e, ctx)
                continue
            if f.data == "facet_action":
                e = _facet_expr(f)
                if isinstance(e, Tree) and e.data == "valid_id":
                    if not self.find_action(_valid_id(e), ctx)[0] and not self._any_action(_valid_id(e))[0]:
                        self.error(e, f"unknown action '{_valid_id(e)}'")
                elif isinstance(e, Tree) and e.data == "block":
                    self._check_stmts(e, ctx.child(parent_keyword="action",
                                                   parent_kinds=self._codes("ACTION", "SEQUENCE_STATEMENT")))
                continue
            if keyword == "save" and fname == "attributes" and isinstance(expr, Tree) and expr.data == "var_ref" \
                    and _valid_id(expr.children[0]) in self.species:
                self.check_expr(_facet_expr(f), ctx.child(agent=self.species[_valid_id(expr.children[0])]))
                continue
            if keyword == "create" and fname == "with":
                self._check_create_with(_facet_expr(f), target, ctx)
                continue
            self._check_facet_value(keyword, fname, fd, _facet_expr(f), ctx)
        # names this statement defines (let x, create ... returns: r, loop ...): visible afterwards
        for fname, fd in fdefs.items():
            if "new_temp_id" in fd.get("types", []) or "new_var_id" in fd.get("types", []):
                e = expr if fname == omissible else next((_facet_expr(f) for f in facets
                                                         if _canonical_facet(keyword, _facet_name(f)) == fname), None)
                n = _declared_name(e)
                if n:
                    typ = None
                    for f in facets:
                        if _facet_name(f) == "type":
                            typ = self._expr_type_text(_facet_expr(f))
                    if keyword == "create" and isinstance(target, SpeciesInfo):
                        typ = f"list<{target.name}>"
                    ctx.locals[-1][n] = typ
        if keyword == "arg":
            n = _declared_name(expr)
            if n:
                ctx.locals[-1][n] = None
        if block is not None:
            if remote:
                inner = self._block_ctx(keyword, ctx, agent=target if isinstance(target, SpeciesInfo) else None,
                                        myself=ctx.agent)
            elif keyword == "enter":  # fsm: what `enter` declares is visible in the rest of the state
                inner = _Ctx(**{**ctx.__dict__, "parent_keyword": keyword,
                                "parent_kinds": self._stmt_kinds(keyword) or ctx.parent_kinds})
            elif keyword == "parameter":  # the block is the parameter's on_change action
                inner = ctx.child(parent_keyword="action", parent_kinds=self._codes("ACTION", "SEQUENCE_STATEMENT"))
            else:
                inner = self._block_ctx(keyword, ctx)
            self.check_block(st, inner)

    def _check_create_with(self, e: Any, target: Any, ctx: _Ctx) -> None:
        """`create s with: [attr::value, ...]`: the keys name attributes of the created species."""
        if isinstance(e, Tree) and e.data == "list_lit":
            for item in (e.children[0].children if e.children else []):
                if isinstance(item, Tree) and item.data == "pair" and isinstance(item.children[0], Tree) \
                        and item.children[0].data == "var_ref":
                    key = _valid_id(item.children[0].children[0])
                    if isinstance(target, SpeciesInfo) and not self.attr_of(target, key)[0]:
                        self.error(item.children[0], f"species '{target.name}' has no attribute '{key}' (in 'with:')")
                    self.check_expr(item.children[1], ctx)
                else:
                    self.check_expr(item, ctx)
            return
        self.check_expr(e, ctx)

    def _check_facet_value(self, keyword: str, fname: str, fd: dict, e: Any, ctx: _Ctx) -> None:
        types = set(fd.get("types", []))
        if e is None:
            return
        if types & _NAME_FACET_TYPES:
            if keyword == "parameter" and fname == "var":
                n = _declared_name(e)
                if n is not None and not (self.attr_of(self.world, n)[0] or (ctx.agent and self.attr_of(ctx.agent, n)[0])):
                    self.error(e, f"parameter refers to '{n}', which is not a global attribute")
                return
            if not (isinstance(e, Tree) and e.data in ("var_ref", "literal")):
                if fname != "name":
                    self.check_expr(e, ctx)
            return
        if "type_id" in types:
            if isinstance(e, Tree) and e.data == "var_ref":
                n = _valid_id(e.children[0])
                if not self._is_type(n) and n not in self.cat.skills:
                    self.error(e, f"unknown type '{n}'")
                return
            if isinstance(e, Tree) and e.data in ("type_expr",):
                self.check_typeref(e)
                return
        if "skill" in types:
            for v in (e.iter_subtrees() if isinstance(e, Tree) else []):
                if v.data == "var_ref":
                    n = _valid_id(v.children[0])
                    if n not in self.cat.skills:
                        self.error(v, f"unknown skill '{n}'")
            return
        if fname == "skills":
            for v in (e.iter_subtrees() if isinstance(e, Tree) else []):
                if v.data == "var_ref":
                    n = _valid_id(v.children[0])
                    if n not in self.cat.skills:
                        self.error(v, f"unknown skill '{n}'")
            return
        self.check_expr(e, ctx)

    def check_facets(self, keyword: str, facets: list[Tree], node: Tree, ctx: _Ctx,
                     skip_values: set[str] = frozenset()) -> None:
        st_def = self.cat.statements.get(keyword) or {}
        fdefs = st_def.get("facets", {})
        for f in facets:
            fname = _canonical_facet(keyword, _facet_name(f))
            fd = fdefs.get(fname)
            if fd is None:
                if fdefs and not st_def.get("args"):
                    self.error(f, f"facet '{fname}' is not allowed in '{keyword}'")
                continue
            if fname in skip_values:
                continue
            if f.data == "facet_action":
                continue
            self._check_facet_value(keyword, fname, fd, _facet_expr(f), ctx)

    def check_do(self, st: Tree, ctx: _Ctx) -> None:
        kw = str(st.children[0].children[0])
        self.check_inside(kw, st, ctx)
        ref = [c for c in st.children if isinstance(c, Tree) and c.data in ("function", "var_ref")][0]
        name = _valid_id(ref.children[0])
        found, args = self.find_action(name, ctx)
        if not found and name in self.cat.operators and ref.data == "function":
            found, args = True, None  # `do set_values(grid, "v", m)`: an operator evaluated for its effect
        if not found:
            self.error(ref, f"unknown action '{name}'")
        if ref.data == "function":
            for el in _trees(ref, "exprlist"):
                for a in el.children:
                    if isinstance(a, Tree) and a.data == "named_arg":
                        an = str(a.children[0])[:-1] if isinstance(a.children[0], Token) else _valid_id(a.children[0].children[0])
                        if found and args is not None and an not in args:
                            self.error(a, f"action '{name}' has no argument '{an}'")
                        self.check_expr(a.children[-1], ctx)
                    else:
                        self.check_expr(a, ctx)
        for f in _facets(st):
            fname = _canonical_facet("do", _facet_name(f))
            if fname in ("with", "returns", "action", "internal_function"):
                if fname != "returns":
                    self.check_expr(_facet_expr(f), ctx)
                else:
                    n = _declared_name(_facet_expr(f))
                    if n:
                        ctx.locals[-1][n] = None
                continue
            if found and args is not None and fname not in args:
                self.error(f, f"action '{name}' has no argument '{fname}'")
            if f.data != "facet_action":
                self.check_expr(_facet_expr(f), ctx)

    def check_typeref(self, t: Tree) -> None:
        name = _valid_id(t.children[0])
        if not (self._is_type(name) or name in self.cat.skills or name in self.experiments):
            self.error(t, f"unknown type '{name}'")
        for info in _trees(t, "typeinfo"):
            for sub in _trees(info, "typeref"):
                self.check_typeref(sub)

    def _check_binary_op(self, e: Tree) -> None:
        op = _valid_id(e.children[1])
        od = self.cat.operators.get(op)
        right = e.children[2]
        n = 2
        if isinstance(right, Tree) and right.data == "paren":  # `a op (b, c)` is op(a, b, c)
            n = 1 + len(right.children[0].children)
        if od is None:
            self.error(e.children[1], f"unknown operator '{op}'")
        elif n not in od.get("arities", [n]) and 2 not in od.get("arities", [2]):
            self.error(e.children[1], f"operator '{op}' takes {self._arities(od)} operand(s), not {n}")

    @staticmethod
    def _arities(od: dict) -> str:
        return " or ".join(str(a) for a in sorted(od.get("arities", [])))

    def check_expr(self, e: Any, ctx: _Ctx) -> None:
        if not isinstance(e, Tree):
            return
        d = e.data
        if d == "var_ref":
            name = _valid_id(e.children[0])
            if not self.resolve(name, ctx)[0]:
                self.error(e, f"unknown name '{name}'")
            return
        if d == "literal":
            return
        if d == "constant":
            self._check_constant(e.children[1], str(e.children[0]))
            return
        if d == "unit":
            self.check_expr(e.children[0], ctx)
            self._check_constant(e.children[2], str(e.children[1]))
            return
        if d == "binary":
            self.check_expr(e.children[0], ctx)
            self._check_binary_op(e)
            right = e.children[2]
            if isinstance(right, Tree) and right.data == "paren" and len(right.children[0].children) == 1 \
                    and isinstance(right.children[0].children[0], Tree) and right.children[0].children[0].data == "named_arg":
                arg = right.children[0].children[0]  # `pedestrian where (p: p.location.x > 0)`: p is each
                var = str(arg.children[0])[:-1] if isinstance(arg.children[0], Token) else _valid_id(arg.children[0].children[0])
                inner = ctx.child()
                inner.locals[-1][var] = None
                self.check_expr(arg.children[-1], inner)
                return
            self.check_expr(right, ctx)
            return
        if d == "function":
            self.check_function(e, ctx)
            return
        if d == "member":
            self.check_expr(e.children[0], ctx)
            self.check_member(e, ctx)
            return
        if d in ("cast",):
            self.check_expr(e.children[0], ctx)
            for t in _trees(e, "typeref"):
                self.check_typeref(t)
            return
        if d == "type_expr":
            self.check_typeref(e)
            return
        if d == "named_arg":
            self.check_expr(e.children[-1], ctx)
            return
        for c in e.children:
            if isinstance(c, Tree) and c.data not in ("cmp_op", "add_op", "mul_op", "unary_op"):
                self.check_expr(c, ctx)

    def _check_constant(self, node: Any, sign: str) -> None:
        name = _valid_id(node)
        if name not in self.cat.constants:
            self.error(node, f"unknown constant or unit '{sign}{name}'")

    def check_function(self, e: Tree, ctx: _Ctx, receiver: SpeciesInfo | None | str = "ctx") -> None:
        name = _valid_id(e.children[0])
        args = [a for el in _trees(e, "exprlist") for a in el.children if isinstance(a, Tree)]
        # `f(name: v)` and `f(name::v)` (Xtext's ArgumentPair) name their arguments
        named = any(a.data == "named_arg" or (a.data == "pair" and isinstance(a.children[0], Tree)
                                              and a.children[0].data == "var_ref") for a in args)
        for a in args:
            if a.data == "pair" and named and isinstance(a.children[0], Tree) and a.children[0].data == "var_ref":
                self.check_expr(a.children[1], ctx)
            else:
                self.check_expr(a, ctx)
        for t in _trees(e, "typeinfo"):
            for sub in _trees(t, "typeref"):
                self.check_typeref(sub)
        od = self.cat.operators.get(name)
        is_type = self._is_type(name) or name in self.cat.skills or name in self.experiments
        act_found, act_args = self.find_action(name, ctx, receiver)
        if od is None and not is_type and not act_found:
            self.error(e, f"unknown operator or action '{name}'")
            return
        if od is not None and not is_type and not act_found and not named:
            n = len(args) + (0 if receiver == "ctx" else 1)
            ar = od.get("arities", [])
            # several operands for an operator of one container operand: GAMA passes them as one list
            # (`max(a, b)`, `one_of(x, y, z)`); not for `sqrt(1, 2)`
            wraps = 1 in ar and n > 1 and any(
                len(sig.get("args", [])) == 1 and sig["args"][0] in _LIST_OPERANDS for sig in od.get("signatures", [])
            ) if od.get("signatures") else 1 in ar and n > 1
            if ar and n not in ar and not (receiver != "ctx" and len(args) in ar) and not wraps:
                self.error(e, f"operator '{name}' takes {self._arities(od)} operand(s), not {n}")

    def check_member(self, e: Tree, ctx: _Ctx) -> None:
        recv, right = e.children[0], e.children[1]
        if isinstance(right, Token):  # a."string"
            return
        rtype = self.infer(recv, ctx)
        sp = self.species_of_type(rtype)
        base, params = _split_type(rtype)
        if right.data == "function":
            self.check_function(right, ctx, receiver=sp)
            return
        name = _valid_id(right.children[0])
        if sp is not None and base in self.species or (sp is self.world and base == "world"):
            if not self.attr_of(sp, name)[0] and not self.action_of(sp, name)[0]:
                self.error(right, f"'{sp.name}' has no attribute '{name}'")
            return
        if isinstance(recv, Tree) and recv.data == "var_ref" and _valid_id(recv.children[0]) == "gama" \
                and name.startswith("pref_"):
            return  # the platform's preferences: attributes registered at run time (GamaPreferences)
        if base in ("experiment",) and name not in self.cat.builtin_attributes.get("experiment", {}):
            if not any(name in x.attrs for x in self.experiments.values()):
                self.error(right, f"experiment has no attribute '{name}'")
            return
        if base == "point" and "point" in self.cat.type_attributes:
            if name not in self.cat.type_attributes["point"]:
                self.error(right, f"a point has no attribute '{name}'")
            return
        if name in self.all_attrs or name in self.cat.all_builtin_attributes or name in self.all_actions \
                or name in self.cat.all_builtin_actions or name in self.species or name in self.experiments:
            return
        self.error(right, f"unknown attribute '{name}'")


def check_tree(tree: Tree, catalogue: Catalogue | None = None, base_dir: str | Path | None = None) -> list[Problem]:
    """Check a parsed model (imports are read relative to ``base_dir``); problems sorted by position."""
    cat = catalogue or load_catalogue()
    ch = Checker(cat)
    ch.collect(tree, Path(base_dir) if base_dir is not None else None)
    ch.check(tree)
    return sorted(ch.problems)


def check_text(text: str, catalogue: Catalogue | None = None, base_dir: str | Path | None = None) -> list[Problem]:
    """Parse and check GAML source; a syntax error is the one problem returned."""
    try:
        tree = parse(text)
    except GamlSyntaxError as e:
        return [Problem(e.line, e.column, e.message)]
    return check_tree(tree, catalogue, base_dir)


def check_file(path: str | Path, catalogue: Catalogue | None = None) -> list[Problem]:
    """Check a ``.gaml`` file (UTF-8)."""
    path = Path(path)
    return check_text(path.read_text(encoding="utf-8", errors="replace"), catalogue, path.parent)
