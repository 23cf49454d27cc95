"""The cooperative pair (``forager_petz.gaml``) as a PettingZoo ParallelEnv, embedded simulation."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from ..sim import COOP_FORAGERS, ForagerSim, ModelConfig
from .contract import EpisodeOverError, check_agent_actions, end_of_episode_flags
from .forager_env import forager_spaces


def coop_model(max_cycles: int = 300) -> ModelConfig:
    """The cooperative model, with the GAML ``max_steps`` set to ``max_cycles`` (300 in the tutorial)."""
    if int(max_cycles) < 1:
        raise ValueError(f"max_cycles must be >= 1, got {max_cycles!r}")
    if max_cycles == COOP_FORAGERS.world.max_steps:
        return COOP_FORAGERS
    world = dataclasses.replace(COOP_FORAGERS.world, max_steps=int(max_cycles))
    return dataclasses.replace(COOP_FORAGERS, world=world)


class ForagerCoopEnv(ParallelEnv):
    """Two foragers that must both reach the food; one team, rewards per forager.

    Observation per forager ``Box(0, 1, (15,), float32)`` (the 13 single-forager values plus the
    teammate's position), action ``Box(-1, 1, (2,), float32)``. Foragers act in order within a
    step, a forager at the food is frozen, and the episode ends for everyone at once when both are
    at the food or after ``max_cycles`` steps; ``agents`` is then empty. See the README section "The MDP".
    """

    metadata = {"render_modes": ["rgb_array"], "name": "forager_coop_v0", "is_parallelizable": True, "render_fps": 10}

    def __init__(self, max_cycles: int = 300, render_mode: str | None = None, render_size: int = 400) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.render_size = int(render_size)
        self.model = coop_model(max_cycles)
        self.max_cycles = self.model.world.max_steps
        self.possible_agents = list(self.model.agent_ids)
        self.agents: list[str] = []
        self._obs_space, self._act_space = forager_spaces(self.model)
        n_state = self.model.obs_dim * self.model.n_agents
        self.state_space = spaces.Box(0.0, 1.0, (n_state,), dtype=np.float32)
        self.sim = ForagerSim(self.model, 1)

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent: str) -> spaces.Box:
        self._check_agent(agent)
        return self._obs_space

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent: str) -> spaces.Box:
        self._check_agent(agent)
        return self._act_space

    def _check_agent(self, agent: str) -> None:
        if agent not in self.possible_agents:
            raise KeyError(f"unknown agent {agent!r}; the agents are {self.possible_agents}")

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        # The model is deterministic (fixed starts); the seed is accepted for the API's sake.
        self.sim.reset()
        self.agents = list(self.possible_agents)
        return self._obs_dict(), {a: {} for a in self.agents}

    def _obs_dict(self) -> dict[str, np.ndarray]:
        obs = self.sim.obs[0].astype(np.float32)
        return {a: obs[k] for k, a in enumerate(self.possible_agents)}

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise EpisodeOverError("the episode has ended (no agents left): call reset() before step()")
        checked = check_agent_actions(actions, self.agents, self.possible_agents)
        k_agents = len(self.possible_agents)
        batch = np.zeros((1, k_agents, 2))
        acting = np.zeros((1, k_agents), dtype=bool)
        for k, agent in enumerate(self.possible_agents):
            if agent in checked:
                batch[0, k] = checked[agent]
                acting[0, k] = True
        r = self.sim.step(batch, acting)
        terminated, truncated = end_of_episode_flags(r.terminated, r.truncated, r.episode_over, r.success)
        live = self.agents
        obs = self._obs_dict()
        rewards = {a: float(r.reward[0, k]) for k, a in enumerate(self.possible_agents) if a in live}
        terms = {a: bool(terminated[0, k]) for k, a in enumerate(self.possible_agents) if a in live}
        truncs = {a: bool(truncated[0, k]) for k, a in enumerate(self.possible_agents) if a in live}
        infos: dict[str, dict[str, Any]] = {a: {} for a in live}
        if r.episode_over[0]:
            self.agents = []
            steps = int(self.sim.steps[0])
            for a in live:
                infos[a] = {"is_success": bool(r.success[0]), "episode_steps": steps}
        return {a: obs[a] for a in live}, rewards, terms, truncs, infos

    def render(self):
        if self.render_mode == "rgb_array":
            return self.sim.render(0, self.render_size)
        return None

    def state(self) -> np.ndarray:
        """The foragers' observations, concatenated (float32; see ``state_space``)."""
        return self.sim.obs[0].astype(np.float32).reshape(-1)

    def close(self) -> None:
        pass
