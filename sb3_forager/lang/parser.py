"""Parse GAML source into a Lark tree with line/column positions (grammar: ``gaml.lark``).

``parse(text)`` returns a :class:`lark.Tree` whose tokens carry ``line`` / ``column`` (a node's position
is its first token's: Lark's propagate_positions would double the parse time); a syntax error raises :class:`GamlSyntaxError` with the
position of the offending token. The LALR parser is fed by :class:`GamlPostLex`, which takes the
decisions for which GAMA's Xtext grammar uses syntactic predicates (see the grammar's header).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

__all__ = ["GamlSyntaxError", "parse", "parse_file", "PARAMETRIC_TYPES"]

log = logging.getLogger(__name__)

GRAMMAR_PATH = Path(__file__).with_name("gaml.lark")

#: Types that take `<...>` parameters (GAMA's container types and `species`); an identifier followed by
#: `<` is read as a parametric type when it is one of these, or when the closing `>` is followed by `(`.
PARAMETRIC_TYPES = frozenset(
    {"list", "map", "matrix", "container", "pair", "graph", "species", "field", "array", "file", "agent"}
)

_NAME_TYPES = {"ID", "DIM_ID"}
#: keywords that the grammar also accepts as names (Xtext's Valid_ID)
_VALID_ID_KEYWORDS = frozenset({"species", "grid", "do", "invoke", "init", "reflex", "aspect", "experiment", "equation"})
_CLOSERS = {"_RBRACE": "{", "_RPAR": "(", "_RSQB": "["}
_OPENERS = {"_LBRACE": "{", "_LPAR": "(", "_LSQB": "["}

#: how a terminal is named in a syntax error
_TERMINAL_TEXT = {
    "_SEMI": "';'", "_LBRACE": "'{'", "_RBRACE": "'}'", "_LPAR": "'('", "_RPAR": "')'", "_LSQB": "'['",
    "_RSQB": "']'", "_COMMA": "','", "_DOT": "'.'", "_COLON": "':'", "_DCOLON": "'::'", "_QMARK": "'?'",
    "_ARROW": "'<-'", "_FUNCARROW": "'->'", "LT": "'<'", "GT": "'>'", "TLT": "'<'", "TGT": "'>'",
    "LPOINT": "'{'", "LFUNC": "'{'", "ID": "a name", "DIM_ID": "a name", "FACET": "a facet (name:)",
    "ACTION_FACET": "a facet (action:)", "STRING": "a string", "INTEGER": "a number", "DOUBLE": "a number",
    "BOOLEAN": "true/false", "KEYWORD": "self/myself/each/nil/super", "ASSIGN_OP": "an assignment operator",
    "ASSIGN_MARK": "a statement", "METHOD_MARK": "a statement", "UNIT_OP": "'#'", "$END": "the end of the file",
}


class GamlSyntaxError(ValueError):
    """A syntax error at ``line``:``column`` (1-based)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{line}:{column}: {message}")
        self.message = message
        self.line = line
        self.column = column


class GamlPostLex:
    """Rewrites the token stream where one token of lookahead does not decide (Xtext's predicates).

    See the header of ``gaml.lark`` for the list of rewrites."""

    always_accept = ()

    def __init__(self) -> None:
        self.keyword_types: dict[str, str] = {}  # e.g. "self" -> "KEYWORD", "if" -> "IF"

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        toks = list(stream)
        toks = self._brackets_and_facets(toks)
        self._type_parameters(toks)
        yield from self._statement_marks(toks)

    # -- pass 1: point / function braces, `? :` splitting, action facets
    def _brackets_and_facets(self, toks: list[Token]) -> list[Token]:
        out: list[Token] = []
        stack: list[dict] = [{"kind": "", "idx": -1, "comma": False, "semi": False, "q": 0}]
        for tok in toks:
            t = tok.type
            top = stack[-1]
            if t in _OPENERS:
                frame = {"kind": _OPENERS[t], "idx": len(out), "comma": False, "semi": False, "q": 0}
                if t == "_LBRACE" and out and out[-1].type == "_FUNCARROW":
                    tok = Token.new_borrow_pos("LFUNC", tok.value, tok)
                    frame["kind"] = "f"
                stack.append(frame)
            elif t in _CLOSERS:
                if len(stack) > 1:
                    frame = stack.pop()
                    if frame["kind"] == "{" and frame["comma"] and not frame["semi"]:
                        o = out[frame["idx"]]
                        out[frame["idx"]] = Token.new_borrow_pos("LPOINT", o.value, o)
            elif t == "_COMMA":
                top["comma"] = True
            elif t == "_SEMI":
                top["semi"] = True
            elif t == "_QMARK":
                top["q"] += 1
            elif t == "_COLON":
                if top["q"]:
                    top["q"] -= 1
            elif t == "FACET":
                if top["q"]:  # `c ? a:b` -> `c ? a : b`
                    top["q"] -= 1
                    name = tok.value[:-1]
                    out.append(Token(self.keyword_types.get(name, "ID"), name, tok.start_pos, tok.line,
                                     tok.column, tok.line, tok.column + len(name), tok.start_pos + len(name)))
                    out.append(Token("_COLON", ":", tok.start_pos + len(name), tok.line, tok.column + len(name),
                                     tok.end_line, tok.end_column, tok.end_pos))
                    continue
                if tok.value in ("action:", "on_change:"):
                    tok = Token.new_borrow_pos("ACTION_FACET", tok.value, tok)
            out.append(tok)
        return out

    # -- pass 2: `<` `>` of type parameters
    @staticmethod
    def _is_name(tok: Token) -> bool:
        return tok.type in _NAME_TYPES or tok.value in ("species", "grid")

    def _parse_type(self, toks: list[Token], i: int, marks: list[int]) -> int | None:
        """A type at toks[i] (name, optionally <T(, T)?>); returns the index after it, or None."""
        if i >= len(toks) or not self._is_name(toks[i]):
            return None
        i += 1
        if i < len(toks) and toks[i].type in ("LT", "TLT"):
            return self._parse_type_info(toks, i, marks)
        return i

    def _parse_type_info(self, toks: list[Token], i: int, marks: list[int]) -> int | None:
        local = [i]
        j = self._parse_type(toks, i + 1, local)
        if j is None:
            return None
        if j < len(toks) and toks[j].type == "_COMMA":
            j = self._parse_type(toks, j + 1, local)
            if j is None:
                return None
        if j >= len(toks) or toks[j].type not in ("GT", "TGT"):
            return None
        local.append(j)
        marks.extend(local)
        return j + 1

    def _type_parameters(self, toks: list[Token]) -> None:
        for i in range(1, len(toks)):
            if toks[i].type != "LT" or not self._is_name(toks[i - 1]):
                continue
            marks: list[int] = []
            end = self._parse_type_info(toks, i, marks)
            if end is None:
                continue
            if toks[i - 1].value in PARAMETRIC_TYPES or (end < len(toks) and toks[end].type == "_LPAR"):
                for k in marks:
                    toks[k] = Token.new_borrow_pos("TLT" if toks[k].type == "LT" else "TGT", toks[k].value, toks[k])

    # -- pass 3: statement marks (assignment / action call, typed method definition)
    @staticmethod
    def _skip_group(toks: list[Token], i: int) -> int | None:
        """toks[i] opens ( or [; returns the index after its match."""
        depth = 0
        for k in range(i, len(toks)):
            t = toks[k].type
            if t in _OPENERS or t in ("LPOINT", "LFUNC"):
                depth += 1
            elif t in _CLOSERS:
                depth -= 1
                if depth == 0:
                    return k + 1
        return None

    def _chain(self, toks: list[Token], i: int) -> tuple[int, bool, bool] | None:
        """An access chain (a, a.b, a[i], a.f(x), self.x ...) at toks[i]: (end, has_dot, ends_with_call)."""
        t = toks[i]
        if t.type == "_LPAR":
            j = self._skip_group(toks, i)
            if j is None:
                return None
        elif t.type in _NAME_TYPES or t.type == "KEYWORD" or t.value in _VALID_ID_KEYWORDS:
            j = i + 1
        else:
            return None
        has_dot, call = False, False
        while j < len(toks):
            t = toks[j]
            if t.type in ("_LPAR", "_LSQB"):
                end = self._skip_group(toks, j)
                if end is None:
                    return None
                call = t.type == "_LPAR"
                j = end
            elif t.type == "_DOT" and j + 1 < len(toks) and (
                toks[j + 1].type in _NAME_TYPES or toks[j + 1].type in ("KEYWORD", "STRING")
                or toks[j + 1].value in ("species", "grid")
            ):
                has_dot, call = True, False
                j += 2
            else:
                break
        return j, has_dot, call

    def _method(self, toks: list[Token], i: int) -> bool:
        j = self._parse_type(toks, i, [])
        if j is None or j + 1 >= len(toks) or not self._is_name(toks[j]) or toks[j + 1].type != "_LPAR":
            return False
        k = j + 2
        if k < len(toks) and toks[k].type == "_RPAR":
            return True
        k = self._parse_type(toks, k, [])
        return (k is not None and k + 1 < len(toks) and self._is_name(toks[k])
                and toks[k + 1].type in ("_COMMA", "_RPAR", "_ARROW"))

    def _statement_marks(self, toks: list[Token]) -> Iterator[Token]:
        block_closers: set[int] = set()
        opens: list[tuple[int, str]] = []
        for k, t in enumerate(toks):
            if t.type in ("_LBRACE", "LPOINT", "LFUNC", "_LPAR", "_LSQB"):
                opens.append((k, t.type))
            elif t.type in _CLOSERS and opens:
                _, kind = opens.pop()
                if kind == "_LBRACE":
                    block_closers.add(k)
        i = 0
        prev: int | None = None
        while i < len(toks):
            tok = toks[i]
            boundary = prev is None or toks[prev].type in ("_SEMI", "_LBRACE") or prev in block_closers
            if boundary:
                chain = self._chain(toks, i)
                first = chain
                while chain is not None and chain[0] + 1 < len(toks) and self._is_name(toks[chain[0]]):
                    more = self._chain(toks, chain[0] + 1)  # `location of p <- v`: a binary operator's operands
                    if more is None:
                        break
                    chain = (more[0], True, more[2])
                if chain is not first and chain is not None and chain[0] < len(toks) and toks[chain[0]].type == "_SEMI":
                    chain = first  # `write a.f(x);` is a statement with an expression, not a call statement
                if chain is not None:
                    end, has_dot, call = chain
                    op = toks[end] if end < len(toks) else None
                    nxt = toks[end + 1] if end + 1 < len(toks) else None
                    merged: Token | None = None
                    if op is not None and op.type in ("ASSIGN_OP", "_ARROW"):
                        merged = Token.new_borrow_pos("ASSIGN_OP", op.value, op)
                        skip = 1
                    elif (op is not None and op.type == "GT" and nxt is not None and nxt.start_pos == op.end_pos
                          and (nxt.type == "GT" or (nxt.type == "ASSIGN_OP" and nxt.value == ">-"))):
                        merged = Token("ASSIGN_OP", ">" + nxt.value, op.start_pos, op.line, op.column,
                                       nxt.end_line, nxt.end_column, nxt.end_pos)
                        skip = 2
                    if merged is not None:
                        yield Token.new_borrow_pos("ASSIGN_MARK", "", tok)
                        yield from toks[i:end]
                        yield merged
                        prev = end + skip - 1
                        i = end + skip
                        continue
                    if op is not None and op.type == "_SEMI" and has_dot and call:
                        yield Token.new_borrow_pos("ASSIGN_MARK", "", tok)
                if chain is None or toks[chain[0]].type != "_SEMI":
                    if self._method(toks, i):
                        yield Token.new_borrow_pos("METHOD_MARK", "", tok)
            yield tok
            prev = i
            i += 1


@functools.lru_cache(maxsize=1)
def _parser() -> tuple[Lark, GamlPostLex]:
    post = GamlPostLex()
    lark = Lark(GRAMMAR_PATH.read_text(encoding="utf-8"), parser="lalr", lexer="basic", postlex=post,
                propagate_positions=False, maybe_placeholders=False, cache=True)
    for term in lark.terminals:
        if term.pattern.type == "str" and term.pattern.value.isidentifier():
            post.keyword_types[term.pattern.value] = term.name
    post.keyword_types.update({k: "KEYWORD" for k in ("each", "self", "myself", "nil", "super")})
    post.keyword_types.update({"true": "BOOLEAN", "false": "BOOLEAN"})
    return lark, post


@functools.lru_cache(maxsize=1)
def _terminal_texts() -> dict[str, str]:
    lark, _ = _parser()
    texts = {t.name: repr(t.pattern.value) for t in lark.terminals if t.pattern.type == "str"}
    texts.update(_TERMINAL_TEXT)
    return texts


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    if token.type in ("ASSIGN_MARK", "METHOD_MARK"):
        return "a statement"
    return repr(str(token.value))


def parse(text: str) -> Tree:
    """Parse a whole GAML model (``model name`` ... sections); raises :class:`GamlSyntaxError`."""
    lark, _ = _parser()
    try:
        return lark.parse(text)
    except UnexpectedToken as e:
        tok = e.token
        names = _terminal_texts()
        expected = sorted({names.get(x, x) for x in e.expected})
        hint = ", ".join(expected[:8]) + (", ..." if len(expected) > 8 else "")
        line = tok.line if tok.line is not None else e.line
        col = tok.column if tok.column is not None else e.column
        if tok.type == "$END":
            line, col = _end_position(text)
        raise GamlSyntaxError(f"syntax error: unexpected {_describe(tok)}; expected {hint}", line or 1,
                              col or 1) from None
    except UnexpectedCharacters as e:
        raise GamlSyntaxError(f"syntax error: unexpected character {text[e.pos_in_stream]!r}", e.line,
                              e.column) from None
    except UnexpectedEOF:
        line, col = _end_position(text)
        raise GamlSyntaxError("syntax error: unexpected end of the file", line, col) from None
    except UnexpectedInput as e:  # pragma: no cover - other Lark errors
        raise GamlSyntaxError(f"syntax error: {e}", getattr(e, "line", 1), getattr(e, "column", 1)) from None


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def parse_file(path: str | Path) -> Tree:
    """Parse a ``.gaml`` file (UTF-8)."""
    return parse(Path(path).read_text(encoding="utf-8"))
