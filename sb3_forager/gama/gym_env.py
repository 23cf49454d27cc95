"""``sb3_forager/GamaForager-v0``: the single forager on a GAMA server (GymAgent contract)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ..envs.contract import EpisodeOverError, check_action, check_render_mode, forager_spaces
from ..envs.forager_env import AGENT, single_scenario
from ..envs.rendering import FrameRenderer, RenderSizeMixin
from ..sim import FORAGER, Scenario
from .contracts import GymAgentContract, WorldStep, default_parameters, scenario_parameters
from .io_loop import run_sync
from .picture import render_report
from .world import GamaWorld


class GamaForagerEnv(RenderSizeMixin, gym.Env):
    """``forager_gym.gaml`` (experiment ``gym_env``) run by a GAMA server, as a Gymnasium env.

    The same contract as the embedded :class:`~sb3_forager.envs.forager_env.ForagerEnv`: float32
    ``Box(0, 1, (13,))`` observations, ``Box(-1, 1, (2,))`` actions (an action outside the Box
    raises ``ValueError`` before anything is sent), the same scenario arguments, and
    ``is_success`` / ``episode_steps`` in every info. Random starts and layouts are drawn here,
    from the env's generator, and sent to the model as experiment parameters at each reset, so a
    seeded episode is the same one as on the embedded backend. It speaks gama-gymnasium's GymAgent
    contract, connects on the first ``reset`` (never at construction), and pickles without its
    connection. Errors are :mod:`sb3_forager.gama.errors` exceptions.

    Args:
        host, port: the GAMA server (``gama-headless.sh -socket <port>``); a non-loopback host is
            logged as a warning, since GAMA runs any expression it is sent, unauthenticated.
        gaml_path: the model file *as the server sees it* (default: the packaged
            ``gaml/forager_gym.gaml``, right when the server runs on this machine).
        experiment: the experiment name in that file.
        timeout: seconds to wait for each command's answer.
        connect_timeout: seconds to connect and receive GAMA's greeting.
        render_mode: ``"rgb_array"``, ``"human"`` (drawn here from the observation) or None.
        scenario, starts, obstacles, n_obstacles, food, max_steps: as for ``Forager-v0``.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 10}

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1001,
        gaml_path: str | None = None,
        experiment: str = "gym_env",
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        render_mode: str | None = None,
        render_size: int = 400,
        scenario: Scenario | None = None,
        **kwargs: Any,
    ) -> None:
        self.scenario = single_scenario(scenario, kwargs)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self._renderer = FrameRenderer(self.render_mode, int(render_size), self.metadata["render_fps"], "GAMA forager")
        self.observation_space, self.action_space = forager_spaces(self.scenario.obs_dim)
        self.world = GamaWorld(
            GymAgentContract(self.scenario),
            host,
            port,
            gaml_path,
            experiment,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        self.episode = None
        self._last: WorldStep | None = None
        self._act = np.zeros(2)
        #: the parameters of the model's own scenario (the tutorial's): an episode with exactly these
        #: sends none, until some were sent (GAMA keeps the last ones given)
        self._default_parameters = default_parameters(FORAGER)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        episode = self.scenario.draw(self.np_random, options)  # validated before anything is sent
        params = scenario_parameters(episode, self.scenario)
        report = run_sync(
            self.world.reset(seed, params, default=params == self._default_parameters), self.world.max_seconds()
        )
        self.episode = episode
        self._last = report
        self._renderer.frame_changed(self)
        return report.obs[0].astype(np.float32), dict(report.infos[0], is_success=False, episode_steps=0)

    def step(self, action):
        if not self.world.in_episode:
            raise EpisodeOverError("the episode has ended: call reset() before step()")
        act = check_action(action, AGENT, self._act).copy()
        report = run_sync(self.world.step({AGENT: act}), self.world.max_seconds())
        self._last = report
        terminated = bool(report.terminated[0])
        truncated = bool(report.truncated[0])
        info = dict(report.infos[0])
        info.update(is_success=bool(report.success), episode_steps=self.world.steps)
        self._renderer.frame_changed(self)
        return report.obs[0].astype(np.float32), float(report.reward[0]), terminated, truncated, info

    def frame(self) -> np.ndarray:
        return render_report(self._last, self.episode, self.world.steps, self._renderer.size)

    def render(self):
        if self._last is None:
            return None
        return self._renderer.render(self)

    def close(self) -> None:
        """Close the connection (GAMA disposes the experiment); a later ``reset`` reconnects."""
        run_sync(self.world.close(), self.world.connect_timeout + 10.0)
        self._last = None
        self._renderer.close()
