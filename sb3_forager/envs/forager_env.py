"""``sb3_forager/Forager-v0`` and ``sb3_forager/ForagerRandom-v0``: the single forager as a Gymnasium env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ..sim import FORAGER, ForagerSim, Scenario
from .buffer_views import BufferViewsMixin
from .contract import EpisodeOverError, check_action, check_render_mode, forager_spaces
from .rendering import FrameRenderer, RenderSizeMixin

AGENT = "forager_0"


def single_scenario(scenario: Scenario | None, kwargs: dict[str, Any]) -> Scenario:
    """The scenario of a single-forager env: ``scenario`` (default the tutorial's) with ``kwargs``."""
    sc = Scenario.from_kwargs(scenario or FORAGER, **kwargs)
    if sc.rules != "single":
        raise ValueError(f"the single-forager env needs a scenario with rules='single', got {sc.rules!r}")
    return sc


class ForagerEnv(BufferViewsMixin, RenderSizeMixin, gym.Env):
    """One forager seeking the food among obstacles, embedded simulation (forager_gym.gaml).

    Observation ``Box(0, 1, (13,), float32)``, action ``Box(-1, 1, (2,), float32)`` (an
    acceleration; an action outside the Box raises ``ValueError`` and changes nothing), reward and
    episode end as in the README's MDP page. Every step's info carries ``is_success`` (at the food)
    and ``episode_steps``, so the last one has them however the episode ended (a ``TimeLimit``
    shorter than ``max_steps`` included).

    Args:
        render_mode: ``"rgb_array"``, ``"human"`` (a pygame window) or None.
        render_size: the picture's width in pixels.
        scenario: a :class:`~sb3_forager.sim.scenario.Scenario` (default: the tutorial's).
        starts, obstacles, n_obstacles, food, max_steps: scenario values replacing the defaults
            (``starts="random"``, ``obstacles="random"``; see the README's scenario section).

    ``reset(seed=..., options={"starts": [[x, y]], "obstacles": [[cx, cy], ...]})`` sets one
    episode's start and layout; the seed drives every random draw.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 10}

    def __init__(
        self, render_mode: str | None = None, render_size: int = 400, scenario: Scenario | None = None, **kwargs: Any
    ) -> None:
        self.scenario = single_scenario(scenario, kwargs)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self._renderer = FrameRenderer(self.render_mode, int(render_size), self.metadata["render_fps"], "Forager")
        self.observation_space, self.action_space = forager_spaces(self.scenario.obs_dim)
        self.sim = ForagerSim.for_scenario(self.scenario, 1)
        self._act = np.zeros((1, 1, 2))
        self._bind_views()
        self._over = True

    _VIEW_ATTRS = ("_act0", "_obs0", "_flags0", "_reward", "_steps")

    def _bind_views(self) -> None:
        """Views of the simulation's buffers (written in place by each step): the step reads them
        without building a result object."""
        self._act0 = self._act[0, 0]
        self._obs0 = self.sim.obs[0, 0]
        self._flags0 = self.sim._flags[0, 0]
        self._reward = self.sim._rew
        self._steps = self.sim._wi

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        episode = self.scenario.draw(self.np_random, options)  # validates before anything changes
        self.sim.reset(None, [episode])
        self._over = False
        self._renderer.frame_changed(self)
        return self.sim.obs[0, 0].astype(np.float32), {"is_success": False, "episode_steps": 0}

    def step(self, action):
        if self._over:
            raise EpisodeOverError("the episode has ended: call reset() before step()")
        check_action(action, AGENT, self._act0)
        self.sim.advance(self._act)
        terminated = bool(self._flags0[0])
        truncated = bool(self._flags0[1])
        self._over = terminated or truncated
        info = {"is_success": terminated, "episode_steps": int(self._steps[0, 0])}
        if self._renderer.window is not None:
            self._renderer.frame_changed(self)
        return self._obs0.astype(np.float32), float(self._reward[0, 0]), terminated, truncated, info

    def frame(self) -> np.ndarray:
        """The current picture (RGB array)."""
        return self.sim.render(0, self._renderer.size)

    def render(self):
        return self._renderer.render(self)

    def close(self) -> None:
        self._renderer.close()
