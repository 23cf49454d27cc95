"""Batched envs over the simulation core: an SB3 ``VecEnv`` and a Gymnasium ``VectorEnv``.

Both step N worlds in one numpy call. The SB3 VecEnv has one slot per forager per world (world
major), so it serves the single forager (K = 1) and the cooperative pair (K = 2, one shared
policy) alike; it resets a world the moment it ends and reports what SB3 expects:
``terminal_observation``, ``TimeLimit.truncated`` and ``is_success`` in that step's infos.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from ..sim import SINGLE_FORAGER, ForagerSim, ModelConfig
from .contract import (
    check_batch_actions,
    check_render_mode,
    end_of_episode_flags,
)
from .forager_env import forager_spaces
from .vec_slots import SharedSlotsMixin


class ForagerVecEnv(SharedSlotsMixin, VecEnv):
    """SB3 VecEnv of ``n_worlds`` embedded worlds of ``model``; ``num_envs = n_worlds * K``.

    Args:
        n_worlds: how many independent worlds.
        model: the model config (default: the single forager).
        render_mode: ``"rgb_array"`` or None.
    """

    def __init__(self, n_worlds: int = 1, model: ModelConfig = SINGLE_FORAGER, render_mode: str | None = None) -> None:
        self.model = model
        self.sim = ForagerSim(model, n_worlds)
        self.n_worlds = self.sim.n_worlds
        self.n_agents = model.n_agents
        self.agent_ids = list(model.agent_ids)
        self.metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        obs_space, act_space = forager_spaces(model)
        super().__init__(self.n_worlds * self.n_agents, obs_space, act_space)
        self._seeds: list[int | None] = [None] * self.num_envs

    # ------------------------------------------------------------------ SB3 API
    def reset(self) -> np.ndarray:
        self.sim.reset()
        self._seeds = [None] * self.num_envs  # the model is deterministic: seeds change nothing
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self._flat_obs(self.sim.obs)

    def step_wait(self):
        actions = self._take_actions()
        r = self.sim.step(actions)
        terminated, truncated = end_of_episode_flags(r.terminated, r.truncated, r.episode_over, r.success)
        obs = self._flat_obs(r.obs)
        k = self.n_agents
        dones = np.repeat(r.episode_over, k)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        ended = np.flatnonzero(r.episode_over)
        if ended.size:
            steps = self.sim.steps
            for w in ended.tolist():
                for a in range(k):
                    slot = w * k + a
                    infos[slot] = {
                        "terminal_observation": obs[slot].copy(),
                        "TimeLimit.truncated": bool(truncated[w, a] and not terminated[w, a]),
                        "is_success": bool(r.success[w]),
                        "episode_steps": int(steps[w]),
                    }
            fresh = self.sim.reset(r.episode_over)
            obs = self._flat_obs(fresh)
        return obs, r.reward.reshape(-1).astype(np.float32), dones, infos

    def _flat_obs(self, obs: np.ndarray) -> np.ndarray:
        return obs.reshape(self.num_envs, -1).astype(np.float32)

    def close(self) -> None:
        pass

    def get_images(self) -> Sequence[np.ndarray | None]:
        k = self.n_agents
        return [self.sim.render(slot // k) for slot in range(self.num_envs)]

    def render(self, mode: str | None = None) -> np.ndarray | None:
        return super().render(mode)


class ForagerVectorEnv(gym.vector.VectorEnv):
    """Gymnasium VectorEnv of ``num_envs`` single-forager worlds (``gymnasium.make_vec``'s
    ``vector_entry_point``), with Gymnasium's default next-step autoreset: the step after an
    episode ends returns the reset observation with reward 0.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10, "autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"unexpected keyword arguments for Forager-v0: {sorted(kwargs)}")
        self.model = SINGLE_FORAGER
        self.num_envs = int(num_envs)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.sim = ForagerSim(self.model, self.num_envs)
        self.single_observation_space, self.single_action_space = forager_spaces(self.model)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.sim.reset()
        self._needs_reset[:] = False
        return self.sim.obs[:, 0].astype(np.float32), {}

    def step(self, actions):
        acts = check_batch_actions(actions, self.num_envs, self.model.agent_ids)
        pending = self._needs_reset.copy()
        r = self.sim.step(acts)
        reward = r.reward[:, 0].copy()
        terminated = r.terminated[:, 0].copy()
        truncated = r.truncated[:, 0].copy()
        obs = r.obs[:, 0]
        if pending.any():  # next-step autoreset: these worlds start over instead of stepping
            obs = self.sim.reset(pending)[:, 0]
            reward[pending] = 0.0
            terminated[pending] = False
            truncated[pending] = False
        obs = obs.astype(np.float32)
        self._needs_reset = terminated | truncated
        infos: dict[str, Any] = {}
        if self._needs_reset.any():
            infos = {
                "is_success": terminated.copy(),
                "_is_success": self._needs_reset.copy(),
                "episode_steps": np.where(self._needs_reset, self.sim.steps, 0),
                "_episode_steps": self._needs_reset.copy(),
            }
        return obs, reward, terminated, truncated, infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode == "rgb_array":
            return tuple(self.sim.render(i) for i in range(self.num_envs))
        return None


def make_forager_vec_env(n_worlds: int = 1, kind: str = "single", render_mode: str | None = None) -> ForagerVecEnv:
    """An SB3 VecEnv of the embedded single forager (``kind="single"``) or pair (``kind="coop"``)."""
    from .coop_env import coop_model

    if kind == "single":
        return ForagerVecEnv(n_worlds, SINGLE_FORAGER, render_mode)
    if kind == "coop":
        return ForagerVecEnv(n_worlds, coop_model(), render_mode)
    raise ValueError(f"kind must be 'single' or 'coop', got {kind!r}")
