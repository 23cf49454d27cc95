"""GAML values in Python: points, agents, GAML errors, and GAMA's casts (``int``, ``float``, ``string``, ...).

Facts followed (GAMA's Java sources, gama.core ``Cast`` / ``GamaPoint`` / ``Maths``; not code):
``int(x)`` of a float truncates towards zero (Java's ``(int)`` cast); ``float`` of an int widens;
``string`` of a float is Java's ``Double.toString`` for the values the models print; a point is 3-D,
written ``{x,y,z}``; a point's ``z`` is 0 when not given.
"""

from __future__ import annotations

import math
from typing import Any

from shapely.geometry.base import BaseGeometry

from ..tree import _split_type as split_type


class GamlError(RuntimeError):
    """A GAML runtime error (the ``error`` statement, a failed cast, an unknown name)."""


class GamaPoint:
    """GAMA's point: three doubles; ``+ - * /`` as in GAMA (point op point, point op number)."""

    __slots__ = ("x", "y", "z")

    def __init__(self, x: float, y: float, z: float = 0.0) -> None:
        self.x, self.y, self.z = float(x), float(y), float(z)

    def _other(self, o: Any) -> "GamaPoint | None":
        return o if isinstance(o, GamaPoint) else None

    def __add__(self, o: Any) -> "GamaPoint":
        p = self._other(o)
        return GamaPoint(self.x + p.x, self.y + p.y, self.z + p.z) if p else GamaPoint(self.x + o, self.y + o, self.z + o)

    def __sub__(self, o: Any) -> "GamaPoint":
        p = self._other(o)
        return GamaPoint(self.x - p.x, self.y - p.y, self.z - p.z) if p else GamaPoint(self.x - o, self.y - o, self.z - o)

    def __mul__(self, o: Any) -> Any:
        p = self._other(o)
        if p:  # scalar product
            return self.x * p.x + self.y * p.y + self.z * p.z
        return GamaPoint(self.x * o, self.y * o, self.z * o)

    def __truediv__(self, o: Any) -> "GamaPoint":
        if o == 0:
            raise GamlError("division by zero")
        return GamaPoint(self.x / o, self.y / o, self.z / o)

    def __neg__(self) -> "GamaPoint":
        return GamaPoint(-self.x, -self.y, -self.z)

    def __eq__(self, o: Any) -> bool:
        return isinstance(o, GamaPoint) and (self.x, self.y, self.z) == (o.x, o.y, o.z)

    def __hash__(self) -> int:
        return hash((self.x, self.y, self.z))

    def __repr__(self) -> str:
        return "{" + ",".join(java_double(v) for v in (self.x, self.y, self.z)) + "}"


class Agent:
    """An agent: its species and its attributes (``location`` a :class:`GamaPoint`)."""

    __slots__ = ("species", "attrs", "index", "dead")

    def __init__(self, species: Any, index: int) -> None:
        self.species = species
        self.attrs: dict[str, Any] = {}
        self.index = index
        self.dead = False

    def __repr__(self) -> str:
        return f"{self.species.name}({self.index})"


def java_double(v: float) -> str:
    """Java's ``Double.toString`` for ordinary magnitudes (``95.0``, ``0.1``, ``1.0E-4``)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == int(v) and abs(v) < 1e7:
        return f"{int(v)}.0"
    if 1e-3 <= abs(v) < 1e7:
        return repr(v)
    m, e = f"{v:.17e}".split("e")
    r = repr(v)
    if "e" in r:
        m, e = r.split("e")
        if "." not in m:
            m += ".0"
        return f"{m}E{int(e)}"
    return r


def to_string(v: Any) -> str:
    """GAMA's ``string(v)`` / the text of ``"..." + v``."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return java_double(v)
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "[" + ",".join(serialize(x) for x in v) + "]"
    if isinstance(v, dict):
        return "[" + ",".join(f"{serialize(k)}::{serialize(x)}" for k, x in v.items()) + "]"
    return repr(v) if not isinstance(v, BaseGeometry) else v.wkt


def serialize(v: Any) -> str:
    """GAMA's serialisation inside containers (strings quoted)."""
    return "'" + v + "'" if isinstance(v, str) else to_string(v)


def to_int(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return 0
        return int(v)  # truncation towards zero, as Java's (int)
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            try:
                return int(float(v))
            except ValueError:
                return 0
    if isinstance(v, GamaPoint):
        return int(v.x)
    raise GamlError(f"cannot cast {to_string(v)} to int")


def to_float(v: Any) -> float:
    if v is None:
        return 0.0
    if isinstance(v, (bool, int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return 0.0
    if isinstance(v, GamaPoint):
        return v.x
    raise GamlError(f"cannot cast {to_string(v)} to float")


def to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if v is None:
        return False
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, str):
        return v == "true"
    raise GamlError(f"cannot cast {to_string(v)} to bool")


def to_list(v: Any) -> list:
    """``list(v)``: a container's elements; a point's coordinates; nil -> []; anything else -> [v]."""
    if v is None:
        return []
    if isinstance(v, list):
        return list(v)
    if isinstance(v, dict):
        return list(v.values())
    if isinstance(v, GamaPoint):
        return [v.x, v.y, v.z]
    if hasattr(v, "members"):  # a population
        return list(v.members)
    return [v]


def to_point(v: Any) -> GamaPoint | None:
    if v is None or isinstance(v, GamaPoint):
        return v
    if isinstance(v, (int, float)):
        return GamaPoint(v, v)
    if isinstance(v, list):
        vals = [to_float(x) for x in v] + [0.0, 0.0, 0.0]
        return GamaPoint(*vals[:3])
    if isinstance(v, Agent):
        return v.attrs.get("location")
    if isinstance(v, BaseGeometry):
        from .geometry import location

        return location(v)
    raise GamlError(f"cannot cast {to_string(v)} to point")


def cast(type_name: str | None, params: list[str], v: Any) -> Any:
    """``type(v)`` / the value stored in a variable declared ``type``."""
    if type_name is None or type_name in ("unknown", "geometry", "agent", "species", "onnx_model", "rgb"):
        return v
    if type_name == "int":
        return to_int(v)
    if type_name == "float":
        return to_float(v)
    if type_name == "bool":
        return to_bool(v)
    if type_name == "string":
        return to_string(v)
    if type_name == "point":
        return to_point(v)
    if type_name in ("list", "container"):
        out = to_list(v)
        if params:
            out = [cast(*split_type(params[0]), x) for x in out]
        return out
    if type_name == "map":
        if v is None:
            return {}
        if isinstance(v, dict):
            return dict(v)
        if isinstance(v, list):
            if all(isinstance(x, tuple) and len(x) == 2 for x in v):
                return dict(v)
            return {i: x for i, x in enumerate(v)}
        raise GamlError(f"cannot cast {to_string(v)} to map")
    return v  # a species name used as a type: the agent itself


def default_of(type_name: str | None) -> Any:
    """The value of a declared variable without ``<-``."""
    return {"int": 0, "float": 0.0, "bool": False, "string": "", "list": [], "map": {}, "container": []}.get(
        type_name or "", None
    )
