"""Obstacle-avoiding paths in the forager world, and the step lower bound they give (numpy only).

The forager is a point in the closed box ``[1, 99]^2`` (the walls clamp there); obstacles are
closed axis-aligned squares (side 10, any number, possibly overlapping or touching; a point on an
edge is inside). :func:`shortest_path_length` is the exact length of the shortest free path (one
that touches no square), :func:`has_free_path` whether there is one (the random-start sampler's
test), :func:`min_steps_lower_bound` the fewest steps the physics allows from rest to the food and
:func:`path_efficiency` a policy's ratio to it. Nothing here imports the simulation core.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Sequence

import numpy as np

from ..common.checks import Point, point
from .world import FOOD, OBSTACLE_CENTRES, WORLD

__all__ = [
    "FIRST_STEP",
    "FOOD",
    "FOOD_RADIUS",
    "MAX_SPEED",
    "TUTORIAL",
    "WORLD_BOUNDS",
    "has_free_path",
    "min_steps_lower_bound",
    "path_efficiency",
    "shortest_path_length",
    "square_containing",
]

#: the tutorial's six obstacle centres (closed squares of side 10), food centre and radius
#: (arrival is ``distance < FOOD_RADIUS``, strict): the world's constants
TUTORIAL: tuple[tuple[float, float], ...] = OBSTACLE_CENTRES
FOOD_RADIUS: float = WORLD.food_radius
#: the closed box a forager lives in (the walls clamp each coordinate to it)
WORLD_BOUNDS: tuple[float, float] = (WORLD.wall_lo, WORLD.wall_hi)
#: the longest first step from rest: ``v = 1.5 a`` with ``a`` in ``[-1, 1]^2``, a diagonal push
FIRST_STEP: float = 1.5 * math.sqrt(2.0)
#: the speed cap, reachable from the second step on (``0.8 * FIRST_STEP + FIRST_STEP > 3``)
MAX_SPEED: float = WORLD.max_speed

PointLike = Sequence[float]
Bounds = tuple[float, float] | None

_HALF = WORLD.obstacle_side / 2.0
_TOL = 1e-9  # geometric tolerance of the exact search (world units)
_NUMPY_PAIRS_FROM = 24  # from this many squares on, the touching graph is built with numpy


# --------------------------------------------------------------------------------------- inputs


def _centres(obstacle_centres: Iterable[PointLike] | np.ndarray) -> list[Point]:
    """The centres as float pairs, exact duplicates removed (order kept)."""
    seen: dict[Point, None] = {}
    for i, c in enumerate(obstacle_centres):
        seen.setdefault(point(c, f"obstacle_centres[{i}]"), None)
    return list(seen)


def _check_bounds(bounds: Bounds) -> Bounds:
    if bounds is None:
        return None
    lo, hi = (float(b) for b in bounds)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"bounds must be (lo, hi) with lo < hi, got {bounds!r}")
    return lo, hi


def _in_box(p: Point, bounds: Bounds) -> bool:
    if bounds is None:
        return True
    lo, hi = bounds
    return lo <= p[0] <= hi and lo <= p[1] <= hi


def _ends(
    start: PointLike, goal: PointLike, obstacle_centres: Iterable[PointLike] | np.ndarray, bounds: Bounds
) -> tuple[Point, Point, list[Point], Bounds, bool]:
    """The checked ``start, goal, centres, bounds``, and whether both ends are in ``bounds`` and in no square."""
    bounds = _check_bounds(bounds)
    s, g = point(start, "start"), point(goal, "goal")
    centres = _centres(obstacle_centres)
    free = all(_in_box(p, bounds) and square_containing(p, centres) < 0 for p in (s, g))
    return s, g, centres, bounds, free


def square_containing(p: PointLike, centres: Sequence[PointLike], half: float = _HALF) -> int:
    """Index of the first closed square ``[c - half, c + half]^2`` containing ``p`` (on an edge
    counts), or -1: the kernels' test (the one point-in-square test of the package)."""
    x, y = p
    for i, (cx, cy) in enumerate(centres):
        if cx - half <= x <= cx + half and cy - half <= y <= cy + half:
            return i
    return -1


def _nodes(s: Point, g: Point, boxes: np.ndarray, bounds: Bounds, push: float = 0.0) -> np.ndarray:
    """The graph's nodes: ``s``, ``g`` and the squares' corners pushed out diagonally by ``push``, less
    those in or on another square (never a turning point of a shortest path: there the free space
    is locally convex, or empty) or outside ``bounds``."""
    c = push
    corners = np.concatenate(
        [boxes[:, [0, 1]] + [-c, -c], boxes[:, [2, 1]] + [c, -c], boxes[:, [2, 3]] + [c, c], boxes[:, [0, 3]] + [-c, c]]
    )
    inside = (
        (corners[:, None, 0] >= boxes[None, :, 0])
        & (corners[:, None, 0] <= boxes[None, :, 2])
        & (corners[:, None, 1] >= boxes[None, :, 1])
        & (corners[:, None, 1] <= boxes[None, :, 3])
    )
    if not push:  # an unpushed corner is on its own square
        inside[np.arange(len(corners)), np.tile(np.arange(len(boxes)), 4)] = False
    keep = ~inside.any(axis=1)
    if bounds is not None:
        keep &= (corners >= bounds[0]).all(axis=1) & (corners <= bounds[1]).all(axis=1)
    return np.concatenate([np.array([s, g]), corners[keep]], axis=0)


# ------------------------------------------------------------------------------ segment queries


def _chords(p: np.ndarray, q: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Liang-Barsky clipping of segments ``p[i] -> q[i]`` (shape (m, 2)) against closed boxes.

    Returns ``ta, tb`` of shape (m, n): segment ``i`` meets box ``j`` in the parameter interval
    ``[ta, tb]`` (``t`` in [0, 1]), empty when ``ta > tb``.
    """
    d = q - p
    ta = np.zeros((p.shape[0], boxes.shape[0]))
    tb = np.ones_like(ta)
    with np.errstate(divide="ignore", invalid="ignore"):
        for axis in (0, 1):
            pa, da = p[:, axis : axis + 1], d[:, axis : axis + 1]
            lo, hi = boxes[None, :, axis], boxes[None, :, axis + 2]
            t1, t2 = (lo - pa) / da, (hi - pa) / da
            moving = da != 0.0
            inside = (pa >= lo) & (pa <= hi)  # a segment parallel to the axis: inside the slab?
            t_in = np.where(moving, np.minimum(t1, t2), np.where(inside, -np.inf, np.inf))
            t_out = np.where(moving, np.maximum(t1, t2), np.where(inside, np.inf, -np.inf))
            np.maximum(ta, t_in, out=ta)
            np.minimum(tb, t_out, out=tb)
    return ta, tb


def _dijkstra(weights: np.ndarray, source: int, target: int) -> float:
    """Shortest path length on a dense symmetric weight matrix (``inf`` = no edge)."""
    n = weights.shape[0]
    dist = np.full(n, np.inf)
    dist[source] = 0.0
    done = np.zeros(n, dtype=bool)
    heap = [(0.0, source)]
    while heap:
        du, u = heapq.heappop(heap)
        if done[u]:
            continue
        if u == target:
            return float(du)
        done[u] = True
        alt = du + weights[u]
        better = (alt < dist) & ~done
        for v in np.flatnonzero(better):
            dist[v] = alt[v]
            heapq.heappush(heap, (float(alt[v]), int(v)))
    return math.inf


# ------------------------------------------------------------------------------- shortest path


def shortest_path_length(
    start: PointLike,
    goal: PointLike,
    obstacle_centres: Iterable[PointLike] | np.ndarray = TUTORIAL,
    *,
    bounds: Bounds = WORLD_BOUNDS,
) -> float:
    """Length of the shortest path from ``start`` to ``goal`` that avoids the closed squares.

    Exact (up to ~1e-9): the infimum of the lengths of the free paths, i.e. a shortest path that may
    run along edges and through corners but not through a zero-width gap. Computed by Dijkstra on the
    visibility graph of the squares' corners that are not in or on another square. A segment is an
    edge when it enters no square's interior and does not pass between two obstacles that touch it
    from opposite sides at a common point (a pinch: two squares touching at a corner, or a square
    touching a wall). The path stays in the closed box ``bounds`` (``None``: the whole plane).

    Returns ``math.inf`` when ``start`` or ``goal`` is in or on a square or outside ``bounds``, or
    when no free path connects them. Raises ``ValueError`` on non-finite or malformed input.
    """
    s, g, centres, bounds, free = _ends(start, goal, obstacle_centres, bounds)
    if not free:
        return math.inf
    straight = math.dist(s, g)
    if not centres or straight == 0.0:
        return straight
    boxes = WORLD.obstacle_boxes(centres)
    nodes = _nodes(s, g, boxes, bounds)
    iu, ju = np.triu_indices(len(nodes), k=1)
    ok = _visible_exact(nodes[iu], nodes[ju], boxes, bounds)
    weights = np.full((len(nodes), len(nodes)), np.inf)
    lengths = np.hypot(*(nodes[ju] - nodes[iu]).T)
    weights[iu[ok], ju[ok]] = lengths[ok]
    weights[ju[ok], iu[ok]] = lengths[ok]
    if ok[0]:  # the pair (start, goal) comes first: the straight segment is free
        return straight
    return _dijkstra(weights, 0, 1)


def _visible_exact(p: np.ndarray, q: np.ndarray, boxes: np.ndarray, bounds: Bounds) -> np.ndarray:
    """Whether each segment ``p[i] -> q[i]`` is the limit of free paths (see shortest_path_length)."""
    grown = boxes + np.array([-_TOL, -_TOL, _TOL, _TOL])
    ta, tb = _chords(p, q, grown)
    meets = ta <= tb
    # a chord of a convex set that has one interior point has all its inner points interior, and
    # its midpoint is at least half as deep as its deepest point: test the midpoint's depth
    tm = np.where(meets, 0.5 * (np.minimum(ta, 1.0) + np.maximum(tb, 0.0)), 0.0)
    mx = p[:, :1] + tm * (q[:, :1] - p[:, :1])
    my = p[:, 1:] + tm * (q[:, 1:] - p[:, 1:])
    depth = np.minimum.reduce(
        [mx - boxes[None, :, 0], boxes[None, :, 2] - mx, my - boxes[None, :, 1], boxes[None, :, 3] - my]
    )
    crosses = meets & (depth > _TOL)
    ok = ~crosses.any(axis=1)
    touches = meets & ~crosses

    # pinches: only segments touched by two obstacles (squares or the outside of the box) can have one
    d = q - p
    length = np.hypot(d[:, 0], d[:, 1])
    wall_touch = np.zeros((len(p), 4), dtype=bool)
    if bounds is not None:
        lo, hi = bounds
        for k, (axis, value) in enumerate(((0, lo), (0, hi), (1, lo), (1, hi))):
            wall_touch[:, k] = (np.abs(p[:, axis] - value) <= _TOL) & (np.abs(q[:, axis] - value) <= _TOL)
    n_touch = touches.sum(axis=1) + wall_touch.sum(axis=1)
    for i in np.flatnonzero(ok & (n_touch >= 2)):
        intervals: list[tuple[float, float, float]] = []  # (side, t_in, t_out)
        for j in np.flatnonzero(touches[i]):
            cx, cy = 0.5 * (boxes[j, 0] + boxes[j, 2]), 0.5 * (boxes[j, 1] + boxes[j, 3])
            side = d[i, 0] * (cy - p[i, 1]) - d[i, 1] * (cx - p[i, 0])
            intervals.append((side, ta[i, j], tb[i, j]))
        if bounds is not None:
            lo, hi = bounds
            outside = ((lo - 1.0, p[i, 1]), (hi + 1.0, p[i, 1]), (p[i, 0], lo - 1.0), (p[i, 0], hi + 1.0))
            for k in np.flatnonzero(wall_touch[i]):
                ox, oy = outside[k]
                side = d[i, 0] * (oy - p[i, 1]) - d[i, 1] * (ox - p[i, 0])
                intervals.append((side, 0.0, 1.0))
        eps_t = _TOL / length[i]
        # two obstacles on opposite sides with a common point strictly inside the segment (at an end
        # point the node itself is a free point or its own square's corner, where touching is legitimate)
        ok[i] = not any(
            sa * sb < 0.0 and max(a0, b0) <= min(a1, b1) and min(a1, b1) > eps_t and max(a0, b0) < 1.0 - eps_t
            for (sa, a0, a1), (sb, b0, b1) in itertools.combinations(intervals, 2)
        )
    return ok


# --------------------------------------------------------------------------------- free paths


def has_free_path(
    start: PointLike,
    goal: PointLike,
    obstacle_centres: Iterable[PointLike] | np.ndarray = TUTORIAL,
    clearance: float = 1e-9,
    *,
    bounds: Bounds = WORLD_BOUNDS,
) -> bool:
    """Whether a point can travel from ``start`` to ``goal`` inside ``bounds`` touching no square.

    Squares that touch or overlap close the gap between them, and a gap no wider than about
    ``clearance`` counts as closed (two squares touching at a corner close that corner). False when
    ``start`` or ``goal`` is in or on a square, or outside the closed box ``bounds``.

    Fast path (no graph search): join two squares when they are within ``2 * clearance`` of each
    other. A finite family of closed convex sets has a union homotopy equivalent to its nerve (the
    nerve theorem), and pairwise-intersecting boxes have a common point (Helly's theorem for boxes),
    so a connected group of at most 3 boxes has a contractible nerve (a point, an edge, a path, or a
    filled triangle) and its union encloses no region; disjoint groups without holes enclose none
    together. So when no group has 4 or more members and no square touches the walls, the free space
    is connected and the answer is True (the tests check this against the full search). Otherwise a
    visibility graph over the corners pushed out diagonally by ``clearance`` is searched breadth-first,
    with segments that touch no closed square.
    """
    clearance = float(clearance)
    if not (math.isfinite(clearance) and clearance > 0.0):
        raise ValueError(f"clearance must be a positive finite number, got {clearance!r}")
    s, g, centres, bounds, free = _ends(start, goal, obstacle_centres, bounds)
    if not free:
        return False
    if not centres or _no_enclosure(centres, clearance, bounds):
        return True
    return _free_path_search(s, g, centres, clearance, bounds)


def _no_enclosure(centres: list[Point], clearance: float, bounds: Bounds) -> bool:
    """True when no group of touching squares has 4+ members and no square comes near a wall."""
    reach = 2.0 * _HALF + 2.0 * clearance
    if bounds is not None:
        lo, hi = bounds[0] + _HALF + clearance, bounds[1] - _HALF - clearance
        if any(not (lo < cx < hi and lo < cy < hi) for cx, cy in centres):
            return False
    n = len(centres)
    if n < 4:
        return True
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n < _NUMPY_PAIRS_FROM:
        pairs: Iterable[tuple[int, int]] = (
            (i, j)
            for i in range(n)
            for j in range(i + 1, n)
            if abs(centres[i][0] - centres[j][0]) <= reach and abs(centres[i][1] - centres[j][1]) <= reach
        )
    else:
        c = np.asarray(centres)
        near = (np.abs(c[:, None, :] - c[None, :, :]) <= reach).all(axis=2)
        pairs = zip(*np.nonzero(np.triu(near, k=1)))
    size = [1] * n
    for i, j in pairs:
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[rj] = ri
            size[ri] += size[rj]
            if size[ri] >= 4:
                return False
    return True


def _free_path_search(s: Point, g: Point, centres: list[Point], clearance: float, bounds: Bounds) -> bool:
    """Breadth-first search on the visibility graph of the corners pushed out by ``clearance``."""
    boxes = WORLD.obstacle_boxes(centres)
    nodes = _nodes(s, g, boxes, bounds, clearance)
    n = len(nodes)
    iu, ju = np.triu_indices(n, k=1)
    ta, tb = _chords(nodes[iu], nodes[ju], boxes)
    free = ~(ta <= tb).any(axis=1)
    if free[0]:  # start -> goal directly
        return True
    adj = np.zeros((n, n), dtype=bool)
    adj[iu[free], ju[free]] = True
    adj |= adj.T
    reached = np.zeros(n, dtype=bool)
    reached[0] = True
    frontier = reached.copy()
    while frontier.any():
        frontier = adj[frontier].any(axis=0) & ~reached
        reached |= frontier
        if reached[1]:
            return True
    return False


# ---------------------------------------------------------------------------------- step bound


def min_steps_lower_bound(
    start: PointLike,
    food: PointLike = FOOD,
    obstacle_centres: Iterable[PointLike] | np.ndarray = TUTORIAL,
    food_radius: float = FOOD_RADIUS,
    *,
    bounds: Bounds = WORLD_BOUNDS,
) -> int:
    """Fewest steps a forager starting at rest at ``start`` needs to get strictly within ``food_radius``.

    With ``L`` the shortest free path from ``start`` to the food centre, the forager must cover at
    least ``D = L - food_radius`` (the straight last leg inside the obstacle-free food disc). From rest
    it covers at most ``FIRST_STEP`` (a diagonal push) on step 1 and ``MAX_SPEED`` on each later step
    (walls and slides only shorten a move), i.e. ``S(k) = FIRST_STEP + 3 (k - 1)`` in ``k`` steps; and
    since arrival is strict (``distance < food_radius``) it needs ``S(k) > D``. The bound is the
    smallest such ``k``: 0 when the start is already within the radius. Tutorial: 43 from (5, 5),
    40 from (15, 5) and from (5, 15).

    Obstacles that reach into the food disc are left out of ``L`` (which keeps the bound valid, if
    looser). The bound assumes the travelled polyline is free; the discrete dynamics test only each
    step's destination, so a step may cut a corner and a policy can beat the bound by a fraction of a
    step on rare paths. Raises ``ValueError`` if the start is in or on an obstacle, outside ``bounds``,
    or has no free path to the food.
    """
    bounds = _check_bounds(bounds)
    s, f = point(start, "start"), point(food, "food")
    food_radius = float(food_radius)
    if not (math.isfinite(food_radius) and food_radius >= 0.0):
        raise ValueError(f"food_radius must be a non-negative finite number, got {food_radius!r}")
    centres = _centres(obstacle_centres)
    if not _in_box(s, bounds):
        raise ValueError(f"start {s} is outside the box {bounds}")
    if square_containing(s, centres) >= 0:
        raise ValueError(f"start {s} is in or on an obstacle")
    if math.dist(s, f) < food_radius:
        return 0
    # keep only the squares that stay out of the open food disc (distance from the centre >= radius)
    far = [
        (cx, cy)
        for cx, cy in centres
        if math.hypot(max(abs(f[0] - cx) - _HALF, 0.0), max(abs(f[1] - cy) - _HALF, 0.0)) >= food_radius
    ]
    # the last straight leg to the centre must stay in the box too, else walls cannot be used
    length = shortest_path_length(s, f, far, bounds=bounds if _in_box(f, bounds) else None)
    if math.isinf(length):
        raise ValueError(f"no obstacle-free path from {s} to the food at {f}")
    return _steps_to_cover(length - food_radius)


def _steps_to_cover(distance: float) -> int:
    """Smallest ``k`` with ``S(k) = FIRST_STEP + MAX_SPEED (k - 1) > distance`` (0 if distance < 0)."""
    if distance < 0.0:
        return 0
    if distance < FIRST_STEP:
        return 1
    return int(math.floor((distance - FIRST_STEP) / MAX_SPEED)) + 2


def path_efficiency(lower_bound: float, steps: float) -> float:
    """``lower_bound / steps`` for one forager that reached the food in ``steps`` steps (1 = optimal).

    Not clipped: the bound ignores corner cutting by the discrete dynamics (only each step's
    destination is tested against obstacles), so a policy can beat it by a fraction of a step on
    rare paths and score slightly above 1. Raises ``ValueError`` unless ``steps > 0`` and
    ``lower_bound >= 0`` are finite.
    """
    lower_bound, steps = float(lower_bound), float(steps)
    if not (math.isfinite(steps) and steps > 0.0):
        raise ValueError(f"steps must be a positive finite number, got {steps!r}")
    if not (math.isfinite(lower_bound) and lower_bound >= 0.0):
        raise ValueError(f"lower_bound must be a non-negative finite number, got {lower_bound!r}")
    return lower_bound / steps
