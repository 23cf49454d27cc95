"""``sb3_forager/Forager-v0``: the single forager (``forager_gym.gaml``) as a Gymnasium env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ..sim import SINGLE_FORAGER, ForagerSim, ModelConfig
from .contract import EpisodeOverError, check_action, check_render_mode

AGENT = "forager_0"


def forager_spaces(model: ModelConfig) -> tuple[spaces.Box, spaces.Box]:
    """The observation and action spaces of one forager of ``model`` (float32, as SB3 wants)."""
    obs = spaces.Box(0.0, 1.0, (model.obs_dim,), dtype=np.float32)
    act = spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
    return obs, act


class ForagerEnv(gym.Env):
    """One forager seeking the food at (95, 95) among six obstacles, embedded simulation.

    Observation ``Box(0, 1, (13,), float32)``, action ``Box(-1, 1, (2,), float32)`` (an
    acceleration, used unclipped like the GAML model), reward and episode end as in
    the README section "The MDP". ``info["is_success"]`` is set on the last step of an episode.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, render_size: int = 400) -> None:
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.render_size = int(render_size)
        self.model = SINGLE_FORAGER
        self.observation_space, self.action_space = forager_spaces(self.model)
        self.sim = ForagerSim(self.model, 1)
        self._over = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)  # the model itself is deterministic; np_random is for wrappers
        self.sim.reset()
        self._over = False
        return self.sim.obs[0, 0].astype(np.float32), {}

    def step(self, action):
        if self._over:
            raise EpisodeOverError("the episode has ended: call reset() before step()")
        act = check_action(action, AGENT)
        r = self.sim.step(act.reshape(1, 1, 2))
        terminated = bool(r.terminated[0, 0])
        truncated = bool(r.truncated[0, 0])
        info: dict[str, Any] = {}
        if terminated or truncated:
            self._over = True
            info = {"is_success": terminated, "episode_steps": int(self.sim.steps[0])}
        return r.obs[0, 0].astype(np.float32), float(r.reward[0, 0]), terminated, truncated, info

    def render(self):
        if self.render_mode == "rgb_array":
            return self.sim.render(0, self.render_size)
        return None
