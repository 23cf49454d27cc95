"""``gymnasium.make_vec("sb3_forager/Forager-v0", num_envs=N, vectorization_mode="vector_entry_point")``:
N single-forager worlds stepped in one call of the compiled core, as a Gymnasium VectorEnv."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space

from ..sim import ForagerSim, Scenario
from .contract import check_batch_actions, check_render_mode, forager_spaces, world_generators
from .forager_env import AGENT, single_scenario


class ForagerVectorEnv(gym.vector.VectorEnv):
    """Gymnasium VectorEnv of ``num_envs`` single-forager worlds, with Gymnasium's default
    next-step autoreset: the step after an episode ends returns the reset observation, reward 0.

    Sub-env ``i`` draws its episodes from its own generator: ``reset(seed=s)`` seeds it with
    ``s + i``, ``reset(seed=[s0, s1, ...])`` with ``s_i`` (as Gymnasium's own vector envs), so
    sub-env ``i`` plays the episodes a ``Forager-v0`` reset with that seed would. Scenario keyword
    arguments as for :class:`~sb3_forager.envs.forager_env.ForagerEnv`; ``options`` apply to every
    sub-env. An action outside the Box raises ``ValueError`` naming the sub-env, and no world steps.
    ``max_episode_steps`` (what ``make_vec`` passes from the registration) truncates an episode at
    that step like Gymnasium's ``TimeLimit`` (the reward is the model's).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10, "autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        render_size: int = 400,
        scenario: Scenario | None = None,
        max_episode_steps: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.scenario = single_scenario(scenario, kwargs)
        self.time_limit = None if max_episode_steps is None else int(max_episode_steps)
        if self.time_limit is not None and self.time_limit < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps!r}")
        self.num_envs = int(num_envs)
        if self.num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs!r}")
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.render_size = int(render_size)
        self.backend = ForagerSim.for_scenario(self.scenario, self.num_envs)
        self.single_observation_space, self.single_action_space = forager_spaces(self.scenario.obs_dim)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs = world_generators(None, self.num_envs)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        self._ids = [AGENT]

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        rngs = world_generators(seed, self.num_envs, self._rngs)
        episodes = [self.scenario.draw(rng, options) for rng in rngs]  # validated before any change
        self._rngs = rngs
        if seed is not None:
            super().reset(seed=seed if isinstance(seed, int) else None)
        self.backend.reset(None, episodes)
        self._needs_reset[:] = False
        return self.backend.obs[:, 0].astype(np.float32), {}

    def step(self, actions):
        acts = check_batch_actions(actions, self.num_envs, self._ids)
        pending = self._needs_reset.copy()
        r = self.backend.step(acts)
        reward = r.reward[:, 0].copy()
        terminated = r.terminated[:, 0].copy()
        truncated = r.truncated[:, 0].copy()
        if self.time_limit is not None:
            truncated |= self.backend.steps >= self.time_limit
        obs = r.obs[:, 0].astype(np.float32)
        if pending.any():  # next-step autoreset: these worlds start over instead of stepping
            idx = np.flatnonzero(pending)
            fresh = self.backend.reset(idx, [self.scenario.draw(self._rngs[i]) for i in idx]).obs
            obs[pending] = fresh[pending, 0]
            reward[pending] = 0.0
            terminated[pending] = False
            truncated[pending] = False
        self._needs_reset = terminated | truncated
        infos: dict[str, Any] = {}
        if self._needs_reset.any():
            ended = self._needs_reset.copy()
            infos = {
                "is_success": terminated.copy(),
                "_is_success": ended,
                "episode_steps": np.where(ended, self.backend.steps, 0),
                "_episode_steps": ended.copy(),
            }
        return obs, reward, terminated, truncated, infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode == "rgb_array":
            return tuple(self.backend.render(i, self.render_size) for i in range(self.num_envs))
        return None
