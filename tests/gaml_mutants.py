"""Seeded faults in GAML text for the check-gaml mutation test (tests/test_check_gaml.py).

Six kinds, each at positions read off the lexer and the parse tree (never in comments or strings):
a deleted ``;``, a deleted ``}``, a misspelt statement keyword, facet, built-in operator, and variable
use. Positions are spread evenly over the file (``per_kind`` of each kind), so the set is fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lark import Token, Tree

from sb3_forager.lang.checker import Catalogue
from sb3_forager.lang.parser import _parser, parse

#: statement keywords the grammar reads as keywords (they are not in the tree)
KEYWORD_STATEMENTS = ("if", "else", "loop", "do", "return", "action", "reflex", "init", "aspect", "species",
                      "experiment", "global", "display", "try", "catch")


@dataclass(frozen=True)
class Mutant:
    kind: str
    line: int
    column: int
    original: str
    replacement: str
    text: str

    def describe(self) -> str:
        return f"{self.kind} at {self.line}:{self.column}: {self.original!r} -> {self.replacement!r}"


def misspell(word: str) -> str:
    """A deterministic misspelling: the 2nd and 3rd letters swapped (or the 2nd doubled)."""
    if len(word) >= 3 and word[1] != word[2]:
        return word[0] + word[2] + word[1] + word[3:]
    if len(word) >= 2:
        return word[0] + word[1] + word[1:]
    return word + "q"


def _spread(items: list, n: int) -> list:
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _raw_tokens(text: str) -> list[Token]:
    from lark.lexer import LexerState
    from lark.utils import TextSlice

    lark, _ = _parser()
    state = LexerState(TextSlice.cast_from(text))
    return list(lark.parser.lexer.lex(state, None))


def mutants(text: str, cat: Catalogue, per_kind: int = 10) -> Iterator[Mutant]:
    """The mutants of one GAML text."""
    toks = _raw_tokens(text)
    tree = parse(text)

    def edit(kind: str, tok: Token, start: int, end: int, replacement: str) -> Mutant:
        return Mutant(kind, tok.line, tok.column, text[start:end], replacement,
                      text[:start] + replacement + text[end:])

    for t in _spread([t for t in toks if t.type == "_SEMI"], per_kind):
        yield edit("deleted ;", t, t.start_pos, t.end_pos, "")
    for t in _spread([t for t in toks if t.type == "_RBRACE"], per_kind):
        yield edit("deleted }", t, t.start_pos, t.end_pos, "")
    # statement keywords: the grammar's keywords and the heads of generic statements that are statements
    heads = [t for t in toks if str(t) in KEYWORD_STATEMENTS and t.type != "ID"]
    for st in tree.iter_subtrees_topdown():
        if st.data == "generic" and isinstance(st.children[0], Token) and str(st.children[0]) in cat.statements:
            heads.append(st.children[0])
    heads.sort(key=lambda t: t.start_pos)
    for t in _spread(heads, per_kind):
        yield edit("misspelt statement", t, t.start_pos, t.end_pos, misspell(str(t)))
    facets = [t for t in toks if t.type == "FACET"]
    for t in _spread(facets, per_kind):
        name = str(t)[:-1]
        yield edit("misspelt facet", t, t.start_pos, t.start_pos + len(name), misspell(name))
    ops: list[Token] = []
    uses: list[Token] = []
    for node in tree.iter_subtrees_topdown():
        if node.data == "binary":
            ops.append(node.children[1].children[0])
        elif node.data == "function":
            tok = node.children[0].children[0]
            if str(tok) in cat.operators:
                ops.append(tok)
        elif node.data == "var_ref":
            uses.append(node.children[0].children[0])
    for t in _spread(sorted(ops, key=lambda t: t.start_pos), per_kind):
        yield edit("misspelt operator", t, t.start_pos, t.end_pos, misspell(str(t)))
    for t in _spread(sorted(uses, key=lambda t: t.start_pos), per_kind):
        yield edit("misspelt variable", t, t.start_pos, t.end_pos, misspell(str(t)))
