"""The contract between the shipped GAML and the Python side, read from the Python side's own tables.

For every row of the model table (:data:`sb3_forager.models.MODELS`): its GAML file exists and checks
clean, its experiment exists, every scenario parameter that :func:`sb3_forager.gama.contracts.
scenario_parameters` sends is declared by that experiment (``parameter "<name>" var: <global>``, title
or variable named so) on a global of the same type, and every expression the bridge evaluates (the
contract's ``spaces_expr``, ``reset_expr``, ``data_expr``, the statement of ``action_expr`` and
:data:`sb3_forager.gama.world.SEED_STATEMENT`) checks in that experiment's scope: the species
(``GymAgent`` / ``PetzAgent``) and each field it reads or assigns exist, and an assigned field has a
type that takes the value sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from lark import Tree

from .catalogue import Catalogue, Problem, load_catalogue
from .checker import Checker
from .scope import _Ctx
from .tree import _declared_name, _facet_expr, _facet_name, _generic_parts, _pos, _split_type, _trees, _valid_id
from .parser import GamlSyntaxError, parse

__all__ = ["FileProblem", "check_shipped", "shipped_files"]

log = logging.getLogger(__name__)

#: GAML types that take a value of each parameter type the Python side sends
_PARAMETER_TYPES = {"int": {"int"}, "float": {"float"}, "string": {"string"}, "bool": {"bool"}}


@dataclass(frozen=True, order=True)
class FileProblem:
    """A problem in one file."""

    path: str
    problem: Problem

    def format(self) -> str:
        return self.problem.format(self.path)


def shipped_files(gaml_dir: Path | None = None) -> list[Path]:
    """The packaged ``.gaml`` files (``sb3_forager/gaml``)."""
    from ..gama.paths import GAML_DIR

    return sorted((gaml_dir or GAML_DIR).glob("*.gaml"))


def _contract_for(row: Any) -> Any:
    from ..gama.contracts import GymAgentContract, PetzAgentContract

    cls = GymAgentContract if row.rules == "single" else PetzAgentContract
    return cls(row.scenario, row.experiment, row.gaml_file)


def _bridge_expressions(row: Any) -> list[tuple[str, str]]:
    """(where it comes from, GAML text) of everything the bridge evaluates for this model."""
    from ..gama.world import SEED_STATEMENT

    c = _contract_for(row)
    name = type(c).__name__
    actions = {a: np.zeros(2) for a in c.agent_ids}
    return [
        (f"{name}.spaces_expr", c.spaces_expr),
        (f"{name}.reset_expr", c.reset_expr),
        (f"{name}.data_expr", c.data_expr),
        (f"{name}.action_expr", c.action_expr(actions)),
        ("world.SEED_STATEMENT", SEED_STATEMENT.format(seed=0)),
    ]


def _snippet_statements(text: str) -> list[Tree]:
    """Parse a bridge expression (or statement) as statements of an `init` block."""
    body = text if text.rstrip().endswith(";") else f"unknown __bridge_value__ <- ({text});"
    tree = parse(f"model __bridge__\nglobal {{ init {{ {body} }} }}")
    init = next(t for t in tree.iter_subtrees() if t.data == "reflex_")
    return [s for s in _trees(_trees(init, "block")[0])]


def _value_kind(e: Any) -> str | None:
    if isinstance(e, Tree):
        if e.data == "list_lit":
            return "list"
        if e.data == "literal":
            return {"STRING": "string", "INTEGER": "int", "DOUBLE": "float", "BOOLEAN": "bool"}.get(e.children[0].type)
    return None  # from_json(...) and the like: any type


def _parameters(checker: Checker, exp_tree: Tree) -> dict[str, tuple[str, Tree]]:
    """title -> (global variable, statement) and variable -> same, for every `parameter` of an experiment."""
    out: dict[str, tuple[str, Tree]] = {}
    for st in _trees(_trees(exp_tree, "block")[0]) if _trees(exp_tree, "block") else []:
        if st.data != "generic":
            continue
        keyword, _typed, expr, facets, _block = _generic_parts(st)
        if keyword != "parameter":
            continue
        var = next((_declared_name(_facet_expr(f)) for f in facets if _facet_name(f) == "var"), None)
        title = _declared_name(expr)
        if var:
            out.setdefault(var, (var, st))
            if title:
                out.setdefault(title, (var, st))
    return out


def _worlds_expressions(rules: str) -> tuple[Any, list[tuple[str, str]], list[dict[str, Any]]]:
    """(a row-like record, the bridge expressions, the load parameters) of the W-world experiment of ``rules``
    (:data:`sb3_forager.gama.batched.WORLDS_EXPERIMENTS`), the expressions as the backend writes them."""
    from types import SimpleNamespace

    from ..gama.batched import WORLDS_EXPERIMENTS, WorldsContract
    from ..gama.contracts import GymAgentContract, PetzAgentContract
    from ..models import MODELS

    spec = WORLDS_EXPERIMENTS[rules]
    base_row = next(m for m in MODELS.values() if m.rules == rules)
    cls = GymAgentContract if rules == "single" else PetzAgentContract
    c = WorldsContract(cls(base_row.scenario, spec.experiment, spec.gaml_file))
    k = len(c.base.agent_ids)
    episode = base_row.scenario.draw(np.random.default_rng(0))
    entry = c.action_entry(np.zeros((k, 2)), None)
    exprs = [
        ("WorldsContract.spaces_expr", c.spaces_expr),
        ("WorldsContract.reset_expr", c.reset_expr([(0, episode)])),
        ("WorldsContract.step_expr", c.step_expr([entry, None])),
    ]
    row = SimpleNamespace(name=f"{rules} worlds", experiment=spec.experiment, gaml_file=spec.gaml_file)
    return row, exprs, c.parameters(2)


def _check_model(row: Any, path: Path, tree: Tree, cat: Catalogue, worlds: str | None = None) -> list[Problem]:
    """The contract of one model row (or, ``worlds`` given, of that rules' W-world experiment)."""
    from ..gama.contracts import scenario_parameters

    exprs = None
    if worlds is not None:
        row, exprs, sent = _worlds_expressions(worlds)
    problems: list[Problem] = []
    checker = Checker(cat)
    checker.collect(tree, path.parent)
    exp_tree = next((s for s in tree.children if isinstance(s, Tree) and s.data == "experiment_"
                     and _experiment_name(s) == row.experiment), None)
    where = f"(sb3_forager/models.py, model {row.name!r})" if exprs is None else "(sb3_forager/gama/batched.py)"
    if exp_tree is None:
        names = ", ".join(sorted(checker.experiments)) or "none"
        return [Problem(1, 1, f"contract: experiment '{row.experiment}' {where} is not in this file (experiments: {names})")]
    eline, ecol = _pos(exp_tree)
    # scenario parameters: name and type
    declared = _parameters(checker, exp_tree)
    if exprs is None:
        sent = scenario_parameters(row.scenario.draw(np.random.default_rng(0)), row.scenario)
    for p in sent:
        name, ptype = p["name"], p["type"]
        src = "(sb3_forager/gama/contracts.py, scenario_parameters)" if exprs is None else "(sb3_forager/gama/batched.py)"
        if name not in declared:
            problems.append(Problem(eline, ecol, f"contract: experiment '{row.experiment}' declares no parameter "
                                                 f"'{name}' ({ptype}) {src}"))
            continue
        var, st = declared[name]
        found, gtype = checker.attr_of(checker.world, var)
        base, _ = _split_type(gtype)
        if not found:
            continue  # reported by the checker (a parameter of no global)
        if base not in _PARAMETER_TYPES.get(ptype, {ptype}):
            problems.append(Problem(*_pos(st), f"contract: parameter '{name}' is sent as "
                                    f"{ptype} {src}, but the global '{var}' is declared {gtype}"))
    # bridge expressions, in the experiment's scope
    exp_sp = checker.experiments[row.experiment]
    for origin, text in exprs if exprs is not None else _bridge_expressions(row):
        try:
            stmts = _snippet_statements(text)
        except GamlSyntaxError as e:
            problems.append(Problem(eline, ecol, f"contract: {origin} `{text}` does not parse: {e.message}"))
            continue
        sub = Checker(cat)
        sub.__dict__.update({k: v for k, v in checker.__dict__.items() if k != "problems"})
        sub.problems = set()
        ctx = _Ctx(exp_sp, None, "action", sub._codes("ACTION", "SEQUENCE_STATEMENT"), [{}])
        for st in stmts:
            sub.check_statement(st, ctx)
            if st.data == "assignment":
                lhs, rhs = st.children[1], st.children[3]
                want = _value_kind(rhs)
                if lhs.data == "member" and want is not None:
                    sp = sub.species_of_type(sub.infer(lhs.children[0], ctx))
                    field = _valid_id(lhs.children[1].children[0]) if isinstance(lhs.children[1], Tree) else None
                    if sp is not None and field:
                        found, ftype = sub.attr_of(sp, field)
                        base, _ = _split_type(ftype)
                        if found and base not in (None, "unknown", want, "container"):
                            problems.append(Problem(eline, ecol, f"contract: {origin} `{text}` assigns a {want} to "
                                                    f"{sp.name}.{field}, declared {ftype}"))
        for p in sorted(sub.problems):
            problems.append(Problem(eline, ecol, f"contract: {origin} `{text}` (sb3_forager/gama/): {p.message}"))
    return problems


def _experiment_name(sec: Tree) -> str:
    for c in sec.children:
        if isinstance(c, Tree) and c.data == "valid_id":
            return _valid_id(c)
        if not isinstance(c, Tree) and getattr(c, "type", "") == "STRING":
            return str(c)[1:-1]
    return ""


def check_shipped(gaml_dir: Path | None = None, catalogue: Catalogue | None = None) -> list[FileProblem]:
    """Check every packaged GAML file and the contract of every model of the model table with it."""
    from ..models import MODELS
    from .checker import check_tree

    cat = catalogue or load_catalogue()
    files = shipped_files(gaml_dir)
    base = gaml_dir or (files[0].parent if files else Path("."))
    out: list[FileProblem] = []
    trees: dict[str, Tree | None] = {}
    for path in files:
        try:
            tree = parse(path.read_text(encoding="utf-8"))
        except GamlSyntaxError as e:
            out.append(FileProblem(str(path), Problem(e.line, e.column, e.message)))
            trees[path.name] = None
            continue
        trees[path.name] = tree
        out += [FileProblem(str(path), p) for p in check_tree(tree, cat, path.parent)]
    from ..gama.batched import WORLDS_EXPERIMENTS

    # (file, what it is, its contract check): each model's experiment, then the W-world experiments
    jobs: list[tuple[str, str, Callable[[Path, Tree], list[Problem]]]] = []
    done: set[tuple[str, str]] = set()
    for row in MODELS.values():
        if (row.gaml_file, row.experiment) not in done:
            done.add((row.gaml_file, row.experiment))
            jobs.append((row.gaml_file, f"the GAML file of model {row.name!r} (sb3_forager/models.py)",
                         lambda path, tree, row=row: _check_model(row, path, tree, cat)))  # fmt: skip
    for rules, spec in WORLDS_EXPERIMENTS.items():  # --gama-worlds-per-sim
        jobs.append((spec.gaml_file, f"the W-world GAML file of the {rules} rules (sb3_forager/gama/batched.py)",
                     lambda path, tree, rules=rules: _check_model(None, path, tree, cat, worlds=rules)))  # fmt: skip
    for gaml_file, what, check in jobs:
        path = base / gaml_file
        if gaml_file not in trees:
            out.append(FileProblem(str(path), Problem(1, 1, f"contract: {what} does not exist")))
        elif trees[gaml_file] is not None:
            out += [FileProblem(str(path), p) for p in check(path, trees[gaml_file])]
    return sorted(set(out))
