"""Running a GAML model: species, attributes, actions, statements and GAMA's scheduling.

Scheduling followed (GAMA's ``SimulationAgent`` / ``GamaPopulation`` / ``CreateStatement``; docs/model.md):
at load, the global attributes are initialised in declaration order (an experiment parameter's value
replaces its variable's initial value), then the global ``init`` runs. ``create s number: n with: [...]``
initialises each new agent's attributes in declaration order (a ``with:`` value replaces the
declared one, and is set before ``init``), then runs the species' ``init``, then the create's body.
One step: the global reflexes in declaration order, then every species (declaration order), every
live agent in creation order, its reflexes in declaration order (``when:`` tested first); ``cycle`` + 1.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from lark import Token, Tree

from ..parser import parse
from .evaluator import Ctx, Population, _text, evaluate, type_text
from .values import Agent, GamaPoint, GamlError, cast, default_of, split_type, to_bool, to_int, to_list, to_string

log = logging.getLogger(__name__)

TYPES = frozenset({"int", "float", "bool", "string", "point", "list", "map", "geometry", "unknown", "agent",
                   "container", "pair", "rgb", "species", "matrix", "path", "graph", "file", "onnx_model"})  # fmt: skip


class _Break(Exception):
    pass


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Die(Exception):
    """``do die``: the agent's execution stops until its context is left (GAMA's FlowStatus.DIE, cleared
    when the scope pops the agent: the end of an ``ask`` on it, of its step, of a call on it by another)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent


class Action:
    def __init__(self, name: str, args: list[tuple[str, str, Any]], block: Tree | None) -> None:
        self.name, self.args, self.block = name, args, block


class Species:
    """A species (or the global section): its attribute declarations, actions, reflexes, init, agents."""

    def __init__(self, name: str, model: "Model") -> None:
        self.name, self.model = name, model
        self.decls: list[tuple[str, str | None, Any]] = []  # (name, type text, init expr)
        self.types: dict[str, tuple[str | None, list[str]]] = {}
        self.actions: dict[str, Action] = {}
        self.reflexes: list[tuple[str, Any, Tree]] = []
        self.inits: list[Tree] = []
        self.members: list[Agent] = []  # the live agents (``do die`` removes one, as GAMA's population)
        self.created = 0  # agents created so far: the next one's index (never reused, as in GAMA)

    def find_action(self, name: str) -> Action | None:
        a = self.actions.get(name)
        if a is None and self is not self.model.global_species:
            a = self.model.global_species.actions.get(name)
        return a

    def set(self, agent: Agent, name: str, value: Any) -> None:
        t = self.types.get(name)
        if t is not None and t[0] in ("int", "float", "bool", "string", "point") and value is not None:
            value = cast(t[0], t[1], value)
        if name == "location" and value is not None and not isinstance(value, GamaPoint):
            value = cast("point", [], value)
        agent.attrs[name] = value


def _facets(node: Tree) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in node.children:
        if isinstance(c, Tree) and c.data == "facet":
            out[str(c.children[0])[:-1]] = c.children[1]
        elif isinstance(c, Tree) and c.data == "facet_arrow":
            out["<-"] = c.children[0]
    return out


def _block(node: Tree) -> Tree | None:
    for c in node.children:
        if isinstance(c, Tree) and c.data == "block":
            return c
    return None


def _decl(node: Tree, model: "Model") -> tuple[str, str, Any] | None:
    """(name, type, init expression) when the generic statement declares a variable."""
    head = node.children[0]
    if isinstance(head, Tree) and head.data == "typed_head":
        ttext = type_text(head)
    elif isinstance(head, Token) and (str(head) in TYPES or str(head) in model.species_names):
        ttext = str(head)
    else:
        return None
    target = node.children[1] if len(node.children) > 1 else None
    if not (isinstance(target, Tree) and target.data == "var_ref"):
        return None
    f = _facets(node)
    return _text(target.children[0]), ttext, f.get("<-", f.get("init"))


class Model:
    """A parsed GAML model: ``load(parameters)``, ``step()``, ``evaluate(text)``."""

    def __init__(self, text: str, extensions: dict[str, Callable] | None = None, base_dir: str = ".") -> None:
        self.tree = parse(text)
        self.base_dir = base_dir  # relative file names (onnx_model) are resolved from the model's folder
        self.experiment_inits: dict[str, dict[str, Any]] = {}
        self.extensions: dict[str, Callable] = dict(extensions or {})
        self.species: dict[str, Species] = {}
        self.global_species = Species("world", self)
        self.experiments: dict[str, dict[str, str]] = {}
        sections = [c for c in self.tree.children if isinstance(c, Tree)]
        self.species_names = {_text(s.children[1]) for s in sections if s.data == "species_"}
        for s in sections:
            if s.data == "global_":
                self._read_section(self.global_species, s)
            elif s.data == "species_":
                sp = Species(_text(s.children[1]), self)
                self.species[sp.name] = sp
                self._read_section(sp, s)
            elif s.data == "experiment_":
                self._read_experiment(s)
        self.world: Agent = Agent(self.global_species, 0)
        self.paused = False
        self.output: list[str] = []

    # ---------------------------------------------------------------- reading the sections
    def _read_section(self, sp: Species, node: Tree) -> None:
        block = _block(node)
        if block is None:
            return
        for st in block.children:
            if not isinstance(st, Tree):
                continue
            if st.data == "generic":
                d = _decl(st, self)
                if d is not None:
                    sp.decls.append(d)
                    sp.types[d[0]] = split_type(d[1])
            elif st.data == "reflex_":
                kw = str(st.children[0].children[0])
                if kw == "init":
                    sp.inits.append(_block(st))
                elif kw == "reflex":
                    name = _text(st.children[1]) if isinstance(st.children[1], Tree) and st.children[1].data == "valid_id" else ""
                    sp.reflexes.append((name, _facets(st).get("when"), _block(st)))
            elif st.data in ("action_", "method_"):
                ids = [c for c in st.children if isinstance(c, Tree) and c.data == "valid_id"]
                args = []
                defs = next((c for c in st.children if isinstance(c, Tree) and c.data == "arg_defs"), None)
                for ad in defs.children if defs else []:
                    args.append((_text(ad.children[1]), type_text(ad.children[0]),
                                 ad.children[2] if len(ad.children) > 2 else None))
                sp.actions[_text(ids[0])] = Action(_text(ids[0]), args, _block(st))

    def _read_experiment(self, node: Tree) -> None:
        name_node = next(c for c in node.children if isinstance(c, (Tree, Token)) and not (isinstance(c, Token) and c.type == "FACET"))
        name = _text(name_node) if isinstance(name_node, Tree) else str(name_node).strip('"')
        params: dict[str, str] = {}
        inits: dict[str, Any] = {}
        block = _block(node)
        for st in block.children if block else []:
            if isinstance(st, Tree) and st.data == "generic" and str(st.children[0]) == "parameter":
                f = _facets(st)
                var = f.get("var")
                if var is None or var.data != "var_ref":
                    continue  # `var: seed <- 0.0` (a built-in): nothing the interpreter reads
                var_name = _text(var.children[0])
                title = evaluate(st.children[1], Ctx(self, Agent(self.global_species, 0)))
                params[str(title)] = var_name
                params[var_name] = var_name
                if "init" in f:
                    inits[var_name] = f["init"]
        self.experiments[name] = params
        self.experiment_inits[name] = inits

    # ---------------------------------------------------------------- running
    def load(self, experiment: str | None = None, parameters: dict[str, Any] | None = None) -> None:
        """Create the world: its attributes (parameters replacing declared values), then its init."""
        experiment = experiment or next(iter(self.experiments), "")
        if experiment not in self.experiments:
            raise GamlError(f"no experiment {experiment!r}; the model has {sorted(self.experiments)}")
        names = self.experiments[experiment]
        given = {}
        for var, expr in self.experiment_inits.get(experiment, {}).items():  # `parameter ... init: v`
            given[var] = evaluate(expr, Ctx(self, Agent(self.global_species, 0)))
        for k, v in (parameters or {}).items():
            var = names.get(k, k)
            given[var] = v
        for sp in self.species.values():
            sp.members, sp.created = [], 0
        self.world = Agent(self.global_species, 0)
        self.world.attrs.update({"cycle": 0, "seed": 0.0, "location": GamaPoint(50.0, 50.0)})
        self.paused = False
        ctx = Ctx(self, self.world)
        for name, ttext, expr in self.global_species.decls:
            base, params = split_type(ttext)
            if name in given:
                value = given[name]
            else:
                value = evaluate(expr, ctx) if expr is not None else default_of(base)
            self.world.attrs[name] = cast(base, params, value) if value is not None else value
        for k, v in given.items():
            if k not in self.world.attrs or k == "seed":
                self.world.attrs[k] = v
        for block in self.global_species.inits:
            self.run_block(block, Ctx(self, self.world))

    def step(self) -> None:
        """One simulation cycle."""
        self._reflexes(self.world)
        for sp in self.species.values():
            for agent in list(sp.members):  # as they were at the cycle's start
                if not agent.dead:
                    self._reflexes(agent)
        self.world.attrs["cycle"] = self.world.attrs.get("cycle", 0) + 1

    def _reflexes(self, agent: Agent) -> None:
        for _name, when, block in agent.species.reflexes:
            ctx = Ctx(self, agent)
            if when is not None and not to_bool(evaluate(when, ctx)):
                continue
            try:
                self.run_block(block, ctx)
            except _Return:
                pass
            except _Die as d:
                if d.agent is not agent:
                    raise
                return  # a dead agent runs no more reflexes

    def evaluate(self, text: str, agent: Agent | None = None) -> Any:
        """A GAML expression (``GymAgent[0].state``) against the live model."""
        tree = parse(f"model _x global {{ init {{ unknown _v <- {text}; }} }}")
        expr = _facets(tree.children[1].children[0].children[0].children[1].children[0])["<-"]
        return evaluate(expr, Ctx(self, agent or self.world))

    def execute(self, text: str, agent: Agent | None = None) -> None:
        """GAML statements (``GymAgent[0].next_action <- [1, 0];``) against the live model."""
        tree = parse(f"model _x global {{ init {{ {text} }} }}")
        self.run_block(tree.children[1].children[0].children[0].children[1], Ctx(self, agent or self.world))

    def cast_local(self, scope: dict, name: str, value: Any) -> Any:
        t = scope.get(("type", name))
        if t is not None and t[0] in ("int", "float", "bool", "string", "point") and value is not None:
            return cast(t[0], t[1], value)
        return value

    def run_action(self, agent: Agent, action: Action, pos: list, named: dict, caller: Agent) -> Any:
        scope: dict[str, Any] = {}
        ctx = Ctx(self, agent, caller, [scope])
        for i, (name, ttext, default) in enumerate(action.args):
            base, params = split_type(ttext)
            if i < len(pos):
                v = pos[i]
            elif name in named:
                v = named[name]
            elif default is not None:
                v = evaluate(default, ctx)
            else:
                v = default_of(base)
            scope[name] = cast(base, params, v) if v is not None else None
            scope[("type", name)] = (base, params)
        unknown = set(named) - {a[0] for a in action.args}
        if unknown:
            raise GamlError(f"action {action.name} has no argument {sorted(unknown)[0]}")
        if action.block is None:
            return None
        try:
            self.run_block(action.block, ctx)
        except _Return as r:
            return r.value
        except _Die as d:
            if d.agent is not agent or agent is caller:
                raise  # the agent's own call: its dying interrupts the caller too
        return None

    def create(self, species: Species, n: int, values: dict[str, Any], body: Tree | None, caller: Ctx) -> list[Agent]:
        made = []
        for _ in range(n):
            agent = Agent(species, species.created)
            species.created += 1
            species.members.append(agent)
            actx = Ctx(self, agent, caller.agent)
            for name, ttext, expr in species.decls:
                base, params = split_type(ttext)
                if name in values:
                    v = values[name]
                else:
                    v = evaluate(expr, actx) if expr is not None else default_of(base)
                agent.attrs[name] = cast(base, params, v) if v is not None else v
            if "location" in values:
                agent.attrs["location"] = cast("point", [], values["location"])
            for k, v in values.items():
                if k not in agent.attrs:
                    agent.attrs[k] = v
            try:
                for block in species.inits:
                    self.run_block(block, Ctx(self, agent, caller.agent))
                if body is not None:  # the caller's locals stay visible in the body
                    self.run_block(body, Ctx(self, agent, caller.agent, list(caller.scopes)))
            except _Die as d:
                if d.agent is not agent:
                    raise
            made.append(agent)
        return made

    # ---------------------------------------------------------------- statements
    def run_block(self, block: Tree, ctx: Ctx) -> None:
        ctx.scopes.append({})
        try:
            for st in block.children:
                if isinstance(st, Tree):
                    self.run_statement(st, ctx)
        finally:
            ctx.scopes.pop()

    def run_statement(self, st: Tree, ctx: Ctx) -> None:  # noqa: C901
        from .statements import run_statement

        run_statement(self, st, ctx)

    def targets(self, value: Any) -> list[Agent]:
        if isinstance(value, Agent):
            return [value]
        if isinstance(value, Population):
            return value.members
        if value is None:
            return []
        return [a for a in to_list(value) if isinstance(a, Agent)]

    def write(self, value: Any) -> None:
        self.output.append(to_string(value))
        log.info("GAML write: %s", to_string(value))


__all__ = ["Model", "Species", "Action", "GamlError", "to_int"]
