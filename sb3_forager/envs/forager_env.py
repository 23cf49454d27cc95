"""The single forager as a Gymnasium env, on any backend: ``sb3_forager/Forager-v0``,
``sb3_forager/ForagerRandom-v0`` (embedded) and ``sb3_forager/GamaForager-v0`` (a GAMA server)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ..sim import FORAGER, Backend, ForagerSim, Scenario, StepResult
from .contract import EpisodeOverError, check_action, check_render_mode, forager_spaces
from .rendering import FrameRenderer, RenderMixin

AGENT = "forager_0"


def single_scenario(scenario: Scenario | None, kwargs: dict[str, Any]) -> Scenario:
    """The scenario of a single-forager env: ``scenario`` (default the tutorial's) with ``kwargs``."""
    sc = Scenario.from_kwargs(scenario or FORAGER, **kwargs)
    if sc.rules != "single":
        raise ValueError(f"the single-forager env needs a scenario with rules='single', got {sc.rules!r}")
    return sc


class ForagerEnv(RenderMixin, gym.Env):
    """One forager seeking the food among obstacles (forager_gym.gaml).

    Observation ``Box(0, 1, (13,), float32)``, action ``Box(-1, 1, (2,), float32)`` (an
    acceleration; an action outside the Box raises ``ValueError`` and changes nothing), reward and
    episode end as in the README's MDP page. Every step's info carries ``is_success`` (at the food)
    and ``episode_steps`` (on GAMA, after the model's own info map), so the last one has them
    however the episode ended (a ``TimeLimit`` shorter than ``max_steps`` included).

    Args:
        render_mode: ``"rgb_array"``, ``"human"`` (a pygame window) or None.
        render_size: the picture's width in pixels.
        scenario: a :class:`~sb3_forager.sim.scenario.Scenario` (default: the tutorial's).
        backend: one world of one forager (:class:`~sb3_forager.sim.backend.Backend`; default the
            embedded simulation; :mod:`sb3_forager.make` builds the GAMA one).
        starts, obstacles, n_obstacles, food, max_steps: scenario values replacing the defaults
            (``starts="random"``, ``obstacles="random"``; see the README's scenario section).

    ``reset(seed=..., options={"starts": [[x, y]], "obstacles": [[cx, cy], ...]})`` sets one
    episode's start and layout; the seed drives every random draw (here, on every backend).
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 10}

    def __init__(
        self,
        render_mode: str | None = None,
        render_size: int = 400,
        scenario: Scenario | None = None,
        backend: Backend | None = None,
        **kwargs: Any,
    ) -> None:
        self.scenario = single_scenario(scenario, kwargs)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self._renderer = FrameRenderer(self.render_mode, int(render_size), self.metadata["render_fps"], "Forager")
        self.observation_space, self.action_space = forager_spaces(self.scenario.obs_dim)
        self.backend = backend if backend is not None else ForagerSim.for_scenario(self.scenario, 1)
        self.episode = None
        self._act = np.zeros((1, 1, 2))
        self._act0 = self._act[0, 0]
        self._over = True
        self._r: StepResult | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._act0 = self._act[0, 0]  # a pickled view would be a copy of its own

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        episode = self.scenario.draw(self.np_random, options)  # validates before anything changes
        r = self.backend.reset(None, [episode], [seed])
        self.episode = episode
        self._over = False
        self._renderer.frame_changed(self)
        info = {"is_success": False, "episode_steps": 0}
        return r.obs[0, 0].astype(np.float32), info if r.infos is None else dict(r.infos[0][0], **info)

    def step(self, action):
        if self._over:
            raise EpisodeOverError("the episode has ended: call reset() before step()")
        check_action(action, AGENT, self._act0)
        r = self.backend.step(self._act)
        if r is not self._r:  # world 0's views, bound once for a backend that hands out one result object
            self._r = r
            self._v = (r.obs[0, 0], r.reward[0], r.terminated[0], r.truncated[0], r.steps, r.infos)
        obs, reward, term, trunc, steps, infos = self._v
        terminated = bool(term[0])
        truncated = bool(trunc[0])
        self._over = terminated or truncated
        info = {"is_success": terminated, "episode_steps": int(steps[0])}
        if infos is not None:
            info = dict(infos[0][0], **info)
        if self._renderer.window is not None:
            self._renderer.frame_changed(self)
        return obs.astype(np.float32), float(reward[0]), terminated, truncated, info

    def close(self) -> None:
        """Release the backend (GAMA: close the connection; a later ``reset`` reconnects)."""
        self.backend.close()
        self._over = True
        self._renderer.close()
