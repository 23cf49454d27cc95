"""The batched forager simulation: N independent worlds of K foragers, stepped in one call.

:class:`ForagerSim` owns the state arrays (float64: GAML floats are Java doubles) and calls the
compiled kernels of :mod:`sb3_forager.sim.kernels`, the one description of the model's semantics.
It knows nothing of Gymnasium or PettingZoo (the env adapters in :mod:`sb3_forager.envs` wrap it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import kernels as K
from .backend import StepResult, Worlds
from .jit import warn_if_interpreted
from .scenario import COOP, FORAGER, Episode, Scenario
from .world import WORLD, WorldConfig

__all__ = ["ForagerSim", "StepResult", "count", "sensor_readings", "world_mask"]


def count(value: Any, name: str) -> int:
    """``value`` as an int >= 1 (a bool or a float is refused): a number of worlds, say."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if int(value) < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


def world_mask(worlds: Worlds, n: int) -> np.ndarray:
    """A bool (n,) mask from None (all), a bool mask or indices."""
    if worlds is None:
        return np.ones(n, dtype=bool)
    arr = np.asarray(worlds)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"world mask must have shape ({n},), got {arr.shape}")
        return np.ascontiguousarray(arr)
    mask = np.zeros(n, dtype=bool)
    idx = arr.astype(np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"world indices must be in [0, {n}), got {idx.tolist()}")
    mask[idx] = True
    return mask


def _placeholder_episode(rules: str, k: int) -> Episode:
    """The tutorial's episode for the given shape (a spread of starts along y = 5 for other team sizes)."""
    if rules == "single":
        return FORAGER.draw()
    if k == COOP.n_foragers:
        return COOP.draw()
    starts = tuple((5.0 + 85.0 * i / (k - 1), 5.0) for i in range(k))
    return Episode(starts, COOP.obstacles, COOP.food, COOP.max_steps)  # type: ignore[arg-type]


class ForagerSim:
    """N worlds of K foragers under one set of rules, stepped together: the embedded
    :class:`~sb3_forager.sim.backend.Backend`.

    Args:
        n_worlds: how many independent worlds.
        n_foragers: K, foragers per world (1 for the single rules).
        rules: ``"single"`` (forager_gym.gaml) or ``"team"`` (forager_petz.gaml).
        teammate: ``"first"`` or ``"nearest"`` (team rules; which forager fills the teammate slot).
        world: the physical constants.

    Each world starts with the tutorial layout and food; :meth:`reset` with ``episodes`` gives
    worlds their own (one batch may mix layouts, starts, food and lengths). The state views below
    are writable: tests and tools may set positions and velocities, then call :meth:`observe_all`.
    :attr:`result` is the one :class:`StepResult` that :meth:`step` and :meth:`reset` return: its
    arrays are views of the buffers (no object is built per step).
    """

    def __init__(
        self,
        n_worlds: int = 1,
        n_foragers: int = 1,
        rules: str = "single",
        teammate: str = "first",
        world: WorldConfig = WORLD,
    ) -> None:
        n, k = count(n_worlds, "n_worlds"), count(n_foragers, "n_foragers")
        if rules not in ("single", "team"):
            raise ValueError(f"rules must be 'single' or 'team', got {rules!r}")
        if (rules == "single") != (k == 1):
            raise ValueError(f"{rules} rules cannot run {k} forager(s) per world")
        if teammate not in ("first", "nearest"):
            raise ValueError(f"teammate must be 'first' or 'nearest', got {teammate!r}")
        warn_if_interpreted()
        self.world = world
        self.n_worlds = n
        self.n_agents = k
        self.rules = rules
        self.teammate = teammate
        self._rules = K.RULES_SINGLE if rules == "single" else K.RULES_TEAM
        self._mate = K.TEAMMATE_FIRST if teammate == "first" else K.TEAMMATE_NEAREST
        self.obs_dim = world.obs_dim_single if rules == "single" else world.obs_dim_team
        self._rays = world.ray_offsets
        self._consts = world.consts
        self._fst = np.zeros((n, k, 5))
        self._bst = np.zeros((n, k, 2), dtype=bool)
        self._arrival = np.full((n, k), -1, dtype=np.int64)
        self._wi = np.zeros((n, 3), dtype=np.int64)
        self._food = np.zeros((n, 2))
        self._boxes = np.zeros((n, 0, 4))
        self._starts = np.zeros((n, k, 2))
        self._obs = np.zeros((n, k, self.obs_dim))
        self._rew = np.zeros((n, k))
        self._flags = np.zeros((n, k, 2), dtype=bool)
        self._wout = np.zeros((n, 2), dtype=bool)
        self._all_acting = np.ones((n, k), dtype=bool)
        self._act_shape = (n, k, 2)
        self._bind_result()
        self.episodes: list[Episode | None] = [None] * n
        self.set_episodes(range(n), [_placeholder_episode(rules, k)] * n)
        self.reset()

    @classmethod
    def for_scenario(cls, scenario: Scenario, n_worlds: int = 1, world: WorldConfig = WORLD) -> ForagerSim:
        """A simulation shaped for ``scenario`` (its rules, team size and teammate rule), its worlds
        reset to the scenario's episode when it draws nothing at random (else give them episodes
        with :meth:`reset`)."""
        sim = cls(n_worlds, scenario.n_foragers, scenario.rules, scenario.teammate, world)
        if not scenario.is_random:
            sim.reset(None, [scenario.draw()] * sim.n_worlds)
        return sim

    def _bind_result(self) -> None:
        self.result = StepResult(
            self._obs, self._rew, self._flags[:, :, 0], self._flags[:, :, 1], self._wout[:, 0], self._wout[:, 1],
            self._bst[:, :, 0], self._arrival, self._wi[:, 0],
        )  # fmt: skip

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["result"]  # views: a pickle would cut them off from the buffers
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind_result()

    # ------------------------------------------------------------------ state views
    x = property(lambda self: self._fst[:, :, 0], doc="(N, K) x positions (a writable view)")
    y = property(lambda self: self._fst[:, :, 1], doc="(N, K) y positions (a writable view)")
    vx = property(lambda self: self._fst[:, :, 2], doc="(N, K) x velocities (a writable view)")
    vy = property(lambda self: self._fst[:, :, 3], doc="(N, K) y velocities (a writable view)")
    prev_dist = property(lambda self: self._fst[:, :, 4], doc="(N, K) previous_distance (a writable view)")
    at_food = property(lambda self: self._bst[:, :, 0], doc="(N, K) at_food flags (a writable view)")
    bumped = property(lambda self: self._bst[:, :, 1], doc="(N, K) bumped flags (a writable view)")
    steps = property(lambda self: self._wi[:, 0], doc="(N,) current_step of each world (a writable view)")
    arrival = property(lambda self: self._arrival, doc="(N, K) the step each forager reached the food, -1 if not yet")

    @property
    def obs(self) -> np.ndarray:
        """The current observations (N, K, obs_dim), float64: the simulation's buffer (copy to keep)."""
        return self._obs

    @property
    def food(self) -> np.ndarray:
        """(N, 2) each world's food centre."""
        return self._food

    @property
    def max_steps(self) -> np.ndarray:
        """(N,) each world's episode length."""
        return self._wi[:, 1]

    def obstacle_boxes(self, world: int) -> np.ndarray:
        """(M, 4) ``lx, ly, hx, hy`` of world ``world``'s obstacles."""
        return self._boxes[world, : self._wi[world, 2]].copy()

    # ------------------------------------------------------------------ episodes
    def set_episodes(self, worlds: Sequence[int] | np.ndarray, episodes: Sequence[Episode]) -> None:
        """Give each of ``worlds`` its episode (starts, layout, food, length), applied at its next reset."""
        idx = [int(w) for w in worlds]
        if len(idx) != len(episodes):
            raise ValueError(f"{len(idx)} worlds but {len(episodes)} episodes")
        for w, ep in zip(idx, episodes):
            if ep.n_foragers != self.n_agents:
                raise ValueError(f"world {w}: an episode of {ep.n_foragers} foragers in a {self.n_agents}-forager sim")
        need = max((len(ep.obstacles) for ep in episodes), default=0)
        if need > self._boxes.shape[1]:
            boxes = np.zeros((self.n_worlds, need, 4))
            boxes[:, : self._boxes.shape[1]] = self._boxes
            self._boxes = boxes
        for w, ep in zip(idx, episodes):
            if self.episodes[w] is ep:
                continue
            m = len(ep.obstacles)
            if m:
                self._boxes[w, :m] = self.world.obstacle_boxes(ep.obstacles)
            self._wi[w, 2] = m
            self._wi[w, 1] = ep.max_steps
            self._food[w] = ep.food
            self._starts[w] = ep.starts
            self.episodes[w] = ep

    def reset(
        self, worlds: Worlds = None, episodes: Sequence[Episode] | None = None, seeds: Any = None
    ) -> StepResult:
        """Start a new episode in the given worlds (bool mask or indices; all when None), with
        ``episodes`` (one per reset world) if given, else each world's current one. ``seeds`` are
        ignored (the model draws nothing). Returns :attr:`result`."""
        mask = world_mask(worlds, self.n_worlds)
        if episodes is not None:
            self.set_episodes(np.flatnonzero(mask), episodes)
        if mask.any():
            K.reset_worlds(
                mask, self._starts, self._fst, self._bst, self._arrival, self._wi, self._food, self._boxes,
                self._rays, self._consts, self._rules, self._mate, self._obs,
            )  # fmt: skip
        return self.result

    def observe_all(self, worlds: np.ndarray | Sequence[int] | None = None) -> None:
        """Recompute every forager's observation in the given worlds from the current state."""
        K.observe_worlds(
            world_mask(worlds, self.n_worlds), self._fst, self._wi, self._food, self._boxes,
            self._rays, self._consts, self._rules, self._mate, self._obs,
        )  # fmt: skip

    # ------------------------------------------------------------------ step
    def step(
        self,
        actions: np.ndarray,
        acting: np.ndarray | None = None,
        next_episode: Callable[[int], Episode] | None = None,
    ) -> StepResult:
        """One cycle of every world (the :class:`~sb3_forager.sim.backend.Backend` protocol's ``step``);
        returns :attr:`result`. Actions are used as given (the GAML model does not clip; the adapters
        refuse actions outside the Box); a forager with ``acting`` False does not move but still
        observes and is rewarded (GAML ``apply_action``). With ``next_episode`` the result is a copy
        of the ended step and ``reset_obs`` the buffer of the new observations."""
        if actions.shape != self._act_shape:
            raise ValueError(f"actions must have shape {self._act_shape}, got {actions.shape}")
        if acting is None:
            acting = self._all_acting
        elif acting.shape != self._all_acting.shape:
            raise ValueError(f"acting must have shape {self._all_acting.shape}, got {acting.shape}")
        K.step_worlds(
            actions, acting, self._fst, self._bst, self._arrival, self._wi, self._food, self._boxes, self._rays,
            self._consts, self._rules, self._mate, self._obs, self._rew, self._flags, self._wout,
        )  # fmt: skip
        if next_episode is None or not self._wout[:, 0].any():
            return self.result
        r = self.result
        ended = np.flatnonzero(r.episode_over)
        out = StepResult(*(np.copy(a) for a in (r.obs, r.reward, r.terminated, r.truncated, r.episode_over,
                                                 r.success, r.at_food, r.arrival, r.steps)))  # fmt: skip
        self.reset(ended, [next_episode(int(w)) for w in ended])
        out.reset_obs = self._obs
        return out

    # ------------------------------------------------------------------ helpers
    def render(self, world: int = 0, size: int = 400) -> np.ndarray:
        """An RGB picture (size, size, 3) of one world (see :func:`sb3_forager.sim.render.render_world`)."""
        from .render import render_world  # PIL only when pictures are asked for

        n_s = self.world.n_sensors
        return render_world(
            self.world,
            positions=list(zip(self.x[world].tolist(), self.y[world].tolist())),
            sensors=self._obs[world, :, 5 : 5 + n_s].tolist(),
            at_food=self.at_food[world].tolist(),
            step=int(self.steps[world]),
            size=size,
            obstacles=self.obstacle_boxes(world),
            food=tuple(self._food[world]),
        )

    def close(self) -> None:
        """Nothing to release (the :class:`~sb3_forager.sim.backend.Backend` protocol's ``close``)."""


def sensor_readings(
    px: np.ndarray, py: np.ndarray, obstacles: Sequence[tuple[float, float]], world: WorldConfig = WORLD
) -> np.ndarray:
    """One-off sensor readings (M, S) for positions ``px``, ``py`` among the squares centred at ``obstacles``."""
    boxes = world.obstacle_boxes(obstacles)[None] if len(obstacles) else np.zeros((1, 0, 4))
    return K.sensor_readings(
        np.ascontiguousarray(px, dtype=np.float64).reshape(-1),
        np.ascontiguousarray(py, dtype=np.float64).reshape(-1),
        np.ascontiguousarray(boxes), len(obstacles), world.ray_offsets, world.consts,
    )  # fmt: skip
