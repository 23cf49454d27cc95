"""The cooperative pair (``forager_petz.gaml``) as a PettingZoo ParallelEnv, embedded simulation."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from ..sim import COOP_FORAGERS, ForagerSim, ModelConfig
from .contract import (
    EpisodeOverError,
    check_agent_actions,
    check_render_mode,
    end_of_episode_flags,
)
from .forager_env import forager_spaces


def coop_model(max_cycles: int = 300) -> ModelConfig:
    """The cooperative model, with the GAML ``max_steps`` set to ``max_cycles`` (300 in the tutorial)."""
    if int(max_cycles) < 1:
        raise ValueError(f"max_cycles must be >= 1, got {max_cycles!r}")
    if max_cycles == COOP_FORAGERS.world.max_steps:
        return COOP_FORAGERS
    world = dataclasses.replace(COOP_FORAGERS.world, max_steps=int(max_cycles))
    return dataclasses.replace(COOP_FORAGERS, world=world)


class CoopEnvBase(ParallelEnv):
    """What every backend's cooperative ParallelEnv shares: agents, spaces, and the episode-end
    contract turning one raw GAML step into PettingZoo's dicts (see :meth:`_step_dicts`)."""

    metadata = {"render_modes": ["rgb_array"], "name": "forager_coop_v0", "is_parallelizable": True, "render_fps": 10}

    def _setup(self, model: ModelConfig, render_mode: str | None, render_size: int) -> None:
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.render_size = int(render_size)
        self.model = model
        self.max_cycles = model.world.max_steps
        self.possible_agents = list(model.agent_ids)
        self.agents: list[str] = []
        self._obs_space, self._act_space = forager_spaces(model)
        self.state_space = spaces.Box(0.0, 1.0, (model.obs_dim * model.n_agents,), dtype=np.float32)

    # One shared space object per kind: PettingZoo wants the same object on every call (and an
    # lru_cache on the method would keep every env alive for the life of the process).
    def observation_space(self, agent: str) -> spaces.Box:
        self._check_agent(agent)
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Box:
        self._check_agent(agent)
        return self._act_space

    def _check_agent(self, agent: str) -> None:
        if agent not in self.possible_agents:
            raise KeyError(f"unknown agent {agent!r}; the agents are {self.possible_agents}")

    def _checked_actions(self, actions: dict[str, Any]) -> dict[str, np.ndarray]:
        """Validated actions in agent order; raises if the episode is over."""
        if not self.agents:
            raise EpisodeOverError("the episode has ended (no agents left): call reset() before step()")
        checked = check_agent_actions(actions, self.agents, self.possible_agents)
        return {a: checked[a] for a in self.possible_agents if a in checked}

    def _reset_dicts(self, obs: np.ndarray, infos: Sequence[dict] | None = None):
        """Start an episode: all agents live; ``obs`` (K, obs_dim)."""
        self.agents = list(self.possible_agents)
        obs = np.asarray(obs, dtype=np.float32)
        return (
            {a: obs[k] for k, a in enumerate(self.possible_agents)},
            {a: dict(infos[k]) if infos else {} for k, a in enumerate(self.possible_agents)},
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
        infos: Sequence[dict] | None = None,
    ):
        """PettingZoo's five dicts from one raw step of arrays (K, ...) with the GAML flags.

        At the episode end ``agents`` empties, a forager with neither flag gets the team's outcome
        (:func:`~sb3_forager.envs.contract.end_of_episode_flags`), and every info gets
        ``is_success`` (the team's) and ``episode_steps``.
        """
        over, won = np.array([episode_over]), np.array([success])
        terminated, truncated = end_of_episode_flags(terminated[None], truncated[None], over, won)
        live = self.agents
        obs = np.asarray(obs, dtype=np.float32)
        index = {a: k for k, a in enumerate(self.possible_agents)}
        out_infos = {a: dict(infos[index[a]]) if infos else {} for a in live}
        if episode_over:
            self.agents = []
            for a in live:
                out_infos[a].update(is_success=bool(success), episode_steps=int(steps))
        return (
            {a: obs[index[a]] for a in live},
            {a: float(reward[index[a]]) for a in live},
            {a: bool(terminated[0, index[a]]) for a in live},
            {a: bool(truncated[0, index[a]]) for a in live},
            out_infos,
        )


class ForagerCoopEnv(CoopEnvBase):
    """Two foragers that must both reach the food; one team, rewards per forager.

    Observation per forager ``Box(0, 1, (15,), float32)`` (the 13 single-forager values plus the
    teammate's position), action ``Box(-1, 1, (2,), float32)``. Foragers act in order within a
    step, a forager at the food is frozen, and the episode ends for everyone at once when both are
    at the food or after ``max_cycles`` steps; ``agents`` is then empty. See the README section "The MDP".
    """

    def __init__(self, max_cycles: int = 300, render_mode: str | None = None, render_size: int = 400) -> None:
        self._setup(coop_model(max_cycles), render_mode, render_size)
        self.sim = ForagerSim(self.model, 1)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        # The model is deterministic (fixed starts); the seed is accepted for the API's sake.
        self.sim.reset()
        return self._reset_dicts(self.sim.obs[0])

    def step(self, actions: dict[str, Any]):
        checked = self._checked_actions(actions)
        batch = np.zeros((1, len(self.possible_agents), 2))
        acting = np.zeros((1, len(self.possible_agents)), dtype=bool)
        for k, agent in enumerate(self.possible_agents):
            if agent in checked:
                batch[0, k] = checked[agent]
                acting[0, k] = True
        r = self.sim.step(batch, acting)
        return self._step_dicts(
            r.obs[0],
            r.reward[0],
            r.terminated[0],
            r.truncated[0],
            bool(r.episode_over[0]),
            bool(r.success[0]),
            int(self.sim.steps[0]),
        )

    def render(self):
        if self.render_mode == "rgb_array":
            return self.sim.render(0, self.render_size)
        return None

    def state(self) -> np.ndarray:
        """The foragers' observations, concatenated (float32; see ``state_space``)."""
        return self.sim.obs[0].astype(np.float32).reshape(-1)

    def close(self) -> None:
        pass
