"""The batched forager simulation: N independent worlds with K foragers each, stepped in one call.

This is a numpy port of the two GAML models. It knows nothing of Gymnasium or PettingZoo; the env
adapters in :mod:`sb3_forager.envs` wrap it. State is float64 (GAML floats are Java doubles).

Per step, faithful to the GAML ``main_loop`` reflexes:

* single model (``forager_gym.gaml``): move, ``step += 1``, observe, reward;
* cooperative model (``forager_petz.gaml``): ``step += 1`` first, then **sequentially** forager 0,
  1, ... each moves (unless frozen at the food), observes (seeing the others' *current*
  positions) and computes its reward; the episode ends when all are at food or at ``max_steps``.

Rewards, ``terminated`` and ``truncated`` are the raw GAML flags; the env adapters add the
PettingZoo end-of-episode contract on top. Internally every array keeps the world axis last
(``(K, N)``) so that numpy works on contiguous memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import RaySensors, points_in_obstacles
from .world import TO_RAD, ModelConfig


@dataclass
class StepResult:
    """What one call to :meth:`ForagerSim.step` produced (arrays over worlds and foragers)."""

    obs: np.ndarray  #: (N, K, obs_dim) float64 (a fresh array)
    reward: np.ndarray  #: (N, K) float64
    terminated: np.ndarray  #: (N, K) bool, the GAML flag
    truncated: np.ndarray  #: (N, K) bool, the GAML flag
    episode_over: np.ndarray  #: (N,) bool: all at food, or the step limit reached
    success: np.ndarray  #: (N,) bool: all foragers at the food


class ForagerSim:
    """N worlds of one forager model, stepped together.

    Args:
        model: which model (:data:`~sb3_forager.sim.world.SINGLE_FORAGER` or
            :data:`~sb3_forager.sim.world.COOP_FORAGERS`).
        n_worlds: how many independent worlds.

    State (all float64 unless said, world axis last): ``x``, ``y``, ``vx``, ``vy``,
    ``prev_dist`` of shape (K, N); ``at_food``, ``bumped`` bool (K, N); ``steps`` int (N,).
    Tests and tools may set positions and velocities directly, then call :meth:`observe_all`.
    """

    def __init__(self, model: ModelConfig, n_worlds: int = 1) -> None:
        if int(n_worlds) < 1:
            raise ValueError(f"n_worlds must be >= 1, got {n_worlds!r}")
        self.model = model
        self.world = model.world
        self.n_worlds = n = int(n_worlds)
        self.n_agents = k = model.n_agents
        self._start_x = np.asarray([s[0] for s in model.starts], dtype=np.float64)[:, None]
        self._start_y = np.asarray([s[1] for s in model.starts], dtype=np.float64)[:, None]
        self.x = np.empty((k, n))
        self.y = np.empty((k, n))
        self.vx = np.zeros((k, n))
        self.vy = np.zeros((k, n))
        self.prev_dist = np.zeros((k, n))
        self.at_food = np.zeros((k, n), dtype=bool)
        self.bumped = np.zeros((k, n), dtype=bool)
        self.steps = np.zeros(n, dtype=np.int64)
        self._sensors = RaySensors(model.world)
        self._obs = np.zeros((k, model.obs_dim, n))  # (K, D, N); handed out as (N, K, D)
        self.reset()

    @property
    def obs(self) -> np.ndarray:
        """The current observations, shape (N, K, obs_dim), float64 (a fresh array)."""
        return np.ascontiguousarray(self._obs.transpose(2, 0, 1))

    # ------------------------------------------------------------------ reset
    def reset(self, worlds: np.ndarray | None = None) -> np.ndarray:
        """Re-initialise the given worlds (bool mask or indices; all when None). Returns :attr:`obs`."""
        if worlds is None:
            idx: slice | np.ndarray = slice(None)
        else:
            idx = np.asarray(worlds)
            if idx.dtype == bool:
                if idx.shape != (self.n_worlds,):
                    raise ValueError(f"world mask must have shape ({self.n_worlds},), got {idx.shape}")
                if not idx.any():
                    return self.obs
                idx = np.flatnonzero(idx)
        self.x[:, idx] = self._start_x
        self.y[:, idx] = self._start_y
        self.vx[:, idx] = 0.0
        self.vy[:, idx] = 0.0
        self.at_food[:, idx] = False
        self.bumped[:, idx] = False
        self.steps[idx] = 0
        # The GAML init measures previous_distance at the start point (for the single model this is
        # the spec's decision: the start is passed with ``with:`` before init runs).
        self.prev_dist[:, idx] = self._distance_to_food(self.x[:, idx], self.y[:, idx])
        self.observe_all(idx)
        return self.obs

    def observe_all(self, worlds: slice | np.ndarray = slice(None)) -> None:
        """Recompute every forager's observation in the given worlds from the current state."""
        x, y = self.x[:, worlds], self.y[:, worlds]
        self._obs[:, :, worlds] = self._observe(x, y, *self._teammates(x, y, x, y))

    # ------------------------------------------------------------------- step
    def step(self, actions: np.ndarray, acting: np.ndarray | None = None) -> StepResult:
        """Advance every world by one cycle.

        Args:
            actions: shape (N, K, 2); used as given, never clipped (the GAML model does not clip).
            acting: optional bool (N, K): False for a forager that got no action this cycle; like
                the GAML ``apply_action``, it then does not move (but still observes and is rewarded).
        """
        actions = np.asarray(actions, dtype=np.float64)
        expected = (self.n_worlds, self.n_agents, 2)
        if actions.shape != expected:
            raise ValueError(f"actions must have shape {expected}, got {actions.shape}")
        ax = np.ascontiguousarray(actions[:, :, 0].T)  # (K, N)
        ay = np.ascontiguousarray(actions[:, :, 1].T)
        moving = None if acting is None else np.asarray(acting, dtype=bool).T
        if self.model.kind == "single":
            return self._step_single(ax, ay, moving)
        return self._step_coop(ax, ay, moving)

    def _step_single(self, ax: np.ndarray, ay: np.ndarray, moving: np.ndarray | None) -> StepResult:
        w = self.world
        self._move(ax, ay, moving)
        self.steps += 1
        self._obs[:] = self._observe(self.x, self.y, None, None)
        dist = self._distance_to_food(self.x[0], self.y[0])
        success = dist < w.food_radius
        timeout = ~success & (self.steps >= w.max_steps)
        shaping = w.shaping_scale * (self.prev_dist[0] - dist) - w.step_cost
        shaping -= w.bump_penalty * self.bumped[0]
        reward = np.where(success, w.success_reward, np.where(timeout, w.timeout_reward, shaping))
        self.prev_dist[0] = np.where(success | timeout, self.prev_dist[0], dist)
        self.at_food[0] = success
        return StepResult(
            obs=self.obs,
            reward=reward[:, None],
            terminated=success[:, None],
            truncated=timeout[:, None],
            episode_over=success | timeout,
            success=success,
        )

    def _step_coop(self, ax: np.ndarray, ay: np.ndarray, acting: np.ndarray | None) -> StepResult:
        """The GAML ``ask forager { move; observe; reward }``, in creation order, computed at once.

        A forager's move depends on nothing but its own state, so all K move in one call. Order
        shows in two places only, both kept: the teammate slot (forager k sees foragers before it
        after their move, those after it before theirs) and the team test (forager k sees the
        arrivals of foragers before it, not of those after it).
        """
        w = self.world
        self.steps += 1
        timeout_now = self.steps >= w.max_steps  # (N,)
        was_at_food = self.at_food.copy()
        moving = ~was_at_food if acting is None else ~was_at_food & acting
        pre_x, pre_y = self.x.copy(), self.y.copy()
        self._move(ax, ay, moving)
        self._obs[:] = self._observe(self.x, self.y, *self._teammates(self.x, self.y, pre_x, pre_y))
        dist = self._distance_to_food(self.x, self.y)  # (K, N)
        self.at_food |= dist < w.food_radius
        # team test as forager k runs it: foragers <= k as they are now, foragers > k as they were
        done_so_far = np.logical_and.accumulate(self.at_food, axis=0)
        later_done = np.ones_like(was_at_food)
        if self.n_agents > 1:
            later_done[:-1] = np.logical_and.accumulate(was_at_food[::-1], axis=0)[::-1][1:]
        team = done_so_far & later_done
        waiting = ~team & self.at_food
        timeout = ~team & ~waiting & timeout_now
        shaping = w.shaping_scale * (self.prev_dist - dist) - w.step_cost
        shaping -= w.bump_penalty * self.bumped
        reward = np.where(
            team, w.success_reward, np.where(waiting, w.wait_reward, np.where(timeout, w.timeout_reward, shaping))
        )
        self.prev_dist = np.where(team | waiting | timeout, self.prev_dist, dist)
        success = self.at_food.all(axis=0)
        return StepResult(
            obs=self.obs,
            reward=reward.T,
            terminated=team.T,
            truncated=timeout.T,
            episode_over=success | timeout_now,
            success=success,
        )

    # ---------------------------------------------------------------- physics
    def _move(self, ax: np.ndarray, ay: np.ndarray, moving: np.ndarray | None) -> None:
        """``apply_action`` of every forager (velocity, walls, obstacle slides), arrays (K, N).

        Foragers where ``moving`` is False keep their position and velocity and do not bump.
        """
        w = self.world
        ox, oy = self.x, self.y
        vx = self.vx * w.friction + ax * w.accel_force
        vy = self.vy * w.friction + ay * w.accel_force
        speed = np.sqrt(vx * vx + vy * vy)
        over = speed > w.max_speed
        if over.any():
            with np.errstate(invalid="ignore", divide="ignore"):
                vx = np.where(over, vx * w.max_speed / speed, vx)
                vy = np.where(over, vy * w.max_speed / speed, vy)
        mx, my = vx, vy
        nx, ny = ox + mx, oy + my
        lo, hi = w.wall_margin, w.world_size - w.wall_margin
        wall_x = (nx < lo) | (nx > hi)
        wall_y = (ny < lo) | (ny > hi)
        nx = np.clip(nx, lo, hi)  # same as the two GAML ifs: it only changes values outside [lo, hi]
        ny = np.clip(ny, lo, hi)
        vx = np.where(wall_x, 0.0, vx)
        vy = np.where(wall_y, 0.0, vy)

        # destination, slide_x = (new_x, old_y), slide_y = (old_x, new_y): one membership test
        inside = points_in_obstacles(np.stack([nx, nx, ox]), np.stack([ny, oy, ny]), w)
        blocked, x_ok, y_ok = inside[0], ~inside[1], ~inside[2]
        bumped = wall_x | wall_y | blocked
        if blocked.any():
            prefer_x = np.abs(mx) >= np.abs(my)
            take_sx = blocked & x_ok & (~y_ok | prefer_x)
            take_sy = blocked & y_ok & ~take_sx
            stay = blocked & ~x_ok & ~y_ok
            nx = np.where(blocked & ~take_sx, ox, nx)
            ny = np.where(blocked & ~take_sy, oy, ny)
            vy = np.where((take_sx & ~y_ok) | stay, 0.0, vy)
            vx = np.where((take_sy & ~x_ok) | stay, 0.0, vx)

        if moving is None:
            self.x, self.y, self.vx, self.vy, self.bumped = nx, ny, vx, vy, bumped
        else:
            self.x = np.where(moving, nx, ox)
            self.y = np.where(moving, ny, oy)
            self.vx = np.where(moving, vx, self.vx)
            self.vy = np.where(moving, vy, self.vy)
            self.bumped = moving & bumped

    # ------------------------------------------------------------ observation
    def _teammates(
        self, x: np.ndarray, y: np.ndarray, pre_x: np.ndarray, pre_y: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Each forager's teammate position (K, M) as it sees it; (None, None) for the single model.

        The teammate is the first other forager (GAML ``forager first_with (each.agent_id !=
        agent_id)``): forager 1 for forager 0, forager 0 for the others. Forager 0 acts first, so it
        sees forager 1 where it was before this step's move (``pre_x``, ``pre_y``).
        """
        if self.model.kind == "single":
            return None, None
        mate_x, mate_y = np.empty_like(x), np.empty_like(y)
        mate_x[0], mate_y[0] = pre_x[1], pre_y[1]
        mate_x[1:], mate_y[1:] = x[0], y[0]
        return mate_x, mate_y

    def _distance_to_food(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        fx, fy = self.world.food
        dx = fx - x
        dy = fy - y
        return np.sqrt(dx * dx + dy * dy)

    def _observe(
        self, x: np.ndarray, y: np.ndarray, mate_x: np.ndarray | None, mate_y: np.ndarray | None
    ) -> np.ndarray:
        """``compute_observation`` for foragers at (x, y), arrays (K, M); returns (K, obs_dim, M).

        ``mate_x``/``mate_y`` are the teammate positions of the coop model (ignored by the single one).
        """
        w = self.world
        k, m = x.shape
        fx, fy = w.food
        dx, dy = fx - x, fy - y
        dist = np.sqrt(dx * dx + dy * dy)
        # GAMA `towards`: atan2 in degrees, normalised into [0, 360); cos/sin take degrees.
        heading = np.arctan2(dy, dx) * (180.0 / np.pi)
        heading += 360.0 * (heading < 0.0)
        if self.model.kind == "single":  # only the single model guards the angle at the food centre
            heading[dist <= 0.001] = 0.0
        rad = heading * TO_RAD
        size = w.world_size
        out = np.empty((k, self.model.obs_dim, m))
        out[:, 0] = x / size
        out[:, 1] = y / size
        np.minimum(dist / w.max_distance, 1.0, out=out[:, 2])
        out[:, 3] = (np.cos(rad) + 1.0) / 2.0
        out[:, 4] = (np.sin(rad) + 1.0) / 2.0
        n_s = w.n_sensors
        sensors = self._sensors(x.reshape(-1), y.reshape(-1))  # (S, K * M)
        out[:, 5 : 5 + n_s] = sensors.reshape(n_s, k, m).transpose(1, 0, 2)
        if mate_x is not None:
            out[:, 5 + n_s] = mate_x / size
            out[:, 6 + n_s] = mate_y / size
        return out

    # ---------------------------------------------------------------- helpers
    def render(self, world: int = 0, size: int = 400) -> np.ndarray:
        """An RGB picture (size, size, 3) of one world (see :func:`sb3_forager.render.render_world`)."""
        from ..render import render_world  # PIL only when pictures are asked for

        n_s = self.world.n_sensors
        return render_world(
            self.world,
            positions=list(zip(self.x[:, world].tolist(), self.y[:, world].tolist())),
            sensors=self._obs[:, 5 : 5 + n_s, world].tolist(),
            at_food=self.at_food[:, world].tolist(),
            step=int(self.steps[world]),
            size=size,
        )
