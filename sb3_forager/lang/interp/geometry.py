"""GAML's geometry operators on shapely (GEOS, the C++ port of the JTS that GAMA uses).

Facts followed (GAMA's ``Spatial`` operators and ``GamaShape``; docs/model.md, "GAML semantics reproduced"):
``square(s)`` is the s x s square centred on the origin, ``g at_location p`` translates g so that its
location is p; ``intersects`` is JTS's exact, boundary-inclusive predicate; ``inter`` is JTS's
intersection, nil when empty; a geometry's ``location`` is the arithmetic mean of its vertices (a
ring's closing vertex excluded; a multi-part geometry: its convex hull's); ``distance_to`` between
points is the Euclidean distance; ``towards`` is atan2 in degrees brought into [0, 360).
"""

from __future__ import annotations

import math
from typing import Any

from shapely import affinity
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from .values import Agent, GamaPoint, GamlError


def as_geometry(v: Any) -> BaseGeometry:
    if isinstance(v, BaseGeometry):
        return v
    if isinstance(v, GamaPoint):
        return Point(v.x, v.y)
    if isinstance(v, Agent):
        shape = v.attrs.get("shape")
        return shape if shape is not None else as_geometry(v.attrs.get("location"))
    raise GamlError(f"not a geometry: {v!r}")


def location(g: BaseGeometry) -> GamaPoint:
    """A geometry's ``location``: the mean of its vertices."""
    kind = g.geom_type
    if kind == "Point":
        return GamaPoint(g.x, g.y)
    if kind == "LineString":
        coords = list(g.coords)
    elif kind == "LinearRing":
        coords = list(g.coords)[:-1]
    elif kind == "Polygon":
        coords = list(g.exterior.coords)[:-1]
    else:
        return location(g.convex_hull)
    n = len(coords)
    return GamaPoint(sum(c[0] for c in coords) / n, sum(c[1] for c in coords) / n)


def square(side: float) -> Polygon:
    h = float(side) / 2.0
    return Polygon([(-h, -h), (h, -h), (h, h), (-h, h)])


def rectangle(w: float, h: float) -> Polygon:
    return Polygon([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])


def circle(r: float) -> BaseGeometry:
    return Point(0.0, 0.0).buffer(float(r))


def at_location(g: Any, p: GamaPoint) -> BaseGeometry:
    geom = as_geometry(g)
    here = location(geom)
    return affinity.translate(geom, p.x - here.x, p.y - here.y)


def line(points: list) -> LineString:
    pts = [(q.x, q.y) for q in points]
    if len(pts) < 2:
        raise GamlError("line needs at least 2 points")
    return LineString(pts)


def intersects(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if isinstance(a, GamaPoint) and isinstance(b, GamaPoint):
        return a.x == b.x and a.y == b.y
    return as_geometry(a).intersects(as_geometry(b))


def inter(a: Any, b: Any) -> BaseGeometry | None:
    if a is None or b is None:
        return None
    g = as_geometry(a).intersection(as_geometry(b))
    return None if g.is_empty else g


def distance_to(a: Any, b: Any) -> float:
    if isinstance(a, Agent):
        a = a.attrs.get("location")
    if isinstance(b, Agent):
        b = b.attrs.get("location")
    if isinstance(a, GamaPoint) and isinstance(b, GamaPoint):
        dx, dy, dz = a.x - b.x, a.y - b.y, a.z - b.z
        return math.sqrt(dx * dx + dy * dy + dz * dz)
    return as_geometry(a).distance(as_geometry(b))


def towards(a: Any, b: Any) -> float:
    pa, pb = (v.attrs["location"] if isinstance(v, Agent) else v for v in (a, b))
    if not isinstance(pa, GamaPoint):
        pa = location(as_geometry(pa))
    if not isinstance(pb, GamaPoint):
        pb = location(as_geometry(pb))
    if pa == pb:
        return 0.0
    d = math.degrees(math.atan2(pb.y - pa.y, pb.x - pa.x))
    d = math.fmod(d, 360.0)
    return d + 360.0 if d < 0 else d
