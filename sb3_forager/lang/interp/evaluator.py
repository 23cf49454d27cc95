"""Evaluating GAML expressions (parse-tree nodes of :mod:`sb3_forager.lang.parser`) in a :class:`Ctx`."""

from __future__ import annotations

import math
from typing import Any

from lark import Token, Tree
from shapely.geometry.base import BaseGeometry

from . import geometry as geo
from . import operators as ops
from .values import Agent, GamaPoint, GamlError, cast, split_type, to_bool, to_int, to_list, to_string

CONSTANTS: dict[str, Any] = {"pi": math.pi, "e": math.e, "infinity": math.inf, "max_int": 2**31 - 1,
                             "min_float": 4.9e-324, "max_float": 1.7976931348623157e308, "m": 1.0, "km": 1000.0,
                             "s": 1.0, "sec": 1.0, "ms": 0.001, "deg": 1.0, "degree": 1.0}  # fmt: skip


class Population:
    """A species' agents (``forager`` as a value; ``forager[i]``)."""

    def __init__(self, species: Any) -> None:
        self.species = species

    @property
    def members(self) -> list[Agent]:
        return list(self.species.members)


class Ctx:
    """Where an expression runs: ``self`` (an agent), ``myself``, the local variables (innermost last)."""

    __slots__ = ("model", "agent", "myself", "scopes")

    def __init__(self, model: Any, agent: Agent, myself: Agent | None = None, scopes: list | None = None) -> None:
        self.model, self.agent, self.myself = model, agent, myself
        self.scopes: list[dict[str, Any]] = scopes if scopes is not None else [{}]

    def child(self, agent: Agent, myself: Agent | None) -> "Ctx":
        return Ctx(self.model, agent, myself, [{}])

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        attrs = self.agent.attrs
        if name in attrs:
            return attrs[name]
        world = self.model.world
        if name == "location" and self.agent is not world:
            raise GamlError(f"{self.agent}: location never set (GAMA draws it at random with its own generator, "
                            "which this interpreter cannot reproduce)")
        if name in world.attrs:
            return world.attrs[name]
        if name == "self":
            return self.agent
        if name in ("index", "name"):  # built-in agent attributes
            return member(self.agent, name, self)
        species = self.model.species.get(name)
        if species is not None:
            return Population(species)
        if name == "world":
            return world
        raise GamlError(f"unknown name {name!r}")

    def assign(self, name: str, value: Any) -> None:
        for scope in reversed(self.scopes):
            if name in scope:
                scope[name] = self.model.cast_local(scope, name, value)
                return
        for agent in (self.agent, self.model.world):
            if name in agent.attrs:
                agent.species.set(agent, name, value)
                return
        raise GamlError(f"assignment to an unknown variable {name!r}")


def _text(node: Any) -> str:
    return str(node.children[0]) if isinstance(node, Tree) and node.data == "valid_id" else str(node)


def type_text(node: Tree) -> str:
    name = _text(node.children[0])
    infos = [c for c in node.children if isinstance(c, Tree) and c.data == "typeinfo"]
    if not infos:
        return name
    params = [type_text(t) for t in infos[0].children if isinstance(t, Tree) and t.data == "typeref"]
    return f"{name}<{','.join(params)}>"


def unquote(s: str) -> str:
    body = s[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    esc = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(esc.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def literal(tok: Token) -> Any:
    t = tok.type
    if t == "STRING":
        return unquote(str(tok))
    if t == "INTEGER":
        return int(tok)
    if t == "DOUBLE":
        return float(tok)
    if t == "BOOLEAN":
        return str(tok) == "true"
    raise GamlError(f"unexpected literal {tok}")


def args_of(node: Tree | None, ctx: Ctx) -> tuple[list, dict]:
    """Positional and named arguments of an exprlist."""
    pos: list = []
    named: dict = {}
    if node is None:
        return pos, named
    for c in node.children:
        if isinstance(c, Tree) and c.data == "named_arg":
            key = c.children[0]
            name = str(key)[:-1] if isinstance(key, Token) else _text(key.children[0])
            named[name] = evaluate(c.children[1], ctx)
        else:
            pos.append(evaluate(c, ctx))
    return pos, named


def member(obj: Any, name: str, ctx: Ctx) -> Any:
    if isinstance(obj, GamaPoint):
        if name in ("x", "y", "z"):
            return getattr(obj, name)
        if name == "location":
            return obj
    if isinstance(obj, Agent):
        if name in obj.attrs:
            return obj.attrs[name]
        if name == "name":
            return f"{obj.species.name}{obj.index}"
        if name == "index":
            return obj.index
    if isinstance(obj, BaseGeometry):
        if name == "location":
            return geo.location(obj)
        if name == "area":
            return obj.area
        if name == "perimeter":
            return obj.length
        if name == "points":
            return [GamaPoint(*c[:2]) for c in getattr(obj, "exterior", obj).coords]
    if isinstance(obj, dict) and name in obj:
        return obj[name]
    if obj is None:
        raise GamlError(f"nil value: cannot read its {name}")
    getter = getattr(obj, "gaml_attribute", None)
    if getter is not None:
        return getter(name)
    raise GamlError(f"{to_string(obj)} has no attribute {name!r}")


def index(obj: Any, keys: list) -> Any:
    if isinstance(obj, Population):
        members = obj.members
        i = to_int(keys[0])
        if not 0 <= i < len(members):
            raise GamlError(f"index {i} out of bounds of {obj.species.name} ({len(members)} agents)")
        return members[i]
    if isinstance(obj, dict):
        return obj.get(keys[0])
    if isinstance(obj, list):
        i = to_int(keys[0])
        if not 0 <= i < len(obj):
            raise GamlError(f"index {i} out of bounds of a list of {len(obj)}")
        return obj[i]
    if obj is None:
        raise GamlError("nil value: cannot index it")
    return to_list(obj)[to_int(keys[0])]


def iterate(op: str, container: Any, node: Any, ctx: Ctx) -> Any:
    """``container op (expr)`` with ``each`` bound to every element."""
    items = list(container.items()) if isinstance(container, dict) and op == "as_map" else to_list(container)
    scope: dict[str, Any] = {}
    ctx.scopes.append(scope)
    try:
        def val(x: Any) -> Any:
            scope["each"] = x
            return evaluate(node, ctx)

        if op == "collect":
            return [val(x) for x in items]
        if op == "where":
            return [x for x in items if to_bool(val(x))]
        if op == "first_with":
            return next((x for x in items if to_bool(val(x))), None)
        if op == "all_match":
            return all(to_bool(val(x)) for x in items)
        if op == "one_matches":
            return any(to_bool(val(x)) for x in items)
        if op == "none_matches":
            return not any(to_bool(val(x)) for x in items)
        if op == "count":
            return sum(1 for x in items if to_bool(val(x)))
        if op == "as_map":
            out = {}
            for x in items:
                k, v = val(x)
                out[k] = v
            return out
        if op in ("with_min_of", "with_max_of", "min_of", "max_of"):
            if not items:
                return None
            keyed = [(val(x), x) for x in items]
            best = keyed[0]
            for k in keyed[1:]:
                if ops.compare("<" if "min" in op else ">", k[0], best[0]):
                    best = k
            return best[1] if op.startswith("with") else best[0]
        if op == "sum_of":
            total: Any = 0
            for x in items:
                total = ops.add(total, val(x))
            return total
        if op == "sort_by":
            return [x for _, x in sorted(((val(x), i), x) for i, x in enumerate(items))]
    finally:
        ctx.scopes.pop()
    raise GamlError(f"unsupported iterator {op}")


def call(name: str, node: Tree, ctx: Ctx) -> Any:
    children = node.children
    infos = [c for c in children if isinstance(c, Tree) and c.data == "typeinfo"]
    exprs = next((c for c in children if isinstance(c, Tree) and c.data == "exprlist"), None)
    pos, named = args_of(exprs, ctx)
    if name in ("int", "float", "bool", "string", "list", "map", "point", "geometry", "container", "unknown"):
        params = [type_text(t) for t in infos[0].children if isinstance(t, Tree)] if infos else []
        if name == "point" and len(pos) > 1:
            return ops.FUNCTIONS["point"](pos)
        return cast(name, params, pos[0] if pos else None)
    f = ops.FUNCTIONS.get(name)
    if f is not None:
        return f(pos)
    if name in ops.BINARY and len(pos) == 2 and ops.BINARY[name] is not None:
        return ops.BINARY[name](*pos)
    ext = ctx.model.extensions.get(name)
    if ext is not None:
        return ext(ctx.model, pos)
    action = ctx.agent.species.find_action(name)
    if action is not None:
        return ctx.model.run_action(ctx.agent, action, pos, named, ctx.agent)
    raise GamlError(f"unknown operator or action {name}()")


def evaluate(node: Any, ctx: Ctx) -> Any:  # noqa: C901 - one dispatch over the expression rules
    if isinstance(node, Token):
        if node.type == "KEYWORD":
            word = str(node)
            if word == "nil":
                return None
            if word == "self":
                return ctx.agent
            if word == "myself":
                return ctx.myself
            return ctx.lookup(word)  # each
        return literal(node)
    d = node.data
    ch = node.children
    if d == "var_ref":
        return ctx.lookup(_text(ch[0]))
    if d == "literal":
        return evaluate(ch[0], ctx)
    if d == "arith":
        a, b = evaluate(ch[0], ctx), evaluate(ch[2], ctx)
        op = str(ch[1].children[0])
        return {"+": ops.add, "-": ops.sub, "*": ops.mul, "/": ops.div}[op](a, b)
    if d == "member":
        obj = evaluate(ch[0], ctx)
        target = ch[1]
        if isinstance(target, Tree) and target.data == "function":
            name = _text(target.children[0])
            if isinstance(obj, Agent):
                action = obj.species.find_action(name)
                if action is not None:
                    pos, named = args_of(next((c for c in target.children if isinstance(c, Tree)
                                               and c.data == "exprlist"), None), ctx)
                    return ctx.model.run_action(obj, action, pos, named, ctx.agent)
            raise GamlError(f"{to_string(obj)} has no action {name}")
        name = _text(target.children[0]) if isinstance(target, Tree) else unquote(str(target))
        return member(obj, name, ctx)
    if d == "index":
        obj = evaluate(ch[0], ctx)
        keys, _ = args_of(ch[1] if len(ch) > 1 else None, ctx)
        return index(obj, keys)
    if d == "comparison":
        return ops.compare(str(ch[1].children[0]), evaluate(ch[0], ctx), evaluate(ch[2], ctx))
    if d == "and_":
        return to_bool(evaluate(ch[0], ctx)) and to_bool(evaluate(ch[1], ctx))
    if d == "or_":
        return to_bool(evaluate(ch[0], ctx)) or to_bool(evaluate(ch[1], ctx))
    if d == "binary":
        op = _text(ch[1])
        if op in ops.ITERATORS:
            left = evaluate(ch[0], ctx)
            if op == "closest_to":
                right = evaluate(ch[2], ctx)
                items = to_list(left)
                return min(items, key=lambda a: geo.distance_to(a, right)) if items else None
            return iterate(op, left, ch[2], ctx)
        f = ops.BINARY.get(op)
        a, b = evaluate(ch[0], ctx), evaluate(ch[2], ctx)
        if f is None:
            action = ctx.agent.species.find_action(op)
            if action is not None:  # `a action b`: an action with 2 arguments called as an operator
                return ctx.model.run_action(ctx.agent, action, [a, b], {}, ctx.agent)
            raise GamlError(f"unsupported operator {op} (random operators cannot follow GAMA's generator)")
        return f(a, b)
    if d == "function":
        return call(_text(ch[0]), node, ctx)
    if d == "paren":
        vals = [evaluate(c, ctx) for c in ch[0].children]
        return vals[-1]
    if d == "list_lit":  # a list of pairs `[k::v, ...]` is a map
        items = [evaluate(c, ctx) for c in ch[0].children] if ch else []
        if items and all(isinstance(c, Tree) and c.data == "pair" for c in ch[0].children):
            return dict(items)
        return items
    if d == "point_lit":
        vals = [ops.to_float(evaluate(c, ctx)) for c in ch[1:]]
        return GamaPoint(*vals)
    if d == "pair":
        return (evaluate(ch[0], ctx), evaluate(ch[1], ctx))
    if d == "unary":
        op = str(ch[0].children[0])
        v = evaluate(ch[1], ctx)
        if op == "-":
            return -v if not isinstance(v, bool) else GamlError("cannot negate a bool")
        if op in ("!", "not"):
            return not to_bool(v)
        return v
    if d == "conditional":
        if len(ch) == 2:  # `a ? b` without else
            return evaluate(ch[1], ctx) if to_bool(evaluate(ch[0], ctx)) else None
        return evaluate(ch[1], ctx) if to_bool(evaluate(ch[0], ctx)) else evaluate(ch[2], ctx)
    if d == "power":
        return ops.power(evaluate(ch[0], ctx), evaluate(ch[1], ctx))
    if d == "constant":
        name = _text(ch[1])
        return CONSTANTS.get(name, name)  # colours and the like: their name
    if d == "unit":
        return ops.mul(evaluate(ch[0], ctx), CONSTANTS.get(_text(ch[2]), 1.0))
    if d == "cast":
        base, params = split_type(type_text(ch[1]))
        return cast(base, params, evaluate(ch[0], ctx))
    if d == "type_expr":
        return type_text(node)
    raise GamlError(f"unsupported expression {d}")
