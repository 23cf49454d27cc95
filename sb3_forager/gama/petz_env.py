"""The cooperative forager pair on a GAMA server, as a PettingZoo ParallelEnv (PetzAgent contract).

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
from ..envs.coop_env import CoopEnvBase
from ..sim import COOP_FORAGERS
from .contracts import PetzAgentContract, WorldStep
from .io_loop import run_sync
from .picture import render_report
from .world import GamaWorld


class GamaForagerCoopEnv(CoopEnvBase):
    """``forager_petz.gaml`` (experiment ``petz_env``) run by a GAMA server, as a ParallelEnv.

    The same contract as the embedded :class:`~sb3_forager.envs.coop_env.ForagerCoopEnv`: float32
    ``Box(0, 1, (15,))`` observations per forager, ``agents`` emptied when the episode ends, a
    forager with neither flag at the end gets the team's outcome, and ``is_success`` /
    ``episode_steps`` in the last infos. Connects on the first ``reset`` and pickles without
    its connection, so it works inside SuperSuit and in subprocess workers.

    Args:
        host, port, gaml_path, experiment, timeout, connect_timeout: as for
            :class:`~sb3_forager.gama.gym_env.GamaForagerEnv` (default model: the packaged
            ``gaml/forager_petz.gaml``, experiment ``petz_env``).
        max_cycles: the episode length; the GAML model fixes it at 300, so only 300 is accepted.
        render_mode: ``"rgb_array"`` (drawn here from the observations) or None.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1001,
        gaml_path: str | None = None,
        experiment: str = "petz_env",
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_cycles: int = 300,
        render_mode: str | None = None,
        render_size: int = 400,
    ) -> None:
        if int(max_cycles) != COOP_FORAGERS.world.max_steps:
            raise ValueError(
                f"max_cycles={max_cycles!r}: the GAML model fixes the episode length at "
                f"{COOP_FORAGERS.world.max_steps} steps (edit max_steps in the .gaml file to change it)"
            )
        self._setup(COOP_FORAGERS, render_mode, render_size)
        self.world = GamaWorld(
            PetzAgentContract(self.model),
            host,
            port,
            gaml_path,
            experiment,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        self._last: WorldStep | None = None

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        report = run_sync(self.world.reset(seed), self.world.max_seconds())
        self._last = report
        return self._reset_dicts(report.obs, report.infos)

    def step(self, actions: dict[str, Any]):
        ordered = self._checked_actions(actions)
        r = run_sync(self.world.step(ordered), self.world.max_seconds())
        self._last = r
        return self._step_dicts(
            r.obs, r.reward, r.terminated, r.truncated, r.episode_over, r.success, self.world.steps, r.infos
        )

    def render(self):
        if self.render_mode == "rgb_array" and self._last is not None:
            return render_report(self.model, self._last, self.world.steps, self.render_size)
        return None

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
