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

from ..envs.contract import end_of_episode_flags, forager_spaces
from ..envs.seeding import world_generators
from ..envs.vec_slots import PerSlot, SharedSlotsMixin, terminal_slot_info
from ..sim import COOP, FORAGER, STRESS, Episode, Scenario
from .address import parse_server
from .contracts import (
    BridgeContract,
    GymAgentContract,
    PetzAgentContract,
    WorldStep,
    default_parameters,
    scenario_parameters,
)
from .io_loop import run_sync
from .world import GamaWorld

log = logging.getLogger(__name__)

T = TypeVar("T")

#: env name -> (default scenario, experiment, packaged model file)
GAMA_ENVS: dict[str, tuple[Scenario, str, str]] = {
    "forager": (FORAGER, "gym_env", "forager_gym.gaml"),
    "coop": (COOP, "petz_env", "forager_petz.gaml"),
    "stress": (STRESS, "petz_stress_env", "forager_petz_stress.gaml"),
}


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

    Each world draws its episodes (``scenario``: one for all worlds or a list of one per world)
    from its own generator, seeded as the embedded :class:`~sb3_forager.envs.vec_env.ForagerVecEnv`
    seeds them, and sends them as experiment parameters; ``default`` is the model's own scenario:
    an episode that is exactly its episode sends no parameters (until some were sent). A reset
    after ``seed(s)`` also sends world ``w``'s seed ``s + w`` to its model, as
    ``GamaForagerEnv.reset(seed=s + w)`` does. Connects on the first ``reset``; pickles without its
    connections.
    """

    def __init__(
        self,
        worlds: Sequence[GamaWorld],
        scenario: Scenario | Sequence[Scenario] | None = None,
        default: Scenario | None = None,
    ) -> None:
        if not worlds:
            raise ValueError("a GamaVecEnv needs at least one world")
        self.worlds = list(worlds)
        contract: BridgeContract = self.worlds[0].contract
        if scenario is None:
            scenario = contract.scenario
        scenarios = [scenario] * len(self.worlds) if isinstance(scenario, Scenario) else list(scenario)
        if len(scenarios) != len(self.worlds) or not all(isinstance(s, Scenario) for s in scenarios):
            raise ValueError(f"scenario must be a Scenario or a list of {len(self.worlds)} Scenarios, got {scenario!r}")
        first = scenarios[0]
        if not all((s.rules, s.n_foragers) == (first.rules, first.n_foragers) for s in scenarios):
            raise ValueError("the worlds of one GamaVecEnv must share the rules and the number of foragers")
        self.scenarios = scenarios
        self._default_parameters = default_parameters(default)
        self.n_worlds = len(self.worlds)
        self.n_agents = self.scenarios[0].n_foragers
        self.agent_ids = list(self.scenarios[0].agent_ids)
        self.metadata = {"render_modes": [], "render_fps": 10}
        self.render_mode = None
        obs_space, act_space = forager_spaces(self.scenarios[0].obs_dim)
        self._rngs = world_generators(None, self.n_worlds)
        self.episodes: list[Episode | None] = [None] * self.n_worlds
        self._arrival = np.full((self.n_worlds, self.n_agents), -1, dtype=np.int64)
        self._at_food = np.zeros((self.n_worlds, self.n_agents), dtype=bool)
        # bound methods, not lambdas: the VecEnv pickles (without its connections)
        self._world_attrs = {
            "scenario": (self._get_scenario, self._set_scenario),
            "episode": (self._get_episode, None),
            "steps": (self._get_steps, None),
        }
        self._world_methods = {"reset": self.reset_world}
        super().__init__(self.n_worlds * self.n_agents, obs_space, act_space)

    def _get_scenario(self, w: int) -> Scenario:
        return self.scenarios[w]

    def _get_episode(self, w: int) -> Episode | None:
        return self.episodes[w]

    def _get_steps(self, w: int) -> int:
        return self.worlds[w].steps

    def _set_scenario(self, w: int, scenario: Scenario) -> None:
        old = self.scenarios[0]
        if not isinstance(scenario, Scenario) or (scenario.rules, scenario.n_foragers) != (old.rules, old.n_foragers):
            raise ValueError(
                f"a world's new scenario must be a Scenario with {old.n_foragers} forager(s), got {scenario!r}"
            )
        self.scenarios[w] = scenario

    def _run(self, coro: Awaitable[T]) -> T:
        return run_sync(coro, max(w.max_seconds() for w in self.worlds) * 2)  # type: ignore[arg-type]

    def _draw(self, w: int, rng: np.random.Generator, options: dict[str, Any] | None = None):
        episode = self.scenarios[w].draw(rng, options)
        params = scenario_parameters(episode, self.scenarios[w])
        return episode, params, params == self._default_parameters

    async def _reset_one(self, w: int, drawn: tuple, seed: int | None = None) -> WorldStep:
        episode, params, default = drawn
        report = await self.worlds[w].reset(seed, params, default)
        self.episodes[w] = episode
        self._arrival[w] = -1
        self._at_food[w] = False
        return report

    # ------------------------------------------------------------------ SB3 API
    def reset(self) -> np.ndarray:
        seeds = self._world_seeds()
        rngs = world_generators(seeds, self.n_worlds, self._rngs)
        options = self._world_options()
        drawn = [self._draw(w, rngs[w], options[w]) for w in range(self.n_worlds)]  # validated first
        self._rngs = rngs
        reports = self._run(gather_all(self._reset_one(w, d, seeds[w]) for w, d in enumerate(drawn)))
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self._flat_obs(reports)

    def step_wait(self):
        actions = self._take_actions()
        pairs = self._run(gather_all(self._step_world(w, actions[w]) for w in range(self.n_worlds)))
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
            steps, arrival, episode, fresh = pairs[w][1], pairs[w][2], pairs[w][3], pairs[w][4]
            for a in range(k):
                slot = w * k + a
                infos[slot] = terminal_slot_info(
                    obs[slot], terminated[w, a], truncated[w, a], success[w], steps, arrival[a],
                    episode.starts[a] if episode is not None else None,
                    episode.obstacles if episode is not None else None,
                    episode.food if episode is not None else None,
                )  # fmt: skip
            obs[w * k : (w + 1) * k] = fresh.obs.astype(np.float32)
        return obs, rewards, dones, infos

    async def _step_world(self, w: int, actions: np.ndarray) -> tuple:
        """Step world ``w``; if its episode ended, draw the next one and reset in the same pass."""
        world = self.worlds[w]
        ids = world.contract.agent_ids
        report = await world.step({a: actions[i] for i, a in enumerate(ids)})
        arrived = report.at_food & ~self._at_food[w]
        self._arrival[w, arrived] = world.steps
        self._at_food[w] = report.at_food
        if not report.episode_over:
            return report, world.steps, None, None, None
        steps, arrival, episode = world.steps, self._arrival[w].copy(), self.episodes[w]
        fresh = await self._reset_one(w, self._draw(w, self._rngs[w]))
        return report, steps, arrival, episode, fresh

    def reset_world(self, w: int, seed: int | None = None, options: dict[str, Any] | None = None) -> PerSlot:
        """Start a new episode in world ``w`` only; returns its K observations (one per slot)."""
        rngs = world_generators([seed] if seed is not None else None, 1, [self._rngs[w]])
        drawn = self._draw(w, rngs[0], options)
        self._rngs[w] = rngs[0]
        report = self._run(self._reset_one(w, drawn, seed))
        return PerSlot(report.obs.astype(np.float32))

    def _flat_obs(self, reports: Sequence[WorldStep]) -> np.ndarray:
        return np.concatenate([r.obs for r in reports]).astype(np.float32)

    def close(self) -> None:
        self._run(gather_all(w.close() for w in self.worlds))

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


def make_gama_vec_env(
    env: str,
    n_envs: int = 1,
    servers: Sequence[str] = ("127.0.0.1:1001",),
    gaml_path: str | None = None,
    timeout: float = 30.0,
    connect_timeout: float = 5.0,
    experiment: str | None = None,
    scenario: Scenario | Sequence[Scenario] | None = None,
) -> GamaVecEnv:
    """An SB3 VecEnv of ``n_envs`` GAMA experiments of a forager model.

    Args:
        env: ``"forager"`` (the single forager, GymAgent, ``num_envs = n_envs``), ``"coop"`` (a
            team on ``forager_petz.gaml``, PetzAgent) or ``"stress"`` (``forager_petz_stress.gaml``);
            ``num_envs = n_envs * K``, one slot per forager, world-major.
        n_envs: how many experiments (worlds).
        servers: ``"host:port"`` of each GAMA server; experiments are spread round-robin.
        gaml_path: the model as the servers see it (default: the packaged model of ``env``).
        timeout: seconds to wait for each command's answer.
        connect_timeout: seconds to connect and receive GAMA's greeting.
        experiment: the experiment name (default: the packaged model's).
        scenario: the worlds' scenario (default: the model's tutorial one), or a list of one per
            world (same rules and number of foragers), drawn per episode and sent as experiment
            parameters.
    """
    if env not in GAMA_ENVS:
        raise ValueError(f"env must be one of {sorted(GAMA_ENVS)}, got {env!r}")
    if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or int(n_envs) < 1:
        raise ValueError(f"n_envs must be an integer >= 1, got {n_envs!r}")
    default, default_experiment, gaml_file = GAMA_ENVS[env]
    if scenario is None:
        scenario = default
    scenarios = [scenario] * int(n_envs) if isinstance(scenario, Scenario) else list(scenario)
    if len(scenarios) != int(n_envs) or not all(isinstance(s, Scenario) for s in scenarios):
        raise ValueError(f"scenario must be a Scenario or a list of {int(n_envs)} Scenarios (one per world)")
    for sc in scenarios:
        if (sc.rules == "single") != (env == "forager"):
            raise ValueError(f"a {sc.rules} scenario cannot run on the {env!r} GAMA model")
    if isinstance(servers, str):
        servers = [s for s in servers.split(",") if s.strip()]
    addresses = [parse_server(s) for s in servers]
    if not addresses:
        raise ValueError("no GAMA server given; expected servers like ['127.0.0.1:1001']")
    experiment = experiment or default_experiment
    worlds = []
    for i in range(int(n_envs)):
        contract: BridgeContract = (
            GymAgentContract(scenarios[i])
            if env == "forager"
            else PetzAgentContract(scenarios[i], experiment=experiment, gaml_file=gaml_file)
        )
        host, port = addresses[i % len(addresses)]
        worlds.append(
            GamaWorld(contract, host, port, gaml_path, experiment, timeout=timeout, connect_timeout=connect_timeout)
        )
    return GamaVecEnv(worlds, scenarios, default if experiment == default_experiment else None)
