"""The SB3 ``VecEnv`` of N worlds of K foragers, one slot per forager, on any backend.

Slots are world-major (world ``w`` owns slots ``w*K .. w*K+K-1``), so one VecEnv serves the single
forager (K = 1) and a team (K >= 2, one shared policy) alike, on the embedded core or on GAMA
servers (:mod:`sb3_forager.make`). A world is reset in the step its episode ends (on GAMA in the
same concurrent pass), and that step's infos carry what SB3 expects (``terminal_observation``,
``TimeLimit.truncated``, ``is_success``) plus ``episode_steps``, ``arrival_step``, ``start``,
``obstacles`` and ``food`` (the evaluation's path efficiency needs them). This module imports
Stable-Baselines3 (and so torch): ``import sb3_forager`` does not import it until it is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from ..sim import FORAGER, PRESETS, Backend, Episode, ForagerSim, Scenario
from ..sim.core import count
from .contract import check_render_mode, end_of_episode_flags, forager_spaces, world_generators
from .vec_slots import PerSlot, SharedSlotsMixin, terminal_slot_info


def _same_shape(a: Scenario, b: Scenario) -> bool:
    return (a.rules, a.n_foragers, a.teammate) == (b.rules, b.n_foragers, b.teammate)


def world_scenarios(n: int, scenario: Scenario | Sequence[Scenario]) -> list[Scenario]:
    """One scenario per world from one or a list of ``n`` (same rules, team size and teammate rule)."""
    scenarios = [scenario] * n if isinstance(scenario, Scenario) else list(scenario)
    if len(scenarios) != n or not all(isinstance(s, Scenario) for s in scenarios):
        raise ValueError(f"scenario must be a Scenario or a list of {n} Scenarios (one per world), got {scenario!r}")
    if not all(_same_shape(s, scenarios[0]) for s in scenarios):
        raise ValueError("the worlds of one ForagerVecEnv must share rules, n_foragers and teammate")
    return scenarios


class ForagerVecEnv(SharedSlotsMixin, VecEnv):
    """SB3 VecEnv of ``n_worlds`` worlds; ``num_envs = n_worlds * K``.

    Args:
        n_worlds: how many independent worlds.
        scenario: one :class:`~sb3_forager.sim.scenario.Scenario` for every world, or a list of
            one per world (a batch may mix layouts, starts, food and lengths; the rules, team size
            and teammate rule are shared).
        render_mode: ``"rgb_array"`` or None.
        backend: the ``n_worlds`` worlds (:class:`~sb3_forager.sim.backend.Backend`; default the
            embedded simulation).

    Seeds (world ``w`` plays a single env's episodes of ``seed=s + w``; a GAMA model also gets
    ``s + w``) and the per-world ``get_attr``/``set_attr``/``env_method``: :mod:`~sb3_forager.envs.vec_slots`.
    """

    def __init__(
        self,
        n_worlds: int = 1,
        scenario: Scenario | Sequence[Scenario] = FORAGER,
        render_mode: str | None = None,
        render_size: int = 400,
        backend: Backend | None = None,
    ) -> None:
        n = count(n_worlds, "n_worlds")
        self.scenarios = world_scenarios(n, scenario)
        self.backend = backend if backend is not None else ForagerSim.for_scenario(self.scenarios[0], n)
        self.n_worlds = n
        self.n_agents = self.scenarios[0].n_foragers
        self.agent_ids = list(self.scenarios[0].agent_ids)
        self.metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.render_size = int(render_size)
        # bound methods, not lambdas: the VecEnv pickles
        self._world_attrs = {
            "scenario": (self._get_scenario, self._set_scenario),
            "episode": (self._get_episode, None),
            "steps": (self._get_steps, None),
        }
        self._world_methods = {"reset": self.reset_world, "render": self.render_world}
        super().__init__(n * self.n_agents, *forager_spaces(self.scenarios[0].obs_dim))
        self._rngs = world_generators(None, n)
        self._ended: dict[int, Episode | None] = {}

    @property
    def scenario(self) -> Scenario:
        """The scenario of world 0 (all worlds', unless they were given different ones)."""
        return self.scenarios[0]

    def _get_scenario(self, w: int) -> Scenario:
        return self.scenarios[w]

    def _get_episode(self, w: int) -> Episode | None:
        return self.backend.episodes[w]

    def _get_steps(self, w: int) -> int:
        return int(self.backend.steps[w])

    def _set_scenario(self, w: int, scenario: Scenario) -> None:
        if not isinstance(scenario, Scenario) or not _same_shape(scenario, self.scenarios[0]):
            raise ValueError(
                "a world's new scenario must be a Scenario with the same rules, n_foragers and teammate, "
                f"got {scenario!r}"
            )
        self.scenarios[w] = scenario

    # ------------------------------------------------------------------ SB3 API
    def reset(self) -> np.ndarray:
        seeds = self._world_seeds()
        rngs = world_generators(seeds, self.n_worlds, self._rngs)
        options = self._world_options()
        episodes = [sc.draw(rng, opt) for sc, rng, opt in zip(self.scenarios, rngs, options)]  # validated first
        self._rngs = rngs
        r = self.backend.reset(None, episodes, seeds)
        self._reset_seeds()
        self._reset_options()
        # the neutral values of what an episode's last infos report (as the PettingZoo envs' reset infos)
        self.reset_infos = [{"is_success": False, "episode_steps": 0, "arrival_step": -1} for _ in range(self.num_envs)]
        return self._flat_obs(r.obs)

    def _next_episode(self, w: int) -> Episode:
        """The next episode of world ``w``, whose episode just ended (kept for its infos)."""
        self._ended[w] = self.backend.episodes[w]
        return self.scenarios[w].draw(self._rngs[w])

    def step_wait(self):
        actions = self._take_actions()
        self._ended.clear()
        r = self.backend.step(actions, None, self._next_episode)
        obs = self._flat_obs(r.obs)
        rewards = r.reward.reshape(-1).astype(np.float32)
        k = self.n_agents
        over = r.episode_over
        dones = np.repeat(over, k)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if over.any():
            terminated, truncated = end_of_episode_flags(r.terminated, r.truncated, over, r.success)
            ended = np.flatnonzero(over)
            for w in ended.tolist():
                ep = self._ended[w]
                for a in range(k):
                    slot = w * k + a
                    infos[slot] = terminal_slot_info(
                        obs[slot], terminated[w, a], truncated[w, a], r.success[w], r.steps[w], r.arrival[w, a],
                        *((ep.starts[a], ep.obstacles, ep.food) if ep is not None else (None, None, None)),
                    )  # fmt: skip
            obs.reshape(self.n_worlds, k, -1)[ended] = r.reset_obs[ended]
        return obs, rewards, dones, infos

    def _flat_obs(self, obs: np.ndarray) -> np.ndarray:
        return obs.reshape(self.num_envs, -1).astype(np.float32)

    # ------------------------------------------------------------------ per world
    def reset_world(self, w: int, seed: int | None = None, options: dict[str, Any] | None = None) -> PerSlot:
        """Start a new episode in world ``w`` only; returns its K observations (one per slot)."""
        rngs = world_generators([seed] if seed is not None else None, 1, [self._rngs[w]])
        episode = self.scenarios[w].draw(rngs[0], options)
        self._rngs[w] = rngs[0]
        r = self.backend.reset([w], [episode], [seed])
        return PerSlot(r.obs[w].astype(np.float32))

    def render_world(self, w: int) -> np.ndarray | None:
        return self.backend.render(w, self.render_size)

    def close(self) -> None:
        self.backend.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        images = [self.render_world(w) for w in range(self.n_worlds)]
        return [images[slot // self.n_agents] for slot in range(self.num_envs)]


def make_forager_vec_env(
    n_worlds: int = 1,
    env: str = "forager",
    render_mode: str | None = None,
    scenario: Scenario | None = None,
    **kwargs: Any,
) -> ForagerVecEnv:
    """An SB3 VecEnv of the embedded model (:func:`sb3_forager.make.make_vec_env` for either backend).

    Args:
        n_worlds: how many worlds.
        env: a model name (``forager``, ``forager-random``, ``coop``, ``team``, ``stress``; its
            preset :data:`sb3_forager.sim.scenario.PRESETS`) whose scenario the keyword arguments modify.
        scenario: a scenario instead of the preset.
        kwargs: scenario values (``starts``, ``obstacles``, ``n_obstacles``, ``food``,
            ``max_steps``, ``n_foragers``, ``teammate``).
    """
    if scenario is None:
        if env not in PRESETS:
            raise ValueError(f"env must be one of {sorted(PRESETS)}, got {env!r}")
        scenario = PRESETS[env]
    return ForagerVecEnv(n_worlds, Scenario.from_kwargs(scenario, **kwargs), render_mode)
