"""``sb3_forager/GamaForager-v0``: the single forager on a GAMA server (GymAgent contract)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ..envs.contract import EpisodeOverError, check_action, check_render_mode
from ..envs.forager_env import AGENT, forager_spaces
from ..sim import SINGLE_FORAGER
from .contracts import GymAgentContract, WorldStep
from .io_loop import run_sync
from .picture import render_report
from .world import GamaWorld


class GamaForagerEnv(gym.Env):
    """``forager_gym.gaml`` (experiment ``gym_env``) run by a GAMA server, as a Gymnasium env.

    The same contract as the embedded :class:`~sb3_forager.envs.forager_env.ForagerEnv`: float32
    ``Box(0, 1, (13,))`` observations, ``Box(-1, 1, (2,))`` actions used unclipped, and
    ``info["is_success"]`` / ``info["episode_steps"]`` on the last step of an episode. It speaks
    gama-gymnasium's GymAgent contract, connects on the first ``reset`` (never at construction),
    and pickles without its connection. Errors are :mod:`sb3_forager.gama.errors` exceptions.

    Args:
        host, port: the GAMA server (``gama-headless.sh -socket <port>``); a non-loopback host is
            logged as a warning, since GAMA runs any expression it is sent, unauthenticated.
        gaml_path: the model file *as the server sees it* (default: the packaged
            ``gaml/forager_gym.gaml``, right when the server runs on this machine).
        experiment: the experiment name in that file.
        timeout: seconds to wait for each command's answer.
        connect_timeout: seconds to connect and receive GAMA's greeting.
        render_mode: ``"rgb_array"`` (drawn here from the observation) or None.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

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
    ) -> None:
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.render_size = int(render_size)
        self.model = SINGLE_FORAGER
        self.observation_space, self.action_space = forager_spaces(self.model)
        self.world = GamaWorld(
            GymAgentContract(self.model),
            host,
            port,
            gaml_path,
            experiment,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        self._last: WorldStep | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)  # seeds np_random for wrappers; the model itself is deterministic
        report = run_sync(self.world.reset(seed), self.world.max_seconds())
        self._last = report
        return report.obs[0].astype(np.float32), dict(report.infos[0])

    def step(self, action):
        if not self.world.in_episode:
            raise EpisodeOverError("the episode has ended: call reset() before step()")
        act = check_action(action, AGENT)
        report = run_sync(self.world.step({AGENT: act}), self.world.max_seconds())
        self._last = report
        terminated = bool(report.terminated[0])
        truncated = bool(report.truncated[0])
        info = dict(report.infos[0])
        if report.episode_over:
            info.update(is_success=bool(report.success), episode_steps=self.world.steps)
        return report.obs[0].astype(np.float32), float(report.reward[0]), terminated, truncated, info

    def render(self):
        if self.render_mode == "rgb_array" and self._last is not None:
            return render_report(self.model, self._last, self.world.steps, self.render_size)
        return None

    def close(self) -> None:
        """Close the connection (GAMA disposes the experiment); a later ``reset`` reconnects."""
        run_sync(self.world.close(), self.world.connect_timeout + 10.0)
        self._last = None
