"""Foragers in a team (forager_petz.gaml) as PettingZoo envs: ParallelEnv and AEC, embedded simulation.

:class:`TeamEnvBase` is what every backend's team env shares (the GAMA one too): agents, spaces,
the checks of an action dict, and the end-of-episode contract turning one raw GAML step into
PettingZoo's five dicts. :class:`ForagerTeamEnv` runs it on the compiled core;
:class:`ForagerAECEnv` is its turn-based view, refusing a bad action at that agent's own ``step``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec_wrapper

from ..sim import TEAM, ForagerSim, Scenario
from .buffer_views import BufferViewsMixin
from .contract import (
    EpisodeOverError,
    check_action,
    check_render_mode,
    end_of_episode_flags,
    fill_agent_actions,
    forager_spaces,
)
from .rendering import FrameRenderer, RenderSizeMixin
from .seeding import check_seed


def team_scenario(scenario: Scenario | None, kwargs: dict[str, Any], base: Scenario = TEAM) -> Scenario:
    """The scenario of a team env: ``scenario`` (default ``base``) with the keyword arguments."""
    sc = Scenario.from_kwargs(scenario or base, **kwargs)
    if sc.rules != "team":
        raise ValueError(f"a team env needs a scenario with rules='team', got {sc.rules!r}")
    return sc


class TeamEnvBase(RenderSizeMixin, ParallelEnv):
    """Agents, spaces and the PettingZoo episode contract of a team of foragers (any backend)."""

    metadata = {
        "render_modes": ["rgb_array", "human"],
        "name": "forager_team_v0",
        "is_parallelizable": True,
        "render_fps": 10,
    }

    def _setup(self, scenario: Scenario, render_mode: str | None, render_size: int) -> None:
        self.scenario = scenario
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

    def _checked_actions(self, actions: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """The validated actions as (1, K, 2) and the (1, K) mask of who acts; raises if over."""
        if not self.agents:
            raise EpisodeOverError("the episode has ended (no agents left): call reset() before step()")
        fill_agent_actions(actions, self._index, self._batch, self._acting)
        return self._batch, self._acting

    def _reset_dicts(self, obs: np.ndarray, infos: Sequence[dict] | None = None):
        """Start an episode: all agents live; ``obs`` (K, obs_dim)."""
        self.agents = list(self.possible_agents)
        obs = np.asarray(obs, dtype=np.float32)
        return (
            {a: obs[k] for k, a in enumerate(self.possible_agents)},
            {a: dict(infos[k]) if infos else {"at_food": False} for k, a in enumerate(self.possible_agents)},
        )

    def _step_dicts(
        self,
        obs: np.ndarray,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        episode_over: bool,
        success: bool,
        steps: int,
        at_food: np.ndarray,
        arrival: np.ndarray,
        infos: Sequence[dict] | None = None,
    ):
        """PettingZoo's five dicts from one raw step of arrays (K, ...) with the GAML flags.

        Every info carries ``at_food`` (the explicit arrival signal). At the episode end
        ``agents`` empties, a forager with neither flag gets the team's outcome
        (:func:`~sb3_forager.envs.contract.end_of_episode_flags`), and every info gets
        ``is_success`` (the team's), ``episode_steps`` and ``arrival_step`` (-1: never arrived).
        """
        live = self.agents
        obs32 = obs.astype(np.float32)
        if episode_over:
            term, trunc = end_of_episode_flags(
                terminated[None], truncated[None], np.array([True]), np.array([bool(success)])
            )
            terminated, truncated = term[0], trunc[0]
        ks = [self._index[a] for a in live]
        food = at_food.tolist()
        rewards = reward.tolist()
        terms = terminated.tolist()
        truncs = truncated.tolist()
        if episode_over:
            arrivals = arrival.tolist()
            out_infos = {
                a: dict(
                    infos[k] if infos else (),
                    at_food=food[k],
                    is_success=bool(success),
                    episode_steps=int(steps),
                    arrival_step=arrivals[k],
                )
                for a, k in zip(live, ks)
            }
            self.agents = []
        elif infos:
            out_infos = {a: dict(infos[k], at_food=food[k]) for a, k in zip(live, ks)}
        else:
            out_infos = {a: {"at_food": food[k]} for a, k in zip(live, ks)}
        return (
            {a: obs32[k] for a, k in zip(live, ks)},
            {a: rewards[k] for a, k in zip(live, ks)},
            {a: terms[k] for a, k in zip(live, ks)},
            {a: truncs[k] for a, k in zip(live, ks)},
            out_infos,
        )

    def render(self):
        return self._renderer.render(self)

    def close(self) -> None:
        self._renderer.close()


class ForagerTeamEnv(BufferViewsMixin, TeamEnvBase):
    """N foragers that must all reach the food; one team, rewards per forager (embedded core).

    Observation per forager ``Box(0, 1, (15,), float32)`` (the single forager's 13 values plus the
    teammate slot), action ``Box(-1, 1, (2,), float32)``. Foragers act in index order within a
    step, a forager at the food is frozen, and the episode ends for everyone at once when all are
    at the food or after ``max_cycles`` steps; ``agents`` is then empty. See the README's MDP page.

    Args:
        render_mode: ``"rgb_array"``, ``"human"`` or None.
        render_size: the picture's width in pixels.
        scenario: a :class:`~sb3_forager.sim.scenario.Scenario` with team rules (default: ``base``).
        base: the defaults the keyword arguments modify (default: a pair from random starts,
            nearest teammate; the modules pass their own).
        n_foragers, teammate, max_cycles (or max_steps), starts, obstacles, n_obstacles, food:
            scenario values replacing the defaults.
    """

    def __init__(
        self,
        render_mode: str | None = None,
        render_size: int = 400,
        scenario: Scenario | None = None,
        base: Scenario = TEAM,
        **kwargs: Any,
    ) -> None:
        self._setup(team_scenario(scenario, kwargs, base), render_mode, render_size)
        self.sim = ForagerSim.for_scenario(self.scenario, 1)
        self._bind_views()

    _VIEW_ATTRS = ("_views",)

    def _bind_views(self) -> None:
        """Views of world 0 in the simulation's buffers (written in place by each step)."""
        sim = self.sim
        self._views = (sim._obs[0], sim._rew[0], sim._flags[0, :, 0], sim._flags[0, :, 1], sim._wout[0],
                       sim._wi[0], sim._bst[0, :, 0], sim._arrival[0])  # fmt: skip

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        episode = self._draw_episode(seed, options)
        self.episode = episode
        self.sim.reset(None, [episode])
        out = self._reset_dicts(self.sim.obs[0])
        self._renderer.frame_changed(self)
        return out

    def step(self, actions: dict[str, Any]):
        batch, acting = self._checked_actions(actions)
        self.sim.advance(batch, acting)
        obs, rew, term, trunc, over, wi, at_food, arrival = self._views
        out = self._step_dicts(obs, rew, term, trunc, bool(over[0]), bool(over[1]), int(wi[0]), at_food, arrival)
        if self._renderer.window is not None:
            self._renderer.frame_changed(self)
        return out

    def frame(self) -> np.ndarray:
        return self.sim.render(0, self._renderer.size)

    def state(self) -> np.ndarray:
        """The foragers' observations, concatenated (float32; see ``state_space``)."""
        return self.sim.obs[0].astype(np.float32).reshape(-1)


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
