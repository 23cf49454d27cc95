"""The forager models' semantics, written once: physics, sensors, observations, rewards, flags.

Every function here is plain Python on scalars and numpy arrays, compiled by numba when it is
installed (see :mod:`sb3_forager.sim.jit`). The loops are the GAML model's own: per world, the
foragers act **sequentially in index order** (``ask forager { do apply_action; do
compute_observation; do compute_reward; }``), so the teammate slot and the team test see exactly
what the GAML sees. Nothing here knows about Gymnasium, PettingZoo or scenarios; the arrays are
laid out by :class:`sb3_forager.sim.core.ForagerSim`:

* ``fst`` float64 (N, K, 5): x, y, vx, vy, previous_distance of forager k in world w;
* ``bst`` bool (N, K, 2): at_food, bumped;
* ``arrival`` int64 (N, K): the step at which each forager reached the food (-1: not yet);
* ``wi`` int64 (N, 3): current_step, max_steps, number of obstacles;
* ``food`` float64 (N, 2); ``boxes`` float64 (N, M, 4): each obstacle's lx, ly, hx, hy (closed);
* ``rays`` float64 (S, 2): ``sensor_range * (cos(a), sin(a))`` of each sensor, as GAMA rounds it;
* ``consts`` float64: the GAML globals and forager attributes, see ``CONST_FIELDS`` below;
* outputs: ``obs`` float64 (N, K, D), ``rew`` float64 (N, K), ``flags`` bool (N, K, 2)
  (terminated, truncated: the raw GAML flags), ``wout`` bool (N, 2) (episode over, success).
"""

from __future__ import annotations

import math

import numpy as np

from .exact import segment_touches_box
from .jit import kernel

#: what ``consts`` holds: the :class:`~sb3_forager.sim.world.WorldConfig` value at each ``C_*`` index
CONST_FIELDS = (
    "friction", "accel_force", "max_speed", "wall_lo", "wall_hi", "world_size", "sensor_range", "food_radius",
    "max_distance", "success_reward", "wait_reward", "timeout_reward", "step_cost", "shaping_scale",
    "bump_penalty", "angle_guard",
)  # fmt: skip
(C_FRICTION, C_ACCEL, C_MAX_SPEED, C_WALL_LO, C_WALL_HI, C_SIZE, C_RANGE, C_FOOD_RADIUS, C_DIST_NORM, C_SUCCESS,
 C_WAIT, C_TIMEOUT, C_STEP_COST, C_SHAPING, C_BUMP, C_GUARD) = range(len(CONST_FIELDS))  # fmt: skip

RULES_SINGLE = 0  #: forager_gym.gaml: move, step += 1, observe, reward
RULES_TEAM = 1  #: forager_petz.gaml: step += 1, then each forager in turn moves, observes, is rewarded
TEAMMATE_FIRST = 0  #: ``forager first_with (each.agent_id != agent_id)``
TEAMMATE_NEAREST = 1  #: the nearest other forager, ties to the lowest index

#: |t0 - t1| below this (in units of the ray) is a near tie, settled exactly
_TIE = 1e-9
_RAD_TO_DEG = 180.0 / math.pi
#: GAMA evaluates ``cos``/``sin`` of degrees as ``Math.cos(deg * toRad)`` with this constant
TO_RAD = math.pi / 180.0


@kernel
def in_any_box(x: float, y: float, boxes: np.ndarray, w: int, n: int) -> bool:
    """GAML ``p intersects obs`` over the obstacles (closed squares: an edge point is inside)."""
    for b in range(n):
        if boxes[w, b, 0] <= x <= boxes[w, b, 2] and boxes[w, b, 1] <= y <= boxes[w, b, 3]:
            return True
    return False


@kernel
def distance(ax: float, ay: float, bx: float, by: float) -> float:
    """GAML ``distance_to`` between points: ``sqrt(dx*dx + dy*dy)``."""
    dx = bx - ax
    dy = by - ay
    return math.sqrt(dx * dx + dy * dy)


@kernel
def _slab(p: float, d: float, lo: float, hi: float) -> tuple[float, float]:
    """The ray parameters ``[t0, t1]`` where ``p + t d`` lies in the closed ``[lo, hi]``."""
    if d == 0.0:
        if lo <= p <= hi:
            return -math.inf, math.inf
        return math.inf, -math.inf
    ta = (lo - p) / d
    tb = (hi - p) / d
    if ta <= tb:
        return ta, tb
    return tb, ta


@kernel
def sense(
    px: float,
    py: float,
    w: int,
    boxes: np.ndarray,
    n_boxes: int,
    rays: np.ndarray,
    consts: np.ndarray,
    out: np.ndarray,
    start: int,
) -> None:
    """The ray sensors of a forager at (px, py) in world w, written to ``out[start:start + S]``.

    Per ray ``line([location, location + rays[i]])`` (the end point rounded as GAMA rounds it):
    ``min(1, border crossing / range, for each obstacle the ray touches: the midpoint of the part
    of the ray inside the square / range)``. Touch or miss is decided exactly (JTS semantics):
    a floating-point slab test, and for near ties :func:`~sb3_forager.sim.exact.segment_touches_box`.
    """
    size = consts[C_SIZE]
    rng = consts[C_RANGE]
    reach = rng + 1e-9
    for i in range(rays.shape[0]):
        ex = px + rays[i, 0]
        ey = py + rays[i, 1]
        dx = ex - px
        dy = ey - py
        length = math.sqrt(dx * dx + dy * dy)
        best = math.inf  # in units of the ray
        # the border polyline: a ray starting inside the world leaves it at most once
        t_exit = math.inf
        if dx > 0.0:
            t_exit = (size - px) / dx
        elif dx < 0.0:
            t_exit = -px / dx
        if dy > 0.0:
            t_exit = min(t_exit, (size - py) / dy)
        elif dy < 0.0:
            t_exit = min(t_exit, -py / dy)
        if t_exit <= 1.0:
            best = t_exit
        for b in range(n_boxes):
            lx = boxes[w, b, 0]
            ly = boxes[w, b, 1]
            hx = boxes[w, b, 2]
            hy = boxes[w, b, 3]
            if px < lx - reach or px > hx + reach or py < ly - reach or py > hy + reach:
                continue  # out of sensor range whatever the direction
            tx0, tx1 = _slab(px, dx, lx, hx)
            ty0, ty1 = _slab(py, dy, ly, hy)
            t0 = max(0.0, max(tx0, ty0))
            t1 = min(1.0, min(tx1, ty1))
            if t0 > t1 + _TIE:
                continue
            if t0 >= t1 - _TIE and not segment_touches_box(px, py, ex, ey, lx, ly, hx, hy):
                continue  # a near tie that the exact predicate calls a miss
            mid = 0.5 * (t0 + t1)  # the midpoint of the part inside (a corner touch: that point)
            best = min(best, mid)
        reading = best * length / rng
        out[start + i] = min(1.0, reading)


@kernel
def observe(
    w: int,
    k: int,
    fst: np.ndarray,
    wi: np.ndarray,
    food: np.ndarray,
    boxes: np.ndarray,
    rays: np.ndarray,
    consts: np.ndarray,
    rules: int,
    teammate: int,
    obs: np.ndarray,
) -> None:
    """``compute_observation`` of forager k in world w, from the current positions."""
    x = fst[w, k, 0]
    y = fst[w, k, 1]
    fx = food[w, 0]
    fy = food[w, 1]
    dist = distance(x, y, fx, fy)
    # GAMA `towards`: atan2 in degrees, checkHeading into [0, 360]; cos/sin of degrees
    heading = math.atan2(fy - y, fx - x) * _RAD_TO_DEG
    while heading < 0.0:
        heading += 360.0
    while heading > 360.0:
        heading -= 360.0
    if rules == RULES_SINGLE and dist <= consts[C_GUARD]:
        heading = 0.0  # only the single model guards the angle at the food centre
    size = consts[C_SIZE]
    row = obs[w, k]
    row[0] = x / size
    row[1] = y / size
    norm = dist / consts[C_DIST_NORM]
    row[2] = min(1.0, norm)
    row[3] = (math.cos(heading * TO_RAD) + 1.0) / 2.0
    row[4] = (math.sin(heading * TO_RAD) + 1.0) / 2.0
    sense(x, y, w, boxes, wi[w, 2], rays, consts, row, 5)
    if rules == RULES_TEAM:
        n_s = rays.shape[0]
        mate = 1 if k == 0 else 0  # teammate "first", and the start of the "nearest" search
        n = fst.shape[1]
        if teammate == TEAMMATE_NEAREST:
            best = math.inf
            for j in range(n):
                if j != k:
                    d = distance(x, y, fst[w, j, 0], fst[w, j, 1])
                    if d < best:
                        best = d
                        mate = j
        row[5 + n_s] = fst[w, mate, 0] / size
        row[6 + n_s] = fst[w, mate, 1] / size


@kernel
def move(
    w: int,
    k: int,
    ax: float,
    ay: float,
    fst: np.ndarray,
    bst: np.ndarray,
    wi: np.ndarray,
    boxes: np.ndarray,
    consts: np.ndarray,
) -> None:
    """The movement part of ``apply_action``: velocity, walls, then the destination-only obstacle
    test with the two slides."""
    vx = fst[w, k, 2] * consts[C_FRICTION] + ax * consts[C_ACCEL]
    vy = fst[w, k, 3] * consts[C_FRICTION] + ay * consts[C_ACCEL]
    max_speed = consts[C_MAX_SPEED]
    speed = math.sqrt(vx * vx + vy * vy)
    if speed > max_speed:
        vx = vx * max_speed / speed
        vy = vy * max_speed / speed
    ox = fst[w, k, 0]
    oy = fst[w, k, 1]
    mx = vx
    my = vy
    nx = ox + mx
    ny = oy + my
    lo = consts[C_WALL_LO]
    hi = consts[C_WALL_HI]
    bumped = False
    if nx < lo or nx > hi:
        nx = min(max(nx, lo), hi)
        vx = 0.0
        bumped = True
    if ny < lo or ny > hi:
        ny = min(max(ny, lo), hi)
        vy = 0.0
        bumped = True
    n_boxes = wi[w, 2]
    if not in_any_box(nx, ny, boxes, w, n_boxes):
        fst[w, k, 0] = nx
        fst[w, k, 1] = ny
    else:
        bumped = True
        x_ok = not in_any_box(nx, oy, boxes, w, n_boxes)
        y_ok = not in_any_box(ox, ny, boxes, w, n_boxes)
        if x_ok and y_ok:
            if abs(mx) >= abs(my):
                fst[w, k, 0] = nx
            else:
                fst[w, k, 1] = ny
        elif x_ok:
            fst[w, k, 0] = nx
            vy = 0.0
        elif y_ok:
            fst[w, k, 1] = ny
            vx = 0.0
        else:
            vx = 0.0
            vy = 0.0
    fst[w, k, 2] = vx
    fst[w, k, 3] = vy
    bst[w, k, 1] = bumped


@kernel
def step_worlds(
    actions: np.ndarray,
    acting: np.ndarray,
    fst: np.ndarray,
    bst: np.ndarray,
    arrival: np.ndarray,
    wi: np.ndarray,
    food: np.ndarray,
    boxes: np.ndarray,
    rays: np.ndarray,
    consts: np.ndarray,
    rules: int,
    teammate: int,
    obs: np.ndarray,
    rew: np.ndarray,
    flags: np.ndarray,
    wout: np.ndarray,
) -> None:
    """One GAML cycle (``reflex main_loop``) of every world.

    ``actions`` float64 (N, K, 2), used as given; ``acting`` bool (N, K): False for a forager that
    got no action this cycle (team rules: it does not move but still observes and is rewarded).
    """
    n_worlds = fst.shape[0]
    n_k = fst.shape[1]
    radius = consts[C_FOOD_RADIUS]
    for w in range(n_worlds):
        fx = food[w, 0]
        fy = food[w, 1]
        if rules == RULES_SINGLE:
            bst[w, 0, 1] = False
            move(w, 0, actions[w, 0, 0], actions[w, 0, 1], fst, bst, wi, boxes, consts)
            wi[w, 0] += 1
            observe(w, 0, fst, wi, food, boxes, rays, consts, rules, teammate, obs)
            dist = distance(fst[w, 0, 0], fst[w, 0, 1], fx, fy)
            success = dist < radius
            timeout = (not success) and wi[w, 0] >= wi[w, 1]
            if success:
                rew[w, 0] = consts[C_SUCCESS]
            elif timeout:
                rew[w, 0] = consts[C_TIMEOUT]
            else:
                r = consts[C_SHAPING] * (fst[w, 0, 4] - dist) - consts[C_STEP_COST]
                if bst[w, 0, 1]:
                    r -= consts[C_BUMP]
                rew[w, 0] = r
                fst[w, 0, 4] = dist
            bst[w, 0, 0] = success
            if success:
                arrival[w, 0] = wi[w, 0]
            flags[w, 0, 0] = success
            flags[w, 0, 1] = timeout
            wout[w, 0] = success or timeout
            wout[w, 1] = success
            continue
        # team rules: step += 1, then forager 0, 1, ... each moves, observes, is rewarded
        wi[w, 0] += 1
        timeout_now = wi[w, 0] >= wi[w, 1]
        n_at_food = 0
        for k in range(n_k):
            if bst[w, k, 0]:
                n_at_food += 1
        for k in range(n_k):
            bst[w, k, 1] = False
            if not bst[w, k, 0] and acting[w, k]:
                move(w, k, actions[w, k, 0], actions[w, k, 1], fst, bst, wi, boxes, consts)
            observe(w, k, fst, wi, food, boxes, rays, consts, rules, teammate, obs)
            dist = distance(fst[w, k, 0], fst[w, k, 1], fx, fy)
            if dist < radius and not bst[w, k, 0]:
                bst[w, k, 0] = True
                arrival[w, k] = wi[w, 0]
                n_at_food += 1
            term = False
            trunc = False
            if n_at_food == n_k:  # agents_at_food all_match each (later foragers: last cycle's flags)
                rew[w, k] = consts[C_SUCCESS]
                term = True
            elif bst[w, k, 0]:
                rew[w, k] = consts[C_WAIT]
            elif timeout_now:
                rew[w, k] = consts[C_TIMEOUT]
                trunc = True
            else:  # the single model's shaping, above (kept inline: a helper measured 5-8 % slower)
                r = consts[C_SHAPING] * (fst[w, k, 4] - dist) - consts[C_STEP_COST]
                if bst[w, k, 1]:
                    r -= consts[C_BUMP]
                rew[w, k] = r
                fst[w, k, 4] = dist
            flags[w, k, 0] = term
            flags[w, k, 1] = trunc
        wout[w, 1] = n_at_food == n_k
        wout[w, 0] = wout[w, 1] or timeout_now


@kernel
def reset_worlds(
    mask: np.ndarray,
    starts: np.ndarray,
    fst: np.ndarray,
    bst: np.ndarray,
    arrival: np.ndarray,
    wi: np.ndarray,
    food: np.ndarray,
    boxes: np.ndarray,
    rays: np.ndarray,
    consts: np.ndarray,
    rules: int,
    teammate: int,
    obs: np.ndarray,
) -> None:
    """The GAML ``init`` of the worlds where ``mask`` is True: foragers created at ``starts``
    (N, K, 2) with zero velocity (``previous_distance`` measured there), ``current_step`` 0, then
    every forager observes (after all exist, so each sees its teammate at its start)."""
    for w in range(fst.shape[0]):
        if not mask[w]:
            continue
        wi[w, 0] = 0
        for k in range(fst.shape[1]):
            x = starts[w, k, 0]
            y = starts[w, k, 1]
            fst[w, k, 0] = x
            fst[w, k, 1] = y
            fst[w, k, 2] = 0.0
            fst[w, k, 3] = 0.0
            fst[w, k, 4] = distance(x, y, food[w, 0], food[w, 1])
            bst[w, k, 0] = False
            bst[w, k, 1] = False
            arrival[w, k] = -1
        for k in range(fst.shape[1]):
            observe(w, k, fst, wi, food, boxes, rays, consts, rules, teammate, obs)


@kernel
def observe_worlds(
    mask: np.ndarray,
    fst: np.ndarray,
    wi: np.ndarray,
    food: np.ndarray,
    boxes: np.ndarray,
    rays: np.ndarray,
    consts: np.ndarray,
    rules: int,
    teammate: int,
    obs: np.ndarray,
) -> None:
    """Recompute every forager's observation in the masked worlds from the current state."""
    for w in range(fst.shape[0]):
        if mask[w]:
            for k in range(fst.shape[1]):
                observe(w, k, fst, wi, food, boxes, rays, consts, rules, teammate, obs)


@kernel
def sensor_readings(
    px: np.ndarray, py: np.ndarray, boxes: np.ndarray, n_boxes: int, rays: np.ndarray, consts: np.ndarray
) -> np.ndarray:
    """The readings (M, S) of foragers at (px[m], py[m]) among ``boxes[0, :n_boxes]``."""
    out = np.empty((px.shape[0], rays.shape[0]))
    for m in range(px.shape[0]):
        sense(px[m], py[m], 0, boxes, n_boxes, rays, consts, out[m], 0)
    return out


@kernel
def first_bad_action(actions: np.ndarray, acting: np.ndarray, low: float, high: float) -> int:
    """Flat index ``w * K + k`` of the first acting forager whose action is non-finite or outside
    ``[low, high]``, or -1. (NaN fails both comparisons, infinities the bounds.)"""
    n_k = actions.shape[1]
    for w in range(actions.shape[0]):
        for k in range(n_k):
            if acting[w, k]:
                a0 = actions[w, k, 0]
                a1 = actions[w, k, 1]
                if not (low <= a0 <= high and low <= a1 <= high):
                    return w * n_k + k
    return -1
