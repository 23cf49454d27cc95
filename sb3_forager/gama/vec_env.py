"""An SB3 ``VecEnv`` of N forager worlds on one or several GAMA servers, stepped concurrently.

Each world is its own GAMA experiment on its own connection; the worlds are spread round-robin
over the servers. One ``step_wait`` sends every world's commands at once and waits for all the
answers, so the round trips of different experiments overlap instead of adding up (per world a
step is: assign the action, one synchronous cycle, one read; a world whose episode ended is
reloaded in the same pass). Slots, infos and auto-reset are exactly those of the embedded
:class:`~sb3_forager.envs.vec_env.ForagerVecEnv`: one slot per forager, world-major.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from ..envs.contract import end_of_episode_flags
from ..envs.forager_env import forager_spaces
from ..envs.vec_slots import SharedSlotsMixin
from ..sim import COOP_FORAGERS, SINGLE_FORAGER
from .address import parse_server
from .contracts import BridgeContract, GymAgentContract, PetzAgentContract, WorldStep
from .io_loop import run_sync
from .world import GamaWorld

log = logging.getLogger(__name__)

T = TypeVar("T")

KINDS = ("single", "coop")


async def gather_all(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Await all of ``aws`` concurrently; when some fail, raise the first failure after all are done."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        for other in failures[1:]:
            log.warning("another GAMA world failed in the same operation: %r", other)
        raise failures[0]
    return results  # type: ignore[return-value]


class GamaVecEnv(SharedSlotsMixin, VecEnv):
    """SB3 VecEnv over ``worlds`` (all of one contract); ``num_envs = len(worlds) * K``.

    Connects on the first ``reset``; pickles without its connections.
    """

    def __init__(self, worlds: Sequence[GamaWorld]) -> None:
        if not worlds:
            raise ValueError("a GamaVecEnv needs at least one world")
        self.worlds = list(worlds)
        contract: BridgeContract = self.worlds[0].contract
        self.model = contract.model
        self.n_worlds = len(self.worlds)
        self.n_agents = self.model.n_agents
        self.agent_ids = list(self.model.agent_ids)
        self.metadata = {"render_modes": [], "render_fps": 10}
        self.render_mode = None
        obs_space, act_space = forager_spaces(self.model)
        super().__init__(self.n_worlds * self.n_agents, obs_space, act_space)
        self._seeds: list[int | None] = [None] * self.num_envs

    def _run(self, coro: Awaitable[T]) -> T:
        return run_sync(coro, max(w.max_seconds() for w in self.worlds) * 2)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ SB3 API
    def reset(self) -> np.ndarray:
        k = self.n_agents
        seeds = [self._seeds[w * k] for w in range(self.n_worlds)]
        reports = self._run(gather_all(w.reset(s) for w, s in zip(self.worlds, seeds)))
        self._seeds = [None] * self.num_envs
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self._flat_obs(reports)

    def step_wait(self):
        actions = self._take_actions()
        pairs = self._run(gather_all(self._step_world(w, actions[i]) for i, w in enumerate(self.worlds)))
        k = self.n_agents
        reports = [p[0] for p in pairs]
        obs = self._flat_obs(reports)
        rewards = np.concatenate([r.reward for r in reports]).astype(np.float32)
        over = np.array([r.episode_over for r in reports])
        success = np.array([r.success for r in reports])
        terminated, truncated = end_of_episode_flags(
            np.stack([r.terminated for r in reports]), np.stack([r.truncated for r in reports]), over, success
        )
        dones = np.repeat(over, k)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for w in np.flatnonzero(over).tolist():
            steps, fresh = pairs[w][1], pairs[w][2]
            for a in range(k):
                slot = w * k + a
                infos[slot] = {
                    "terminal_observation": obs[slot].copy(),
                    "TimeLimit.truncated": bool(truncated[w, a] and not terminated[w, a]),
                    "is_success": bool(success[w]),
                    "episode_steps": steps,
                }
            obs[w * k : (w + 1) * k] = fresh.obs.astype(np.float32)
        return obs, rewards, dones, infos

    @staticmethod
    async def _step_world(world: GamaWorld, actions: np.ndarray) -> tuple[WorldStep, int, WorldStep | None]:
        """Step one world; if its episode ended, reset it in the same pass (SB3 auto-reset)."""
        ids = world.contract.agent_ids
        report = await world.step({a: actions[i] for i, a in enumerate(ids)})
        if not report.episode_over:
            return report, world.steps, None
        steps = world.steps
        return report, steps, await world.reset()

    def _flat_obs(self, reports: Sequence[WorldStep]) -> np.ndarray:
        return np.concatenate([r.obs for r in reports]).astype(np.float32)

    def close(self) -> None:
        self._run(gather_all(w.close() for w in self.worlds))

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


def make_gama_vec_env(
    kind: str,
    n_envs: int = 1,
    servers: Sequence[str] = ("127.0.0.1:1001",),
    gaml_path: str | None = None,
    timeout: float = 30.0,
    connect_timeout: float = 5.0,
    experiment: str | None = None,
) -> GamaVecEnv:
    """An SB3 VecEnv of ``n_envs`` GAMA experiments of the single forager or the pair.

    Args:
        kind: ``"single"`` (``num_envs = n_envs``) or ``"coop"`` (``num_envs = 2 * n_envs``, one
            slot per forager, world-major).
        n_envs: how many experiments (worlds).
        servers: ``"host:port"`` of each GAMA server; experiments are spread round-robin.
        gaml_path: the model as the servers see it (default: the packaged model of ``kind``).
        timeout: seconds to wait for each command's answer.
        connect_timeout: seconds to connect and receive GAMA's greeting.
        experiment: the experiment name (default: ``gym_env`` / ``petz_env``).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if int(n_envs) < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs!r}")
    if isinstance(servers, str):
        servers = [s for s in servers.split(",") if s.strip()]
    addresses = [parse_server(s) for s in servers]
    if not addresses:
        raise ValueError("no GAMA server given; expected servers like ['127.0.0.1:1001']")
    worlds = []
    for i in range(int(n_envs)):
        contract: BridgeContract = (
            GymAgentContract(SINGLE_FORAGER) if kind == "single" else PetzAgentContract(COOP_FORAGERS)
        )
        host, port = addresses[i % len(addresses)]
        worlds.append(
            GamaWorld(
                contract,
                host,
                port,
                gaml_path,
                experiment,
                timeout=timeout,
                connect_timeout=connect_timeout,
            )
        )
    return GamaVecEnv(worlds)
