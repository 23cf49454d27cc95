"""N GAMA worlds as one backend (:class:`sb3_forager.sim.backend.Backend`), stepped concurrently.

Each world is its own GAMA experiment on its own connection (:class:`~sb3_forager.gama.world.GamaWorld`),
spread round-robin over the servers. One ``step`` sends every world's commands at once and waits
for all the answers, so the round trips of different experiments overlap instead of adding up (per
world a step is: assign the action, one synchronous cycle, one read; a world whose episode ended
is reloaded in the same pass). Connects on the first reset; pickles without its connections.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

from ..sim import Episode, Scenario, StepResult
from ..sim.core import world_mask
from ..sim.world import WORLD
from .contracts import default_parameters, scenario_parameters, world_report
from .io_loop import run_sync
from .world import GamaWorld

log = logging.getLogger(__name__)

T = TypeVar("T")


async def gather_all(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Await all of ``aws`` concurrently; when some fail, raise the first failure after all are done."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        for other in failures[1:]:
            log.warning("another GAMA world failed in the same operation: %r", other)
        raise failures[0]
    return results  # type: ignore[return-value]


class GamaWorlds:
    """The backend over ``worlds`` (all of one contract and team size).

    ``default`` is the model's own scenario (its tutorial one, the values its GAML globals hold):
    an episode that is exactly its episode sends no experiment parameters, until some were sent
    (GAMA keeps the last ones given). Arrival steps are tracked here from the ``at_food`` reports.
    """

    def __init__(self, worlds: Sequence[GamaWorld], default: Scenario | None = None) -> None:
        if not worlds:
            raise ValueError("a GAMA backend needs at least one world")
        self.worlds = list(worlds)
        self.n_worlds = len(self.worlds)
        self.n_agents = len(self.worlds[0].contract.agent_ids)
        self._default_parameters = default_parameters(default)
        self._init_world_state()
        self._reports: list[StepResult | None] = [None] * self.n_worlds  # each world's last report

    def _init_world_state(self) -> None:
        """Every world's episode, step count, arrival steps and at-food flags (none yet)."""
        self.episodes: list[Episode | None] = [None] * self.n_worlds
        self.steps = np.zeros(self.n_worlds, dtype=np.int64)
        self._arrival = np.full((self.n_worlds, self.n_agents), -1, dtype=np.int64)
        self._at_food = np.zeros((self.n_worlds, self.n_agents), dtype=bool)

    def last_report(self, w: int) -> StepResult | None:
        """World ``w``'s last report (a one-world result); None before its first reset."""
        return self._reports[w]

    @property
    def obs(self) -> np.ndarray | None:
        """The last observations (N, K, obs_dim); None until every world reported once."""
        reports = [self.last_report(w) for w in range(self.n_worlds)]
        if any(r is None for r in reports):
            return None
        return np.concatenate([r.obs for r in reports])  # type: ignore[union-attr]

    def _run(self, coro: Awaitable[T]) -> T:
        return run_sync(coro, max(w.max_seconds() for w in self.worlds) * 2)  # type: ignore[arg-type]

    def _run_worlds(self, make: Callable[[int], Awaitable[T]], idx: Iterable[int]) -> list[T]:
        """``make(w)`` for every world of ``idx`` at once; worlds of a managed server that died are
        restored on its restart (:func:`sb3_forager.gama.recovery.run_recovering`)."""
        idx = list(idx)
        from .launcher import managed
        from .recovery import run_recovering

        if not any(managed(self.worlds[w].address) for w in idx):
            return self._run(gather_all(make(w) for w in idx))
        return run_recovering(self._run, self.worlds, make, idx)

    # ------------------------------------------------------------------ protocol
    def reset(
        self,
        worlds: Any = None,
        episodes: Sequence[Episode] | None = None,
        seeds: Sequence[int | None] | None = None,
    ) -> StepResult:
        idx, eps = self._reset_jobs(worlds, episodes)
        seeds = list(seeds) if seeds is not None else [None] * len(idx)
        job = {w: (ep, s) for w, ep, s in zip(idx, eps, seeds)}
        self._run_worlds(lambda w: self._reset_one(w, *job[w]), idx)  # type: ignore[arg-type]
        return self._reset_result(idx)

    def _reset_jobs(self, worlds: Any, episodes: Sequence[Episode] | None) -> tuple[list[int], list[Episode]]:
        """The worlds a reset starts and their episodes (given, or each world's current one)."""
        idx = np.flatnonzero(world_mask(worlds, self.n_worlds)).tolist()
        eps = list(episodes) if episodes is not None else [self.episodes[w] for w in idx]
        if any(ep is None for ep in eps):
            raise ValueError("a GAMA world needs an episode for its first reset")
        return idx, eps  # type: ignore[return-value]

    def _reset_result(self, idx: list[int]) -> StepResult:
        """Every world's last report as one result after a reset of ``idx`` (a blank for a world
        never reset yet)."""
        reports = [self.last_report(w) for w in range(self.n_worlds)]
        first = reports[idx[0]] if idx else None
        reports = [r if r is not None else _blank(first) for r in reports]  # type: ignore[arg-type]
        return self._result(reports, self._arrival, self.steps)  # type: ignore[arg-type]

    def step(
        self,
        actions: np.ndarray,
        acting: np.ndarray | None = None,
        next_episode: Callable[[int], Episode] | None = None,
    ) -> StepResult:
        memo: list[dict[str, Any]] = [{} for _ in range(self.n_worlds)]
        outs = self._run_worlds(lambda w: self._step_one(w, actions, acting, next_episode, memo[w]), range(self.n_worlds))
        result = self._result([o[0] for o in outs], np.stack([o[1] for o in outs]), np.array([o[2] for o in outs]))
        if any(o[3] is not None for o in outs):
            result.reset_obs = np.concatenate([(o[3] or o[0]).obs for o in outs])
        return result

    def render(self, world: int = 0, size: int = 400) -> np.ndarray | None:
        """The world as its last report's observations describe it, drawn here (GAMA headless draws
        none), in its episode's layout; None before its first reset."""
        report, episode = self.last_report(world), self.episodes[world]
        if report is None or episode is None:
            return None
        from ..sim.render import render_world  # PIL only when pictures are asked for

        obs, n_s, size_ = report.obs[0], WORLD.n_sensors, WORLD.world_size
        return render_world(
            WORLD, positions=[(x * size_, y * size_) for x, y in obs[:, :2].tolist()],
            sensors=obs[:, 5 : 5 + n_s].tolist(), at_food=report.at_food[0].tolist(), step=int(self.steps[world]),
            size=size, obstacles=WORLD.obstacle_boxes(episode.obstacles) if episode.obstacles else np.zeros((0, 4)),
            food=episode.food,
        )  # fmt: skip

    def close(self) -> None:
        """Close every connection (GAMA disposes the experiments); a later reset reconnects."""
        self._run(gather_all(w.close() for w in self.worlds))
        self._reports = [None] * self.n_worlds

    # ------------------------------------------------------------------ one world
    async def _reset_one(self, w: int, episode: Episode, seed: int | None = None) -> StepResult:
        world = self.worlds[w]
        params = scenario_parameters(episode, world.contract.scenario)
        report = await world.reset(seed, params, default=params == self._default_parameters)
        self.episodes[w] = episode
        self._reports[w] = report
        self._arrival[w] = -1
        self._at_food[w] = False
        self.steps[w] = 0
        return report

    async def _step_one(
        self,
        w: int,
        actions: np.ndarray,
        acting: np.ndarray | None,
        next_episode: Callable[[int], Episode] | None,
        memo: dict[str, Any] | None = None,
    ) -> tuple[StepResult, np.ndarray, int, StepResult | None]:
        """Step world ``w``; if its episode ended and ``next_episode`` is given, reset it in the same pass.
        ``memo`` keeps what a first try did, so that a retry (after a server restart) does not redo it."""
        memo = {} if memo is None else memo
        world = self.worlds[w]
        if "step" not in memo:
            ids = world.contract.agent_ids
            given = {a: actions[w, k] for k, a in enumerate(ids) if acting is None or acting[w, k]}
            if not given:  # no forager acts: the models skip a cycle with an empty action map, so the
                given = {ids[0]: np.zeros(0)}  # world gets an action of no values (no move), as embedded
            report = await world.step(given)
            arrived = report.at_food[0] & ~self._at_food[w]
            self._arrival[w, arrived] = world.steps
            self._at_food[w] = report.at_food[0]
            self.steps[w] = world.steps
            self._reports[w] = report
            memo["step"] = (report, self._arrival[w].copy(), world.steps)
        report, arrival, steps = memo["step"]
        fresh = None
        if report.episode_over[0] and next_episode is not None:
            if "episode" not in memo:
                memo["episode"] = next_episode(w)
            fresh = await self._reset_one(w, memo["episode"])
            self._reports[w] = fresh
        return report, arrival, steps, fresh

    def _result(self, reports: Sequence[StepResult], arrival: np.ndarray, steps: np.ndarray) -> StepResult:
        """The worlds' one-world reports as one result (with the backend's arrival steps and step counts)."""
        joined = [np.concatenate([getattr(r, f) for r in reports]) for f in _JOINED]
        infos = [r.infos[0] for r in reports]  # type: ignore[index]
        return StepResult(*joined, np.array(arrival, copy=True), np.array(steps, copy=True), infos)


_JOINED = ("obs", "reward", "terminated", "truncated", "episode_over", "success", "at_food")


def _blank(like: StepResult) -> StepResult:
    """A report of nothing (zeros), for a world not reset yet when another one is."""
    return world_report(np.zeros_like(like.obs[0]), [{} for _ in like.obs[0]])
