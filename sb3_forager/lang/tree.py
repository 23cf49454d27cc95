"""Small readers of the Lark parse tree of :mod:`.parser`: tokens, positions, names, types, facets."""

from __future__ import annotations

from typing import Any

from lark import Token, Tree


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


