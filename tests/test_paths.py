"""Tests of sb3_forager.sim.paths: shortest paths, free-path tests and the step lower bound.

Independent references used here: shapely (union of the squares, visibility graph on its vertices,
connected parts of the free space) and the forager physics re-implemented from docs/model.md (scalar and
vectorised), driven by a beam search over full-throttle headings.
"""

from __future__ import annotations

import heapq
import importlib.util
import math
import pathlib
import sys

import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

try:
    from sb3_forager.sim import paths
except Exception:  # pragma: no cover - a sibling module mid-rewrite; paths.py imports none of them
    _file = pathlib.Path(__file__).resolve().parents[1] / "sb3_forager" / "sim" / "paths.py"
    _spec = importlib.util.spec_from_file_location("sb3_forager_sim_paths", _file)
    paths = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = paths
    _spec.loader.exec_module(paths)

TUTORIAL = paths.TUTORIAL
FOOD = (95.0, 95.0)
STARTS = {(5.0, 5.0): 43, (15.0, 5.0): 40, (5.0, 15.0): 40}
SQRT2 = math.sqrt(2.0)


# ------------------------------------------------------------------------ shapely references


def _square(c, side=10.0):
    h = side / 2.0
    return box(c[0] - h, c[1] - h, c[0] + h, c[1] + h)


def _parts(geom):
    return list(getattr(geom, "geoms", [geom]))


def _shapely_shortest(start, goal, union) -> float:
    """Dijkstra on the visibility graph of the union's vertices; an edge may not meet the union's
    interior (DE-9IM interior/interior = F). Knows nothing about pinches (use pinch-free layouts)."""
    if union.intersects(Point(start)) or union.intersects(Point(goal)):
        return math.inf
    nodes = [tuple(start), tuple(goal)]
    for p in _parts(union):
        for ring in [p.exterior, *p.interiors]:
            nodes += [tuple(c) for c in list(ring.coords)[:-1]]
    n = len(nodes)
    adj = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if LineString([nodes[i], nodes[j]]).relate(union)[0] == "F":
                d = math.dist(nodes[i], nodes[j])
                adj[i].append((j, d))
                adj[j].append((i, d))
    dist = [math.inf] * n
    dist[0] = 0.0
    heap = [(0.0, 0)]
    while heap:
        d, u = heapq.heappop(heap)
        if u == 1:
            return d
        if d > dist[u]:
            continue
        for v, w in adj[u]:
            if d + w < dist[v]:
                dist[v] = d + w
                heapq.heappush(heap, (d + w, v))
    return math.inf


def _shapely_connected(start, goal, centres, lo=1.0, hi=99.0) -> bool:
    union = unary_union([_square(c) for c in centres])
    if union.intersects(Point(start)) or union.intersects(Point(goal)):
        return False
    free = box(lo, lo, hi, hi).difference(union)
    for part in _parts(free):
        if part.intersects(Point(start)):
            return part.intersects(Point(goal))
    return False


def _cut_convex_corners(poly: Polygon, leg: float) -> Polygon:
    """``poly`` with each convex corner cut off by the triangle with legs ``leg`` along its edges."""
    ring = list(orient(poly).exterior.coords)[:-1]  # counter-clockwise
    out = []
    for k in range(len(ring)):
        u, v, w = (np.array(ring[k - 1]), np.array(ring[k]), np.array(ring[(k + 1) % len(ring)]))
        a, b = v - u, w - v
        if a[0] * b[1] - a[1] * b[0] > 0:  # convex vertex
            out.append(tuple(v - leg * a / np.linalg.norm(a)))
            out.append(tuple(v + leg * b / np.linalg.norm(b)))
        else:
            out.append(tuple(v))
    return Polygon(out)


def _random_layout(rng, n=6, lo=10.0, hi=90.0):
    """The spec's random layout: centres uniform over [lo, hi]^2, none closer than 15 to the food."""
    out = []
    while len(out) < n:
        c = tuple(float(v) for v in rng.uniform(lo, hi, 2))
        if math.dist(c, FOOD) >= 15.0:
            out.append(c)
    return out


def _random_free_point(rng, centres, far_from_food=True):
    while True:
        p = tuple(float(v) for v in rng.uniform(1.0, 99.0, 2))
        if any(abs(p[0] - cx) <= 5 and abs(p[1] - cy) <= 5 for cx, cy in centres):
            continue
        if far_from_food and math.dist(p, FOOD) < 10.0:
            continue
        return p


# -------------------------------------------------------------------------- shortest paths


def test_no_obstacles_is_straight_distance():
    assert paths.shortest_path_length((5, 5), (95, 95), []) == pytest.approx(90 * SQRT2, abs=1e-12)
    assert paths.shortest_path_length((3, 4), (3, 4), TUTORIAL) == 0.0


def test_one_square_in_between_goes_round_a_corner_pair():
    # (20,50) -> (45,45) -> (55,45) -> (80,50): two legs of sqrt(25^2 + 5^2) and the edge
    expected = 2 * math.hypot(25, 5) + 10
    assert paths.shortest_path_length((20, 50), (80, 50), [(50, 50)]) == pytest.approx(expected, abs=1e-9)
    # across the diagonal: round one corner, (40,60) -> (45,45) -> (60,40) (or via (55,55))
    expected = 2 * math.hypot(5, 15)
    assert paths.shortest_path_length((40, 60), (60, 40), [(50, 50)]) == pytest.approx(expected, abs=1e-9)
    # the straight segment passing just below the square is free
    assert paths.shortest_path_length((20, 50), (60, 40), [(50, 50)]) == pytest.approx(math.hypot(40, 10))


def test_paths_may_run_along_edges_and_through_corners():
    # along the bottom edge y = 45 of [45, 55]^2
    assert paths.shortest_path_length((30, 45), (70, 45), [(50, 50)]) == pytest.approx(40.0, abs=1e-9)
    # the diagonal y = x grazes the corner (35, 35) of [35, 45] x [25, 35]
    assert paths.shortest_path_length((10, 10), (60, 60), [(40, 30)]) == pytest.approx(50 * SQRT2, abs=1e-9)
    # along the shared edge line of two squares (the tutorial's y = 20 top side)
    assert paths.shortest_path_length((10, 20), (50, 20), [(25, 25), (35, 25)]) == pytest.approx(40.0)


def test_corner_touching_squares_close_the_gap():
    # [40,50]^2 and [50,60]^2 touch at (50,50); the segment (44,56)-(56,44) passes only that point
    centres = [(45, 45), (55, 55)]
    expected = 2 * math.hypot(4, 6) + 20  # (40,50) -> (40,40) -> (50,40) (or the mirror round B)
    assert paths.shortest_path_length((44, 56), (56, 44), centres) == pytest.approx(expected, abs=1e-9)
    # a hair apart, the gap is open again
    assert paths.shortest_path_length((44, 56), (56, 44), [(45, 45), (55.001, 55.001)]) == pytest.approx(
        12 * SQRT2, abs=1e-9
    )


def test_square_touching_a_wall_closes_the_corridor():
    # [1, 11] x [45, 55] touches the wall x = 1: go round its right side
    expected = 2 * math.hypot(6, 15) + 10
    assert paths.shortest_path_length((5, 30), (5, 70), [(6, 50)]) == pytest.approx(expected, abs=1e-9)
    assert paths.shortest_path_length((1, 30), (1, 70), [(6, 50)]) == pytest.approx(
        2 * math.hypot(10, 15) + 10, abs=1e-9
    )
    # [1.5, 11.5]: a corridor of width 0.5 along the wall
    assert paths.shortest_path_length((1, 30), (1, 70), [(6.5, 50)]) == pytest.approx(40.0, abs=1e-9)
    # without walls the square can be passed on its left
    assert paths.shortest_path_length((1, 30), (1, 70), [(6, 50)], bounds=None) == pytest.approx(
        2 * math.hypot(0, 15) + 10, abs=1e-9
    )


def test_unreachable_and_invalid_endpoints():
    ring = [(40, 40), (50, 40), (60, 40), (60, 50), (60, 60), (50, 60), (40, 60), (40, 50)]
    assert paths.shortest_path_length((50, 50), FOOD, ring) == math.inf
    assert paths.shortest_path_length((25, 25), FOOD) == math.inf  # inside
    assert paths.shortest_path_length((20, 22), FOOD) == math.inf  # on an edge
    assert paths.shortest_path_length((0.5, 5), FOOD) == math.inf  # outside the box
    with pytest.raises(ValueError):
        paths.shortest_path_length((math.nan, 5), FOOD)
    with pytest.raises(ValueError):
        paths.shortest_path_length((5, 5), FOOD, [(1, 2, 3)])


@pytest.mark.parametrize("start", list(STARTS))
def test_tutorial_shortest_paths_match_shapely(start):
    union = unary_union([_square(c) for c in TUTORIAL])
    expected = _shapely_shortest(start, FOOD, union)
    got = paths.shortest_path_length(start, FOOD, TUTORIAL)
    assert got == pytest.approx(expected, abs=1e-9)
    assert got > math.dist(start, FOOD) + 0.5  # the obstacles do force a detour


def test_tutorial_shortest_path_values():
    # hand-derived: (5,5) and (5,15) pass the corner (20,40) and then see the food; (15,5) passes
    # (40,20), then (60,50) below the second group
    assert paths.shortest_path_length((5, 5), FOOD) == pytest.approx(math.hypot(15, 35) + math.hypot(75, 55))
    assert paths.shortest_path_length((5, 15), FOOD) == pytest.approx(math.hypot(15, 25) + math.hypot(75, 55))
    expected = math.hypot(25, 15) + math.hypot(20, 30) + math.hypot(35, 45)
    assert paths.shortest_path_length((15, 5), FOOD) == pytest.approx(expected)


def test_random_overlapping_layouts_match_shapely():
    rng = np.random.default_rng(7)
    for _ in range(120):
        centres = _random_layout(rng, n=int(rng.integers(1, 9)))
        start = _random_free_point(rng, centres)
        goal = _random_free_point(rng, centres, far_from_food=False)
        union = unary_union([_square(c) for c in centres])
        expected = _shapely_shortest(start, goal, union)
        got = paths.shortest_path_length(start, goal, centres, bounds=None)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), (centres, start, goal)


# ------------------------------------------------------------------------------ free paths

PINWHEEL = [(47, 44), (56, 47), (53, 56), (44, 53)]  # 4 overlapping squares round [49, 51]^2
DIAMOND = [(50, 40), (60, 50), (50, 60), (40, 50)]  # 4 squares touching at corners round [45, 55]^2
RING = [(40, 40), (50, 40), (60, 40), (60, 50), (60, 60), (50, 60), (40, 60), (40, 50)]


@pytest.mark.parametrize("pocket", [PINWHEEL, DIAMOND, RING], ids=["pinwheel", "diamond", "ring"])
def test_enclosed_pocket(pocket):
    assert paths.has_free_path((50, 50), FOOD, pocket) is False
    assert paths.has_free_path(FOOD, (50, 50), pocket) is False
    assert paths.has_free_path((50.5, 49.5), (49.5, 50.5), pocket) is True  # both inside
    assert paths.has_free_path((10, 10), FOOD, pocket) is True
    assert paths.has_free_path((10, 90), (90, 10), pocket) is True
    assert paths.shortest_path_length((50, 50), FOOD, pocket) == math.inf
    assert _shapely_connected((50, 50), FOOD, pocket) is False  # the reference agrees


def test_opened_pocket():
    opened = [(47, 44), (56, 47), (53, 56), (44, 54.5)]  # the last square moved: a gap at its corner
    assert paths.has_free_path((50, 50), FOOD, opened) is True
    assert _shapely_connected((50, 50), FOOD, opened) is True


def test_corner_touch_closes_gap_and_clearance():
    # the diamond's four gaps are corner touches; opening one by more than the clearance frees it
    for gap, free in ((0.0, False), (1e-10, False), (1e-6, True), (0.01, True)):
        layout = [(50, 40 - gap), (60, 50), (50, 60), (40, 50)]
        assert paths.has_free_path((50, 50), FOOD, layout) is free, gap
    layout = [(50, 40 - 1e-6), (60, 50), (50, 60), (40, 50)]
    assert paths.has_free_path((50, 50), FOOD, layout, clearance=1e-5) is False


def test_pocket_against_the_walls():
    # [1,11] x [11,21] and [11,21] x [1,11] touch at (11,11): with the walls they enclose [1,11)^2
    corner = [(6, 16), (16, 6)]
    assert paths.has_free_path((5, 5), FOOD, corner) is False
    assert paths.has_free_path((5, 5), FOOD, corner, bounds=None) is True
    assert paths.shortest_path_length((5, 5), FOOD, corner) == math.inf
    assert paths.has_free_path((5, 5), FOOD, [(6.5, 16), (16, 6)]) is True  # a 0.5 corridor on x = 1
    assert paths.has_free_path((5, 5), FOOD, [(5.5, 16), (15.5, 6)]) is False  # crosses the wall
    assert paths.has_free_path((5, 5), (30, 30), [(6, 16), (16, 6.5)]) is True


def test_endpoints_in_or_on_a_square_or_outside_are_not_free():
    for p in [(25, 25), (20, 20), (20, 23), (30, 30), (75, 55)]:
        assert paths.has_free_path(p, FOOD) is False
        assert paths.has_free_path((5, 5), p) is False
    assert paths.has_free_path((0.5, 50), FOOD) is False
    assert paths.has_free_path((5, 5), FOOD) is True
    assert paths.has_free_path((5, 5), FOOD, []) is True
    with pytest.raises(ValueError):
        paths.has_free_path((5, 5), FOOD, clearance=0.0)


def test_tutorial_takes_the_shortcut(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the full search ran")

    monkeypatch.setattr(paths, "_free_path_search", forbidden)
    assert paths.has_free_path((5, 5), FOOD) is True  # two groups of 3 squares
    with pytest.raises(AssertionError):
        paths.has_free_path((50, 50), FOOD, PINWHEEL)


def test_at_most_three_touching_boxes_never_enclose():
    """The shortcut's premise, checked with shapely: a union of <= 3 boxes has no hole."""
    rng = np.random.default_rng(3)
    for _ in range(1500):
        n = int(rng.integers(2, 4))
        centres = [tuple(rng.uniform(40, 58, 2)) for _ in range(n)]
        union = unary_union([_square(c) for c in centres])
        n_holes = sum(len(p.interiors) for p in _parts(union))
        if n <= 3:
            assert n_holes == 0, centres
    union = unary_union([_square(c) for c in PINWHEEL])
    assert sum(len(p.interiors) for p in _parts(union)) == 1  # 4 boxes can


@pytest.mark.parametrize(
    "n, lo, hi, count",
    [(6, 10.0, 90.0, 3000), (6, 30.0, 70.0, 800), (9, 30.0, 70.0, 800)],
    ids=["spec-layouts", "dense-6", "dense-9"],
)
def test_shortcut_agrees_with_full_search_and_shapely(n, lo, hi, count):
    rng = np.random.default_rng(11 + n + int(lo))
    shortcut_used = fallback_used = enclosed = 0
    for _ in range(count):
        centres = _random_layout(rng, n, lo, hi)
        union = unary_union([_square(c) for c in centres])
        # a random start, and a point inside each hole of the union (a pocket)
        starts = [_random_free_point(rng, centres)]
        holes = [Polygon(ring) for part in _parts(union) for ring in part.interiors]
        starts += [hole.representative_point().coords[0] for hole in holes]
        shortcut = paths._no_enclosure(centres, 1e-9, paths.WORLD_BOUNDS)
        shortcut_used += shortcut
        fallback_used += not shortcut
        for start in starts:
            got = paths.has_free_path(start, FOOD, centres)
            full = paths._free_path_search(start, FOOD, centres, 1e-9, paths.WORLD_BOUNDS)
            assert got == full, (centres, start)
            assert got == _shapely_connected(start, FOOD, centres), (centres, start)
            if shortcut:
                assert full  # the shortcut's claim, checked by the search
            enclosed += not got
    assert shortcut_used > 0 and fallback_used > 0
    if lo > 10.0:
        assert enclosed > 0  # the dense layouts do produce pockets


# ---------------------------------------------------------------------- physics (from spec)


def _in_obstacle(x, y, lo, hi):
    return bool(((x >= lo[:, 0]) & (x <= hi[:, 0]) & (y >= lo[:, 1]) & (y <= hi[:, 1])).any())


def physics_step(state, action, centres=TUTORIAL):
    """One step of the physics of docs/model.md for one forager: ``(x, y, vx, vy) -> (x, y, vx, vy)``."""
    c = np.asarray(centres, dtype=float).reshape(-1, 2)
    lo, hi = c - 5.0, c + 5.0
    x, y, vx, vy = state
    vx, vy = 0.8 * vx + 1.5 * action[0], 0.8 * vy + 1.5 * action[1]
    speed = math.sqrt(vx * vx + vy * vy)
    if speed > 3.0:
        vx, vy = vx * 3.0 / speed, vy * 3.0 / speed
    move_x, move_y = vx, vy
    nx, ny = x + move_x, y + move_y
    if nx < 1.0:
        nx, vx = 1.0, 0.0
    if nx > 99.0:
        nx, vx = 99.0, 0.0
    if ny < 1.0:
        ny, vy = 1.0, 0.0
    if ny > 99.0:
        ny, vy = 99.0, 0.0
    if not _in_obstacle(nx, ny, lo, hi):
        return nx, ny, vx, vy
    x_ok, y_ok = not _in_obstacle(nx, y, lo, hi), not _in_obstacle(x, ny, lo, hi)
    if x_ok and y_ok:
        return (nx, y, vx, vy) if abs(move_x) >= abs(move_y) else (x, ny, vx, vy)
    if x_ok:
        return nx, y, vx, 0.0
    if y_ok:
        return x, ny, 0.0, vy
    return x, y, 0.0, 0.0


def physics_step_batch(s, ax, ay, centres=TUTORIAL):
    """The same physics over arrays ``s`` (m, 4) and actions ``ax``, ``ay`` (m,)."""
    c = np.asarray(centres, dtype=float).reshape(-1, 2)
    lo, hi = c - 5.0, c + 5.0

    def inside(px, py):
        return (
            (px[:, None] >= lo[:, 0])
            & (px[:, None] <= hi[:, 0])
            & (py[:, None] >= lo[:, 1])
            & (py[:, None] <= hi[:, 1])
        ).any(axis=1)

    x, y = s[:, 0], s[:, 1]
    vx, vy = 0.8 * s[:, 2] + 1.5 * ax, 0.8 * s[:, 3] + 1.5 * ay
    speed = np.sqrt(vx * vx + vy * vy)
    fast = speed > 3.0
    safe = np.where(fast, speed, 1.0)
    vx, vy = np.where(fast, vx * 3.0 / safe, vx), np.where(fast, vy * 3.0 / safe, vy)
    move_x, move_y = vx, vy
    nx, ny = x + move_x, y + move_y
    out_x, out_y = (nx < 1.0) | (nx > 99.0), (ny < 1.0) | (ny > 99.0)
    nx, ny = np.clip(nx, 1.0, 99.0), np.clip(ny, 1.0, 99.0)
    vx, vy = np.where(out_x, 0.0, vx), np.where(out_y, 0.0, vy)
    blocked = inside(nx, ny)
    x_ok, y_ok = ~inside(nx, y), ~inside(x, ny)
    take_x = blocked & x_ok & (~y_ok | (np.abs(move_x) >= np.abs(move_y)))
    take_y = blocked & y_ok & (~x_ok | (np.abs(move_x) < np.abs(move_y)))
    stay = blocked & ~x_ok & ~y_ok
    new_x = np.where(~blocked | take_x, nx, x)
    new_y = np.where(~blocked | take_y, ny, y)
    vx = np.where((blocked & y_ok & ~x_ok) | stay, 0.0, vx)
    vy = np.where((blocked & x_ok & ~y_ok) | stay, 0.0, vy)
    return np.stack([new_x, new_y, vx, vy], axis=1)


def test_batch_physics_matches_scalar_physics():
    rng = np.random.default_rng(5)
    m = 64
    s = np.tile([5.0, 5.0, 0.0, 0.0], (m, 1))
    s[:, :2] = rng.uniform(1, 99, (m, 2))
    s = s[[not _in_obstacle(x, y, np.array(TUTORIAL) - 5, np.array(TUTORIAL) + 5) for x, y in s[:, :2]]]
    for _ in range(150):
        a = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], size=(len(s), 2))
        new = physics_step_batch(s, a[:, 0], a[:, 1])
        ref = np.array([physics_step(tuple(row), tuple(act)) for row, act in zip(s, a)])
        np.testing.assert_array_equal(new, ref)
        s = new


def test_speed_profile_from_rest_is_the_bounds_premise():
    """Travelled length after k steps <= S(k) = 1.5 sqrt(2) + 3 (k - 1), equal under diagonal pushes."""
    rng = np.random.default_rng(9)
    s = np.tile([50.0, 5.0, 0.0, 0.0], (400, 1))
    travelled = np.zeros(len(s))
    for k in range(1, 40):
        a = rng.choice([-1.0, 1.0], size=(len(s), 2)) * rng.uniform(0.5, 1.0, size=(len(s), 1)) ** 0.1
        new = physics_step_batch(s, a[:, 0], a[:, 1])
        travelled += np.hypot(*(new[:, :2] - s[:, :2]).T)
        s = new
        assert (travelled <= paths.FIRST_STEP + 3.0 * (k - 1) + 1e-9).all()
    state, total = (5.0, 5.0, 0.0, 0.0), 0.0
    for k in range(1, 20):
        new = physics_step(state, (1.0, 1.0), centres=[])
        total += math.dist(new[:2], state[:2])
        state = new
        assert total == pytest.approx(paths.FIRST_STEP + 3.0 * (k - 1))


# ------------------------------------------------------------------- the step lower bound


@pytest.mark.parametrize("start, bound", list(STARTS.items()))
def test_tutorial_lower_bounds(start, bound):
    assert paths.min_steps_lower_bound(start) == bound
    assert paths.min_steps_lower_bound(start, FOOD, TUTORIAL, 5.0) == bound


def test_bound_rounding_is_strict():
    f, cover = paths.FIRST_STEP, paths._steps_to_cover
    assert cover(-1e-12) == 0
    assert cover(0.0) == 1  # at exactly the radius: one step gets strictly inside
    assert cover(f - 1e-9) == 1
    assert cover(f) == 2  # covering exactly S(1) leaves the forager at distance exactly 5, not < 5
    assert cover(f + 3.0 - 1e-9) == 2
    assert cover(f + 3.0) == 3
    rng = np.random.default_rng(1)
    for d in rng.uniform(0, 300, 1000):
        k = cover(d)
        assert f + 3.0 * (k - 1) > d >= (f + 3.0 * (k - 2) if k >= 2 else 0.0)


def test_bound_edge_cases():
    assert paths.min_steps_lower_bound((93, 93)) == 0  # already within the radius
    assert paths.min_steps_lower_bound((95, 90)) == 1  # at exactly 5: not yet at the food
    assert paths.min_steps_lower_bound((95, 90 - paths.FIRST_STEP / 2)) == 1
    # free world: the straight distance
    assert paths.min_steps_lower_bound((5, 5), obstacle_centres=[]) == paths._steps_to_cover(90 * SQRT2 - 5)
    # an obstacle reaching into the food disc is left out (the bound stays valid)
    assert paths.min_steps_lower_bound((5, 5), obstacle_centres=[(95, 88)]) == paths.min_steps_lower_bound(
        (5, 5), obstacle_centres=[]
    )
    other_food = (50.0, 90.0)
    assert paths.min_steps_lower_bound((50, 10), other_food, []) == paths._steps_to_cover(75.0)
    with pytest.raises(ValueError, match="obstacle"):
        paths.min_steps_lower_bound((25, 25))
    with pytest.raises(ValueError, match="no obstacle-free path"):
        paths.min_steps_lower_bound((50, 50), obstacle_centres=RING)


def test_no_shorter_sequence_even_with_corner_cutting():
    """A step of length <= 3 with both ends free can only cut a convex corner of an obstacle group,
    inside the triangle with legs 3 along its edges (crossing a group elsewhere needs >= 10). So the
    positions, linked, form a path avoiding the groups with those triangles cut off; if even that
    path is longer than S(bound - 1) + 5, no sequence reaches the food in fewer steps."""
    union = unary_union([_square(c) for c in TUTORIAL])
    assert all(len(p.interiors) == 0 for p in _parts(union))
    assert (
        min(  # every edge of the groups is long enough for the cuts
            math.dist(a, b) for p in _parts(union) for a, b in zip(p.exterior.coords, p.exterior.coords[1:])
        )
        >= 6.0
    )
    cut = unary_union([_cut_convex_corners(p, 3.0) for p in _parts(union)])
    for start, bound in STARTS.items():
        relaxed = _shapely_shortest(start, FOOD, cut)
        assert relaxed - 5.0 >= paths.FIRST_STEP + 3.0 * (bound - 2), start


class _GeodesicHeuristic:
    """Geodesic distance to the food for batches of points (visibility of the groups' corners)."""

    def __init__(self, centres, food):
        c = np.asarray(centres, dtype=float).reshape(-1, 2)
        self.lo, self.hi = c - 5.0 + 1e-7, c + 5.0 - 1e-7  # interiors only
        union = unary_union([_square(p) for p in centres])
        corners = [tuple(v) for p in _parts(union) for v in list(p.exterior.coords)[:-1]]
        self.nodes = np.array([food, *corners])
        self.cost = np.zeros(len(self.nodes))
        # a corner is on the union: measure from the nearest of the four points pushed off it
        for i in range(1, len(self.nodes)):
            best = math.inf
            for dx in (-1e-6, 1e-6):
                for dy in (-1e-6, 1e-6):
                    best = min(best, _shapely_shortest(tuple(self.nodes[i] + (dx, dy)), food, union))
            self.cost[i] = best

    def __call__(self, x, y):
        px, py = x[:, None], y[:, None]
        qx, qy = self.nodes[None, :, 0], self.nodes[None, :, 1]
        dx, dy = qx - px, qy - py
        ta = np.zeros(px.shape[:1] + (self.nodes.shape[0], self.lo.shape[0]))
        tb = np.ones_like(ta)
        with np.errstate(divide="ignore", invalid="ignore"):
            slabs = ((px, dx, self.lo[:, 0], self.hi[:, 0]), (py, dy, self.lo[:, 1], self.hi[:, 1]))
            for p, d, lo, hi in slabs:
                p, d = p[..., None], d[..., None]
                t1, t2 = (lo - p) / d, (hi - p) / d
                inside = (p > lo) & (p < hi)
                ta = np.maximum(ta, np.where(d != 0, np.minimum(t1, t2), np.where(inside, -np.inf, np.inf)))
                tb = np.minimum(tb, np.where(d != 0, np.maximum(t1, t2), np.where(inside, np.inf, -np.inf)))
        blocked = (ta < tb).any(axis=2)
        total = np.hypot(dx, dy) + self.cost[None, :]
        total[blocked] = np.inf
        return total.min(axis=1)


def _beam_search(start, heuristic, width=40, headings=40, max_steps=60):
    """Fewest steps to the food found by a beam search over full-throttle headings (real physics).

    Returns ``(steps, actions)``; states are ranked by the geodesic distance to the food from the
    point two momentum steps ahead, near-duplicates dropped."""
    th = np.linspace(0.0, 2 * np.pi, headings, endpoint=False)
    acts = np.stack([np.cos(th), np.sin(th)], axis=1)
    acts /= np.abs(acts).max(axis=1, keepdims=True)  # on the boundary of the Box
    states = np.array([[start[0], start[1], 0.0, 0.0]])
    history = []
    for k in range(1, max_steps + 1):
        parent = np.repeat(np.arange(len(states)), headings)
        action = np.tile(np.arange(headings), len(states))
        new = physics_step_batch(states[parent], acts[action, 0], acts[action, 1])
        dist = np.hypot(new[:, 0] - FOOD[0], new[:, 1] - FOOD[1])
        if (dist < 5.0).any():
            i = int(np.argmin(dist))
            seq = [action[i]]
            i = parent[i]
            for par, act in reversed(history):
                seq.append(act[i])
                i = par[i]
            return k, [tuple(acts[a]) for a in reversed(seq)]
        score = heuristic(new[:, 0] + 1.6 * new[:, 2], new[:, 1] + 1.6 * new[:, 3])
        order = np.argsort(score, kind="stable")
        _, first = np.unique(np.round(new[order] * 4.0), axis=0, return_index=True)
        keep = order[np.sort(first)][:width]
        history.append((parent[keep], action[keep]))
        states = new[keep]
    return None, None


def test_bound_is_tight_on_the_tutorial_starts():
    heuristic = _GeodesicHeuristic(TUTORIAL, FOOD)
    for start, bound in STARTS.items():
        steps, actions = _beam_search(start, heuristic)
        assert steps == bound, (start, steps)
        # replay with the scalar physics: strictly inside the radius at the bound, not before
        state = (start[0], start[1], 0.0, 0.0)
        for k, a in enumerate(actions, start=1):
            assert max(abs(a[0]), abs(a[1])) <= 1.0 + 1e-12
            state = physics_step(state, a)
            assert (math.dist(state[:2], FOOD) < 5.0) == (k == bound)
        assert len(actions) == bound
        assert paths.path_efficiency(paths.min_steps_lower_bound(start), len(actions)) == 1.0


# ---------------------------------------------------------------------------- efficiency


def test_path_efficiency_values():
    assert paths.path_efficiency(43, 43) == 1.0
    assert paths.path_efficiency(40, 80) == 0.5
    assert paths.path_efficiency(43, 172) == pytest.approx(0.25)
    assert paths.path_efficiency(40, 39) == pytest.approx(40 / 39)  # not clipped
    assert paths.path_efficiency(0, 5) == 0.0
    for bad in [(43, 0), (43, -1), (-1, 10), (math.nan, 10), (43, math.inf)]:
        with pytest.raises(ValueError):
            paths.path_efficiency(*bad)
