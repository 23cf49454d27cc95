"""GAML statements: ``if``, ``loop``, ``ask``, ``create``, ``do``, assignments, ``add``, ``error``, ``return``..."""

from __future__ import annotations

from typing import Any

from lark import Token, Tree

from . import operators as ops
from .evaluator import Ctx, _text, evaluate
from .runtime import _Break, _Die, _Return, _block, _decl, _facets
from .values import Agent, GamaPoint, GamlError, cast, default_of, split_type, to_bool, to_int, to_list, to_string

#: statements that draw or display: nothing to run headless
_IGNORED = frozenset({"draw", "display", "graphics", "species", "output", "monitor", "parameter", "status",
                      "highlight", "inspect", "event", "chart", "data", "image", "text"})  # fmt: skip


def run_statement(model: Any, st: Tree, ctx: Ctx) -> None:  # noqa: C901 - one dispatch over the statements
    d = st.data
    ch = st.children
    if d == "assignment":
        _assign(ch[1], str(ch[2]), evaluate(ch[3], ctx), ctx)
    elif d == "if_":
        exprs = [c for c in ch if not (isinstance(c, Token) and c.type == "FACET")]
        cond, then = exprs[0], exprs[1]
        if to_bool(evaluate(cond, ctx)):
            model.run_block(then, ctx)
        elif len(exprs) > 2:
            other = exprs[2]
            if other.data == "if_":
                run_statement(model, other, ctx)
            else:
                model.run_block(other, ctx)
    elif d == "generic":
        _generic(model, st, ctx)
    elif d == "do_":
        _do(model, st, ctx)
    elif d == "loop_":
        _loop(model, st, ctx)
    elif d == "return_":
        exprs = [c for c in ch if not (isinstance(c, Token) and c.type == "FACET")]
        raise _Return(evaluate(exprs[0], ctx) if exprs else None)
    elif d == "try_":
        blocks = [c for c in ch if isinstance(c, Tree)]
        try:
            model.run_block(blocks[0], ctx)
        except GamlError:
            if len(blocks) > 1:
                model.run_block(blocks[1], ctx)
    elif d == "call_stmt":
        evaluate(ch[1], ctx)
    elif d in ("display_", "reflex_", "action_", "species_", "method_"):
        pass
    else:
        raise GamlError(f"unsupported statement {d}")


def _assign(target: Tree, op: str, value: Any, ctx: Ctx) -> None:
    if op in ("<<", "<+", "<<+", ">-", "+<-"):
        container = evaluate(target, ctx)
        _add(container, value, op, ctx, target)
        return
    if target.data == "var_ref":
        ctx.assign(_text(target.children[0]), value)
    elif target.data == "member":
        obj = evaluate(target.children[0], ctx)
        name = _text(target.children[1].children[0])
        if isinstance(obj, Agent):
            obj.species.set(obj, name, value)
        elif isinstance(obj, GamaPoint) and name in ("x", "y", "z"):
            setattr(obj, name, ops.to_float(value))
        elif isinstance(obj, dict):
            obj[name] = value
        else:
            raise GamlError(f"cannot set {name} of {to_string(obj)}")
    elif target.data == "index":
        obj = evaluate(target.children[0], ctx)
        key = evaluate(target.children[1].children[0], ctx)
        if isinstance(obj, dict):
            obj[key] = value
        elif isinstance(obj, list):
            i = to_int(key)
            if not 0 <= i < len(obj):
                raise GamlError(f"index {i} out of bounds of a list of {len(obj)}")
            obj[i] = value
        else:
            raise GamlError(f"cannot index {to_string(obj)}")
    else:
        raise GamlError(f"cannot assign to {target.data}")


def _add(container: Any, value: Any, op: str, ctx: Ctx, where: Any) -> None:
    if container is None:
        raise GamlError("cannot add to nil")
    if op == ">-":
        for v in value if op == ">-" and isinstance(value, list) and isinstance(container, list) and False else [value]:
            if isinstance(container, list) and v in container:
                container.remove(v)
            elif isinstance(container, dict):
                container.pop(v, None)
        return
    many = op in ("<<+",)
    items = to_list(value) if many else [value]
    for v in items:
        if isinstance(container, list):
            container.append(v)
        elif isinstance(container, dict):
            if isinstance(v, tuple):
                container[v[0]] = v[1]
            else:
                container[v] = v
        else:
            raise GamlError(f"cannot add to {to_string(container)}")


def _generic(model: Any, st: Tree, ctx: Ctx) -> None:
    d = _decl(st, model)
    if d is not None:  # a local variable
        name, ttext, expr = d
        base, params = split_type(ttext)
        v = evaluate(expr, ctx) if expr is not None else default_of(base)
        scope = ctx.scopes[-1]
        scope[name] = cast(base, params, v) if v is not None else None
        scope[("type", name)] = (base, params)
        return
    kw = str(st.children[0])
    f = _facets(st)
    rest = [c for c in st.children[1:] if isinstance(c, Tree) and c.data not in ("facet", "facet_arrow", "block")]
    subject = rest[0] if rest else None
    if kw == "ask":
        targets = model.targets(evaluate(subject, ctx))
        block = _block(st)
        for agent in list(targets):
            if agent.dead:
                continue
            try:
                model.run_block(block, Ctx(model, agent, ctx.agent, list(ctx.scopes)))  # the caller's locals stay visible
            except _Die as d:  # the asked agent died: the asking agent goes on (a `return` does not stop here)
                if d.agent is not agent:
                    raise
    elif kw == "create":
        name = _text(subject.children[0]) if subject.data == "var_ref" else to_string(evaluate(subject, ctx))
        species = model.species.get(name)
        if species is None:
            raise GamlError(f"create: unknown species {name}")
        n = to_int(evaluate(f["number"], ctx)) if "number" in f else 1
        values: dict[str, Any] = {}
        if "with" in f:
            if f["with"].data != "list_lit":
                raise GamlError("create ... with: takes a literal [name::value, ...]")
            for p in f["with"].children[0].children if f["with"].children else []:  # the keys are names
                values[_text(p.children[0].children[0])] = evaluate(p.children[1], ctx)
        made = model.create(species, n, values, _block(st), ctx)
        if "returns" in f:
            ctx.scopes[-1][_text(f["returns"].children[0])] = made
    elif kw == "add":
        value = evaluate(subject, ctx)
        container = evaluate(f["to"], ctx)
        if "at" in f and isinstance(container, list):
            container.insert(to_int(evaluate(f["at"], ctx)), value)
        elif "at" in f and isinstance(container, dict):
            container[evaluate(f["at"], ctx)] = value
        else:
            _add(container, value, "<<", ctx, st)
    elif kw == "remove":
        container = evaluate(f["from"], ctx)
        _add(container, evaluate(subject, ctx), ">-", ctx, st)
    elif kw == "put":
        container = evaluate(f["in"], ctx)
        key = evaluate(f.get("at", f.get("key")), ctx)
        if isinstance(container, list):
            container[to_int(key)] = evaluate(subject, ctx)
        else:
            container[key] = evaluate(subject, ctx)
    elif kw == "error":
        raise GamlError(to_string(evaluate(subject, ctx)))
    elif kw == "write" or kw == "warn":
        model.write(evaluate(subject, ctx))
    elif kw == "break":
        raise _Break()
    elif kw == "return":
        raise _Return(evaluate(subject, ctx) if subject is not None else None)
    elif kw in _IGNORED:
        pass
    else:
        raise GamlError(f"unsupported statement {kw}")


def _do(model: Any, st: Tree, ctx: Ctx) -> None:
    ref = st.children[1]
    if isinstance(ref, Token):
        ref = st.children[2]
    if ref.data == "function":
        name = _text(ref.children[0])
        exprlist = next((c for c in ref.children if isinstance(c, Tree) and c.data == "exprlist"), None)
        from .evaluator import args_of

        pos, named = args_of(exprlist, ctx)
    else:
        name = _text(ref.children[0])
        pos = []
        named = {k: evaluate(v, ctx) for k, v in _facets(st).items() if k not in ("<-", "returns")}
    if name == "pause" or name == "halt":
        model.paused = True
        return
    if name == "die":
        ctx.agent.dead = True
        if ctx.agent in ctx.agent.species.members:  # (the world agent is no member)
            ctx.agent.species.members.remove(ctx.agent)
        raise _Die(ctx.agent)
    action = ctx.agent.species.find_action(name)
    if action is None:
        raise GamlError(f"unknown action {name} of {ctx.agent.species.name}")
    value = model.run_action(ctx.agent, action, pos, named, ctx.agent)
    f = _facets(st)
    if "returns" in f:
        ctx.scopes[-1][_text(f["returns"].children[0])] = value


def _loop(model: Any, st: Tree, ctx: Ctx) -> None:
    var = next((_text(c) for c in st.children if isinstance(c, Tree) and c.data == "valid_id"), None)
    f = _facets(st)
    block = _block(st)

    def body(value: Any = None) -> bool:
        scope: dict[str, Any] = {}
        if var is not None:
            scope[var] = value
        ctx.scopes.append(scope)
        try:
            model.run_block(block, ctx)
        except _Break:
            return False
        finally:
            ctx.scopes.pop()
        return True

    if "over" in f:
        items = evaluate(f["over"], ctx)
        seq = list(items.values()) if isinstance(items, dict) else (
            items.members if hasattr(items, "members") else to_list(items))
        for x in list(seq):
            if not body(x):
                break
    elif "from" in f:
        lo, hi = evaluate(f["from"], ctx), evaluate(f["to"], ctx)
        step = evaluate(f["step"], ctx) if "step" in f else 1
        i = lo
        while i <= hi:
            if not body(i):
                break
            i = ops.add(i, step)
    elif "times" in f:
        for _ in range(to_int(evaluate(f["times"], ctx))):
            if not body():
                break
    elif "while" in f:
        while to_bool(evaluate(f["while"], ctx)):
            if not body():
                break
    else:
        raise GamlError("loop needs over:, from:/to:, times: or while:")
