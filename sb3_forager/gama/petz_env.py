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
from gymnasium import spaces
from pettingzoo import ParallelEnv

from ..envs.contract import EpisodeOverError, check_agent_actions, end_of_episode_flags
from ..envs.forager_env import forager_spaces
from ..sim import COOP_FORAGERS
from .address import warn_if_remote
from .contracts import PetzAgentContract, WorldStep
from .io_loop import run_sync
from .paths import packaged_gaml
from .picture import render_report
from .world import GamaWorld


class GamaForagerCoopEnv(ParallelEnv):
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

    metadata = {"render_modes": ["rgb_array"], "name": "forager_coop_v0", "is_parallelizable": True, "render_fps": 10}

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
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if int(max_cycles) != COOP_FORAGERS.world.max_steps:
            raise ValueError(
                f"max_cycles={max_cycles!r}: the GAML model fixes the episode length at "
                f"{COOP_FORAGERS.world.max_steps} steps (edit max_steps in the .gaml file to change it)"
            )
        self.render_mode = render_mode
        self.render_size = int(render_size)
        self.model = COOP_FORAGERS
        self.max_cycles = self.model.world.max_steps
        self.possible_agents = list(self.model.agent_ids)
        self.agents: list[str] = []
        self._obs_space, self._act_space = forager_spaces(self.model)
        self.state_space = spaces.Box(0.0, 1.0, (self.model.obs_dim * self.model.n_agents,), dtype=np.float32)
        contract = PetzAgentContract(self.model)
        warn_if_remote(host, port)
        self.world = GamaWorld(
            contract,
            host,
            port,
            gaml_path or packaged_gaml(contract.gaml_file),
            experiment,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        self._last: WorldStep | None = None

    # One shared space object per kind (no lru_cache: it would keep every env, and its
    # connection, alive for the life of the process).
    def observation_space(self, agent: str) -> spaces.Box:
        self._check_agent(agent)
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Box:
        self._check_agent(agent)
        return self._act_space

    def _check_agent(self, agent: str) -> None:
        if agent not in self.possible_agents:
            raise KeyError(f"unknown agent {agent!r}; the agents are {self.possible_agents}")

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        report = run_sync(self.world.reset(seed), self.world.max_seconds())
        self._last = report
        self.agents = list(self.possible_agents)
        obs = report.obs.astype(np.float32)
        return {a: obs[k] for k, a in enumerate(self.possible_agents)}, {
            a: dict(report.infos[k]) for k, a in enumerate(self.possible_agents)
        }

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise EpisodeOverError("the episode has ended (no agents left): call reset() before step()")
        checked = check_agent_actions(actions, self.agents, self.possible_agents)
        ordered = {a: checked[a] for a in self.possible_agents if a in checked}
        r = run_sync(self.world.step(ordered), self.world.max_seconds())
        self._last = r
        over = np.array([r.episode_over])
        terminated, truncated = end_of_episode_flags(r.terminated[None], r.truncated[None], over, np.array([r.success]))
        live = self.agents
        obs = r.obs.astype(np.float32)
        index = {a: k for k, a in enumerate(self.possible_agents)}
        rewards = {a: float(r.reward[index[a]]) for a in live}
        terms = {a: bool(terminated[0, index[a]]) for a in live}
        truncs = {a: bool(truncated[0, index[a]]) for a in live}
        infos = {a: dict(r.infos[index[a]]) for a in live}
        if r.episode_over:
            self.agents = []
            for a in live:
                infos[a].update(is_success=bool(r.success), episode_steps=self.world.steps)
        return {a: obs[index[a]] for a in live}, rewards, terms, truncs, infos

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
