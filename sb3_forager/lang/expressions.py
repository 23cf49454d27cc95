"""The checker's expression checks: operators and their arity, types, constants, calls and members."""

from __future__ import annotations

from typing import Any

from lark import Token, Tree

from .scope import ModelScope, SpeciesInfo, _Ctx
from .tree import _split_type, _trees, _valid_id

#: one-operand types that take several operands gathered into a list
_LIST_OPERANDS = {"container", "list", "unknown"}


class ExpressionChecks(ModelScope):
    """Checks of expressions, on top of the model's declarations."""

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


