"""Vectorised geometry of the forager world: obstacle membership and the 8 range sensors.

GAMA semantics reproduced here (see the spec and the README section "The MDP"):

* obstacles are closed axis-aligned squares, so a point on an edge is inside (``intersects``);
* a sensor ray is the segment from the forager to ``loc + 30 * (cos(a), sin(a))`` with GAMA's
  degree trigonometry, the end point rounded exactly as GAMA rounds it;
* a ray's reading is the minimum of 1, the distance to the crossing with the world border, and for
  each obstacle it touches the distance to the **midpoint of the part of the ray inside the
  square** (GAMA's ``location`` of a line is the mean of its vertices), all divided by 30.

Arrays keep the batch axis last (``(..., M)``) so that every numpy operation runs over contiguous
memory; reductions over obstacles and rays are then element-wise across a few slices.
"""

from __future__ import annotations

import numpy as np

from .world import WorldConfig


def points_in_obstacles(px: np.ndarray, py: np.ndarray, world: WorldConfig) -> np.ndarray:
    """Whether each point lies in (or on the edge of) any obstacle. ``px``/``py`` of any shape."""
    lo, hi = world.obstacle_lo, world.obstacle_hi
    extra = (slice(None),) + (None,) * np.ndim(px)  # obstacles on a new leading axis
    lx, ly, hx, hy = lo[:, 0][extra], lo[:, 1][extra], hi[:, 0][extra], hi[:, 1][extra]
    inside = (px >= lx) & (px <= hx) & (py >= ly) & (py <= hy)
    return inside.any(axis=0)


class RaySensors:
    """Computes the sensor readings for batches of positions, reusing its scratch buffers.

    The work is done on arrays of shape (rays, obstacles, M); allocating those afresh on every
    call costs more than the arithmetic (page faults), so they are kept per batch size.
    """

    def __init__(self, world: WorldConfig) -> None:
        self.world = world
        self._buffers: dict[int, tuple[np.ndarray, ...]] = {}

    def _scratch(self, m: int) -> tuple[np.ndarray, ...]:
        buf = self._buffers.get(m)
        if buf is None:
            shape = (self.world.n_sensors, self.world.obstacle_lo.shape[0], m)
            buf = tuple(np.empty(shape) for _ in range(5)) + (np.empty(shape, dtype=bool),)
            self._buffers[m] = buf
        return buf

    @staticmethod
    def _slab(rel_lo, rel_hi, d, t_min, t_max, tmp) -> None:
        """Fill ``[t_min, t_max]``: where ``p + t*d`` lies between two planes (closed).

        ``rel_lo``/``rel_hi`` are ``plane - p`` (B, M); ``d`` is (S, M); outputs are (S, B, M). A
        zero direction component gives the whole line when the point is between the planes, and
        nothing otherwise.
        """
        zero = d == 0.0
        with np.errstate(divide="ignore"):
            inv = 1.0 / np.where(zero, 1.0, d)
        np.multiply(rel_lo[None], inv[:, None], out=tmp)
        np.multiply(rel_hi[None], inv[:, None], out=t_max)
        np.minimum(tmp, t_max, out=t_min)
        np.maximum(tmp, t_max, out=t_max)
        rows = np.flatnonzero(zero.any(axis=1))  # only axis-aligned rays can have a zero component
        if rows.size:
            inside = (rel_lo <= 0.0) & (rel_hi >= 0.0)  # (B, M): the point is between the planes
            whole_min = np.where(inside, -np.inf, np.inf)
            for s in rows:
                z = zero[s]
                np.copyto(t_min[s], whole_min, where=z)
                np.copyto(t_max[s], -whole_min, where=z)

    #: positions per block: a block's scratch arrays stay in the CPU cache (measured best on 2 cores)
    block = 1024

    def __call__(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """The readings, shape (n_sensors, M), for positions ``px``, ``py`` of shape (M,)."""
        m = px.shape[0]
        if m <= self.block:
            return self._readings(px, py)
        out = np.empty((self.world.n_sensors, m))
        for start in range(0, m, self.block):
            stop = min(start + self.block, m)
            out[:, start:stop] = self._readings(px[start:stop], py[start:stop])
        return out

    def _readings(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        world = self.world
        off = world.ray_offsets
        # GAMA builds the ray from the rounded end point; the direction is the difference of the two.
        dx = (px + off[:, 0:1]) - px  # (S, M)
        dy = (py + off[:, 1:2]) - py
        length = np.sqrt(dx * dx + dy * dy)

        lo, hi = world.obstacle_lo, world.obstacle_hi
        t0, t1, ty0, ty1, tmp, miss = self._scratch(px.shape[0])
        self._slab(lo[:, 0:1] - px, hi[:, 0:1] - px, dx, t0, t1, tmp)
        self._slab(lo[:, 1:2] - py, hi[:, 1:2] - py, dy, ty0, ty1, tmp)
        np.maximum(t0, ty0, out=t0)
        np.maximum(t0, 0.0, out=t0)
        np.minimum(t1, ty1, out=t1)
        np.minimum(t1, 1.0, out=t1)
        np.greater(t0, t1, out=miss)
        with np.errstate(invalid="ignore"):  # inf + -inf where the ray misses
            np.add(t0, t1, out=t0)  # twice the midpoint parameter of the part inside the square
        np.copyto(t0, np.inf, where=miss)
        obstacle = np.minimum.reduce(t0, axis=1) * 0.5  # (S, M), in units of the ray

        # The border: the ray starts inside the world box, so it crosses it once, where it leaves.
        size = world.world_size
        with np.errstate(divide="ignore", invalid="ignore"):
            ex = np.where(dx > 0, (size - px) / dx, np.where(dx < 0, -px / dx, np.inf))
            ey = np.where(dy > 0, (size - py) / dy, np.where(dy < 0, -py / dy, np.inf))
        t_exit = np.minimum(ex, ey)
        t_exit[t_exit > 1.0] = np.inf

        reading = np.minimum(obstacle, t_exit) * length / world.sensor_range
        return np.minimum(reading, 1.0, out=reading)


def ray_sensors(px: np.ndarray, py: np.ndarray, world: WorldConfig) -> np.ndarray:
    """One-off sensor readings (n_sensors, M) for positions ``px``, ``py`` of shape (M,)."""
    return RaySensors(world)(np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64))
