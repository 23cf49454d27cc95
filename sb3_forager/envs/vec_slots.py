"""What an SB3 VecEnv whose slots all live in one object answers about its "sub-envs".

:class:`~sb3_forager.envs.vec_env.ForagerVecEnv` (on either backend) holds N worlds of K foragers
in one object, and the SuperSuit layer N copies; slot ``w * K + a`` is forager ``a`` of world
``w``. SB3's VecEnv contract addresses sub-envs by slot index, so ``get_attr``/``set_attr``/``env_method`` go through a per-world view:

* per-world attributes (``scenario``, ``episode``, ``steps``) and methods (``reset``, ``render``,
  ``seed``) act on the worlds owning the given slots, once per world, and each slot gets its
  world's answer;
* anything else is shared by all worlds: reading it gives the same value for every slot; setting
  it or calling a method on it needs ``indices`` to cover every slot (otherwise a ``ValueError``
  says why), and a method runs once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices

from .contract import EpisodeOverError, check_batch_actions
from ..common.checks import seed as check_seed


class SharedSlotsMixin:
    """Action intake, seeds and the per-world ``get_attr``/``set_attr``/``env_method``."""

    num_envs: int
    n_worlds: int
    n_agents: int
    agent_ids: list[str]
    _actions: np.ndarray | None = None
    #: per-world attributes: name -> (getter(world), setter(world, value) or None)
    _world_attrs: dict[str, tuple[Callable[[int], Any], Callable[[int, Any], None] | None]]
    #: per-world methods: name -> method(world, *args, **kwargs)
    _world_methods: dict[str, Callable[..., Any]]

    # ------------------------------------------------------------------ actions
    def step_async(self, actions: np.ndarray) -> None:
        """Validate every world's actions at once (a bad one raises, and no world steps)."""
        self._actions = check_batch_actions(actions, self.n_worlds, self.agent_ids)

    def _take_actions(self) -> np.ndarray:
        """The validated (N, K, 2) actions of the last ``step_async``, consumed."""
        if self._actions is None:
            raise EpisodeOverError("step_wait() called without step_async(actions)")
        actions, self._actions = self._actions, None
        return actions

    # ------------------------------------------------------------------ seeds, options
    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seeds for the next ``reset``: world ``w`` gets ``seed + w`` (its K slots share it), so
        world ``w`` plays the episodes of a single env reset with ``seed=seed + w``."""
        base = check_seed(seed)
        if base is not None:
            check_seed(base + self.n_worlds - 1, "seed + n_worlds - 1")
        self._seeds = [None if base is None else base + slot // self.n_agents for slot in range(self.num_envs)]
        return list(self._seeds)

    def _world_seeds(self) -> list[int | None]:
        seeds = getattr(self, "_seeds", None) or [None] * self.num_envs
        return [seeds[w * self.n_agents] for w in range(self.n_worlds)]

    def _world_options(self) -> list[dict[str, Any] | None]:
        options = getattr(self, "_options", None) or [{}] * self.num_envs
        return [options[w * self.n_agents] or None for w in range(self.n_worlds)]

    # ------------------------------------------------------------------ sub-env access
    def _slots(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        slots = [int(indices)] if isinstance(indices, (int, np.integer)) else [int(i) for i in indices]
        bad = [i for i in slots if not 0 <= i < self.num_envs]
        if bad:
            raise IndexError(f"slot indices {bad} out of range: this VecEnv has {self.num_envs} slots")
        return slots

    def _worlds(self, slots: Sequence[int]) -> list[int]:
        """The worlds owning ``slots``, in order of first appearance."""
        return list(dict.fromkeys(s // self.n_agents for s in slots))

    def _require_all(self, slots: Sequence[int], what: str) -> None:
        if set(slots) != set(range(self.num_envs)):
            raise ValueError(
                f"{what} is shared by all {self.num_envs} slots of this VecEnv (one object for all its "
                "worlds): give indices=None or every slot"
            )

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        slots = self._slots(indices)
        if attr_name in self._world_attrs:
            getter = self._world_attrs[attr_name][0]
            values = {w: getter(w) for w in self._worlds(slots)}
            return [values[s // self.n_agents] for s in slots]
        value = getattr(self, attr_name)
        return [value for _ in slots]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        slots = self._slots(indices)
        if attr_name in self._world_attrs:
            setter = self._world_attrs[attr_name][1]
            if setter is None:
                raise AttributeError(f"{attr_name!r} is read-only")
            for w in self._worlds(slots):
                setter(w, value)
            return
        self._require_all(slots, f"attribute {attr_name!r}")
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        slots = self._slots(indices)
        if method_name in self._world_methods:
            method = self._world_methods[method_name]
            results = {w: method(w, *method_args, **method_kwargs) for w in self._worlds(slots)}
            return [_per_slot(results[s // self.n_agents], s % self.n_agents, self.n_agents) for s in slots]
        self._require_all(slots, f"method {method_name!r}")
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result for _ in slots]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._slots(indices)]


class PerSlot(tuple):
    """A per-world method's answer holding one value per forager slot (e.g. ``reset``'s observations)."""


def _per_slot(result: Any, agent: int, n_agents: int) -> Any:
    if isinstance(result, PerSlot) and len(result) == n_agents:
        return result[agent]
    return result


def terminal_slot_info(
    obs: np.ndarray,
    terminated: bool,
    truncated: bool,
    success: bool,
    steps: int,
    arrival: int,
    start: Any,
    obstacles: Any,
    food: Any,
) -> dict[str, Any]:
    """The info of a slot whose world's episode just ended (the flags after
    :func:`~sb3_forager.envs.contract.end_of_episode_flags`): what SB3 reads
    (``terminal_observation``, ``TimeLimit.truncated``, ``is_success``) and what the evaluation
    needs (``episode_steps``, ``arrival_step`` and the episode's ``start``, ``obstacles``, ``food``)."""
    return {
        "terminal_observation": obs.copy(),
        "TimeLimit.truncated": bool(truncated and not terminated),
        "is_success": bool(success),
        "episode_steps": int(steps),
        "arrival_step": int(arrival),
        "start": start,
        "obstacles": obstacles,
        "food": food,
    }
