"""One forager world run by a GAMA experiment: reset and step through a bridge contract.

Coroutines for the backend's I/O loop (:class:`~sb3_forager.gama.backend.GamaWorlds` calls them
through ``run_sync``). When a world reconnects, replays its episode or gives up: ``docs/model.md``,
section "The GAMA server protocol".
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from .address import warn_if_remote
from ..sim import StepResult
from .connection import GamaExperiment
from .contracts import BridgeContract
from .errors import (
    GamaCommandError,
    GamaConnectionLostError,
    GamaEpisodeLostError,
    GamaError,
    GamaProtocolError,
    GamaSimulationError,
    GamaTimeoutError,
)
from .paths import packaged_gaml

#: the statement a reset with a seed sends before reading the first observation (checked by check-gaml)
SEED_STATEMENT = "seed <- {seed};"

log = logging.getLogger(__name__)

#: a server-side close counts as an idle keep-alive drop when nothing was sent for this long before
IDLE_GRACE = 0.2
#: episodes longer than this are not kept for replay (the forager models stop at 300 steps)
MAX_REPLAY = 10_000

_background: set[asyncio.Task[Any]] = set()


class GamaWorld:
    """A world of ``contract``'s model, run by experiment ``experiment`` of ``gaml_path`` on ``host:port``.

    ``gaml_path`` is the model as the server sees it (default: the packaged model of the contract),
    ``experiment`` defaults to the contract's (``gym_env`` / ``petz_env``).
    """

    def __init__(
        self,
        contract: BridgeContract,
        host: str,
        port: int,
        gaml_path: str | None = None,
        experiment: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:
        if float(timeout) <= 0 or float(connect_timeout) <= 0:
            raise ValueError(f"timeouts must be > 0, got timeout={timeout!r}, connect_timeout={connect_timeout!r}")
        warn_if_remote(host, port)  # logged once per address
        self.contract = contract
        self.host = host
        self.port = int(port)
        self.gaml_path = str(gaml_path or packaged_gaml(contract.gaml_file))
        self.experiment = str(experiment or contract.experiment)
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self._init_state()

    def _init_state(self) -> None:
        self._exp: GamaExperiment | None = None
        self._finalizer: weakref.finalize | None = None
        self._pid = os.getpid()
        self._broken: str | None = None  # why the current episode cannot go on
        self._broken_cls: type[GamaError] = GamaEpisodeLostError  # the error a later step raises
        self._broken_type: str | None = None  # ... and for a GAML failure, GAMA's message type and content
        self._broken_content: Any = None
        self._seed: int | None = None
        self._parameters: list[dict[str, Any]] | None = None  # the episode's experiment parameters
        self._sent_parameters = False  # parameters were sent once: from then on every reload sends them
        self._log: list[str] | None = []  # action statements of the current episode (None: too long)
        self._last: StepResult | None = None
        self._idle_since = time.monotonic()
        self.steps = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def max_seconds(self) -> float:
        """An upper bound on the duration of the next :meth:`reset` or :meth:`step` (a safety net)."""
        replay = len(self._log or ()) * 3 + 8
        return replay * self.timeout + 2 * self.connect_timeout + 10.0

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_exp"] = None  # never pickle a live connection; it is rebuilt on use
        state["_finalizer"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pid = os.getpid()

    # ------------------------------------------------------------------ episodes
    async def reset(
        self, seed: int | None = None, parameters: list[dict[str, Any]] | None = None, default: bool = False
    ) -> StepResult:
        """Start a new episode: reload the experiment (connecting and loading it first if needed).

        Args:
            seed: sent as ``seed <- seed;`` after the reload (the forager models draw nothing).
            parameters: the episode's experiment parameters (the scenario; see
                :func:`~sb3_forager.gama.contracts.scenario_parameters`).
            default: the parameters are the model's own defaults (the tutorial scenario): they are
                then not sent, unless others were sent before (GAMA keeps the last ones given).
        """
        self._last, self._log, self._broken, self.steps = None, [], None, 0
        self._broken_cls = GamaEpisodeLostError
        send = None
        if parameters is not None and (not default or self._sent_parameters):
            send = [dict(p) for p in parameters]
        try:
            exp = self._usable_experiment()
            if exp is None:
                await self._restart(send)
            else:
                exp.connection.discard_errors()  # errors of the previous episode are stale now
                try:
                    await exp.reload(send)
                except GamaConnectionLostError as exc:
                    log.warning("%s; connecting again to start the new episode", exc)
                    await self._restart(send)
            if send is not None:
                self._sent_parameters = True
            assert self._exp is not None
            if seed is not None:
                await self._exp.evaluate(SEED_STATEMENT.format(seed=int(seed)))
            first = self._parse(self.contract.parse_reset, await self._exp.evaluate(self.contract.reset_expr))
        except (GamaTimeoutError, asyncio.CancelledError):
            self._break("the reset was interrupted", close=True)  # state unknown: the next reset reconnects
            raise
        self._seed = None if seed is None else int(seed)
        self._parameters = send
        self._last = first
        self._broken = None
        self._idle_since = time.monotonic()
        return first

    def _parse(self, parser: Any, value: Any) -> StepResult:
        """Parse an answer, naming this server in a protocol error (the answer is not used)."""
        try:
            return parser(value)
        except GamaProtocolError as exc:
            raise GamaProtocolError(
                f"bad data from the GAML model ({self.experiment} of {self.gaml_path}) on the GAMA server "
                f"{self.address}: {exc}"
            ) from None

    async def step(self, actions: Mapping[str, np.ndarray]) -> StepResult:
        """Hand ``actions`` (agent -> (2,) array) to the model, run one cycle, read the outcome."""
        if self._last is None or self._last.episode_over[0]:
            raise GamaError("no episode is running in this GAMA world: call reset() first")
        if self._broken is not None:
            message = f"{self._broken}; call reset() to start a new episode"
            if issubclass(self._broken_cls, GamaCommandError):  # GAMA's own message type and content
                raise self._broken_cls(message, message_type=self._broken_type, content=self._broken_content)
            raise self._broken_cls(message)
        statement = self.contract.action_expr(actions)
        try:
            if self._usable_experiment() is None:
                await self._recover()
            assert self._exp is not None
            idle_for = time.monotonic() - self._idle_since
            try:
                await self._exp.evaluate(statement)
            except GamaConnectionLostError:
                # dropped just as we spoke after a long pause: the server's idle keep-alive drop
                if idle_for < IDLE_GRACE:
                    raise
                await self._recover(idle_drop=True)
                await self._exp.evaluate(statement)
            await self._exp.step()
            result = self._parse(self.contract.parse_step, await self._exp.evaluate(self.contract.data_expr))
        except GamaEpisodeLostError:
            raise
        except (GamaTimeoutError, GamaConnectionLostError) as exc:
            self._break(f"the episode was interrupted: {exc}", close=True)
            raise type(exc)(
                f"{exc}; the experiment is lost with the connection: call reset() to reconnect and reload"
            ) from None
        except GamaSimulationError as exc:
            self._break(f"the GAML model failed at step {self.steps + 1}: {exc}")
            self._broken_cls = GamaSimulationError  # the connection itself is fine
            self._broken_type, self._broken_content = exc.message_type, exc.content
            raise
        except GamaProtocolError as exc:
            self._break(f"the GAML model sent bad data at step {self.steps + 1}: {exc}")
            self._broken_cls = GamaProtocolError
            raise
        except BaseException as exc:  # cancellation (Ctrl-C), anything unexpected: the episode cannot be trusted
            self._break(f"the episode was interrupted ({public_name(exc)})", close=True)
            raise
        if self._log is not None:
            self._log.append(statement)
            if len(self._log) > MAX_REPLAY:
                self._log = None
        self._last = result
        self.steps += 1
        self._idle_since = time.monotonic()
        return result

    async def restore(self) -> None:
        """After the server was restarted: rebuild the running episode (if any) on a new experiment by
        replaying its actions (:meth:`_recover`), so that the next :meth:`step` goes on from it."""
        if self._last is None or self._last.episode_over[0]:
            return  # no episode running: the next reset connects afresh
        old, self._exp, self._broken = self._exp, None, None
        if old is not None:
            await old.close()
        await self._recover(why="its GAMA server was restarted")

    async def close(self) -> None:
        """Close the connection (the server disposes the experiment); a later reset reconnects."""
        exp, self._exp = self._exp, None
        self._last = None
        self._log = []
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if exp is not None and os.getpid() == self._pid:
            await exp.close()

    # ------------------------------------------------------------------ internals
    def _usable_experiment(self) -> GamaExperiment | None:
        if self._pid != os.getpid():  # inherited through fork: the parent's connection is not ours
            self._exp, self._finalizer, self._pid = None, None, os.getpid()
        exp = self._exp
        return exp if exp is not None and exp.usable else None

    def _break(self, reason: str, close: bool = False) -> None:
        self._broken = reason
        self._broken_cls = GamaEpisodeLostError
        exp = self._exp
        if close and exp is not None:  # close in the background: a stalled server must not delay the error
            self._exp = None
            task = asyncio.get_running_loop().create_task(exp.close())
            _background.add(task)
            task.add_done_callback(_background.discard)

    async def _restart(self, parameters: list[dict[str, Any]] | None = None) -> None:
        """A new connection and a freshly loaded experiment (with ``parameters``), its spaces checked."""
        if self._exp is not None:
            old, self._exp = self._exp, None
            await old.close()
        exp = GamaExperiment(
            self.host,
            self.port,
            self.gaml_path,
            self.experiment,
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            parameters=parameters,
        )
        await exp.start()
        try:
            spaces = await exp.evaluate(self.contract.spaces_expr)
            try:
                self.contract.check_spaces(spaces)
            except GamaProtocolError as exc:
                raise GamaProtocolError(
                    f"the GAML model {self.experiment} of {self.gaml_path} on the GAMA server {self.address} "
                    f"does not declare this env's spaces: {exc}"
                ) from None
        except BaseException:
            await exp.close()
            raise
        self._exp = exp
        if self._finalizer is not None:
            self._finalizer.detach()
        # a world dropped without close() still closes its connection (the server frees the experiment)
        self._finalizer = weakref.finalize(self, _close_soon, exp, asyncio.get_running_loop())

    async def _recover(self, idle_drop: bool = False, why: str | None = None) -> None:
        """Rebuild the running episode on a fresh experiment by replaying its actions, or raise.

        Allowed after unpickling, or when the server closed the connection after it had been idle
        for at least :data:`IDLE_GRACE` seconds (``idle_drop``: the caller saw that happen).
        """
        old = self._exp
        idle = old is None or idle_drop or (old.connection.idle_before_close or 0.0) >= IDLE_GRACE
        if not idle:
            assert old is not None
            self._break("the connection ended during the episode", close=True)
            raise GamaEpisodeLostError(
                f"the connection to the GAMA server at {self.address} ended during the episode "
                f"({old.connection.close_reason}); the experiment is lost with it: call reset() to reconnect and reload"
            )
        if self._log is None:
            self._break("the connection is gone and the episode is too long to replay", close=True)
            raise GamaEpisodeLostError(
                f"the connection to the GAMA server at {self.address} is gone and this episode is too long "
                "to replay; call reset()"
            )
        target = self._last
        assert target is not None
        why = why or ("the server closed the idle connection" if old is not None else "the env was copied or unpickled")
        log.warning(
            "%s (%s): reconnecting and replaying %d step(s) to restore the episode", self.address, why, len(self._log)
        )
        try:
            await self._restart(self._parameters)
            assert self._exp is not None
            if self._seed is not None:
                await self._exp.evaluate(SEED_STATEMENT.format(seed=self._seed))
            if not self._log:
                rebuilt = self._parse(self.contract.parse_reset, await self._exp.evaluate(self.contract.reset_expr))
            else:
                for statement in self._log:
                    await self._exp.evaluate(statement)
                    await self._exp.step()
                rebuilt = self._parse(self.contract.parse_step, await self._exp.evaluate(self.contract.data_expr))
        except BaseException as exc:
            self._break(f"restoring the episode failed: {exc}", close=True)
            if isinstance(exc, GamaError):
                raise GamaEpisodeLostError(f"{exc} (while reconnecting to restore the episode); call reset()") from exc
            raise
        same = (
            np.array_equal(rebuilt.obs, target.obs)
            and np.array_equal(rebuilt.reward, target.reward)
            and np.array_equal(rebuilt.episode_over, target.episode_over)
        )
        if not same:
            self._break("replaying the episode on a new experiment did not reproduce it (is the model random?)")
            raise GamaEpisodeLostError(
                f"the connection to the GAMA server at {self.address} was lost and replaying the episode's "
                f"{len(self._log)} actions on a new experiment did not reproduce its last observation "
                "(is the model random?); call reset()"
            )
        log.info("%s: episode restored after %d replayed step(s)", self.address, len(self._log))


def public_name(exc: BaseException) -> str:
    """The name of ``exc``'s class for messages: its first public class (never a ``_Private`` one)."""
    for cls in type(exc).__mro__:
        if not cls.__name__.startswith("_"):
            return cls.__name__
    return "error"  # pragma: no cover - object is public


def _close_soon(exp: GamaExperiment, loop: asyncio.AbstractEventLoop) -> None:
    """Schedule ``exp.close()`` on ``loop`` without waiting (for garbage-collected worlds)."""
    if exp.connection.closed or loop.is_closed() or exp.connection.pid != os.getpid():
        return
    try:
        asyncio.run_coroutine_threadsafe(exp.close(), loop)
    except RuntimeError:  # the loop is shutting down with the interpreter
        pass
