"""A naive numpy loop of the single-forager model: the yardstick the batched core is measured
against (``python -m sb3_forager bench env``), not used by any env.

It is what one writes first: a Python loop over the worlds, each stepped with plain Python floats
for the physics and one numpy expression over the 8 rays x M squares for the sensors (a float slab
test, without the exact tie-breaking of :mod:`sb3_forager.sim.exact`). It agrees with the core to
1e-9 on ordinary positions (the benchmark checks that before timing it).
"""

from __future__ import annotations

import math

import numpy as np

from ..sim.world import FOOD, OBSTACLE_CENTRES, WORLD


class NaiveWorlds:
    """N single-forager worlds of the tutorial layout, stepped one by one in Python."""

    def __init__(self, n: int, start: tuple[float, float] = (5.0, 5.0)) -> None:
        self.n = int(n)
        self.start = start
        boxes = WORLD.obstacle_boxes(OBSTACLE_CENTRES)
        self.lo = boxes[:, :2]
        self.hi = boxes[:, 2:]
        self.rays = WORLD.ray_offsets
        self.state = [[start[0], start[1], 0.0, 0.0, math.dist(start, FOOD), 0] for _ in range(self.n)]

    def _blocked(self, x: float, y: float) -> bool:
        return bool(np.any((self.lo[:, 0] <= x) & (x <= self.hi[:, 0]) & (self.lo[:, 1] <= y) & (y <= self.hi[:, 1])))

    def _sensors(self, x: float, y: float) -> np.ndarray:
        d = (np.array([x, y]) + self.rays) - np.array([x, y])  # (S, 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_a = (self.lo[None] - np.array([x, y])) / d[:, None]  # (S, M, 2)
            t_b = (self.hi[None] - np.array([x, y])) / d[:, None]
        inside = (self.lo[None] <= np.array([x, y])) & (np.array([x, y]) <= self.hi[None])
        zero = d[:, None] == 0.0
        t0 = np.where(zero, np.where(inside, -np.inf, np.inf), np.minimum(t_a, t_b))
        t1 = np.where(zero, np.where(inside, np.inf, -np.inf), np.maximum(t_a, t_b))
        enter = np.maximum(t0.max(axis=2), 0.0)
        leave = np.minimum(t1.min(axis=2), 1.0)
        with np.errstate(invalid="ignore"):  # inf + -inf where a ray misses
            mid = np.where(enter <= leave, 0.5 * (enter + leave), np.inf).min(axis=1)
        with np.errstate(divide="ignore"):
            exit_x = np.where(
                d[:, 0] > 0, (WORLD.world_size - x) / d[:, 0], np.where(d[:, 0] < 0, -x / d[:, 0], np.inf)
            )
            exit_y = np.where(
                d[:, 1] > 0, (WORLD.world_size - y) / d[:, 1], np.where(d[:, 1] < 0, -y / d[:, 1], np.inf)
            )
        border = np.minimum(exit_x, exit_y)
        border = np.where(border <= 1.0, border, np.inf)
        length = np.hypot(d[:, 0], d[:, 1])
        return np.minimum(np.minimum(mid, border) * length / WORLD.sensor_range, 1.0)

    def observe(self, x: float, y: float) -> np.ndarray:
        dx, dy = FOOD[0] - x, FOOD[1] - y
        dist = math.sqrt(dx * dx + dy * dy)
        heading = math.degrees(math.atan2(dy, dx)) % 360.0 if dist > 0.001 else 0.0
        head = [x / 100.0, y / 100.0, min(1.0, dist / WORLD.max_distance)]
        head += [(math.cos(math.radians(heading)) + 1) / 2, (math.sin(math.radians(heading)) + 1) / 2]
        return np.concatenate([head, self._sensors(x, y)])

    def step(self, actions: np.ndarray) -> tuple[list[np.ndarray], list[float], list[bool]]:
        obs, rewards, dones = [], [], []
        for w, s in enumerate(self.state):
            x, y, vx, vy, prev, steps = s
            vx = vx * 0.8 + float(actions[w, 0]) * 1.5
            vy = vy * 0.8 + float(actions[w, 1]) * 1.5
            speed = math.hypot(vx, vy)
            if speed > 3.0:
                vx, vy = vx * 3.0 / speed, vy * 3.0 / speed
            mx, my = vx, vy
            nx, ny, bumped = x + vx, y + vy, False
            if not 1.0 <= nx <= 99.0:
                nx, vx, bumped = min(max(nx, 1.0), 99.0), 0.0, True
            if not 1.0 <= ny <= 99.0:
                ny, vy, bumped = min(max(ny, 1.0), 99.0), 0.0, True
            if self._blocked(nx, ny):
                bumped = True
                x_ok, y_ok = not self._blocked(nx, y), not self._blocked(x, ny)
                if x_ok and (not y_ok or abs(mx) >= abs(my)):
                    ny, vy = y, (vy if y_ok else 0.0)
                elif y_ok:
                    nx, vx = x, 0.0 if not x_ok else vx
                else:
                    nx, ny, vx, vy = x, y, 0.0, 0.0
            steps += 1
            dist = math.dist((nx, ny), FOOD)
            if dist < 5.0:
                reward, done = 100.0, True
            elif steps >= 300:
                reward, done = -1.0, True
            else:
                reward, done = 2 * (prev - dist) - 0.01 - (1.0 if bumped else 0.0), False
                prev = dist
            obs.append(self.observe(nx, ny))
            rewards.append(reward)
            dones.append(done)
            if done:
                self.state[w] = [self.start[0], self.start[1], 0.0, 0.0, math.dist(self.start, FOOD), 0]
            else:
                self.state[w] = [nx, ny, vx, vy, prev, steps]
        return obs, rewards, dones
