"""The SuperSuit -> SB3 fix-up layer for the cooperative pair (and any homogeneous ParallelEnv).

``supersuit.concat_vec_envs_v1(..., base_class="stable_baselines3")`` has gaps with SB3 2.x and
Gymnasium 1.x: ``PPO(seed=)`` crashes, copies are
never seeded apart, time-limit endings look like true terminals, ``dones`` are ``uint8`` (which
breaks ``VecNormalize``), ``get_attr``/``set_attr``/``env_method`` are missing, and with worker
processes a crash hangs the interpreter at exit. :class:`SuperSuitVecEnv` wraps SuperSuit's
*Gymnasium* vector env (``base_class="gymnasium"``) as a proper SB3 ``VecEnv`` instead.

Slots are world-major: copy ``i`` of a K-agent env owns slots ``i*K .. i*K+K-1``.
"""

from __future__ import annotations

import atexit
import logging
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from ..envs.contract import check_batch_actions

logger = logging.getLogger(__name__)

__all__ = ["SuperSuitVecEnv", "make_coop_supersuit_vec_env", "make_supersuit_vec_env"]


class SuperSuitVecEnv(VecEnv):
    """An SB3 ``VecEnv`` over SuperSuit's concatenated Gymnasium vector env.

    Args:
        venv: the result of ``supersuit.concat_vec_envs_v1(markov_env, n, num_cpus=...,
            base_class="gymnasium")`` (a ``ConcatVecEnv`` or, with ``num_cpus >= 2``, a
            ``ProcConcatVec``).
        agents_per_copy: K, the number of agents (slots) of each copy.

    What it fixes:

    * ``seed(s)`` (what ``PPO(seed=s)`` calls) is stored and applied at the next ``reset``:
      copy ``i`` is reset with seed ``s + i``, so copies are distinct and reproducible;
    * ``dones`` are ``bool``; every done slot's info carries ``TimeLimit.truncated`` (truncated
      and not terminated) next to SuperSuit's ``terminal_observation``; infos are fresh dicts
      (``ProcConcatVec`` hands out one shared ``{}`` for every empty slot);
    * ``get_attr``/``set_attr``/``env_method`` reach the PettingZoo env of each copy
      (``num_cpus=0`` only: with worker processes the copies are out of reach);
    * a batch of actions is checked whole before any copy steps (an action outside the Box
      raises ``ValueError`` naming its slot, and no copy has moved);
    * ``close`` is idempotent, never raises, and also runs at interpreter exit, so that a crash
      with worker processes does not leave the process waiting on them forever.
    """

    def __init__(
        self, venv: gym.vector.VectorEnv, agents_per_copy: int, agent_ids: Sequence[str] | None = None
    ) -> None:
        k = int(agents_per_copy)
        if k < 1 or venv.num_envs % k:
            raise ValueError(f"{venv.num_envs} slots cannot be split into copies of {agents_per_copy} agents")
        self.venv = venv
        self.agents_per_copy = k
        self.agent_ids = list(agent_ids) if agent_ids is not None else [f"agent_{a}" for a in range(k)]
        self.n_copies = venv.num_envs // k
        self._closed = False
        # VecEnv.__init__ asks get_attr("render_mode"); ProcConcatVec has no such attribute.
        self._render_mode = getattr(venv, "render_mode", None)
        super().__init__(venv.num_envs, venv.observation_space, venv.action_space)
        atexit.register(_close_at_exit, weakref.ref(self))

    # ------------------------------------------------------------------ SB3 API
    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seeds for the next ``reset``: copy ``i`` gets ``seed + i`` (random base when None)."""
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        self._seeds = [int(seed) + slot // self.agents_per_copy for slot in range(self.num_envs)]
        return list(self._seeds)

    def reset(self) -> VecEnvObs:
        base = self._seeds[0]  # ConcatVecEnv / ProcConcatVec add the copy index themselves
        options = self._options[0] or None
        obs, infos = self.venv.reset(seed=base, options=options)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [dict(info) for info in infos]
        return np.asarray(obs)

    def step_async(self, actions: np.ndarray) -> None:
        # SuperSuit steps the copies one after the other: a bad action of copy 3 would only be
        # refused after copies 0-2 had stepped. Checking the whole batch first keeps it atomic.
        checked = check_batch_actions(actions, self.n_copies, self.agent_ids)
        self.venv.step_async(checked.reshape(self.num_envs, -1).astype(np.float32))

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terms, truncs, infos = self.venv.step_wait()
        terms = np.asarray(terms, dtype=bool)
        truncs = np.asarray(truncs, dtype=bool)
        dones = terms | truncs
        infos = [dict(info) for info in infos]
        for slot in np.flatnonzero(dones).tolist():
            infos[slot]["TimeLimit.truncated"] = bool(truncs[slot] and not terms[slot])
        return np.asarray(obs), np.asarray(rewards, dtype=np.float32), dones, infos

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if hasattr(self.venv, "graceful_shutdown_timeout"):
            self.venv.graceful_shutdown_timeout = 2.0  # ProcConcatVec: don't wait 10 s for dead workers
        try:
            self.venv.close()
        except Exception:  # a worker that already crashed; the processes are killed below
            logger.debug("closing the SuperSuit vec env raised", exc_info=True)
        for proc in getattr(self.venv, "procs", ()):
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)

    # --------------------------------------------------------- copies, attributes
    def _copies(self) -> list[Any] | None:
        """The sub vector envs of a ``ConcatVecEnv`` (None when they live in worker processes)."""
        return getattr(self.venv, "vec_envs", None)

    def _targets(self, indices: VecEnvIndices) -> list[Any]:
        """The env object behind each slot in ``indices`` (the PettingZoo env of its copy)."""
        copies = self._copies()
        if copies is None:
            raise AttributeError(
                "the env copies run in worker processes (num_cpus >= 2): get_attr/set_attr/env_method need num_cpus=0"
            )
        starts = np.cumsum([0] + [c.num_envs for c in copies])
        out = []
        for slot in self._get_indices(indices):
            c = int(np.searchsorted(starts, slot, side="right") - 1)
            sub = copies[c]
            out.append(getattr(sub, "par_env", None) or getattr(sub, "gym_env", None) or sub)
        return out

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name == "render_mode":
            return [self._render_mode for _ in self._get_indices(indices)]
        return [getattr(target, attr_name) for target in self._targets(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        seen: set[int] = set()
        for target in self._targets(indices):
            if id(target) not in seen:  # the K slots of one copy share its env: set it once
                seen.add(id(target))
                setattr(target, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call the method once per copy; each of the copy's slots gets that copy's result."""
        results: dict[int, Any] = {}
        out = []
        for target in self._targets(indices):
            if id(target) not in results:
                results[id(target)] = getattr(target, method_name)(*method_args, **method_kwargs)
            out.append(results[id(target)])
        return out

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        flags = list(self.venv.env_is_wrapped(wrapper_class))
        return [bool(flags[i]) for i in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        copies = self._copies()
        if copies is None:
            first = self.venv.render()
            return [first] + [None] * (self.num_envs - 1)
        images = []
        for sub in copies:
            image = sub.render()
            images.extend([image] * sub.num_envs)
        return images


def _close_at_exit(ref: weakref.ref) -> None:
    env = ref()
    if env is not None:
        env.close()


def make_supersuit_vec_env(env_fn: Callable[[], Any], n_copies: int, num_cpus: int = 0) -> SuperSuitVecEnv:
    """``n_copies`` copies of the ParallelEnv made by ``env_fn`` as one SB3 VecEnv.

    ParallelEnv -> ``pettingzoo_env_to_vec_env_v1`` -> ``concat_vec_envs_v1(base_class="gymnasium")``
    -> :class:`SuperSuitVecEnv`. ``num_cpus=0`` (all copies in this process) is the fastest choice
    on a 2-core machine (worker processes fight torch for the cores).
    """
    import supersuit as ss

    if int(n_copies) < 1:
        raise ValueError(f"n_copies must be >= 1, got {n_copies!r}")
    par_env = env_fn()
    agents = list(par_env.possible_agents)
    markov = ss.pettingzoo_env_to_vec_env_v1(par_env)
    venv = ss.concat_vec_envs_v1(markov, int(n_copies), num_cpus=int(num_cpus), base_class="gymnasium")
    return SuperSuitVecEnv(venv, agents_per_copy=len(agents), agent_ids=agents)


def make_team_supersuit_vec_env(n_copies: int, num_cpus: int = 0, **env_kwargs: Any) -> SuperSuitVecEnv:
    """The embedded team (``forager_coop_v0.parallel_env(**env_kwargs)``, by default the tutorial
    pair) through SuperSuit."""
    from .. import forager_coop_v0

    return make_supersuit_vec_env(lambda: forager_coop_v0.parallel_env(**env_kwargs), n_copies, num_cpus)


#: the previous name
make_coop_supersuit_vec_env = make_team_supersuit_vec_env
