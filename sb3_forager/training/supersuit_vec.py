"""The SuperSuit -> SB3 fix-up layer for the cooperative pair (and any homogeneous ParallelEnv).

``supersuit.concat_vec_envs_v1(..., base_class="stable_baselines3")`` has gaps with SB3 2.x and
Gymnasium 1.x (:class:`SuperSuitVecEnv` lists them); this module wraps SuperSuit's *Gymnasium*
vector env (``base_class="gymnasium"``) as a proper SB3 ``VecEnv`` instead. Slots are
world-major: copy ``i`` of a K-agent env owns slots ``i*K .. i*K+K-1``.
"""

from __future__ import annotations

import atexit
import functools
import logging
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from ..envs.vec_slots import SharedSlotsMixin, terminal_slot_info

logger = logging.getLogger(__name__)

__all__ = ["SuperSuitVecEnv", "make_supersuit_vec_env", "make_team_supersuit_vec_env"]


class _CopyAttrs(dict):
    """Every attribute but ``render_mode`` is per copy: read from (or set on) the copy's own env."""

    def __init__(self, env: SuperSuitVecEnv) -> None:
        super().__init__()
        self.env = env

    def __contains__(self, name: object) -> bool:
        return name != "render_mode"

    def __getitem__(self, name: str) -> tuple[Callable[[int], Any], Callable[[int, Any], None]]:
        return (lambda w: getattr(self.env.copy_env(w), name), lambda w, v: setattr(self.env.copy_env(w), name, v))


class _CopyMethods(_CopyAttrs):
    def __getitem__(self, name: str) -> Callable[..., Any]:  # type: ignore[override]
        return lambda w, *args, **kwargs: getattr(self.env.copy_env(w), name)(*args, **kwargs)


class SuperSuitVecEnv(SharedSlotsMixin, VecEnv):
    """An SB3 ``VecEnv`` over SuperSuit's concatenated Gymnasium vector env.

    Args:
        venv: the result of ``supersuit.concat_vec_envs_v1(markov_env, n, num_cpus=...,
            base_class="gymnasium")`` (a ``ConcatVecEnv`` or, with ``num_cpus >= 2``, a
            ``ProcConcatVec``).
        agents_per_copy: K, the number of agents (slots) of each copy.

    What it fixes (the slot handling is the batched VecEnvs' own, :mod:`sb3_forager.envs.vec_slots`):

    * ``seed(s)`` (what ``PPO(seed=s)`` calls) is stored and applied at the next ``reset``:
      copy ``i`` is reset with seed ``s + i``, so copies are distinct and reproducible;
    * ``dones`` are ``bool``; every done slot's info carries ``TimeLimit.truncated`` (truncated
      and not terminated) next to SuperSuit's ``terminal_observation``, and for the forager envs
      (``num_cpus=0``) the episode's ``start``, ``obstacles`` and ``food`` as the batched VecEnvs'
      infos do; infos are fresh dicts (``ProcConcatVec`` hands out one shared ``{}`` for every empty slot);
    * ``get_attr``/``set_attr``/``env_method`` reach the PettingZoo env of each copy, once per
      copy (``num_cpus=0`` only: with worker processes the copies are out of reach);
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
        self.agents_per_copy = self.n_agents = k
        self.agent_ids = list(agent_ids) if agent_ids is not None else [f"agent_{a}" for a in range(k)]
        self.n_copies = self.n_worlds = venv.num_envs // k
        self.closed = False
        self._world_attrs = _CopyAttrs(self)
        self._world_methods = _CopyMethods(self)
        # VecEnv.__init__ asks get_attr("render_mode"); ProcConcatVec has no such attribute.
        self.render_mode = getattr(venv, "render_mode", None)
        super().__init__(venv.num_envs, venv.observation_space, venv.action_space)
        atexit.register(_close_at_exit, weakref.ref(self))

    # ------------------------------------------------------------------ SB3 API
    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seeds for the next ``reset``: copy ``i`` gets ``seed + i`` (a random base when None:
        unseeded, SuperSuit's copies would all start alike)."""
        return super().seed(int(np.random.randint(0, 2**31 - 1)) if seed is None else seed)

    def reset(self) -> VecEnvObs:
        base = self._seeds[0]  # ConcatVecEnv / ProcConcatVec add the copy index themselves
        options = self._options[0] or None
        obs, infos = self.venv.reset(seed=base, options=options)
        if hasattr(self.venv, "idx_starts"):  # ProcConcatVec's reset returns its workers' infos undecompressed
            from supersuit.vector.multiproc_vec import decompress_info

            infos = decompress_info(self.num_envs, self.venv.idx_starts, infos)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [dict(info) for info in infos]
        return np.asarray(obs)

    def step_wait(self) -> VecEnvStepReturn:
        # SuperSuit steps the copies one after the other: step_async checked the whole batch first
        # (a bad action of copy 3 would only be refused after copies 0-2 had stepped)
        self.venv.step_async(self._take_actions().reshape(self.num_envs, -1).astype(np.float32))
        copies = self._copies()
        episodes = [getattr(self.copy_env(c), "episode", None) for c in range(self.n_copies)] if copies else None
        obs, rewards, terms, truncs, infos = self.venv.step_wait()
        terms = np.asarray(terms, dtype=bool)
        truncs = np.asarray(truncs, dtype=bool)
        dones = terms | truncs
        infos = [dict(info) for info in infos]
        for slot in np.flatnonzero(dones).tolist():
            info = infos[slot]
            ep = episodes[slot // self.n_agents] if episodes else None
            if ep is not None and "episode_steps" in info:  # a forager env: the batched VecEnvs' terminal info
                a = slot % self.n_agents
                info.update(terminal_slot_info(
                    info["terminal_observation"], terms[slot], truncs[slot], info["is_success"],
                    info["episode_steps"], info["arrival_step"], ep.starts[a], ep.obstacles, ep.food,
                ))  # fmt: skip
            else:
                info["TimeLimit.truncated"] = bool(truncs[slot] and not terms[slot])
        return np.asarray(obs), np.asarray(rewards, dtype=np.float32), dones, infos

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
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

    # --------------------------------------------------------- copies
    def _copies(self) -> list[Any] | None:
        """The sub vector envs of a ``ConcatVecEnv`` (None when they live in worker processes)."""
        return getattr(self.venv, "vec_envs", None)

    def copy_env(self, c: int) -> Any:
        """The env object of copy ``c`` (its PettingZoo env)."""
        copies = self._copies()
        if copies is None:
            raise AttributeError(
                "the env copies run in worker processes (num_cpus >= 2): get_attr/set_attr/env_method need num_cpus=0"
            )
        sub = copies[c]
        return getattr(sub, "par_env", None) or getattr(sub, "gym_env", None) or sub

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
    """``n_copies`` copies of the ParallelEnv made by ``env_fn`` as one SB3 VecEnv (through SuperSuit).
    ``num_cpus=0`` (all copies in this process) is the fastest on a 2-core machine (workers fight torch)."""
    import supersuit as ss

    if int(n_copies) < 1:
        raise ValueError(f"n_copies must be >= 1, got {n_copies!r}")
    from supersuit.vector.markov_vector_wrapper import MarkovVectorEnv

    class EndInfosKept(MarkovVectorEnv):
        """``pettingzoo_env_to_vec_env_v1``'s env, whose infos at an episode's end are the last step's:
        SuperSuit merges the next episode's reset infos over them, which would replace the episode's
        ``is_success``, ``episode_steps`` and ``arrival_step`` by their neutral reset values. (A local
        class: supersuit is imported only here, and cloudpickle sends it to worker processes.)"""

        def step(self, actions):  # type: ignore[no-untyped-def]
            self.auto_reset = True
            try:
                return super().step(actions)
            finally:
                self.auto_reset = False

        def reset(self, seed=None, options=None):  # type: ignore[no-untyped-def]
            obs, infos = super().reset(seed=seed, options=options)
            return obs, [{} for _ in infos] if getattr(self, "auto_reset", False) else infos

        def concat_obs(self, obs_dict):  # type: ignore[no-untyped-def]
            # the agents' Box observations stacked as SuperSuit's (gymnasium's) concatenate does,
            # without its singledispatch and zero-filled buffer: the same array, ~10 % of a copy-step
            if not isinstance(self.observation_space, gym.spaces.Box):
                return super().concat_obs(obs_dict)
            return _stack_box(self.observation_space, [obs_dict[a] for a in self.par_env.possible_agents])

    par_env = env_fn()
    agents = list(par_env.possible_agents)
    ss.pettingzoo_env_to_vec_env_v1(par_env)  # SuperSuit's checks of the env
    markov = EndInfosKept(par_env)
    if int(num_cpus) == 0 and isinstance(markov.observation_space, gym.spaces.Box):
        # what concat_vec_envs_v1(num_cpus=0, base_class="gymnasium") builds, with Box fast paths
        from supersuit.vector.vector_constructors import vec_env_args

        venv = _box_concat_class()(*vec_env_args(markov, int(n_copies)))
    else:
        venv = ss.concat_vec_envs_v1(markov, int(n_copies), num_cpus=int(num_cpus), base_class="gymnasium")
    return SuperSuitVecEnv(venv, agents_per_copy=len(agents), agent_ids=agents)


def _stack_box(space: gym.spaces.Box, items: Sequence[np.ndarray]) -> np.ndarray:
    """``gymnasium.vector.utils.concatenate(space, items, create_empty_array(space, n))`` of a Box space:
    the same values and dtype, without the dispatch and the zero-filled buffer."""
    out = np.empty((len(items),) + space.shape, dtype=space.dtype)
    return np.stack(items, axis=0, out=out)


@functools.cache
def _box_concat_class() -> type:
    """SuperSuit's ``ConcatVecEnv`` whose observation and action batches (Box spaces) are split and
    joined by plain numpy slicing: SuperSuit splits a batch into rows with gymnasium's ``iterate`` and
    re-stacks them with ``concatenate`` once per copy and step, which cost a sixth of a copy-step."""
    from supersuit.vector.concat_vec_env import ConcatVecEnv

    class BoxConcatVecEnv(ConcatVecEnv):
        def concat_obs(self, observations):  # type: ignore[no-untyped-def]
            out = np.empty((self.num_envs,) + self.observation_space.shape, dtype=self.observation_space.dtype)
            return np.concatenate(observations, axis=0, out=out)

        def concatenate_actions(self, actions, n_actions):  # type: ignore[no-untyped-def]
            if not isinstance(self.action_space, gym.spaces.Box):
                return super().concatenate_actions(actions, n_actions)
            return _stack_box(self.action_space, actions)

    return BoxConcatVecEnv


def make_team_supersuit_vec_env(n_copies: int, num_cpus: int = 0, **env_kwargs: Any) -> SuperSuitVecEnv:
    """The embedded team (``forager_coop_v0.parallel_env(**env_kwargs)``, by default the tutorial
    pair) through SuperSuit."""
    from .. import forager_coop_v0

    return make_supersuit_vec_env(lambda: forager_coop_v0.parallel_env(**env_kwargs), n_copies, num_cpus)
