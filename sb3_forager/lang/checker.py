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

import logging
from pathlib import Path
from typing import Any

from lark import Token, Tree

from .catalogue import CATALOGUE_PATH, Catalogue, Problem, load_catalogue
from .expressions import ExpressionChecks
from .parser import GamlSyntaxError, parse
from .scope import SpeciesInfo, _Ctx
from .tree import (
    _canonical_facet, _declared_name, _facet_expr, _facet_name, _facets, _generic_parts, _pos, _split_type, _trees,
    _type_text, _valid_id,
)

__all__ = ["Problem", "Catalogue", "load_catalogue", "check_text", "check_file", "check_tree", "CATALOGUE_PATH"]

log = logging.getLogger(__name__)

#: facet value types whose expression is a name being defined or a label, not a name to look up
_NAME_FACET_TYPES = {"id", "label", "new_temp_id", "new_var_id"}


class Checker(ExpressionChecks):
    """Checks one parsed model against a catalogue; ``problems`` holds the result."""

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
