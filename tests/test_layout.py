"""The package's layout rules (README "Layout"): no module over 600 lines, no import cycle between
its folders, and the simulation core and the env adapters import nothing of the GAMA bridge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sb3_forager"
MAX_LINES = 600


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def folder_of(module: str) -> str:
    """``sb3_forager.sim.core`` -> ``sim``; a top-level module is its own node (``make``)."""
    return module.split(".")[1] if "." in module else "<root>"


def imported(path: Path) -> set[str]:
    """The ``sb3_forager`` modules that ``path`` imports anywhere (top level or inside functions)."""
    package = list(path.relative_to(PACKAGE.parent).parts[:-1])
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "sb3_forager"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] == "sb3_forager":
                out.add(name)
    return out


def folder_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in modules():
        here = folder_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for name in imported(path):
            there = folder_of(name)
            if there != here and here != "<root>" and there != "<root>":
                graph.setdefault(here, set()).add(there)
    return graph


def test_no_module_over_600_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every node's first cycle back to itself, as a path."""
    found = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            if start in graph.get(node, ()):
                found.append(path + [start])
                break
            stack += [(nxt, path + [nxt]) for nxt in sorted(graph.get(node, ())) if nxt not in path]
    return found


def test_no_import_cycle_between_folders() -> None:
    graph = folder_graph()
    assert {"sim", "envs", "gama", "training", "cli"} <= set(graph), f"the import reader missed folders: {graph}"
    assert not cycles(graph), "import cycles between folders: " + "; ".join(" -> ".join(c) for c in cycles(graph))


def test_cycles_finds_a_cycle() -> None:
    assert cycles({"envs": {"sim", "gama"}, "gama": {"envs"}, "sim": set()})[0] == ["envs", "gama", "envs"]
    assert not cycles({"envs": {"sim"}, "gama": {"envs", "sim"}})


@pytest.mark.parametrize("folder", ["sim", "envs"])
def test_core_and_adapters_import_nothing_of_gama(folder: str) -> None:
    assert "gama" not in folder_graph().get(folder, set())
