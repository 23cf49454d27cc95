"""What an SB3 VecEnv whose slots all live in one object answers about its "sub-envs".

Both the embedded :class:`~sb3_forager.envs.vec_env.ForagerVecEnv` and the GAMA
:class:`~sb3_forager.gama.vec_env.GamaVecEnv` are one object for all their slots, so attribute
access, method calls and seeds answer for every index alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices

from .contract import EpisodeOverError, check_batch_actions


class SharedSlotsMixin:
    """Action intake and ``get_attr``/``set_attr``/``env_method``/``env_is_wrapped``/``seed`` for
    VecEnvs that are one object for all their slots (N worlds of K foragers, world-major)."""

    num_envs: int
    n_worlds: int
    agent_ids: list[str]
    _seeds: list[int | None]
    _actions: np.ndarray | None = None

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = check_batch_actions(actions, self.n_worlds, self.agent_ids)

    def _take_actions(self) -> np.ndarray:
        """The validated (N, K, 2) actions of the last ``step_async``, consumed."""
        if self._actions is None:
            raise EpisodeOverError("step_wait() called without step_async(actions)")
        actions, self._actions = self._actions, None
        return actions

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._indices(indices)
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        method = getattr(self, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def seed(self, seed: int | None = None) -> Sequence[None | int]:
        """Seeds for the next reset: slot i gets ``seed + i`` (the v0 models are deterministic)."""
        self._seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        return self._seeds
