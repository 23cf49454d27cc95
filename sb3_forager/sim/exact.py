"""Exact geometric predicates on doubles, as JTS (GAMA's geometry library) decides them.

GAMA asks JTS whether a sensor ray touches an obstacle, and JTS's orientation tests are exact for
the given double coordinates. A floating-point test disagrees when a ray passes within rounding of
a corner (it happens on ordinary trajectories: a forager pushed diagonally from (15, 5) stays on
the line x - y = 10 up to rounding, and that line's 45° ray runs through the corner (30, 20)).

:func:`orientation` returns the exact sign of the 2x2 orientation determinant: a fast floating-point
evaluation with Shewchuk's error bound, and only when that cannot decide, an exact evaluation with
error-free transformations (Dekker's split and product, Knuth's two-sum) and a nonoverlapping
expansion sum whose largest component has the sign of the exact value. No division, no tolerance.
Plain Python on floats, compiled by :mod:`sb3_forager.sim.jit` with the kernels that use it.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel

#: Shewchuk's ccwerrboundA, (3 + 16 eps) eps with eps = 2**-53
_ORIENT_BOUND = 3.3306690738754716e-16
#: 2**27 + 1, Dekker's splitter for 53-bit doubles
_SPLITTER = 134217729.0


@kernel
def two_sum(a: float, b: float) -> tuple[float, float]:
    """``(s, e)`` with ``s = fl(a + b)`` and ``a + b = s + e`` exactly (Knuth)."""
    s = a + b
    bv = s - a
    av = s - bv
    return s, (a - av) + (b - bv)


@kernel
def _split(a: float) -> tuple[float, float]:
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


@kernel
def two_product(a: float, b: float) -> tuple[float, float]:
    """``(p, e)`` with ``p = fl(a * b)`` and ``a * b = p + e`` exactly (Dekker; no overflow here)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    err = p - ah * bh
    err -= al * bh
    err -= ah * bl
    return p, al * bl - err


@kernel
def expansion_sign(terms: np.ndarray, n: int) -> int:
    """The exact sign (-1, 0, 1) of ``sum(terms[:n])``.

    Grows a nonoverlapping expansion one term at a time (Shewchuk's Grow-Expansion with zero
    elimination); its last component is the largest in magnitude and carries the sign of the sum.
    ``terms`` is overwritten.
    """
    m = 0
    for i in range(n):
        q = terms[i]
        k = 0
        for j in range(m):
            s, e = two_sum(q, terms[j])
            if e != 0.0:
                terms[k] = e
                k += 1
            q = s
        if q != 0.0:
            terms[k] = q
            k += 1
        m = k
    if m == 0:
        return 0
    return 1 if terms[m - 1] > 0.0 else -1


@kernel
def orientation(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """Exact sign of ``(bx - ax) * (cy - ay) - (by - ay) * (cx - ax)``.

    +1 when c lies to the left of the directed line a -> b (counter-clockwise in x-right/y-up
    axes), -1 to the right, 0 on the line.
    """
    left = (bx - ax) * (cy - ay)
    right = (by - ay) * (cx - ax)
    det = left - right
    bound = _ORIENT_BOUND * (abs(left) + abs(right))
    if det > bound:
        return 1
    if -det > bound:
        return -1
    # exact: each difference is a two-term expansion, each product of two terms a two-term one
    p1, p0 = two_sum(bx, -ax)
    q1, q0 = two_sum(cy, -ay)
    r1, r0 = two_sum(by, -ay)
    s1, s0 = two_sum(cx, -ax)
    terms = np.empty(16)
    k = 0
    # the subtracted products as products of a negated factor (exact: rounding is sign-symmetric)
    for u, v in ((p1, q1), (p1, q0), (p0, q1), (p0, q0), (-r1, s1), (-r1, s0), (-r0, s1), (-r0, s0)):
        terms[k], terms[k + 1] = two_product(u, v)
        k += 2
    return expansion_sign(terms, 16)


@kernel
def segment_touches_box(px: float, py: float, ex: float, ey: float, lx: float, ly: float, hx: float, hy: float) -> bool:
    """Exactly whether the closed segment p -> e meets the closed box [lx, hx] x [ly, hy].

    Separating axes of a segment and a box: the two box axes (the segment's bounding box must
    overlap the box: comparisons of doubles, exact) and the segment's normal (the box must not lie
    strictly on one side of the segment's line: exact orientation of its four corners).
    """
    if min(px, ex) > hx or max(px, ex) < lx or min(py, ey) > hy or max(py, ey) < ly:
        return False
    if px == ex or py == ey:  # axis-parallel: the bounding-box test is the whole answer
        return True
    pos = 0
    neg = 0
    for cx, cy in ((lx, ly), (hx, ly), (hx, hy), (lx, hy)):
        s = orientation(px, py, ex, ey, cx, cy)
        if s > 0:
            pos += 1
        elif s < 0:
            neg += 1
        else:
            return True  # a corner on the line, inside the overlapping bounding boxes
    return pos > 0 and neg > 0
