"""The exact predicates of the sensors, against rational arithmetic (``fractions.Fraction``).

GAMA decides "does this ray touch this square" with JTS's exact orientation tests on the actual
doubles. The core must decide exactly the same, also for rays that pass within an ulp of a corner
or run along an edge; its readings must then be the exact geometry's to float precision.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from sb3_forager.sim import OBSTACLE_CENTRES, WORLD, sensor_readings
from sb3_forager.sim.exact import expansion_sign, orientation, segment_touches_box, two_product, two_sum


def exact_orientation(ax, ay, bx, by, cx, cy) -> int:
    f = Fraction
    det = (f(bx) - f(ax)) * (f(cy) - f(ay)) - (f(by) - f(ay)) * (f(cx) - f(ax))
    return (det > 0) - (det < 0)


def exact_clip(px, py, ex, ey, lx, ly, hx, hy) -> tuple[Fraction, Fraction] | None:
    """The parameter interval of the closed segment p->e inside the closed box, exactly (None: miss)."""
    f = Fraction
    t0, t1 = f(0), f(1)
    for p, e, lo, hi in ((px, ex, lx, hx), (py, ey, ly, hy)):
        d = f(e) - f(p)
        if d == 0:
            if not f(lo) <= f(p) <= f(hi):
                return None
            continue
        a, b = (f(lo) - f(p)) / d, (f(hi) - f(p)) / d
        if a > b:
            a, b = b, a
        t0, t1 = max(t0, a), min(t1, b)
    return (t0, t1) if t0 <= t1 else None


def exact_sensors(x: float, y: float, centres=OBSTACLE_CENTRES) -> list[float]:
    """The 8 readings from exact segment geometry on the GAMA-rounded ray end points."""
    boxes = WORLD.obstacle_boxes(centres)
    out = []
    for ox, oy in WORLD.ray_offsets:
        ex, ey = x + ox, y + oy  # rounded as GAMA rounds location.x + sensor_range * cos(a)
        length = math.sqrt(float((Fraction(ex) - Fraction(x)) ** 2 + (Fraction(ey) - Fraction(y)) ** 2))
        best = None
        world = exact_clip(x, y, ex, ey, 0.0, 0.0, 100.0, 100.0)
        if not (0.0 <= ex <= 100.0 and 0.0 <= ey <= 100.0):
            best = world[1]  # leaves the world box: the crossing of the border
        for lx, ly, hx, hy in boxes:
            clip = exact_clip(x, y, ex, ey, lx, ly, hx, hy)
            if clip is not None:
                mid = (clip[0] + clip[1]) / 2
                best = mid if best is None else min(best, mid)
        out.append(1.0 if best is None else min(1.0, float(best) * length / WORLD.sensor_range))
    return out


# ---------------------------------------------------------------------- error-free arithmetic
def test_two_sum_and_two_product_are_exact() -> None:
    rng = np.random.default_rng(0)
    for _ in range(2000):
        a, b = rng.normal(0, 100, 2) * 10.0 ** rng.integers(-20, 3, 2)
        s, e = two_sum(float(a), float(b))
        assert Fraction(s) + Fraction(e) == Fraction(float(a)) + Fraction(float(b))
        p, q = two_product(float(a), float(b))
        assert Fraction(p) + Fraction(q) == Fraction(float(a)) * Fraction(float(b))


def test_expansion_sign_of_sums_that_cancel() -> None:
    rng = np.random.default_rng(1)
    for _ in range(500):
        terms = rng.normal(0, 1, 8) * 10.0 ** rng.integers(-30, 30, 8)
        extra = -sum((Fraction(float(t)) for t in terms[:-1]), Fraction(0))
        # a last term that (almost) cancels the rest
        last = float(extra) + float(rng.choice([-1, 0, 1])) * 10.0 ** float(rng.integers(-40, -20))
        vals = np.append(terms[:-1], last)
        truth = sum((Fraction(float(v)) for v in vals), Fraction(0))
        assert expansion_sign(vals.copy(), len(vals)) == (truth > 0) - (truth < 0)


def _near_line_points(rng: np.random.Generator, n: int):
    """Points on (or a few ulps beside) the line through two random points."""
    for _ in range(n):
        a = rng.uniform(0, 100, 2)
        b = a + rng.uniform(-30, 30, 2)
        t = rng.uniform(-1, 2)
        c = a + t * (b - a)
        c = np.array([np.nextafter(c[0], np.inf * rng.choice([-1, 1])) if rng.random() < 0.5 else c[0], c[1]])
        yield (*a, *b, *c)


def test_orientation_matches_rational_arithmetic_near_ties() -> None:
    rng = np.random.default_rng(2)
    cases = list(_near_line_points(rng, 3000))
    # exact collinear triples on dyadic grids, and the issue's corner
    cases += [(0.0, 0.0, 1.0, 1.0, 0.5, 0.5), (15.0, 5.0, 16.5, 6.5, 30.0, 20.0), (1.0, 1.0, 3.0, 3.0, 2.0, 2.0)]
    zeros = 0
    for case in cases:
        truth = exact_orientation(*case)
        assert orientation(*map(float, case)) == truth, case
        zeros += truth == 0
    assert zeros >= 3


# ---------------------------------------------------------------------- segment vs box
def grazing_segments():
    """Segments through (or an ulp beside) the corners of the tutorial squares, and along edges."""
    rng = np.random.default_rng(3)
    out = []
    boxes = WORLD.obstacle_boxes(OBSTACLE_CENTRES)
    for lx, ly, hx, hy in boxes:
        for cx, cy in ((lx, ly), (hx, ly), (hx, hy), (lx, hy)):
            for angle in (45.0, 135.0, 225.0, 315.0, 30.0, 60.0):
                u = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
                for back in (3.0, 10.0, 25.0):
                    p = np.array([cx, cy]) - back * u
                    for shift in (-2, -1, 0, 1, 2):
                        px = float(p[0])
                        for _ in range(abs(shift)):
                            px = float(np.nextafter(px, np.inf if shift > 0 else -np.inf))
                        out.append((px, float(p[1]), px + 30 * u[0], float(p[1]) + 30 * u[1], lx, ly, hx, hy))
        for y in (ly, hy, np.nextafter(ly, 0.0), np.nextafter(hy, 100.0)):  # along the horizontal edges
            out.append((lx - 12.0, float(y), lx + 18.0, float(y), lx, ly, hx, hy))
    out += [tuple(rng.uniform(0, 100, 4)) + tuple(boxes[i % 6]) for i in range(500)]
    return out


def test_segment_touches_box_is_exact() -> None:
    touches = misses = 0
    for case in grazing_segments():
        truth = exact_clip(*case) is not None
        assert segment_touches_box(*case) == truth, case
        touches += truth
        misses += not truth
    assert touches > 100 and misses > 100


# ---------------------------------------------------------------------- the sensors
HAND_PICKED = [
    (11.378679656440358, 1.3786796564403572),  # the issue's forager_0 after two (-1, -1) pushes
    (13.5, 3.5),  # on x - y = 10: the 45° ray through the corner (30, 20)
    (15.0, 5.0),
    (5.0, 5.0),  # the 45° ray enters (25, 25) at its corner (20, 20)
    (10.0, 10.0),
    (19.0, 25.0),  # docs/model.md, "Reference values"
    (50.0, 50.0),  # the 0° ray along the shared edge y = 50
    (50.0, float(np.nextafter(50.0, 0.0))),  # an ulp above that edge: misses it
    (50.0, float(np.nextafter(50.0, 100.0))),  # an ulp below: inside the squares, along the edge
    (30.0, 15.0),  # the 90° ray leans 3.6e-15 to the right of the edge x = 30
    (float(np.nextafter(30.0, 0.0)), 15.0),
    (40.0, 12.0),
    (85.0, 70.0),
    (55.0, 35.0),  # the 45° ray towards the corner (60, 40)
    (float(np.nextafter(55.0, 100.0)), 35.0),
]


@pytest.mark.parametrize(("x", "y"), HAND_PICKED)
def test_sensor_readings_equal_the_exact_geometry(x: float, y: float) -> None:
    core = sensor_readings(np.array([x]), np.array([y]), OBSTACLE_CENTRES)[0]
    np.testing.assert_allclose(core, exact_sensors(x, y), atol=1e-12, rtol=0, err_msg=f"at ({x!r}, {y!r})")


def test_issue_example_reading() -> None:
    """The 45° ray misses the corner (30, 20) by about 1e-16: 0.939, not the corner's 0.878."""
    x, y = HAND_PICKED[0]
    assert exact_orientation(x, y, x + WORLD.ray_offsets[1, 0], y + WORLD.ray_offsets[1, 1], 30.0, 20.0) != 0
    reading = sensor_readings(np.array([x]), np.array([y]), OBSTACLE_CENTRES)[0, 1]
    assert reading == pytest.approx(0.93890873, abs=1e-7)


def test_sensor_readings_on_random_near_corner_positions() -> None:
    """Positions a few ulps off the diagonals through every corner, against the exact geometry."""
    rng = np.random.default_rng(4)
    boxes = WORLD.obstacle_boxes(OBSTACLE_CENTRES)
    n = 0
    for lx, ly, hx, hy in boxes:
        for cx, cy in ((lx, ly), (hx, ly), (hx, hy), (lx, hy)):
            for _ in range(6):
                d = rng.uniform(2, 20)
                sx, sy = rng.choice([-1, 1], 2)
                x = cx + sx * d / math.sqrt(2)
                y = cy + sy * d / math.sqrt(2)
                x = float(np.nextafter(x, np.inf * rng.choice([-1, 1])))
                if any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes) or not (1 < x < 99 and 1 < y < 99):
                    continue
                core = sensor_readings(np.array([x]), np.array([y]), OBSTACLE_CENTRES)[0]
                np.testing.assert_allclose(core, exact_sensors(x, y), atol=1e-12, rtol=0, err_msg=f"({x!r}, {y!r})")
                n += 1
    assert n > 50
