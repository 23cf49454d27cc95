"""GAML's operators with GAMA's semantics (the ones the forager models and similar GAML use).

Facts followed (GAMA's ``Maths``, ``Containers``, ``Cast``, ``Spatial`` operators; not code):
``/`` always gives a float (``div`` is the int division, Java's truncating ``/``); ``+ - *`` of two ints
is an int, with a float a float; ``^`` gives a float; ``cos``/``sin``/``tan`` take degrees;
``round`` of a float rounds half away from zero and gives an int; ``mod`` of ints is Java's ``%``;
``min``/``max`` of a list; string ``+`` anything concatenates GAMA's text of the value.
"""

from __future__ import annotations

import json
import math
from typing import Any

from . import geometry as geo
from .values import Agent, GamaPoint, GamlError, to_float, to_int, to_list, to_point, to_string

TO_RAD = math.pi / 180.0


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def add(a: Any, b: Any) -> Any:
    if isinstance(a, str) or isinstance(b, str):
        if isinstance(a, str) and isinstance(b, str):
            return a + b
        if isinstance(a, str):
            return a + to_string(b)
        raise GamlError(f"cannot add a string to {to_string(a)}")
    if isinstance(a, list):
        return a + (b if isinstance(b, list) else [b])
    if isinstance(a, GamaPoint):
        return a + (b if isinstance(b, GamaPoint) else to_float(b))
    if isinstance(b, GamaPoint) and _num(a):
        return b + a
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b}
    return _arith(a, b, lambda x, y: x + y, "+")


def sub(a: Any, b: Any) -> Any:
    if isinstance(a, list):
        rm = b if isinstance(b, list) else [b]
        return [x for x in a if x not in rm]
    if isinstance(a, GamaPoint):
        return a - (b if isinstance(b, GamaPoint) else to_float(b))
    return _arith(a, b, lambda x, y: x - y, "-")


def mul(a: Any, b: Any) -> Any:
    if isinstance(a, GamaPoint):
        return a * (b if isinstance(b, GamaPoint) else to_float(b))
    if isinstance(b, GamaPoint):
        return b * to_float(a)
    return _arith(a, b, lambda x, y: x * y, "*")


def div(a: Any, b: Any) -> Any:
    if isinstance(a, GamaPoint):
        return a / to_float(b)
    if not (_num(a) and _num(b)):
        raise GamlError(f"cannot divide {to_string(a)} by {to_string(b)}")
    if b == 0:
        raise GamlError("division by zero")
    return float(a) / float(b)


def int_div(a: Any, b: Any) -> int:
    if to_float(b) == 0:
        raise GamlError("division by zero")
    if isinstance(a, int) and isinstance(b, int):
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q
    return to_int(to_float(a) / to_float(b))


def mod(a: Any, b: Any) -> int:
    a, b = to_int(a), to_int(b)
    if b == 0:
        raise GamlError("division by zero")
    return int(math.fmod(a, b))


def power(a: Any, b: Any) -> float:
    return math.pow(to_float(a), to_float(b))


def _arith(a: Any, b: Any, f: Any, op: str) -> Any:
    if isinstance(a, bool) or isinstance(b, bool) or not (_num(a) and _num(b)):
        raise GamlError(f"cannot apply {op} to {to_string(a)} and {to_string(b)}")
    if isinstance(a, int) and isinstance(b, int):
        return f(a, b)
    return f(float(a), float(b))


def equal(a: Any, b: Any) -> bool:
    if _num(a) and _num(b):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return a == b if type(a) is type(b) or a is None or b is None else False


def compare(op: str, a: Any, b: Any) -> bool:
    if op == "=":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if isinstance(a, str) and isinstance(b, str):
        x, y = a, b
    else:
        if a is None or b is None:
            raise GamlError(f"cannot compare {to_string(a)} {op} {to_string(b)}")
        x, y = to_float(a), to_float(b)
    return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def gama_round(v: Any) -> int:
    """GAMA's ``round`` of a float: half away from zero, ``(int) (v + .5)`` / ``(int) (v - .5)``."""
    if not isinstance(v, float):
        return to_int(v)
    return int(v + 0.5) if v >= 0 else int(v - 0.5)


def from_json(text: Any) -> Any:
    """GAMA's ``from_json``: JSON objects -> maps, arrays -> lists, integers -> int, reals -> float."""
    try:
        return json.loads(to_string(text))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise GamlError(f"from_json: malformed JSON: {exc}") from None


def _agg(args: list, f: Any, name: str) -> Any:
    vals = to_list(args[0]) if len(args) == 1 else list(args)
    if not vals:
        return None
    out = vals[0]
    for v in vals[1:]:
        if compare("<" if f == "min" else ">", v, out):
            out = v
    return out


def _length(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, str):
        return len(v)
    return len(to_list(v)) if not isinstance(v, dict) else len(v)


def _empty(v: Any) -> bool:
    return _length(v) == 0


def _copy(v: Any) -> Any:
    if isinstance(v, list):
        return list(v)
    if isinstance(v, dict):
        return dict(v)
    if isinstance(v, GamaPoint):
        return GamaPoint(v.x, v.y, v.z)
    return v


def _deg(f: Any) -> Any:
    return lambda v: f(to_float(v) * TO_RAD)


def _abs(v: Any) -> Any:
    return abs(v) if _num(v) else abs(to_float(v))


def _sqrt(v: Any) -> float:
    x = to_float(v)
    if x < 0:
        raise GamlError(f"sqrt of a negative number: {x}")
    return math.sqrt(x)


def _last(v: Any) -> Any:
    items = to_list(v)
    return items[-1] if items else None


def _first(v: Any) -> Any:
    items = to_list(v)
    return items[0] if items else None


def _polyline(points: list) -> Any:
    return geo.line(points)


#: ``name(args...)`` functions (and the unary/binary operators also callable that way)
FUNCTIONS: dict[str, Any] = {
    "sqrt": lambda a: _sqrt(a[0]), "abs": lambda a: _abs(a[0]),
    "cos": lambda a: _deg(math.cos)(a[0]), "sin": lambda a: _deg(math.sin)(a[0]),
    "tan": lambda a: _deg(math.tan)(a[0]),
    "acos": lambda a: math.degrees(math.acos(to_float(a[0]))),
    "asin": lambda a: math.degrees(math.asin(to_float(a[0]))),
    "atan2": lambda a: math.degrees(math.atan2(to_float(a[0]), to_float(a[1]))),
    "exp": lambda a: math.exp(to_float(a[0])), "ln": lambda a: math.log(to_float(a[0])),
    "round": lambda a: gama_round(a[0]), "floor": lambda a: float(math.floor(to_float(a[0]))),
    "ceil": lambda a: float(math.ceil(to_float(a[0]))),
    "min": lambda a: _agg(a, "min", "min"), "max": lambda a: _agg(a, "max", "max"),
    "sum": lambda a: sum(to_list(a[0])) if to_list(a[0]) else 0,
    "mean": lambda a: sum(to_float(x) for x in to_list(a[0])) / len(to_list(a[0])),
    "length": lambda a: _length(a[0]), "empty": lambda a: _empty(a[0]),
    "copy": lambda a: _copy(a[0]), "first": lambda a: _first(a[0]), "last": lambda a: _last(a[0]),
    "reverse": lambda a: list(reversed(to_list(a[0]))),
    "list_with": lambda a: [_copy(a[1]) for _ in range(to_int(a[0]))],
    "from_json": lambda a: from_json(a[0]), "to_json": lambda a: json.dumps(a[0]),
    "square": lambda a: geo.square(to_float(a[0])),
    "rectangle": lambda a: geo.rectangle(to_float(a[0]), to_float(a[1])),
    "circle": lambda a: geo.circle(to_float(a[0])),
    "line": lambda a: geo.line(to_list(a[0])), "polyline": lambda a: _polyline(to_list(a[0])),
    "point": lambda a: to_point(a[0]) if len(a) == 1 else GamaPoint(*[to_float(x) for x in a]),
    "norm": lambda a: math.sqrt(to_point(a[0]) * to_point(a[0])),
    "rgb": lambda a: tuple(a), "is_number": lambda a: _num(a[0]),
    "remove_duplicates": lambda a: list(dict.fromkeys(to_list(a[0]))),
}

#: binary operators written as names: ``a name b``
BINARY: dict[str, Any] = {
    "distance_to": geo.distance_to, "towards": geo.towards, "intersects": geo.intersects,
    "inter": geo.inter, "intersection": geo.inter,
    "at_location": lambda g, p: geo.at_location(g, to_point(p)),
    "contains_key": lambda m, k: (k in m) if isinstance(m, dict) else (0 <= to_int(k) < _length(m)),
    "contains": lambda c, x: (x in c.values()) if isinstance(c, dict) else any(equal(x, y) for y in to_list(c))
    if not isinstance(c, str) else to_string(x) in c,
    "div": int_div, "mod": mod, "union": lambda a, b: list(dict.fromkeys(to_list(a) + to_list(b))),
    "index_of": lambda c, x: next((i for i, y in enumerate(to_list(c)) if equal(x, y)), -1),
    "among": None,  # random: see the README proposal (GAMA's RNG cannot be reproduced)
    "with_precision": lambda v, n: round(to_float(v), to_int(n)),
}

#: iterator operators (`each` bound to every element): ``c name (expr)``
ITERATORS = frozenset({"collect", "where", "first_with", "all_match", "one_matches", "none_matches",
                       "as_map", "count", "with_min_of", "with_max_of", "min_of", "max_of", "sum_of",
                       "sort_by", "closest_to"})  # fmt: skip


def is_agent(v: Any) -> bool:
    return isinstance(v, Agent)
