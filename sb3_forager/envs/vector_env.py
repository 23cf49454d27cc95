"""``gymnasium.make_vec("sb3_forager/Forager-v0", num_envs=N, vectorization_mode="vector_entry_point")``:
N single-forager worlds stepped in one call of the compiled core, as a Gymnasium VectorEnv."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space

from ..sim import ForagerSim, Scenario
from ..sim.jit import kernel
from .contract import check_batch_actions, check_render_mode, forager_spaces, world_generators
from .forager_env import AGENT, single_scenario


@kernel
def finish_step(
    obs: np.ndarray,
    reward: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    steps: np.ndarray,
    limit: int,
    pending: np.ndarray,
    out_obs: np.ndarray,
    out_reward: np.ndarray,
    out_terminated: np.ndarray,
    out_truncated: np.ndarray,
) -> int:
    """The step's returns from the core's (N, 1, ...) buffers in one pass: a ``pending`` world
    (reset this step) returns its first observation, reward 0 and no flags; the others their step,
    truncated also at ``steps >= limit`` (as ``TimeLimit``). ``pending`` becomes the ended worlds;
    returns how many."""
    src = obs.reshape(-1)  # (N, 1, D) and (N, D), both C-contiguous: one flat loop converts
    dst = out_obs.reshape(-1)
    for i in range(src.shape[0]):
        dst[i] = src[i]
    n_ended = 0
    for w in range(obs.shape[0]):
        if pending[w]:
            out_reward[w] = 0.0
            term = False
            trunc = False
        else:
            out_reward[w] = reward[w, 0]
            term = terminated[w, 0]
            trunc = truncated[w, 0] or steps[w] >= limit
        out_terminated[w] = term
        out_truncated[w] = trunc
        pending[w] = term or trunc
        if term or trunc:
            n_ended += 1
    return n_ended


class ForagerVectorEnv(gym.vector.VectorEnv):
    """Gymnasium VectorEnv of ``num_envs`` single-forager worlds, with Gymnasium's default
    next-step autoreset: the step after an episode ends returns the reset observation, reward 0.

    Sub-env ``i`` draws its episodes from its own generator: ``reset(seed=s)`` seeds it with
    ``s + i``, ``reset(seed=[s0, s1, ...])`` with ``s_i`` (as Gymnasium's own vector envs), so
    sub-env ``i`` plays the episodes a ``Forager-v0`` reset with that seed would. Scenario keyword
    arguments as for :class:`~sb3_forager.envs.forager_env.ForagerEnv`; ``options`` apply to every
    sub-env. An action outside the Box raises ``ValueError`` naming the sub-env, and nothing changes
    (no world steps, a pending autoreset stays pending). ``max_episode_steps`` (what ``make_vec``
    passes from the registration) truncates an episode at that step like Gymnasium's ``TimeLimit``
    (also when it terminates at that step; the reward is the model's).

    Each step returns new arrays, as ``SyncVectorEnv`` does (``copy=True``, its default): later
    steps do not overwrite them and writing into them changes nothing. The step itself is one call
    of the core, the reset of the worlds that ended last step, and one compiled pass
    (:func:`finish_step`) that writes the returns.
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
        self._limit = np.iinfo(np.int64).max if self.time_limit is None else self.time_limit
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)  # the worlds the next step resets
        self._n_pending = 0
        self._ids = [AGENT]

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        rngs = world_generators(seed, self.num_envs, self._rngs)
        episodes = [self.scenario.draw(rng, options) for rng in rngs]  # validated before any change
        self._rngs = rngs
        if seed is not None:
            super().reset(seed=seed if isinstance(seed, int) else None)
        self.backend.reset(None, episodes)
        self._needs_reset[:] = False
        self._n_pending = 0
        return self.backend.obs[:, 0].astype(np.float32), {}

    def step(self, actions):
        acts = check_batch_actions(actions, self.num_envs, self._ids)  # refused: nothing changed
        sim = self.backend
        r = sim.step(acts)
        pending = self._needs_reset
        if self._n_pending:  # next-step autoreset: these worlds start over (their step is discarded)
            sim.reset(pending, [self.scenario.draw(self._rngs[i]) for i in np.flatnonzero(pending).tolist()])
        n = self.num_envs
        obs = np.empty((n, sim.obs_dim), dtype=np.float32)
        reward = np.empty(n)
        terminated = np.empty(n, dtype=bool)
        truncated = np.empty(n, dtype=bool)
        # fresh arrays (as SyncVectorEnv's copies), and the next step's pending worlds
        self._n_pending = finish_step(
            r.obs, r.reward, r.terminated, r.truncated, r.steps, self._limit, pending, obs, reward, terminated, truncated
        )
        if not self._n_pending:
            return obs, reward, terminated, truncated, {}
        ended = pending.copy()
        infos = {
            "is_success": terminated.copy(),
            "_is_success": ended,
            "episode_steps": np.where(ended, r.steps, 0),
            "_episode_steps": ended.copy(),
        }
        return obs, reward, terminated, truncated, infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode == "rgb_array":
            return tuple(self.backend.render(i, self.render_size) for i in range(self.num_envs))
        return None
