"""W worlds per GAMA simulation (``--gama-worlds-per-sim W``): one experiment, one expression per step.

The experiments ``gym_worlds_env`` (``gaml/forager_gym_worlds.gaml``) and ``petz_worlds_env``
(``gaml/forager_petz_worlds.gaml``) hold W independent worlds and one bridge agent (``GymWorlds[0]`` /
``PetzWorlds[0]``) whose function actions ``step_worlds`` and ``reset_worlds`` take every world's
actions (or episodes) and return every world's results in one round trip. A world whose episode
ends restarts the same episode inside GAMA in that step; the Python side then draws the world's next
episode as the embedded VecEnv does and, only when it differs (a random scenario), sends it with
``reset_worlds`` (a second round trip in that step). :class:`GamaSimWorlds` is the
:class:`~sb3_forager.sim.backend.Backend` over N worlds in ceil(N / W) such simulations.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..sim import Episode, StepResult
from .address import warn_if_remote
from . import batch_parse
from .backend import GamaWorlds, gather_all
from .connection import GamaExperiment
from .contracts import BridgeContract, check_map, gaml_number, number_list
from .errors import (
    GamaCommandError,
    GamaConnectionLostError,
    GamaEpisodeLostError,
    GamaError,
    GamaProtocolError,
    GamaSimulationError,
    GamaTimeoutError,
)
from .io_loop import run_sync
from .paths import packaged_gaml

log = logging.getLogger(__name__)

#: the largest W: every step's answer carries all W worlds in one message. At 1024 worlds of the
#: ten-forager stress team that is about 4 MB of JSON (far below the connection's 64 MiB limit) and
#: one GAML call stepping 10 240 foragers, which must finish within the command timeout.
MAX_WORLDS_PER_SIM = 1024


@dataclass(frozen=True)
class WorldsExperiment:
    """The W-world experiment of one set of rules: file, experiment and bridge species."""

    gaml_file: str
    experiment: str
    bridge: str


#: rules -> its W-world experiment (the contract check of ``check-gaml`` reads this table)
WORLDS_EXPERIMENTS: dict[str, WorldsExperiment] = {
    "single": WorldsExperiment("forager_gym_worlds.gaml", "gym_worlds_env", "GymWorlds"),
    "team": WorldsExperiment("forager_petz_worlds.gaml", "petz_worlds_env", "PetzWorlds"),
}


def worlds_per_sim_value(w: Any) -> int:
    """W as an int in [1, MAX_WORLDS_PER_SIM] (ValueError naming the value and the limit otherwise)."""
    if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or not 1 <= int(w) <= MAX_WORLDS_PER_SIM:
        raise ValueError(
            f"worlds per GAMA simulation must be an integer in [1, {MAX_WORLDS_PER_SIM}], got {w!r} (every step's "
            "answer carries all of a simulation's worlds in one message, which must stay far below the "
            "connection's message limit and finish within the command timeout)"
        )
    return int(w)


class WorldsContract:
    """The expressions of the W-world bridge and their strict parsers (built on the one-world contract)."""

    def __init__(self, base: BridgeContract) -> None:
        self.base = base
        self.rules = base.scenario.rules
        self.spec = WORLDS_EXPERIMENTS[self.rules]
        b = self.spec.bridge
        if self.rules == "single":
            self.spaces_expr = f"[{b}[0].world_count, {b}[0].observation_space, {b}[0].action_space]"
        else:
            self.spaces_expr = (
                f"[{b}[0].world_count, {b}[0].possible_agents, {b}[0].observation_spaces, {b}[0].action_spaces]"
            )

    def parameters(self, n_worlds: int) -> list[dict[str, Any]]:
        """The load parameters of a simulation of ``n_worlds`` worlds."""
        params: list[dict[str, Any]] = [{"name": "n_worlds", "type": "int", "value": int(n_worlds)}]
        if self.rules == "team":
            params.append({"name": "n_foragers", "type": "int", "value": len(self.base.agent_ids)})
            params.append({"name": "teammate", "type": "string", "value": self.base.scenario.teammate})
        return params

    def check_spaces(self, value: Any, n_worlds: int) -> None:
        if not isinstance(value, list) or len(value) < 2:
            raise GamaProtocolError(f"{self.spaces_expr} must give a list, got {value!r:.200}")
        if value[0] != n_worlds:
            raise GamaProtocolError(f"{self.spec.bridge}[0].world_count is {value[0]!r}, expected {n_worlds}")
        self.base.check_spaces(value[1:])

    def reset_expr(self, episodes: Sequence[tuple[int, Episode]]) -> str:
        body = [
            {"world": w, "starts": [list(map(float, p)) for p in ep.starts],
             "obstacles": [list(map(float, c)) for c in ep.obstacles], "food": list(map(float, ep.food)),
             "max_steps": int(ep.max_steps)}
            for w, ep in episodes
        ]  # fmt: skip
        return f"{self.spec.bridge}[0].reset_worlds('{json.dumps(body, separators=(',', ':'))}')"

    def action_entry(self, actions: np.ndarray, acting: np.ndarray | None) -> str:
        """One world's entry of ``step_worlds``: ``[ax,ay]`` (single) or ``{"forager_0":[ax,ay],...}``."""
        if self.rules == "single":
            return number_list(actions[0])
        ids = self.base.agent_ids
        return "{" + ",".join(f'"{a}":{number_list(actions[k])}' for k, a in enumerate(ids)
                              if acting is None or acting[k]) + "}"  # fmt: skip

    def action_entries(self, actions: np.ndarray, acting: np.ndarray | None) -> list[str]:
        """Every world's entry of ``step_worlds`` (``actions`` (n, K, 2))."""
        if self.rules == "single":
            pairs = np.asarray(actions, dtype=np.float64)[:, 0].tolist()
            return [f"[{gaml_number(ax)},{gaml_number(ay)}]" for ax, ay in pairs]
        return [self.action_entry(a, None if acting is None else acting[w]) for w, a in enumerate(actions)]

    def step_expr(self, entries: Sequence[str | None]) -> str:
        return f"{self.spec.bridge}[0].step_worlds('[" + ",".join("null" if e is None else e for e in entries) + "]')"

    def _one_reset(self, value: Any, what: str) -> StepResult:
        m = check_map(value, what, keys=("Observations", "Infos", "Agents") if self.rules == "team" else ("State", "Info"))
        if self.rules == "single":
            return self.base.parse_reset([m["State"], m["Info"]])
        return self.base.parse_reset([m["Agents"], m["Observations"], m["Infos"]])

    def parse_reset(self, value: Any, worlds: Sequence[int]) -> list[StepResult]:
        if not isinstance(value, list) or len(value) != len(worlds):
            raise GamaProtocolError(f"reset_worlds must give {len(worlds)} maps, got {value!r:.200}")
        out = []
        for w, m in zip(worlds, value):
            what = f"reset_worlds(...)[world {w}]"
            if check_map(m, what, keys=("world",))["world"] != w:
                raise GamaProtocolError(f"{what}['world'] is {m['world']!r}, expected {w}")
            out.append(self._one_reset(m, what))
        return out

    def parse_step(self, value: Any, stepped: Sequence[bool]) -> list[tuple[StepResult, StepResult | None] | None]:
        if not isinstance(value, list) or len(value) != len(stepped):
            raise GamaProtocolError(f"step_worlds must give {len(stepped)} maps (one per world), got {value!r:.200}")
        out: list[tuple[StepResult, StepResult | None] | None] = []
        for w, (m, on) in enumerate(zip(value, stepped)):
            if not on:
                out.append(None)
                continue
            what = f"step_worlds(...)[world {w}]"
            data = check_map(m, what)
            try:
                if self.rules == "single":
                    report = self.base.parse_step({k: v for k, v in data.items() if k != "Reset"})
                else:
                    report = self.base.parse_step([data, check_map(data, what, keys=("Agents",))["Agents"]])
            except GamaProtocolError as exc:  # the one-world parser names the field, not the world
                raise GamaProtocolError(f"{what}: {exc}") from None
            fresh = None
            if report.episode_over[0]:
                fresh = self._one_reset(check_map(data, what, keys=("Reset",))["Reset"], f"{what}['Reset']")
            elif "Reset" in data:
                raise GamaProtocolError(f"{what} has a 'Reset' but its episode did not end")
            out.append((report, fresh))
        return out

    def parse_step_all(self, value: Any, n: int) -> tuple[StepResult, dict[int, StepResult]]:
        """The answer of all ``n`` worlds stepped: their (n, ...) result and the restarts of the ended
        ones. One pass over the answer (:mod:`.batch_parse`); what it does not accept goes through
        the strict per-world :meth:`parse_step` (which names the world of bad data)."""
        b = self.base
        fast = (batch_parse.single(value, n, b.obs_dim) if self.rules == "single"
                else batch_parse.team(value, n, b.agent_ids, b.obs_dim))  # fmt: skip
        if fast is None:
            pairs = self.parse_step(value, [True] * n)
            return (batch_parse.join([p[0] for p in pairs]),  # type: ignore[index]
                    {w: p[1] for w, p in enumerate(pairs) if p is not None and p[1] is not None})  # fmt: skip
        result, resets = fast
        return result, {w: self._one_reset(value[w]["Reset"], f"step_worlds(...)[world {w}]['Reset']") for w in resets}


class GamaSim:
    """One GAMA simulation of ``n`` worlds of the W-world experiment of ``contract``'s rules."""

    def __init__(
        self, contract: BridgeContract, n: int, host: str, port: int, gaml_path: str | None = None,
        timeout: float = 30.0, connect_timeout: float = 5.0,
    ) -> None:  # fmt: skip
        if float(timeout) <= 0 or float(connect_timeout) <= 0:
            raise ValueError(f"timeouts must be > 0, got timeout={timeout!r}, connect_timeout={connect_timeout!r}")
        warn_if_remote(host, port)
        self.contract = WorldsContract(contract)
        self.n = worlds_per_sim_value(n)
        self.host, self.port = host, int(port)
        self.gaml_path = str(gaml_path or packaged_gaml(self.contract.spec.gaml_file))
        self.experiment = self.contract.spec.experiment
        self.timeout, self.connect_timeout = float(timeout), float(connect_timeout)
        self._exp: GamaExperiment | None = None
        self._pid = os.getpid()
        self.episodes: list[Episode | None] = [None] * self.n
        self.logs: list[list[str]] = [[] for _ in range(self.n)]  # each world's action entries this episode
        self.last: list[tuple[StepResult, int] | None] = [None] * self.n  # each world's last report: (result, row)
        self.over = [True] * self.n  # no episode running (never reset, or ended without a next one)
        self.round_trips = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def max_seconds(self) -> float:
        replay = max((len(x) for x in self.logs), default=0) + 4
        return replay * self.timeout + 2 * self.connect_timeout + 10.0

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__, _exp=None)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _where(self) -> str:
        return f"the GAML model ({self.experiment} of {self.gaml_path}) on the GAMA server {self.address}"

    async def _eval(self, expr: str) -> Any:
        assert self._exp is not None
        self.round_trips += 1
        try:
            return await self._exp.evaluate(expr)
        except GamaCommandError as exc:
            if isinstance(exc, GamaSimulationError) or exc.message_type == "UnableToExecuteRequest":
                raise GamaSimulationError(f"{self._where()} failed: {exc}", message_type=exc.message_type,
                                          content=exc.content) from None  # fmt: skip
            raise

    def _parse(self, parse: Callable[[], Any]) -> Any:
        try:
            return parse()
        except GamaProtocolError as exc:
            raise GamaProtocolError(f"bad data from {self._where()}: {exc}") from None

    async def _connect(self) -> None:
        if self._exp is not None and self._exp.usable and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        old, self._exp = self._exp, None
        if old is not None:
            await old.close()
        exp = GamaExperiment(self.host, self.port, self.gaml_path, self.experiment, timeout=self.timeout,
                             connect_timeout=self.connect_timeout, parameters=self.contract.parameters(self.n))  # fmt: skip
        await exp.start()
        self._exp = exp
        try:
            spaces = await self._eval(self.contract.spaces_expr)
            self._parse(lambda: self.contract.check_spaces(spaces, self.n))
        except BaseException:
            self._exp = None
            await exp.close()
            raise

    async def reset(self, worlds: Sequence[int], episodes: Sequence[Episode]) -> list[StepResult]:
        """Start ``episodes`` in the (local) ``worlds``; their first reports."""
        if self._exp is None or not self._exp.usable:
            await self._connect()
        try:
            value = await self._eval(self.contract.reset_expr(list(zip(worlds, episodes))))
        except (GamaTimeoutError, GamaConnectionLostError, asyncio.CancelledError):
            await self._drop()
            raise
        reports = self._parse(lambda: self.contract.parse_reset(value, list(worlds)))
        for w, ep, r in zip(worlds, episodes, reports):
            self.episodes[w], self.logs[w], self.last[w], self.over[w] = ep, [], (r, 0), False
        return reports

    async def step(self, actions: np.ndarray, acting: np.ndarray | None) -> tuple[StepResult, dict[int, StepResult]]:
        """One step of every world: ``actions`` (n, K, 2); the (n, ...) result and, for the ended
        worlds (by local index), the first report of their restart."""
        idle = [w for w in range(self.n) if self.over[w]]
        if idle:
            raise GamaError(f"no episode is running in world {idle[0]} of this GAMA simulation: call reset() first")
        if self._exp is None or not self._exp.usable:
            await self.restore()
        entries = self.contract.action_entries(actions, acting)
        try:
            value = await self._eval(self.contract.step_expr(entries))
        except GamaConnectionLostError as exc:
            await self._drop()
            raise GamaConnectionLostError(f"{exc}; the simulation of {self.n} worlds is lost with the connection") from None
        except (GamaTimeoutError, asyncio.CancelledError):
            await self._drop()
            raise
        result, fresh = self._parse(lambda: self.contract.parse_step_all(value, self.n))
        for w in range(self.n):
            self.logs[w].append(entries[w])
            self.last[w] = (result, w)
        for w, report in fresh.items():  # restarted by the model with the same episode
            self.logs[w], self.last[w] = [], (report, 0)
        return result, fresh

    async def _drop(self) -> None:
        exp, self._exp = self._exp, None
        if exp is not None:
            await exp.close()

    async def restore(self) -> None:
        """A fresh experiment with every running episode rebuilt: each world reset to its episode, then
        its actions replayed (worlds of shorter logs wait); the last reports must come out the same."""
        await self._drop()
        running = [w for w in range(self.n) if not self.over[w] and self.episodes[w] is not None]
        log.warning("%s: reloading the simulation of %d worlds and replaying %d step(s)", self.address, self.n,
                    max((len(self.logs[w]) for w in running), default=0))  # fmt: skip
        target = {w: self.last[w] for w in running}
        logs = {w: list(self.logs[w]) for w in running}
        try:
            await self._connect()
            if running:
                value = await self._eval(self.contract.reset_expr([(w, self.episodes[w]) for w in running]))
                rebuilt = dict(zip(running, self._parse(lambda: self.contract.parse_reset(value, running))))
                for t in range(max(len(x) for x in logs.values())):
                    entries = [logs[w][t] if w in logs and t < len(logs[w]) else None for w in range(self.n)]
                    value = await self._eval(self.contract.step_expr(entries))
                    results = self._parse(lambda: self.contract.parse_step(value, [e is not None for e in entries]))
                    for w, res in enumerate(results):
                        if res is not None:
                            rebuilt[w] = res[0]
        except GamaError as exc:
            await self._drop()
            raise GamaEpisodeLostError(f"{exc} (while reconnecting to restore the simulation); call reset()") from exc
        for w in running:
            a, (b, i) = rebuilt[w], target[w]  # type: ignore[misc]
            if not (np.array_equal(a.obs, b.obs[i:i + 1]) and np.array_equal(a.reward, b.reward[i:i + 1])):
                await self._drop()
                raise GamaEpisodeLostError(
                    f"replaying world {w}'s {len(logs[w])} actions on a new simulation at {self.address} did not "
                    "reproduce its last observation (is the model random?); call reset()"
                )
        self.logs = [logs.get(w, []) for w in range(self.n)]

    async def close(self) -> None:
        await self._drop()


class GamaSimWorlds(GamaWorlds):
    """The backend of N worlds in ceil(N / W) GAMA simulations (the last holds the rest), simulations
    spread round-robin over ``addresses``; each step is one round trip per simulation, all in flight."""

    def __init__(
        self, contract: Callable[[int], BridgeContract], n_worlds: int, worlds_per_sim: int,
        addresses: Sequence[tuple[str, int]], gaml_path: str | None = None, timeout: float = 30.0,
        connect_timeout: float = 5.0, default: Any = None,
    ) -> None:  # fmt: skip
        w = worlds_per_sim_value(worlds_per_sim)
        self.n_worlds = int(n_worlds)
        self.sims: list[GamaSim] = []
        self._where: list[tuple[int, int]] = []
        for s, start in enumerate(range(0, self.n_worlds, w)):
            size = min(w, self.n_worlds - start)
            host, port = addresses[s % len(addresses)]
            self.sims.append(GamaSim(contract(start), size, host, port, gaml_path, timeout, connect_timeout))
            self._where += [(s, i) for i in range(size)]
        self.worlds = self.sims  # what run_recovering restores (a dead server's simulations)
        self.n_agents = len(self.sims[0].contract.base.agent_ids)
        self._init_world_state()
        # each world's last report as (result, row): a step's result is shared, not cut per world
        self._last: list[tuple[StepResult, int] | None] = [None] * self.n_worlds

    @property
    def round_trips(self) -> int:
        """Commands answered so far (every simulation), for the benchmark."""
        return sum(s.round_trips for s in self.sims)

    def _run(self, coro: Any) -> Any:
        return run_sync(coro, max(s.max_seconds() for s in self.sims) * 2)

    def _run_sims(self, make: Callable[[int], Any], idx: Sequence[int]) -> list[Any]:
        from .launcher import managed
        from .recovery import run_recovering

        if not any(managed(self.sims[s].address) for s in idx):
            return self._run(gather_all(make(s) for s in idx))
        return run_recovering(self._run, self.sims, make, list(idx))

    def reset(self, worlds: Any = None, episodes: Sequence[Episode] | None = None,
              seeds: Sequence[int | None] | None = None) -> StepResult:  # fmt: skip
        """Start ``episodes`` in ``worlds``. Seeds are not sent: one simulation has one random generator
        for all its worlds and the forager models draw nothing (the episodes the seeds chose are sent)."""
        idx, eps = self._reset_jobs(worlds, episodes)
        self._reset_many(dict(zip(idx, eps)))
        return self._reset_result(idx)

    def _reset_many(self, jobs: dict[int, Episode]) -> None:
        per_sim: dict[int, list[tuple[int, int]]] = {}
        for w in jobs:
            s, i = self._where[w]
            per_sim.setdefault(s, []).append((w, i))
        sims = sorted(per_sim)
        outs = self._run_sims(lambda s: self.sims[s].reset([i for _, i in per_sim[s]], [jobs[w] for w, _ in per_sim[s]]),
                              sims)  # fmt: skip
        for s, reports in zip(sims, outs):
            for (w, _), r in zip(per_sim[s], reports):
                self.episodes[w], self._last[w] = jobs[w], (r, 0)
                self._arrival[w], self._at_food[w], self.steps[w] = -1, False, 0

    def step(self, actions: np.ndarray, acting: np.ndarray | None = None,
             next_episode: Callable[[int], Episode] | None = None) -> StepResult:  # fmt: skip
        starts = np.cumsum([0] + [s.n for s in self.sims])
        outs = self._run_sims(
            lambda s: self.sims[s].step(actions[starts[s]:starts[s + 1]],
                                        None if acting is None else acting[starts[s]:starts[s + 1]]),
            range(len(self.sims)),
        )  # fmt: skip
        batch = batch_parse.join([o[0] for o in outs])
        restarted = {int(starts[s]) + i: r for s, o in enumerate(outs) for i, r in o[1].items()}
        # the step counts and arrival steps of all worlds at once (the reports' own are blanks)
        self.steps += 1
        arrived = batch.at_food & ~self._at_food
        self._arrival[arrived] = np.broadcast_to(self.steps[:, None], arrived.shape)[arrived]
        self._at_food = batch.at_food.copy()
        result = StepResult(batch.obs, batch.reward, batch.terminated, batch.truncated, batch.episode_over,
                            batch.success, batch.at_food, self._arrival.copy(), self.steps.copy(), batch.infos)  # fmt: skip
        self._last = [(batch, w) for w in range(self.n_worlds)]
        fresh: dict[int, StepResult] = {}
        redo: dict[int, Episode] = {}
        for w, report in restarted.items():
            s, i = self._where[w]
            if next_episode is None:
                self.sims[s].over[i] = True  # ended: the next step needs a reset first (as a GAMA world)
                continue
            episode = next_episode(w)
            if episode == self.episodes[w]:
                fresh[w] = report
                self._last[w] = (report, 0)
                self._arrival[w], self._at_food[w], self.steps[w] = -1, False, 0
            else:
                redo[w] = episode
        if redo:
            self._reset_many(redo)
            fresh.update({w: self._last[w][0] for w in redo})  # type: ignore[index]
        if fresh:
            reset_obs = batch.obs.copy()
            for w, r in fresh.items():
                reset_obs[w] = r.obs[0]
            result.reset_obs = reset_obs
        return result

    def last_report(self, w: int) -> StepResult | None:
        e = self._last[w]
        if e is None:
            return None
        return e[0] if e[1] == 0 and len(e[0].obs) == 1 else batch_parse.row(*e)

    def close(self) -> None:
        self._run(gather_all(s.close() for s in self.sims))
        self._last = [None] * self.n_worlds

