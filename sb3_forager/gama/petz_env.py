"""Foragers in a team on a GAMA server, as a PettingZoo ParallelEnv (PetzAgent contract).

Why not subclass gama-pettingzoo's ``GamaParallelEnv``: in gama-pettingzoo 1.0.0 its ``step()``
always raises (it passes ``nb_steps=`` to ``GamaClientWrapperPtZ.execute_step()``, which has no
such parameter) and it never re-reads ``PetzAgent[0].agents``, so ``agents`` is never emptied at
the end of an episode; on top of that it connects inside ``__init__`` (needs a running event loop,
cannot be pickled). Fixing those means replacing ``__init__``, ``reset`` and ``step``, i.e. all of
it, so this env drives the *same wire contract* directly (see :mod:`sb3_forager.gama.contracts`):
``PetzAgent[0].actions <- from_json('...')``, one synchronous cycle, then ``PetzAgent[0].data``
read together with ``PetzAgent[0].agents``. Any model written for PetzAgent works with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..envs.contract import EpisodeOverError
from ..envs.team_env import TeamEnvBase, team_scenario
from ..sim import COOP, STRESS, Scenario
from .contracts import PetzAgentContract, WorldStep, default_parameters, scenario_parameters
from .io_loop import run_sync
from .picture import render_report
from .world import GamaWorld

#: the packaged models and their tutorial scenarios, by experiment
DEFAULT_SCENARIOS = {"petz_env": COOP, "petz_stress_env": STRESS}


class GamaTeamEnv(TeamEnvBase):
    """A team model (``forager_petz.gaml``, experiment ``petz_env``, or the stress test
    ``forager_petz_stress.gaml``, ``petz_stress_env``) run by a GAMA server, as a ParallelEnv.

    The same contract as the embedded :class:`~sb3_forager.envs.team_env.ForagerTeamEnv`: float32
    ``Box(0, 1, (15,))`` observations per forager, ``agents`` emptied when the episode ends, a
    forager with neither flag at the end gets the team's outcome, ``at_food`` in every info and
    ``is_success`` / ``episode_steps`` / ``arrival_step`` in the last ones. The scenario of each
    episode is drawn here (``reset(seed=...)`` seeds it) and sent as experiment parameters, so a
    seeded episode is the same one as on the embedded backend. Connects on the first ``reset``
    and pickles without its connection, so it works inside SuperSuit and in subprocess workers.

    Args:
        host, port, gaml_path, experiment, timeout, connect_timeout: the server, the model as the
            server sees it (default: the packaged ``gaml_file``), its experiment, the timeouts.
        gaml_file: the packaged model file (``forager_petz.gaml`` or ``forager_petz_stress.gaml``).
        base: the default scenario (the module's; the tutorial pair for ``petz_env``).
        render_mode: ``"rgb_array"``, ``"human"`` (drawn here from the observations) or None.
        scenario and scenario keyword arguments: as for the embedded team env.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1001,
        gaml_path: str | None = None,
        experiment: str = "petz_env",
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        render_mode: str | None = None,
        render_size: int = 400,
        gaml_file: str = "forager_petz.gaml",
        base: Scenario = COOP,
        scenario: Scenario | None = None,
        **kwargs: Any,
    ) -> None:
        self._setup(team_scenario(scenario, kwargs, base), render_mode, render_size)
        # the parameters of the model's own scenario: an episode with exactly these sends none,
        # until some were sent (GAMA keeps the last ones given)
        self._default_parameters = default_parameters(DEFAULT_SCENARIOS.get(experiment))
        self.world = GamaWorld(
            PetzAgentContract(self.scenario, experiment=experiment, gaml_file=gaml_file),
            host,
            port,
            gaml_path,
            experiment,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        self._last: WorldStep | None = None
        self._arrival = np.full(self.scenario.n_foragers, -1, dtype=np.int64)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        episode = self._draw_episode(seed, options)  # validated before anything is sent
        params = scenario_parameters(episode, self.scenario)
        report = run_sync(
            self.world.reset(seed, params, default=params == self._default_parameters), self.world.max_seconds()
        )
        self.episode = episode
        self._last = report
        self._arrival[:] = -1
        out = self._reset_dicts(report.obs, [dict(i, at_food=False) for i in report.infos])
        self._renderer.frame_changed(self)
        return out

    def step(self, actions: dict[str, Any]):
        batch, acting = self._checked_actions(actions)
        ordered = {a: batch[0, k].copy() for k, a in enumerate(self.possible_agents) if acting[0, k]}
        before = self._last.at_food.copy() if self._last is not None else np.zeros(len(self._arrival), dtype=bool)
        r = run_sync(self.world.step(ordered), self.world.max_seconds())
        self._last = r
        self._arrival[r.at_food & ~before] = self.world.steps
        out = self._step_dicts(
            r.obs, r.reward, r.terminated, r.truncated, r.episode_over, r.success,
            self.world.steps, r.at_food, self._arrival, r.infos,
        )  # fmt: skip
        self._renderer.frame_changed(self)
        return out

    def frame(self) -> np.ndarray:
        return render_report(self._last, self.episode, self.world.steps, self._renderer.size)

    def render(self):
        if self._last is None:
            return None
        return self._renderer.render(self)

    def state(self) -> np.ndarray:
        """The foragers' observations, concatenated (float32; see ``state_space``)."""
        if self._last is None:
            raise EpisodeOverError("no state before the first reset()")
        return self._last.obs.astype(np.float32).reshape(-1)

    def close(self) -> None:
        """Close the connection (GAMA disposes the experiment); a later ``reset`` reconnects."""
        run_sync(self.world.close(), self.world.connect_timeout + 10.0)
        self._last = None
        self.agents = []
        self._renderer.close()


#: the previous name of the pair env
GamaForagerCoopEnv = GamaTeamEnv
