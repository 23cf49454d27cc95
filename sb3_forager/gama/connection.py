"""One WebSocket connection to a GAMA server (:class:`GamaConnection`) and one experiment over it
(:class:`GamaExperiment`): coroutines on the backend's I/O loop (:mod:`sb3_forager.gama.io_loop`).
The messages, the commands and how they fail: ``docs/model.md``, section "The GAMA server protocol".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import websockets
import websockets.exceptions

from .address import start_hint, ws_uri
from .errors import (
    GamaCommandError,
    GamaConnectionError,
    GamaConnectionLostError,
    GamaLoadError,
    GamaSimulationError,
    GamaTimeoutError,
)

log = logging.getLogger(__name__)

CONNECTION_SUCCESSFUL = "ConnectionSuccessful"
SUCCESS = "CommandExecutedSuccessfully"
#: unsolicited message types that mean the GAML model failed
ERROR_TYPES = frozenset({"SimulationError", "RuntimeError", "SimulationErrorDialog"})
_CONSOLE_TYPES = frozenset({"SimulationOutput", "SimulationDebug"})
#: the largest message accepted from a server: far above any real answer of the forager models
#: (a ten-forager read is a few kB); a bigger one closes the connection with a clear error
MAX_MESSAGE_BYTES = 64 * 2**20
#: WebSocket close code "message too big"
_TOO_BIG = 1009


def _abandon(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` without waiting for it (its outcome is retrieved so asyncio does not log it)."""
    task.cancel()
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())


def decode_message(raw: str | bytes) -> Any:
    """A server message's JSON as Python values (ValueError if it is not JSON).

    orjson reads a 32-world answer (about 400 numbers, 12 kB) in a seventh of ``json.loads``'s time,
    a tenth of the client's CPU per step at W = 32. Text it refuses and ``json`` reads (bare ``NaN``
    / ``Infinity``) goes to ``json``, so that such data meets the same checks (and errors) as before.
    (orjson reads integers beyond 64 bits as floats; GAMA's integers are Java ints.)"""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def describe_size(n_bytes: int) -> str:
    """A byte count for messages: ``"64 MiB (67108864 bytes)"``, ``"2000 bytes"``."""
    n = int(n_bytes)
    if n >= 2**20 and n % 2**20 == 0:
        return f"{n // 2**20} MiB ({n} bytes)"
    return f"{n} bytes"


def describe_content(content: Any, limit: int = 2000) -> str:
    """GAMA's message content as one readable string (its ``message`` field when it has one)."""
    if isinstance(content, Mapping):
        for key in ("message", "Message", "exception"):
            if isinstance(content.get(key), str) and content[key]:
                text = content[key]
                break
        else:
            text = json.dumps(content, default=str)
        errors = content.get("errors")
        if isinstance(errors, list) and errors:  # compile errors: say which and where
            text += ": " + "; ".join(_describe_compile_error(e) for e in errors)
    elif isinstance(content, list) and content and all(isinstance(c, Mapping) for c in content):
        text = "; ".join(describe_content(c, limit) for c in content)  # e.g. a list of compile errors
    elif isinstance(content, str):
        text = content
    else:
        text = json.dumps(content, default=str)
    return text if len(text) <= limit else text[:limit] + " ..."


def _describe_compile_error(error: Any) -> str:
    if not isinstance(error, Mapping):
        return str(error)
    text = str(error.get("message", error))
    line = error.get("starting_at_line")
    source = error.get("source")
    if source and line is not None:
        return f"{text} ({source}, line {line})"
    return f"{text} (line {line})" if line is not None else text


def describe_command(payload: Mapping[str, Any]) -> str:
    """A short human description of a command, for error messages."""
    kind = payload.get("type", "?")
    if kind == "expression":
        expr = str(payload.get("expr", ""))
        return f"expression {expr[:80] + ('...' if len(expr) > 80 else '')!r}"
    if kind == "load":
        return f"load of experiment {payload.get('experiment')!r} from {payload.get('model')!r}"
    return f"'{kind}' command"


class GamaConnection:
    """A connection to the GAMA server at ``host:port``.

    Attributes:
        address: ``"host:port"``, for messages.
        closed: whether the connection is closed (or was never opened).
        close_reason: how it closed, for messages.
        idle_before_close: when the *server* closed the connection while no command was waiting,
            how long it had been idle (seconds); otherwise None.
    """

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0) -> None:
        self.host = host
        self.port = int(port)
        self.address = f"{host}:{self.port}"
        self.connect_timeout = float(connect_timeout)
        self.socket_id: str | None = None
        self.pid = os.getpid()  #: the process that opened the connection
        self.closed = True
        self.close_reason = "never connected"
        self.idle_before_close: float | None = None
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, tuple[asyncio.Future[dict[str, Any]], str]] = {}
        self._ids = itertools.count()
        self._errors: list[GamaSimulationError] = []
        self._closing = False
        self._last_activity = time.monotonic()

    # ------------------------------------------------------------------ open / close
    async def open(self) -> None:
        """Connect and wait for GAMA's ``ConnectionSuccessful`` greeting, in ``connect_timeout`` in all.

        The deadline holds whatever the server does (a TCP accept without a WebSocket handshake, a
        handshake without a greeting): a late connection attempt is abandoned, not waited for.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        attempt = asyncio.ensure_future(
            websockets.connect(
                ws_uri(self.host, self.port),
                open_timeout=None,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=2,
                max_size=MAX_MESSAGE_BYTES,
                compression=None,
            )
        )
        done, _ = await asyncio.wait({attempt}, timeout=self.connect_timeout)
        if not done:
            _abandon(attempt)
            raise GamaConnectionError(
                f"no WebSocket answer from {self.address} within {self.connect_timeout:g} s: is a GAMA "
                f"server listening there? If not, {start_hint(self.port)}"
            ) from None
        try:
            ws = attempt.result()
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            raise GamaConnectionError(
                f"cannot connect to a GAMA server at {self.address} ({exc}); {start_hint(self.port)}, "
                "or pass the host/port of a running one"
            ) from exc
        greeting = asyncio.ensure_future(ws.recv())
        done, _ = await asyncio.wait({greeting}, timeout=max(0.0, deadline - loop.time()))
        if not done:
            _abandon(greeting)
            _abandon(asyncio.ensure_future(self._abort(ws)))
            raise GamaConnectionError(
                f"{self.address} accepted the WebSocket connection but sent no GAMA greeting "
                f"(ConnectionSuccessful) within {self.connect_timeout:g} s; is it a GAMA server "
                f"(`gama-headless.sh -socket {self.port}`)?"
            ) from None
        try:
            raw = greeting.result()
        except websockets.exceptions.ConnectionClosed as exc:
            raise GamaConnectionError(f"{self.address} closed the connection before the GAMA greeting ({exc})") from exc
        try:
            hello = json.loads(raw)
        except ValueError:
            hello = None
        if not isinstance(hello, dict) or hello.get("type") != CONNECTION_SUCCESSFUL:
            await self._abort(ws)
            raise GamaConnectionError(
                f"{self.address} did not greet like a GAMA server (expected a ConnectionSuccessful "
                f"message, got {str(raw)[:200]!r})"
            )
        self.socket_id = str(hello.get("content"))
        self._ws = ws
        self.closed = False
        self.close_reason = ""
        self.idle_before_close = None
        self._closing = False
        self._last_activity = time.monotonic()
        self._reader = asyncio.create_task(self._read(ws), name=f"gama-reader-{self.address}")
        log.debug("connected to GAMA server %s (socket id %s)", self.address, self.socket_id)

    async def close(self) -> None:
        """Close the connection (the server then disposes this connection's experiments)."""
        self._closing = True
        ws, reader = self._ws, self._reader
        if ws is not None:
            await self._abort(ws)
        if reader is not None:
            await asyncio.wait({reader}, timeout=3.0)  # the reader ends with the connection
            reader.cancel()
        self._mark_closed("closed by the client")

    @staticmethod
    async def _abort(ws: Any) -> None:
        try:
            await asyncio.wait_for(ws.close(), 3.0)
        except Exception:  # already closed or unreachable: nothing more to do
            pass

    # ------------------------------------------------------------------ commands
    async def request(self, payload: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """Send one command and return GAMA's answer message (any answer type).

        Raises:
            GamaSimulationError: a runtime error was reported before or while waiting.
            GamaConnectionLostError: the connection is closed, or closed while waiting.
            GamaTimeoutError: no answer within ``timeout`` seconds.
        """
        if self._errors:
            raise self._errors.pop(0)
        what = describe_command(payload)
        if self.closed or self._ws is None:
            raise GamaConnectionLostError(
                f"not connected to the GAMA server at {self.address} ({self.close_reason}); cannot send the {what}"
            )
        api_id = str(next(self._ids))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[api_id] = (future, what)
        self._last_activity = time.monotonic()
        try:
            return await asyncio.wait_for(self._exchange(dict(payload, api_id=api_id), future, what), timeout)
        except TimeoutError:
            raise GamaTimeoutError(
                f"the GAMA server at {self.address} did not answer the {what} within {timeout:g} s "
                "(the command timeout; pass a larger timeout= if the model is slow)"
            ) from None
        finally:
            self._pending.pop(api_id, None)
            self._last_activity = time.monotonic()
            if future.done() and not future.cancelled():
                future.exception()  # mark as retrieved: asyncio would log it otherwise

    async def _exchange(
        self, message: dict[str, Any], future: asyncio.Future[dict[str, Any]], what: str
    ) -> dict[str, Any]:
        try:
            await self._ws.send(json.dumps(message))
        except websockets.exceptions.ConnectionClosed as exc:
            raise GamaConnectionLostError(
                f"the connection to the GAMA server at {self.address} closed ({exc}) before the {what} could be sent"
            ) from None
        return await future

    def discard_errors(self) -> None:
        """Forget runtime errors reported since the last command (e.g. before a reset)."""
        for err in self._errors:
            log.debug("discarding an earlier GAMA error: %s", err)
        self._errors.clear()

    # ------------------------------------------------------------------ reading
    async def _read(self, ws: Any) -> None:
        too_big = False
        try:
            async for raw in ws:
                self._dispatch(raw)
        except websockets.exceptions.ConnectionClosed as exc:
            sent = getattr(exc, "sent", None)
            too_big = sent is not None and sent.code == _TOO_BIG
        except Exception:  # a bug here must not leave commands waiting forever
            log.exception("error while reading from the GAMA server %s", self.address)
        finally:
            code, reason = ws.close_code, ws.close_reason
            how = f"code {code}" + (f", {reason!r}" if reason else "") if code is not None else "connection lost"
            if too_big:
                why = (
                    f"closed by the client: the server sent a message larger than the limit of "
                    f"{describe_size(MAX_MESSAGE_BYTES)} (sb3_forager.gama.connection.MAX_MESSAGE_BYTES; no "
                    "forager model answers that much: is the model sending something unexpected?)"
                )
            else:
                why = "closed by the client" if self._closing else f"closed by the server: {how}"
            self._mark_closed(why)

    def _mark_closed(self, reason: str) -> None:
        if self.closed:
            return
        now = time.monotonic()
        by_server = not self._closing
        self.closed = True
        self.close_reason = reason
        self.idle_before_close = (now - self._last_activity) if by_server and not self._pending else None
        for future, what in list(self._pending.values()):
            if not future.done():
                future.set_exception(
                    GamaConnectionLostError(
                        f"the connection to the GAMA server at {self.address} ended ({reason}) "
                        f"while waiting for the answer to the {what}"
                    )
                )
        if by_server:
            log.warning("connection to the GAMA server %s ended (%s)", self.address, reason)

    def _dispatch(self, raw: str | bytes) -> None:
        self._last_activity = time.monotonic()
        try:
            msg = decode_message(raw)
        except ValueError:
            log.warning("unreadable message from the GAMA server %s: %.200r", self.address, raw)
            return
        if not isinstance(msg, dict):
            log.warning("unexpected message from the GAMA server %s: %.200r", self.address, raw)
            return
        kind = msg.get("type")
        command = msg.get("command")
        if isinstance(command, Mapping) and "api_id" in command:
            entry = self._pending.get(str(command["api_id"]))
            if entry is not None and not entry[0].done():
                entry[0].set_result(msg)
            else:
                log.debug("late or unknown answer from %s ignored: %.200r", self.address, raw)
            return
        content = msg.get("content")
        if kind in ERROR_TYPES:
            where = f" in experiment {msg['exp_id']}" if msg.get("exp_id") not in (None, "") else ""
            error = GamaSimulationError(
                f"the GAML model failed{where} on {self.address} ({kind}): {describe_content(content)}",
                message_type=kind,
                content=content,
            )
            waiting = [f for f, _ in self._pending.values() if not f.done()]
            for future in waiting:
                future.set_exception(error)
            if not waiting:
                self._errors.append(error)
            return
        if kind == "GamaServerError":
            log.warning("GAMA server %s: %s", self.address, describe_content(content))
        elif kind in _CONSOLE_TYPES:
            log.info("GAMA %s: %s", self.address, describe_content(content))
        else:
            log.debug("GAMA %s sent %s: %s", self.address, kind, describe_content(content, 300))


class GamaExperiment:
    """The experiment ``experiment`` of the model at ``gaml_path`` (a path on the *server*).

    Args:
        host, port: the GAMA server.
        gaml_path: the ``.gaml`` file as the server sees it.
        experiment: the experiment name in that file.
        timeout: seconds to wait for each command's answer.
        connect_timeout: seconds to connect and receive GAMA's greeting.
        parameters: optional ``load`` parameters (``[{"name": ..., "value": ..., "type": ...}]``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        gaml_path: str,
        experiment: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        parameters: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self.gaml_path = str(gaml_path)
        self.experiment = str(experiment)
        self.timeout = float(timeout)
        self.parameters = [dict(p) for p in parameters or []]
        self.connection = GamaConnection(host, port, connect_timeout)
        self.exp_id: str | None = None

    @property
    def address(self) -> str:
        return self.connection.address

    @property
    def usable(self) -> bool:
        """Loaded, and its connection still open."""
        return self.exp_id is not None and not self.connection.closed

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect and load the experiment (GAMA compiles the model and runs its ``init``)."""
        await self.connection.open()
        payload: dict[str, Any] = {
            "type": "load",
            "model": self.gaml_path,
            "experiment": self.experiment,
            "console": False,
            "runtime": True,
        }
        if self.parameters:
            payload["parameters"] = self.parameters
        try:
            answer = await self.connection.request(payload, self.timeout)
        except BaseException:
            await self.connection.close()
            raise
        if answer.get("type") != SUCCESS:
            await self.connection.close()
            raise GamaLoadError(
                f"the GAMA server at {self.address} could not load experiment {self.experiment!r} from "
                f"{self.gaml_path!r} ({answer.get('type')}): {describe_content(answer.get('content'))}"
                + _load_hint(answer.get("content")),
                message_type=answer.get("type"),
                content=answer.get("content"),
            )
        self.exp_id = str(answer.get("content"))
        log.debug("loaded %s of %s on %s as experiment %s", self.experiment, self.gaml_path, self.address, self.exp_id)

    async def close(self) -> None:
        """Close the connection; the server disposes the experiment with it."""
        self.exp_id = None
        await self.connection.close()

    # ------------------------------------------------------------------ commands
    async def reload(self, parameters: list[dict[str, Any]] | None = None) -> None:
        """Re-create the simulation (the model's ``init`` runs again), with these experiment
        parameters if given (GAMA keeps the last ones given otherwise)."""
        payload: dict[str, Any] = {"type": "reload"}
        if parameters:
            payload["parameters"] = [dict(p) for p in parameters]
            self.parameters = [dict(p) for p in parameters]
        await self._command(payload)

    async def step(self) -> None:
        """Run exactly one simulation cycle and wait until it has run (``sync: true``)."""
        await self._command({"type": "step", "sync": True})

    async def evaluate(self, expr: str) -> Any:
        """Evaluate a GAML expression (or statements) in the experiment; returns the JSON result."""
        return await self._command({"type": "expression", "expr": expr})

    async def _command(self, payload: dict[str, Any]) -> Any:
        if self.exp_id is None:
            raise GamaConnectionLostError(
                f"no experiment loaded on {self.address}; cannot send the {describe_command(payload)}"
            )
        payload["exp_id"] = self.exp_id
        answer = await self.connection.request(payload, self.timeout)
        kind = answer.get("type")
        if kind == SUCCESS:
            return answer.get("content")
        content = answer.get("content")
        cls = GamaSimulationError if kind in ERROR_TYPES else GamaCommandError
        raise cls(
            f"the GAMA server at {self.address} failed the {describe_command(payload)} ({kind}): "
            f"{describe_content(content)}",
            message_type=kind,
            content=content,
        )


def _load_hint(content: Any) -> str:
    text = describe_content(content)
    if "does not exist" in text or "not a gaml file" in text:
        return " (the path is opened by the GAMA server: give the .gaml path as the server sees it)"
    if "is not an experiment" in text:
        return " (check the experiment name)"
    return ""
