"""Pass 1 of the checker: the model's species, experiments, attributes and actions, and name lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Token, Tree

from .catalogue import Catalogue, Problem
from .parser import GamlSyntaxError, parse
from .tree import _declared_name, _facet_expr, _facet_name, _facets, _generic_parts, _pos, _split_type, _trees, _type_text, _valid_id


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



class ModelScope:
    """What one parsed model declares (:meth:`collect`) and the lookups of names in it."""

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

