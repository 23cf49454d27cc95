"""Foragers in a team (forager_petz.gaml) as PettingZoo envs, on any backend: ParallelEnv and AEC.

:class:`ForagerTeamEnv` turns one raw GAML step of its backend (the embedded core or a GAMA
server) into PettingZoo's five dicts, with the end-of-episode contract; :class:`ForagerAECEnv` is
its turn-based view, refusing a bad action at that agent's own ``step``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec_wrapper

from ..common.checks import seed as check_seed
from ..sim import TEAM, Backend, ForagerSim, Scenario, StepResult
from .contract import (
    EpisodeOverError,
    check_action,
    check_render_mode,
    end_of_episode_flags,
    fill_agent_actions,
    forager_spaces,
)
from .rendering import FrameRenderer, RenderMixin


def team_scenario(scenario: Scenario | None, kwargs: dict[str, Any], base: Scenario = TEAM) -> Scenario:
    """The scenario of a team env: ``scenario`` (default ``base``) with the keyword arguments
    (PettingZoo's ``max_cycles`` is the scenario's ``max_steps``)."""
    cycles = kwargs.pop("max_cycles", None)
    if cycles is not None:
        if kwargs.get("max_steps") is not None:
            raise TypeError("give max_cycles or max_steps, not both")
        kwargs["max_steps"] = cycles
    sc = Scenario.from_kwargs(scenario or base, **kwargs)
    if sc.rules != "team":
        raise ValueError(f"a team env needs a scenario with rules='team', got {sc.rules!r}")
    return sc


class ForagerTeamEnv(RenderMixin, ParallelEnv):
    """N foragers that must all reach the food; one team, rewards per forager.

    Observation per forager ``Box(0, 1, (15,), float32)`` (the single forager's 13 values plus the
    teammate slot), action ``Box(-1, 1, (2,), float32)``. Foragers act in index order within a
    step, a forager at the food is frozen, and the episode ends for everyone at once when all are
    at the food or after ``max_cycles`` steps; ``agents`` is then empty. See the README's MDP page.
    Every info, the reset's included, carries ``at_food``, ``is_success`` (the team's, False until
    the last step), ``episode_steps`` and ``arrival_step`` (-1: not arrived), after the model's own
    info map on GAMA.

    Args:
        render_mode: ``"rgb_array"``, ``"human"`` or None.
        render_size: the picture's width in pixels.
        scenario: a :class:`~sb3_forager.sim.scenario.Scenario` with team rules (default: ``base``).
        base: the defaults the keyword arguments modify (default: a pair from random starts,
            nearest teammate; the modules pass their own).
        backend: one world of the team (:class:`~sb3_forager.sim.backend.Backend`; default the
            embedded simulation; :mod:`sb3_forager.make` builds the GAMA one).
        n_foragers, teammate, max_cycles (or max_steps), starts, obstacles, n_obstacles, food:
            scenario values replacing the defaults.
    """

    metadata = {
        "render_modes": ["rgb_array", "human"],
        "name": "forager_team_v0",
        "is_parallelizable": True,
        "render_fps": 10,
    }

    def __init__(
        self,
        render_mode: str | None = None,
        render_size: int = 400,
        scenario: Scenario | None = None,
        base: Scenario = TEAM,
        backend: Backend | None = None,
        **kwargs: Any,
    ) -> None:
        self.scenario = scenario = team_scenario(scenario, kwargs, base)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self._renderer = FrameRenderer(self.render_mode, int(render_size), self.metadata["render_fps"], "team")
        self.max_cycles = scenario.max_steps
        self.possible_agents = list(scenario.agent_ids)
        self.agents: list[str] = []
        self._index = {a: k for k, a in enumerate(self.possible_agents)}
        self._obs_space, self._act_space = forager_spaces(scenario.obs_dim)
        self.state_space = spaces.Box(0.0, 1.0, (scenario.obs_dim * scenario.n_foragers,), dtype=np.float32)
        self._np_random: np.random.Generator | None = None
        self.episode = None
        k = scenario.n_foragers
        self._batch = np.zeros((1, k, 2))
        self._acting = np.zeros((1, k), dtype=bool)
        self.backend = backend if backend is not None else ForagerSim.for_scenario(scenario, 1)
        self._r: StepResult | None = None

    # One shared space object per kind: PettingZoo wants the same object on every call (and an
    # lru_cache on the method would keep every env alive for the life of the process).
    def observation_space(self, agent: str) -> spaces.Box:
        self._check_agent(agent)
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Box:
        self._check_agent(agent)
        return self._act_space

    def _check_agent(self, agent: str) -> None:
        if agent not in self._index:
            raise KeyError(f"unknown agent {agent!r}; the agents are {self.possible_agents}")

    @property
    def np_random(self) -> np.random.Generator:
        """The generator of this env's random draws (seeded by ``reset(seed=...)``)."""
        if self._np_random is None:
            self._np_random = np.random.default_rng()
        return self._np_random

    def _draw_episode(self, seed: int | None, options: dict[str, Any] | None):
        """The next episode (validated; nothing changed if it raises)."""
        seed = check_seed(seed)
        rng = np.random.default_rng(seed) if seed is not None else self.np_random
        episode = self.scenario.draw(rng, options)
        self._np_random = rng
        return episode

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        episode = self._draw_episode(seed, options)  # validated before anything changes
        r = self.backend.reset(None, [episode], [seed])
        self.episode = episode
        self.agents = list(self.possible_agents)
        obs = r.obs[0].astype(np.float32)
        start = {"at_food": False, "is_success": False, "episode_steps": 0, "arrival_step": -1}  # a step's keys
        out = (
            {a: obs[k] for k, a in enumerate(self.possible_agents)},
            {a: dict(r.infos[0][k], **start) if r.infos else dict(start) for k, a in enumerate(self.possible_agents)},
        )
        self._renderer.frame_changed(self)
        return out

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise EpisodeOverError("the episode has ended (no agents left): call reset() before step()")
        fill_agent_actions(actions, self._index, self._batch, self._acting)
        r = self.backend.step(self._batch, self._acting)
        if r is not self._r:  # views of world 0, bound once for a backend that hands out one result object
            self._r = r
            self._v = (r.obs[0], r.reward[0], r.terminated[0], r.truncated[0], r.episode_over, r.success, r.steps,
                       r.at_food[0], r.arrival[0], r.infos[0] if r.infos else None)  # fmt: skip
        obs, reward, terminated, truncated, over, success, steps, at_food, arrival, infos = self._v
        # PettingZoo's five dicts. Every info, the reset's too, has the same keys: ``at_food`` (the
        # explicit arrival signal), ``is_success`` (the team's; False until the episode ends),
        # ``episode_steps`` and ``arrival_step`` (-1: not arrived). At the episode end ``agents``
        # empties and a forager with neither flag gets the team's outcome
        # (:func:`~sb3_forager.envs.contract.end_of_episode_flags`).
        live = self.agents
        ks = [self._index[a] for a in live]
        food, arrivals = at_food.tolist(), arrival.tolist()
        end = {"is_success": bool(over[0] and success[0]), "episode_steps": int(steps[0])}
        if over[0]:
            terminated, truncated = end_of_episode_flags(terminated[None], truncated[None], over[:1], success[:1])
            terminated, truncated = terminated[0], truncated[0]
            self.agents = []
        out_infos = {a: dict(infos[k] if infos else (), at_food=food[k], **end, arrival_step=arrivals[k])
                     for a, k in zip(live, ks)}  # fmt: skip
        obs32, rewards, terms, truncs = obs.astype(np.float32), reward.tolist(), terminated.tolist(), truncated.tolist()
        if self._renderer.window is not None:
            self._renderer.frame_changed(self)
        return (
            {a: obs32[k] for a, k in zip(live, ks)},
            {a: rewards[k] for a, k in zip(live, ks)},
            {a: terms[k] for a, k in zip(live, ks)},
            {a: truncs[k] for a, k in zip(live, ks)},
            out_infos,
        )

    def state(self) -> np.ndarray:
        """The foragers' observations, concatenated (float32; see ``state_space``)."""
        obs = self.backend.obs
        if obs is None:
            raise EpisodeOverError("no state before the first reset()")
        return obs[0].astype(np.float32).reshape(-1)

    def close(self) -> None:
        """Release the backend (GAMA: close the connection; a later ``reset`` reconnects)."""
        self.backend.close()
        self.agents = []
        self._renderer.close()


class ForagerAECEnv(parallel_to_aec_wrapper):
    """The turn-based (AEC) view of a team ParallelEnv.

    Unlike PettingZoo's plain conversion, each agent's action is checked at that agent's own
    ``step`` (a bad one raises ``ValueError`` there and is not stored, so the env can go on with
    a valid action), and not only when the last agent of the cycle acts.
    """

    def step(self, action):
        agent = self.agent_selection
        if not (self.terminations[agent] or self.truncations[agent]):
            action = check_action(action, agent)
        super().step(action)
