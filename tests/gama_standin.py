"""A protocol-faithful stand-in for the GAMA headless server (``gama-headless.sh -socket <port>``).

Real GAMA cannot be installed here, so the project's GAMA backend is tested against this server. It
follows the GAMA server source (``gama.api/.../utils/server`` and ``gama.headless``; see
``../shared/research/upstream_gama.md`` section 3) and runs the three ForagerRL models of
``gaml/`` (``forager_gym.gaml`` / ``gym_env``, ``forager_petz.gaml`` / ``petz_env`` and
``forager_petz_stress.gaml`` / ``petz_stress_env``) on the package's embedded simulation
(:class:`sb3_forager.sim.ForagerSim`), keeping the GAML bridge state (``GymAgent[0]`` /
``PetzAgent[0]`` fields) exactly as the GAML reflexes leave it.

Protocol (as the Java server):

* on connect: ``{"type":"ConnectionSuccessful","content":"<socket id>"}``;
* every answer: ``{"type": <MessageType>, "content": ..., "command": <the request echoed>}``;
  ``content`` is real JSON for ``expression`` (and compile errors), a string otherwise;
* unsolicited messages (``SimulationError``) carry ``exp_id`` and no ``command``;
* an unknown ``type`` (or a request without one) gives a ``GamaServerError`` WITHOUT ``command``;
  unparsable JSON gives a ``MalformedRequest`` without ``command`` (then, as the Java code does, a
  ``GamaServerError`` for the null request);
* experiments belong to the socket that loaded them (or to the given ``socket_id``) and are
  disposed when that socket closes.

Values are encoded like GAMA's JSON encoder: maps -> objects (keys stringified), lists -> arrays,
ints -> integers, floats -> ``JsonFloat.formatOrdinate(x, 8)`` (rounded half-up to 8 decimals when
``1e-3 <= |x|`` and ``x < 1e7``, written as a float), NaN / +-Infinity -> the strings ``"NaN"``,
``"Infinity"``, ``"-Infinity"``, nil -> null.

Expression grammar (the subset of GAML the bridges and the project's backend send; anything else
answers ``UnableToExecuteRequest`` with content ``"> Error: ..."``)::

    program    := expr | statement+            (statements when the text contains a top-level '<-')
    statement  := target '<-' expr ';'
    target     := Species '[' 0 ']' '.' field | 'seed'
    expr       := ['-' | '+'] postfix
    postfix    := primary ( '.' name | '[' expr ']' )*
    primary    := number | 'string' | "string" | true | false | nil
                | '[' ']' | '[' expr (',' expr)* ']' | '[' expr '::' expr (',' expr '::' expr)* ']'
                | '(' expr ')' | name | func ['<' type [',' type] '>'] '(' expr ')'
    func       := from_json | list | map | float | int | string | bool | length | copy

``name`` is ``cycle`` (the number of cycles run since load/reload), ``seed``, a global of the
model (``current_step``, ``max_steps``, ``world_size``, ``food_radius``, ``food_location``,
``gama_server_port``, the scenario parameters ``starts_json``, ``obstacles_json``, ``food_x``,
``food_y``, ``start_points``, and for the team models ``teammate``, ``nb_foragers``,
``agent_ids``, ``agents_at_food``) or a species (``GymAgent``/``PetzAgent``). Numbers use
GAML/Python/JSON syntax including exponents (``1e-05``, ``-2.5E+3``). Statements answer
``content: null``.

The models (read from the ``.gaml`` file given to ``load``): a file with experiment ``gym_env`` and
species ``GymAgent`` is the single-forager model; one with experiment ``petz_env`` or
``petz_stress_env`` and species ``PetzAgent`` is the team model, with N foragers ``forager_0`` ..
``forager_{N-1}`` (N = the number of starts). The scenario defaults are the globals the file
declares (``tutorial_starts``, ``tutorial_obstacle_centres``, ``food_x``, ``food_y``,
``max_steps``, ``teammate``, ``starts_json``, ``obstacles_json``), read from its text; a file
without them gets the package presets (``FORAGER``, ``COOP``, or ``STRESS`` for
``petz_stress_env``). Any other file is a generic model with no species.

Experiment parameters (``load`` / ``reload``, ``[{"name": ..., "value": ..., "type": ...}]``):

* every parameter is converted first, as ``GamaServerExperimentJob.initParam`` does (in the 1.9.3
  and the 2025 sources): ``m.get("type").toString()`` (a parameter WITHOUT ``type`` throws a
  NullPointerException), then ``Integer.valueOf("" + value)`` for ``"int"`` (so ``300.0`` or
  ``"3e2"`` throw a NumberFormatException) and ``Double.valueOf("" + value)`` for ``"float"``
  (Java syntax: ``"95"``, ``" 1e1 "``, ``"NaN"``, ``"Infinity"``, ``"2.5f"``; not ``"inf"``).
  Decision: the 2025 sources load and reload through ``ExperimentSpecies.setParameterValues``,
  which reads a missing ``type`` as ``""`` (and ``CommandExecutor.checkLoadParameters`` calls it
  optional); the stand-in is strict on purpose, so a backend that passes here works on both.
  A conversion error during ``load`` answers ``UnableToExecuteRequest`` with the Java exception
  as content and creates no experiment (``HeadlessLoadCommand``'s ``catch (Exception e)``);
  during ``reload`` it escapes the command's thread: never answered (recorded in
  :attr:`GamaStandIn.errors`), the parameters before it in the list already set, no reload done;
* then the value is found by title or variable name (``communication_port`` /
  ``gama_server_port``, ``Random Seed`` / ``seed``, and the scenario parameters ``starts_json``,
  ``obstacles_json`` (strings), ``food_x``, ``food_y`` (floats), ``max_steps`` (int) and, team
  models only, ``teammate`` (string)) and cast to the variable's declared type (GAML casts; an
  impossible cast fails like a conversion error). Unknown names are kept in
  ``unknown_parameters`` and otherwise ignored;
* values persist: a ``reload`` without ``parameters`` (or with only some of them) re-runs ``init``
  with the values last set, as GAMA keeps them on the experiment's parameters.

The global ``init`` (at ``load`` and every ``reload``) applies them exactly as the GAML does, in
the GAML order (team models: ``teammate``; then ``max_steps`` >= 1; food; obstacles
(``obstacles_json`` "" = the tutorial squares, else a JSON list of ``[cx, cy]``); starts
(``starts_json`` "" = the tutorial starts, else a JSON list of ``[x, y]``; exactly 1 for
``gym_env``, >= 2 for the team models); every start in [1, 99]^2 and not inside or on a closed
obstacle square). An invalid value stops ``init`` with the GAML error's message. Decision (not
observable without a GAMA; from the source: a GAML error is reported through the server's GUI
handler, and ``GamaServerExperimentController.schedule`` swallows what escapes the init, so
``processOpen`` / ``processReload`` still succeed): the error is sent as an unsolicited ``SimulationError``
(``{"exception": "gama.api.exceptions.GamaRuntimeException", "message": <the GAML message>,
...}``, only when the experiment was loaded with ``runtime`` true) BEFORE the command's answer,
which is still ``CommandExecutedSuccessfully`` (``load``: with the experiment id). The
experiment then exists with an aborted init: the bridge agent was never created
(``GymAgent[0]`` / ``PetzAgent[0]`` is nil, so reading a field answers ``"> Error: ..."``) and
every cycle fails with a ``SimulationError`` until a ``reload`` with valid values.

Faults (:class:`FaultConfig`, on ``standin.faults``, read at every message, settable at any time
from any thread): see the class docstring.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import copy
import itertools
import json
import math
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import websockets
from websockets.exceptions import ConnectionClosed

from sb3_forager.sim import COOP, FORAGER, STRESS, WORLD, Episode, ForagerSim, Scenario

__all__ = [
    "COMPILE_ERROR_MARKER",
    "FaultConfig",
    "GamaStandIn",
    "format_float",
    "free_port",
    "gama_json",
    "running_standin",
]

#: A .gaml file containing this text answers `load` like a GAMA compile error.
COMPILE_ERROR_MARKER = "// STANDIN: compile error"

# GAMA server message types (gama.api.utils.server.MessageType)
CONNECTION_SUCCESSFUL = "ConnectionSuccessful"
SUCCESS = "CommandExecutedSuccessfully"
MALFORMED = "MalformedRequest"
UNABLE = "UnableToExecuteRequest"
RUNTIME_ERROR = "RuntimeError"
SERVER_ERROR = "GamaServerError"
SIMULATION_ERROR = "SimulationError"

NOT_FOUND = "Unable to find the experiment or simulation"


# =============================================================================================
# JSON encoding, as gama.core.util.json.Json / JsonFloat
# =============================================================================================


def format_float(x: float) -> str:
    """``JsonFloat.formatOrdinate(x, 8)`` (with the default NaN / Infinity-as-string preferences)."""
    x = float(x)
    if math.isinf(x):
        return '"Infinity"' if x > 0 else '"-Infinity"'
    if math.isnan(x):
        return '"NaN"'
    if abs(x) >= 1e-3 and x < 1e7:
        x = math.floor(x * 1e8 + 0.5) / 1e8
    return repr(float(x))


class Point:
    """A GAML point (encoded as ``{"gaml_type":"point","x":..,"y":..,"z":..}``)."""

    def __init__(self, x: float, y: float, z: float = 0.0) -> None:
        self.x, self.y, self.z = float(x), float(y), float(z)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y, self.z) == (other.x, other.y, other.z)

    def __repr__(self) -> str:
        return f"{{{self.x},{self.y},{self.z}}}"


def float_texts(values: list) -> list[str]:
    """``format_float`` of every float of a list (the same texts, in one pass)."""
    floor = math.floor
    try:
        texts = [repr(floor(x * 1e8 + 0.5) / 1e8) if (x >= 1e-3 or x <= -1e-3) and x < 1e7 else repr(x) for x in values]
    except OverflowError:  # -Infinity (or a value whose x * 1e8 overflows): one at a time
        return list(map(format_float, values))
    # "nan" and "inf" are the only reprs with an "n"; GAMA writes those as strings
    return list(map(format_float, values)) if "n" in "".join(texts) else texts


def float_rows(rows: list[list[float]]) -> list[str]:
    """``",".join(float_texts(row))`` of every row (rows of one length), in one numpy pass: the same
    rounding in IEEE doubles, then Python's own ``repr`` of the rounded floats (that of a list)."""
    a = np.array(rows, dtype=np.float64)
    mag = np.abs(a)
    if a.ndim != 2 or not (mag < 1e300).all():  # nan, infinities, overflowing values: as float_texts
        return [",".join(float_texts(row)) for row in rows]
    rounded = np.where((mag >= 1e-3) & (a < 1e7), np.floor(a * 1e8 + 0.5) / 1e8, a)
    return [repr(row)[1:-1].replace(", ", ",") for row in rounded.tolist()]


class Encoded:
    """A value together with its GAMA JSON text, written by the experiment that made it (the
    W-world answers, written column-wise); :func:`gama_json` takes the text as it is."""

    __slots__ = ("value", "text")

    def __init__(self, value: Any, text: str) -> None:
        self.value, self.text = value, text


_KEY_JSON: dict[Any, str] = {}  # the encoded map keys met so far (a handful of field names)


def _key_json(k: Any) -> str:
    text = _KEY_JSON.get(k)
    if text is None:
        text = json.dumps(_gaml_str(k), ensure_ascii=False)
        if len(_KEY_JSON) < 4096 and type(k) is str:
            _KEY_JSON[k] = text
    return text


def gama_json(value: Any) -> str:
    """The JSON text GAMA's encoder writes for a GAML value (see the module docstring).

    A list of floats is written in one pass and map keys are encoded once (the W-world answers
    carry hundreds of numbers per step); an :class:`Encoded` value is its text."""
    if type(value) is Encoded:
        return value.text
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return format_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Point):
        return (
            '{"gaml_type":"point","x":'
            + format_float(value.x)
            + ',"y":'
            + format_float(value.y)
            + ',"z":'
            + format_float(value.z)
            + "}"
        )
    if isinstance(value, dict):
        return "{" + ",".join(_key_json(k) + ":" + gama_json(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, np.ndarray)):
        if type(value) is list and value and all(type(v) is float for v in value):
            return "[" + ",".join(float_texts(value)) + "]"
        return "[" + ",".join(map(gama_json, list(value))) + "]"
    if isinstance(value, _ExceptionValue):
        return gama_json({"exception": value.cls, "message": value.message, "stack": value.stack})
    if isinstance(value, (_AgentRef, _SpeciesRef)):
        raise GamlError(f"the stand-in cannot serialise the agent value {value!r}")
    return json.dumps(str(value), ensure_ascii=False)


def _gaml_str(v: Any) -> str:
    """GAML ``string(v)`` for the values handled here (Java-style booleans and floats)."""
    if v is None:
        return "nil"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def _java_str(v: Any) -> str:
    """``"" + v`` in Java, for the JSON values a request can hold."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _java_double_str(v)
    return str(v)


def _java_double_str(x: float) -> str:
    """Java's ``Double.toString``: ``300.0``, ``1.0E7``, ``1.5E-4``, ``NaN``, ``-Infinity``."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0.0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)  # shortest round-trip digits, fixed notation in this range (as Java)
    mantissa, exponent = np.format_float_scientific(abs(x), unique=True, trim="-").split("e")
    if "." not in mantissa:
        mantissa += ".0"
    return ("-" if x < 0 else "") + mantissa + "E" + str(int(exponent))


_JAVA_INT = re.compile(r"[+-]?[0-9]+")
_JAVA_DOUBLE = re.compile(r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)")


class _ParamError(Exception):
    """A Java exception while the server converts or sets an experiment parameter."""

    def __init__(self, cls: str, message: str) -> None:
        super().__init__(f"{cls}: {message}")
        self.value = _ExceptionValue(cls, message, ["gama.headless.server.GamaServerExperimentJob.initParam"])


def _java_integer_value_of(text: str) -> int:
    """``Integer.valueOf(text)`` (raises :class:`_ParamError` like its NumberFormatException)."""
    if _JAVA_INT.fullmatch(text) and -(2**31) <= int(text) < 2**31:
        return int(text)
    raise _ParamError("java.lang.NumberFormatException", f'For input string: "{text}"')


def _java_double_value_of(text: str) -> float:
    """``Double.valueOf(text)``: Java's syntax (surrounding whitespace trimmed; NaN, Infinity and
    a trailing f/d accepted; no hexadecimal floats here)."""
    body = text.strip(" \t\n\r\x0b\x0c\x00")
    if _JAVA_DOUBLE.fullmatch(body):
        if body[-1] in "fFdD" and not body.endswith("Infinity") and not body.endswith("NaN"):
            body = body[:-1]
        return float(body.replace("Infinity", "inf"))
    message = "empty String" if body == "" else f'For input string: "{text}"'
    raise _ParamError("java.lang.NumberFormatException", message)


def _java_parse_bool(v: Any) -> bool:
    """``Boolean.parseBoolean("" + v)``: true only for the text "true", case-insensitive."""
    return _java_str(v).lower() == "true"


class _ExceptionValue:
    """A Java exception as GAMA's ``Json.valueOf(Exception)`` writes it."""

    def __init__(self, cls: str, message: str | None, stack: list[str] | None = None) -> None:
        self.cls, self.message = cls, message
        self.stack = stack if stack is not None else []


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Unexpected character: {name} is not valid JSON")


def _parse_json_like_gama(text: str) -> Any:
    """GAMA's (minimal-json based) parser: strict JSON, no NaN/Infinity literals."""
    return json.loads(text, parse_constant=_reject_constant)


# =============================================================================================
# Faults
# =============================================================================================

_FAULT_DEFAULTS: dict[str, Any] = {
    "refuse_handshake": False,
    "stall_after_n_commands": None,
    "drop_after_n_commands": None,
    "runtime_error_on_step": False,
    "runtime_error_message": "Java error: nil value detected",
    "idle_close_after": None,
    "latency": 0.0,
    "async_step_delay": 0.05,
    "corrupt": None,
}


class FaultConfig:
    """Faults of the stand-in, read at every message; assign them at any time, from any thread.

    * ``refuse_handshake`` (bool): the WebSocket handshake completes but ``ConnectionSuccessful`` is
      never sent (checked when a client connects; commands are still answered). gama-client then
      waits forever in ``connect()`` unless given a timeout.
    * ``stall_after_n_commands`` (int | None): of the messages received from now on (any
      connection), the first N are answered and every later one is received but never answered;
      the sockets stay open. Persistent until set to None (or :meth:`reset`).
    * ``drop_after_n_commands`` (int | None): of the messages received from now on, the first N are
      answered; the connection that sends the next one is closed abruptly (TCP abort, no close
      frame, no answer). One-shot: the field goes back to None once it fired.
    * ``runtime_error_on_step`` (bool | int): the next (or the next N) simulation cycles fail like a
      GAML runtime error in ``main_loop``: an unsolicited ``{"type":"SimulationError","content":
      {"exception":..., "message": runtime_error_message, "stack": [...]}, "exp_id": ...}`` is sent
      to the experiment's socket (only when it was loaded with ``runtime`` true, the default), the
      reflex is aborted (no action applied, ``data`` stale, ``next_action``/``actions`` kept), the
      cycle counter advances, and the ``step`` command is still answered
      ``CommandExecutedSuccessfully``. Decremented each time it fires.
    * ``runtime_error_message`` (str): the message of that error.
    * ``idle_close_after`` (float seconds | None): server-side keep-alive, like the Java-WebSocket
      lost-connection check: a connection from which nothing was received for longer than this is
      closed abruptly.
    * ``latency`` (float seconds): added before every answer (emulates network round trips).
      Connections do not block each other.
    * ``async_step_delay`` (float seconds, default 0.05): ``step`` with ``sync`` false is answered at
      once and its cycles run this much later (the real server answers once the steps are
      scheduled; a client reading state right after such a step races the simulation, and here
      reliably reads the state before the step).
    * ``corrupt`` (``Callable[[dict], None]`` | None): a buggy GAML model. Called with the fields
      dict of the bridge agent (``GymAgent[0]`` / ``PetzAgent[0]``: field name -> value, the very
      dict the model keeps) after every ``init`` (``load`` / ``reload``) and after every cycle
      (whatever the cycle did), so it can leave any bad data there, e.g.
      ``faults.corrupt = lambda f: f["data"]["Observations"]["forager_0"].__setitem__(3, float("nan"))``.
      The values are then encoded as GAMA would (NaN / +-Infinity as the strings ``"NaN"``,
      ``"Infinity"``, ``"-Infinity"``; a string stays a string; None is null). An exception raised by
      the callable (e.g. a ``KeyError`` after the petz init, whose ``data`` is still empty) is
      recorded in :attr:`GamaStandIn.errors` (``"corrupt: ..."``) and otherwise ignored. The model's
      own next cycle rewrites what it writes (and tolerates whatever it finds). Persistent until set
      to None. Not applied to an experiment whose init failed (it has no bridge agent).
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_stall_seen", 0)
        object.__setattr__(self, "_drop_seen", 0)
        for name, value in _FAULT_DEFAULTS.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _FAULT_DEFAULTS:
            raise AttributeError(f"unknown fault {name!r}; known: {sorted(_FAULT_DEFAULTS)}")
        with self._lock:
            object.__setattr__(self, name, value)
            if name == "stall_after_n_commands":
                object.__setattr__(self, "_stall_seen", 0)
            elif name == "drop_after_n_commands":
                object.__setattr__(self, "_drop_seen", 0)

    def reset(self) -> None:
        """Back to no fault at all (and the default ``async_step_delay``)."""
        for name, value in _FAULT_DEFAULTS.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        return "FaultConfig(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in _FAULT_DEFAULTS) + ")"

    # -- used by the server ----------------------------------------------------------------
    def _on_message(self) -> tuple[bool, bool]:
        """Count one received message; returns (stall it, drop its connection)."""
        with self._lock:
            stall = drop = False
            if self.stall_after_n_commands is not None:
                object.__setattr__(self, "_stall_seen", self._stall_seen + 1)
                stall = self._stall_seen > int(self.stall_after_n_commands)
            if self.drop_after_n_commands is not None:
                object.__setattr__(self, "_drop_seen", self._drop_seen + 1)
                if self._drop_seen > int(self.drop_after_n_commands):
                    drop = True
                    object.__setattr__(self, "drop_after_n_commands", None)
            return stall, drop

    def _take_runtime_error(self) -> bool:
        with self._lock:
            n = self.runtime_error_on_step
            if n is True:
                n = 1
            if not n:
                return False
            object.__setattr__(self, "runtime_error_on_step", int(n) - 1 if int(n) > 1 else False)
            return True


# =============================================================================================
# The GAML models
# =============================================================================================


class GamlError(Exception):
    """A compilation or evaluation error of an expression (answered as "> Error: <message>")."""


class _SimRuntimeError(Exception):
    """A GAML runtime error inside a cycle (sent as an unsolicited SimulationError)."""


@dataclass(frozen=True)
class _Defaults:
    """The scenario a model file declares (its globals' initial values)."""

    tutorial_starts: tuple[tuple[float, float], ...]
    tutorial_obstacles: tuple[tuple[float, float], ...]
    values: dict  # scenario parameter variable -> default value (starts_json, ..., teammate)


@dataclass
class _ModelFile:
    path: str  # absolute
    name: str
    experiments: list[str]
    species: list[str]
    kind: str  # "gym", "petz" (any team model) or "generic"
    compile_error_line: int | None
    defaults: _Defaults | None = None  # gym / petz only


_RE_EXPERIMENT = re.compile(r"^\s*experiment\s+([A-Za-z_]\w*)", re.MULTILINE)
_RE_SPECIES = re.compile(r"^\s*(?:species|grid)\s+([A-Za-z_]\w*)", re.MULTILINE)
_RE_MODEL = re.compile(r"^\s*model\s+([A-Za-z_]\w*)", re.MULTILINE)
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RE_POINT = re.compile(r"\{\s*(" + _NUM + r")\s*,\s*(" + _NUM + r")\s*(?:,\s*" + _NUM + r"\s*)?\}")
_TEAM_EXPERIMENTS = ("petz_env", "petz_stress_env")


def _declared(text: str, gaml_type: str, name: str, value_re: str) -> str | None:
    """The initial value text of ``<gaml_type> <name> <- <value>;`` in a model's source."""
    pattern = r"^\s*" + re.escape(gaml_type) + r"\s+" + name + r"\s*<-\s*(" + value_re + r")\s*;"
    m = re.search(pattern, text, re.MULTILINE | re.DOTALL)
    return m.group(1) if m else None


def _declared_points(text: str, name: str) -> tuple[tuple[float, float], ...] | None:
    body = _declared(text, "list<point>", name, r"\[.*?\]")
    if body is None:
        return None
    return tuple((float(x), float(y)) for x, y in _RE_POINT.findall(body))


def _model_defaults(text: str, preset: Scenario, team: bool) -> _Defaults:
    """The file's declared scenario defaults; what it does not declare comes from ``preset``."""
    starts = _declared_points(text, "tutorial_starts") or tuple(preset.starts)  # type: ignore[arg-type]
    obstacles = _declared_points(text, "tutorial_obstacle_centres")
    if obstacles is None:
        obstacles = tuple(preset.obstacles)  # type: ignore[arg-type]

    def string(name: str, default: str) -> str:
        raw = _declared(text, "string", name, r'"(?:[^"\\]|\\.)*"')
        return default if raw is None else _unescape(raw[1:-1])

    def number(gaml_type: str, name: str, default: float) -> float:
        raw = _declared(text, gaml_type, name, _NUM)
        return default if raw is None else float(raw)

    values: dict[str, Any] = {
        "starts_json": string("starts_json", ""),
        "obstacles_json": string("obstacles_json", ""),
        "food_x": number("float", "food_x", preset.food[0]),
        "food_y": number("float", "food_y", preset.food[1]),
        "max_steps": int(number("int", "max_steps", preset.max_steps)),
    }
    if team:
        values["teammate"] = string("teammate", preset.teammate)
    return _Defaults(starts, obstacles, values)


def _read_model_file(path: str) -> _ModelFile:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    experiments = _RE_EXPERIMENT.findall(text)
    species = _RE_SPECIES.findall(text)
    m = _RE_MODEL.search(text)
    name = m.group(1) if m else os.path.splitext(os.path.basename(path))[0]
    err_line = None
    if COMPILE_ERROR_MARKER in text:
        err_line = text[: text.index(COMPILE_ERROR_MARKER)].count("\n") + 1
    defaults = None
    if "gym_env" in experiments and "GymAgent" in species:
        kind = "gym"
        defaults = _model_defaults(text, FORAGER, team=False)
    elif any(e in experiments for e in _TEAM_EXPERIMENTS) and "PetzAgent" in species:
        kind = "petz"
        defaults = _model_defaults(text, STRESS if "petz_stress_env" in experiments else COOP, team=True)
    elif _worlds_kind(experiments, species) is not None:  # W worlds per simulation: gama_standin_worlds.py
        kind = _worlds_kind(experiments, species)
    else:
        kind = "generic"
    return _ModelFile(path, name, experiments, species, kind, err_line, defaults)


# declared types of the bridge fields (forager_gym.gaml / forager_petz.gaml)
_GYM_FIELDS = {
    "action_space": "map",
    "observation_space": "map",
    "state": "list<float>",
    "reward": "float",
    "terminated": "bool",
    "truncated": "bool",
    "info": "map",
    "next_action": "list<float>",
    "data": "map",
}
_PETZ_FIELDS = {
    "agents": "list<string>",
    "possible_agents": "list<string>",
    "observation_spaces": "map",
    "action_spaces": "map",
    "observations": "map",
    "rewards": "map<float>",
    "terminations": "map<bool>",
    "truncations": "map<bool>",
    "infos": "map<map>",
    "actions": "map",
    "data": "map<map>",
}

# experiment parameters: title or variable name -> (variable, declared GAML type)
_COMMON_PARAMETERS = {
    "communication_port": ("gama_server_port", "int"),
    "gama_server_port": ("gama_server_port", "int"),
    "Random Seed": ("seed", "float"),
    "seed": ("seed", "float"),
}
_SCENARIO_PARAMETERS = {
    "starts_json": ("starts_json", "string"),
    "obstacles_json": ("obstacles_json", "string"),
    "food_x": ("food_x", "float"),
    "food_y": ("food_y", "float"),
    "max_steps": ("max_steps", "int"),
}
_TEAM_PARAMETERS = {"teammate": ("teammate", "string")}


def _box(n: int, low: float, high: float) -> dict:
    return {"type": "Box", "low": [low] * n, "high": [high] * n, "dtype": "float"}


def _gaml_point_str(x: float, y: float) -> str:
    """``"" + p`` for a GAML point: ``{5.0,5.0,0.0}``."""
    return "{" + _java_double_str(x) + "," + _java_double_str(y) + ",0.0}"


class _Species:
    """A GAML species with at most one instance (index 0) holding the bridge fields (``fields``
    None: no instance, e.g. after an init that failed before creating it)."""

    def __init__(self, name: str, types: dict[str, str], fields: dict[str, Any] | None) -> None:
        self.name = name
        self.types = types
        self.fields = fields


class _SpeciesRef:
    def __init__(self, species: _Species) -> None:
        self.species = species

    def __repr__(self) -> str:
        return self.species.name


class _AgentRef:
    def __init__(self, species: _Species, index: int) -> None:
        self.species, self.index = species, index

    def __repr__(self) -> str:
        return f"{self.species.name}[{self.index}]"


class _Experiment:
    """One loaded experiment: the model's global state, the bridge species and the simulation.

    Raises :class:`_ParamError` (from the ``load`` parameters) before anything is built."""

    def __init__(
        self,
        exp_id: str,
        socket_id: str,
        model: _ModelFile,
        name: str,
        request: dict,
        faults: FaultConfig | None = None,
        errors: list[str] | None = None,
    ) -> None:
        self.id = exp_id
        self.socket_id = socket_id
        self.model = model
        self.name = name
        self.kind = model.kind
        self.faults = faults
        self.server_errors = errors if errors is not None else []
        self.console = _java_parse_bool(request["console"]) if request.get("console") is not None else True
        self.status = _java_parse_bool(request["status"]) if request.get("status") is not None else False
        self.dialog = _java_parse_bool(request["dialog"]) if request.get("dialog") is not None else False
        self.runtime = _java_parse_bool(request["runtime"]) if request.get("runtime") is not None else True
        self.until = _java_str(request["until"]) if request.get("until") is not None else ""
        self.parameters: dict[str, Any] = {}
        self.unknown_parameters: dict[str, Any] = {}
        #: the scenario parameters' current values (variable -> value), the model's defaults at first
        self.param_values: dict[str, Any] = dict(model.defaults.values) if model.defaults else {}
        self.seed = 0.0
        self.gama_server_port = 0
        self.cycle = 0
        self.pending_async_steps = 0
        self.playing = False
        self.disposed = False
        self.lock = asyncio.Lock()
        self.owner: _Conn | None = None
        self.sim: ForagerSim | None = None
        self.episode: Episode | None = None
        self.teammate = "first"
        self.init_error: str | None = None
        self.species: dict[str, _Species] = {}
        self.set_parameters(request.get("parameters"))
        self.init()

    # ---------------------------------------------------------------- parameters / init
    def _parameter(self, name: str) -> tuple[str, str] | None:
        if name in _COMMON_PARAMETERS:
            return _COMMON_PARAMETERS[name]
        if self.kind in ("gym", "petz") and name in _SCENARIO_PARAMETERS:
            return _SCENARIO_PARAMETERS[name]
        if self.kind == "petz" and name in _TEAM_PARAMETERS:
            return _TEAM_PARAMETERS[name]
        return None

    def set_parameters(self, params: Any) -> None:
        """Set the parameters in order, as the server does (see the module docstring); raises
        :class:`_ParamError` at the first one the Java code would throw for (the ones before it
        stay set)."""
        if not params:
            return
        for p in params:
            if p.get("type") is None:
                raise _ParamError(
                    "java.lang.NullPointerException",
                    'Cannot invoke "Object.toString()" because the return value of'
                    ' "gama.api.types.map.IMap.get(Object)" is null',
                )
            ptype = _java_str(p.get("type"))
            value = p.get("value")
            if ptype == "int":
                value = _java_integer_value_of(_java_str(value))
            elif ptype == "float":
                value = _java_double_value_of(_java_str(value))
            key = _java_str(p.get("name"))
            target = self._parameter(key)
            if target is None:
                self.unknown_parameters[key] = value
                continue
            var, declared = target
            try:
                cast = _cast(value, declared)
            except GamlError as exc:
                raise _ParamError("gama.api.exceptions.GamaRuntimeException", str(exc)) from None
            if var == "seed":
                self.seed = cast
            elif var == "gama_server_port":
                self.gama_server_port = cast
            else:
                self.param_values[var] = cast
            self.parameters[key] = value

    def init(self) -> None:
        """The global ``init`` of the model (run by load and by reload)."""
        self.cycle = 0
        self.pending_async_steps = 0
        self.init_error = None
        self.sim = None
        self.episode = None
        if self.kind == "gym":
            self.species = {"GymAgent": _Species("GymAgent", _GYM_FIELDS, None)}
        elif self.kind == "petz":
            self.species = {"PetzAgent": _Species("PetzAgent", _PETZ_FIELDS, None)}
        else:
            self.species = {}
            return
        try:
            self.episode, self.teammate = self._scenario()
        except GamlError as exc:  # a GAML `error` in init: no bridge agent, no forager
            self.init_error = str(exc)
            return
        if self.kind == "gym":
            self.sim = ForagerSim(1, 1, "single")
            self.sim.reset(None, [self.episode])
            fields = {
                "action_space": _box(2, -1.0, 1.0),
                "observation_space": _box(self.sim.obs_dim, 0.0, 1.0),
                "state": self.sim.obs[0, 0].tolist(),
                "reward": 0.0,
                "terminated": False,
                "truncated": False,
                "info": {},
                "next_action": [],
                "data": {},
            }
            self.species["GymAgent"].fields = fields
            self._gym_update_data()  # forager init: `ask gym_agent { do update_data; }`
        else:
            n = self.episode.n_foragers
            self.sim = ForagerSim(1, n, "team", teammate=self.teammate)
            self.sim.reset(None, [self.episode])
            ids = self.agent_ids
            obs = self.sim.obs[0]
            self.species["PetzAgent"].fields = {
                "agents": list(ids),
                "possible_agents": list(ids),
                "observation_spaces": {a: _box(self.sim.obs_dim, 0.0, 1.0) for a in ids},
                "action_spaces": {a: _box(2, -1.0, 1.0) for a in ids},
                "observations": {a: obs[k].tolist() for k, a in enumerate(ids)},
                "rewards": {},
                "terminations": {},
                "truncations": {},
                "infos": {a: {} for a in ids},
                "actions": {},
                "data": {},  # update_data is not called by the init of the team models
            }
        self.corrupt()

    def _scenario(self) -> tuple[Episode, str]:
        """The scenario part of the GAML ``init``, in its order; raises GamlError like its ``error``s."""
        v = self.param_values
        defaults = self.model.defaults
        assert defaults is not None
        team = self.kind == "petz"
        teammate = "first"
        if team:
            teammate = v["teammate"]
            if teammate not in ("first", "nearest"):
                raise GamlError(f"teammate must be 'first' or 'nearest', got '{_gaml_str(teammate)}'")
        max_steps = v["max_steps"]
        if max_steps < 1:
            raise GamlError(f"max_steps must be >= 1, got {max_steps}")
        food = (float(v["food_x"]), float(v["food_y"]))
        example = "[[15.0,5.0],[5.0,15.0]]" if team else "[[5.0,5.0]]"
        centres = defaults.tutorial_obstacles
        if v["obstacles_json"] != "":
            centres = _parse_points("obstacles_json", v["obstacles_json"], example)
        starts = defaults.tutorial_starts
        if v["starts_json"] != "":
            starts = _parse_points("starts_json", v["starts_json"], example)
        if not team and len(starts) != 1:
            raise GamlError(
                "starts_json: the single-forager model takes exactly one [x, y] start, got "
                f"{len(starts)} in {v['starts_json']}"
            )
        if team and len(starts) < 2:
            raise GamlError(
                "starts_json: the team model needs at least 2 foragers (one [x, y] start each), got "
                f"{len(starts)} in {v['starts_json']}"
            )
        boxes = WORLD.obstacle_boxes(centres) if centres else np.zeros((0, 4))
        for x, y in starts:  # check_starts
            if x < 1.0 or x > 99.0 or y < 1.0 or y > 99.0:
                raise GamlError(f"starts_json: start {_gaml_point_str(x, y)} is outside [1, 99] x [1, 99]")
            for lx, ly, hx, hy in boxes:  # `p intersects obs`: the closed square
                if lx <= x <= hx and ly <= y <= hy:
                    raise GamlError(f"starts_json: start {_gaml_point_str(x, y)} is inside (or on) an obstacle")
        return Episode(tuple(starts), tuple(centres), food, int(max_steps)), teammate

    @property
    def agent_ids(self) -> list[str]:
        if self.kind != "petz" or self.episode is None:
            return []
        return [f"forager_{k}" for k in range(self.episode.n_foragers)]

    def corrupt(self) -> None:
        """Apply the ``corrupt`` fault to the bridge agent's fields (after init and every cycle)."""
        fn = self.faults.corrupt if self.faults is not None else None
        if fn is None:
            return
        for sp in self.species.values():
            if sp.fields is None:
                continue
            try:
                fn(sp.fields)
            except Exception as exc:  # the corruption does not apply to this state: skip it
                self.server_errors.append(f"corrupt: {type(exc).__name__}: {exc}")

    # ---------------------------------------------------------------- globals
    def global_value(self, name: str) -> Any:
        if name == "cycle":
            return self.cycle
        if name == "seed":
            return self.seed
        if self.kind in ("gym", "petz"):
            v = self.param_values
            sim = self.sim
            world = sim.world if sim is not None else WORLD
            values: dict[str, Any] = {
                "current_step": int(sim.steps[0]) if sim is not None else 0,
                "max_steps": int(v["max_steps"]),
                "world_size": float(world.world_size),
                "food_radius": float(world.food_radius),
                "food_location": Point(v["food_x"], v["food_y"]),
                "gama_server_port": self.gama_server_port,
                "starts_json": v["starts_json"],
                "obstacles_json": v["obstacles_json"],
                "food_x": float(v["food_x"]),
                "food_y": float(v["food_y"]),
                "start_points": [Point(x, y) for x, y in self.episode.starts] if self.episode else [],
            }
            if self.kind == "petz":
                values["teammate"] = v["teammate"]
                values["nb_foragers"] = len(self.agent_ids)
                values["agent_ids"] = self.agent_ids
                values["agents_at_food"] = [bool(b) for b in sim.at_food[0]] if sim is not None else []
            if name in values:
                return values[name]
        if name in self.species:
            return _SpeciesRef(self.species[name])
        raise GamlError(
            f"The variable {name} is not defined or accessible in this context. Check its name or declare it"
        )

    # ---------------------------------------------------------------- one cycle
    def run_cycle(self) -> None:
        """One simulation cycle: the model's ``reflex main_loop`` (raises _SimRuntimeError)."""
        if self.kind in ("gym", "petz") and self.sim is None:
            # init failed before creating the bridge agent: `GymAgent[0].next_action` reads nil
            raise _SimRuntimeError("Java error: nil value detected")
        if self.kind == "gym":
            self._gym_cycle()
        elif self.kind == "petz":
            self._petz_cycle()
        self.cycle += 1

    def _gym_update_data(self) -> None:
        f = self.species["GymAgent"].fields
        assert f is not None
        f["data"] = {
            "State": copy.deepcopy(f["state"]),
            "Reward": f["reward"],
            "Terminated": f["terminated"],
            "Truncated": f["truncated"],
            "Info": copy.deepcopy(f["info"]),
        }

    def _gym_cycle(self) -> None:
        f = self.species["GymAgent"].fields
        assert f is not None
        act = f["next_action"]
        # if (GymAgent[0].next_action = nil or empty(GymAgent[0].next_action)) { return; }
        if act is None or not isinstance(act, (list, tuple)) or len(act) == 0:
            return
        sim = self.sim
        assert sim is not None
        # apply_action: consume next_action; fewer than 2 values -> no move and no current_step += 1
        f["next_action"] = []
        if len(act) < 2:
            # The kernel always moves and counts: a move from rest with a zero action leaves the
            # forager where it is (bumped false), and the step count is taken back beforehand, so
            # the observation and the reward are those of the GAML's observe + reward at the same
            # place and the same current_step. The velocity is kept, as the GAML does.
            vx, vy = float(sim.vx[0, 0]), float(sim.vy[0, 0])
            sim.vx[0, 0] = 0.0
            sim.vy[0, 0] = 0.0
            sim.steps[0] -= 1
            res = sim.step(np.zeros((1, 1, 2)))
            sim.vx[0, 0], sim.vy[0, 0] = vx, vy
        else:
            try:
                ax, ay = _cast(act[0], "float"), _cast(act[1], "float")
            except GamlError as exc:
                raise _SimRuntimeError(str(exc)) from exc
            res = sim.step(np.array([[[ax, ay]]], dtype=np.float64))
        f["state"] = res.obs[0, 0].tolist()
        f["reward"] = float(res.reward[0, 0])
        f["terminated"] = bool(res.terminated[0, 0])
        f["truncated"] = bool(res.truncated[0, 0])
        f["info"] = {}
        self._gym_update_data()

    def _petz_cycle(self) -> None:
        f = self.species["PetzAgent"].fields
        assert f is not None
        acts = f["actions"]
        # if (PetzAgent[0].actions = nil or empty(PetzAgent[0].actions)) { return; }
        if not isinstance(acts, dict) or len(acts) == 0:
            return
        sim = self.sim
        assert sim is not None
        ids = self.agent_ids
        arr = np.zeros((1, len(ids), 2))
        acting = np.zeros((1, len(ids)), dtype=bool)
        for k, aid in enumerate(ids):
            if bool(sim.at_food[0, k]) or aid not in acts:
                continue
            try:
                lst = _cast(acts[aid], "list")  # list act <- list(bridge.actions[agent_id]);
                if len(lst) < 2:
                    continue
                arr[0, k] = (_cast(lst[0], "float"), _cast(lst[1], "float"))
            except GamlError as exc:
                raise _SimRuntimeError(str(exc)) from exc
            acting[0, k] = True
        res = sim.step(arr, acting=acting)
        # the maps the foragers write into (a corrupted non-map is replaced, see FaultConfig.corrupt)
        for key in ("observations", "rewards", "terminations", "truncations", "infos"):
            if not isinstance(f[key], dict):
                f[key] = {}
        for k, aid in enumerate(ids):
            f["observations"][aid] = res.obs[0, k].tolist()
            f["rewards"][aid] = float(res.reward[0, k])
            f["terminations"][aid] = bool(res.terminated[0, k])
            f["truncations"][aid] = bool(res.truncated[0, k])
            # compute_reward: infos[agent_id] <- map<string, unknown>(["at_food"::at_food])
            f["infos"][aid] = {"at_food": bool(sim.at_food[0, k])}
        f["actions"] = {}
        if bool(res.episode_over[0]):
            f["agents"] = []
        f["data"] = {
            "Observations": copy.deepcopy(f["observations"]),
            "Rewards": dict(f["rewards"]),
            "Terminations": dict(f["terminations"]),
            "Truncations": dict(f["truncations"]),
            "Infos": copy.deepcopy(f["infos"]),
        }


def _parse_points(param_name: str, json_text: str, example: str) -> tuple[tuple[float, float], ...]:
    """The GAML action ``parse_points``: a JSON list of [x, y] pairs (numbers cast with float())."""
    try:
        parsed = _parse_json_like_gama(json_text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise GamlError(f"{param_name}: expected a JSON list of [x, y] pairs such as {example}, got: {json_text}")
    points = []
    for element in _cast(parsed, "list"):  # list(parsed): a number -> [it], nil -> [], a map -> its values
        pair = _cast(element, "list")
        if len(pair) != 2:
            raise GamlError(f"{param_name}: every element must be an [x, y] pair of numbers, got: {json_text}")
        points.append((float(_cast(pair[0], "float")), float(_cast(pair[1], "float"))))
    return tuple(points)


# =============================================================================================
# GAML casts and the expression language
# =============================================================================================


def _cast(v: Any, t: str) -> Any:
    """GAML casting for the declared types of the bridge fields (and the cast operators)."""
    if t in ("unknown", ""):
        return v
    if t == "float":
        if v is None:
            return 0.0
        if isinstance(v, (bool, np.bool_)):
            return 1.0 if v else 0.0
        if isinstance(v, (int, float, np.integer, np.floating)):
            return float(v)
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError as exc:
                raise GamlError(f"Java error: wrong casting of '{v}' to float") from exc
        raise GamlError(f"Java error: wrong casting of {gama_json(v)} to float")
    if t == "int":
        if v is None:
            return 0
        if isinstance(v, (bool, np.bool_)):
            return 1 if v else 0
        if isinstance(v, (int, float, np.integer, np.floating)):
            return int(v)
        if isinstance(v, str):
            try:
                return int(float(v))
            except ValueError as exc:
                raise GamlError(f"Java error: wrong casting of '{v}' to int") from exc
        raise GamlError(f"Java error: wrong casting of {gama_json(v)} to int")
    if t == "bool":
        if v is None:
            return False
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, float, np.integer, np.floating)):
            return v != 0
        if isinstance(v, str):
            return v.lower() == "true"
        raise GamlError(f"Java error: wrong casting of {gama_json(v)} to bool")
    if t == "string":
        return v if isinstance(v, str) else _gaml_str(v) if not isinstance(v, (list, dict)) else gama_json(v)
    if t.startswith("list"):
        inner = t[5:-1] if t.startswith("list<") else "unknown"
        if v is None:
            items: list = []
        elif isinstance(v, (list, tuple)):
            items = list(v)
        elif isinstance(v, dict):
            items = list(v.values())
        elif isinstance(v, (_AgentRef, _SpeciesRef)):
            raise GamlError(f"the stand-in cannot cast {v!r} to a list")
        else:
            items = [v]
        return [_cast(e, inner) for e in items]
    if t.startswith("map"):
        inner = t[4:-1] if t.startswith("map<") else "unknown"
        if v is None:
            return {}
        if isinstance(v, dict):
            return {_gaml_str(k): _cast(val, inner) for k, val in v.items()}
        raise GamlError(f"the stand-in cannot cast {gama_json(v)} to a map")
    raise GamlError(f"unknown type {t}")


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
   |(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
   |(?P<str>'[^'\\]*(?:\\.[^'\\]*)*'|"[^"\\]*(?:\\.[^"\\]*)*")
   |(?P<id>[A-Za-z_][A-Za-z0-9_]*)
   |(?P<op><-|::|[\[\](){},.;<>+\-])
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "b": "\b", "f": "\f"}
_FUNCS = {"from_json", "list", "map", "float", "int", "string", "bool", "length", "copy"}
_TYPES = {"float", "int", "string", "bool", "unknown", "list", "map"}


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            n = body[i + 1]
            if n in _ESCAPES:
                out.append(_ESCAPES[n])
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _tokenize(text: str) -> list[tuple[str, Any]]:
    toks: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise GamlError(f"Syntax error: unexpected character '{text[pos]}' in '{text}'")
        pos = m.end()
        kind = m.lastgroup
        val = m.group()
        if kind == "ws":
            continue
        if kind == "num":
            toks.append(("num", float(val) if ("." in val or "e" in val or "E" in val) else int(val)))
        elif kind == "str":
            toks.append(("str", _unescape(val[1:-1])))
        elif kind == "id":
            toks.append(("id", val))
        else:
            toks.append(("op", val))
    toks.append(("eof", None))
    return toks


class _Parser:
    """Recursive-descent parser of the GAML subset in the module docstring (builds tuples)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, Any]:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> tuple[str, Any]:
        t = self.toks[self.i]
        self.i += 1
        return t

    def is_op(self, val: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t[0] == "op" and t[1] == val

    def expect_op(self, val: str) -> None:
        t = self.next()
        if t[0] != "op" or t[1] != val:
            got = "end of expression" if t[0] == "eof" else repr(t[1])
            raise GamlError(f"Syntax error: '{val}' expected, found {got} in '{self.text}'")

    # program ---------------------------------------------------------------------------------
    def program(self) -> tuple:
        depth = 0
        statements = False
        for kind, val in self.toks:
            if kind == "op" and val in "([{":
                depth += 1
            elif kind == "op" and val in ")]}":
                depth -= 1
            elif kind == "op" and val == "<-" and depth == 0:
                statements = True
        if not statements:
            e = self.expr()
            if self.peek()[0] != "eof":
                t = self.peek()
                raise GamlError(f"Syntax error: unexpected {t[1]!r} in '{self.text}'")
            return ("expr", e)
        stmts = []
        while self.peek()[0] != "eof":
            target = self.postfix()
            self.expect_op("<-")
            value = self.expr()
            self.expect_op(";")
            stmts.append((target, value))
        return ("stmts", stmts)

    # expressions -----------------------------------------------------------------------------
    def expr(self) -> tuple:
        if self.is_op("-"):
            self.next()
            return ("neg", self.expr())
        if self.is_op("+"):
            self.next()
            return self.expr()
        e = self.postfix()
        t = self.peek()
        if t[0] == "op" and t[1] in ("+", "-", "<", ">"):
            raise GamlError(f"the stand-in does not evaluate the operator '{t[1]}' (in '{self.text}')")
        if t[0] == "id":
            raise GamlError(f"the stand-in does not evaluate the operator '{t[1]}' (in '{self.text}')")
        return e

    def postfix(self) -> tuple:
        e = self.primary()
        while True:
            if self.is_op("."):
                self.next()
                t = self.next()
                if t[0] != "id":
                    raise GamlError(f"Syntax error: attribute name expected after '.' in '{self.text}'")
                e = ("attr", e, t[1])
                if self.is_op("("):  # an action called as a function: `Bridge[0].action(arg, ...)`
                    self.next()
                    args = [] if self.is_op(")") else [self.expr()]
                    while self.is_op(","):
                        self.next()
                        args.append(self.expr())
                    self.expect_op(")")
                    e = ("method", e[1], e[2], args)
            elif self.is_op("["):
                self.next()
                idx = self.expr()
                self.expect_op("]")
                e = ("index", e, idx)
            else:
                return e

    def type_params(self) -> list[str]:
        self.expect_op("<")
        params = []
        while True:
            t = self.next()
            if t[0] != "id" or t[1] not in _TYPES:
                raise GamlError(f"the stand-in does not know the type {t[1]!r} (in '{self.text}')")
            params.append(t[1])
            if self.is_op(","):
                self.next()
                continue
            self.expect_op(">")
            return params

    def primary(self) -> tuple:
        t = self.next()
        kind, val = t
        if kind == "num":
            return ("const", val)
        if kind == "str":
            return ("const", val)
        if kind == "id":
            if val == "true":
                return ("const", True)
            if val == "false":
                return ("const", False)
            if val == "nil":
                return ("const", None)
            if val in _FUNCS and (self.is_op("(") or (self.is_op("<") and val in ("list", "map"))):
                tparams = self.type_params() if self.is_op("<") else []
                self.expect_op("(")
                arg = self.expr()
                self.expect_op(")")
                return ("call", val, tparams, arg)
            if self.is_op("("):
                raise GamlError(f"the stand-in does not know the operator {val}(...) (in '{self.text}')")
            return ("var", val)
        if kind == "op" and val == "(":
            e = self.expr()
            self.expect_op(")")
            return e
        if kind == "op" and val == "[":
            if self.is_op("]"):
                self.next()
                return ("list", [])
            first = self.expr()
            if self.is_op("::"):
                self.next()
                pairs = [(first, self.expr())]
                while self.is_op(","):
                    self.next()
                    k = self.expr()
                    self.expect_op("::")
                    pairs.append((k, self.expr()))
                self.expect_op("]")
                return ("map", pairs)
            items = [first]
            while self.is_op(","):
                self.next()
                items.append(self.expr())
            self.expect_op("]")
            return ("list", items)
        got = "end of expression" if kind == "eof" else repr(val)
        raise GamlError(f"Syntax error: unexpected {got} in '{self.text}'")


def _eval(node: tuple, exp: _Experiment) -> Any:
    op = node[0]
    if op == "const":
        return node[1]
    if op == "neg":
        v = _eval(node[1], exp)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v
        raise GamlError(f"the stand-in cannot negate {gama_json(v)}")
    if op == "list":
        return [_eval(e, exp) for e in node[1]]
    if op == "map":
        out = {}
        for k, v in node[1]:
            out[_eval(k, exp)] = _eval(v, exp)
        return out
    if op == "var":
        return exp.global_value(node[1])
    if op == "attr":
        base = _eval(node[1], exp)
        name = node[2]
        if isinstance(base, _AgentRef):
            fields = base.species.fields
            if name in fields:
                return copy.deepcopy(fields[name])
            if name == "name":
                return f"{base.species.name}{base.index}"
            raise GamlError(f"Attribute {name} unknown for species {base.species.name}")
        if base is None:
            raise GamlError("Java error: nil value detected")
        if isinstance(base, Point) and name in ("x", "y", "z"):
            return getattr(base, name)
        raise GamlError(f"the stand-in cannot read the attribute {name} of {gama_json(base)}")
    if op == "method":  # only the W-world experiments have actions to call (gama_standin_worlds.py)
        base = _eval(node[1], exp)
        if not isinstance(base, _AgentRef) or not hasattr(exp, "call_action"):
            raise GamlError(f"the stand-in cannot call the action {node[2]} of {base!r}")
        return exp.call_action(base, node[2], [_eval(a, exp) for a in node[3]])
    if op == "index":
        base = _eval(node[1], exp)
        idx = _eval(node[2], exp)
        if isinstance(base, _SpeciesRef):
            if isinstance(idx, bool) or not isinstance(idx, int):
                raise GamlError(f"the stand-in only indexes species with an int, got {gama_json(idx)}")
            if idx != 0 or base.species.fields is None:
                # GAMA answers nil for a missing agent; reading one of its attributes then fails
                return None
            return _AgentRef(base.species, 0)
        if isinstance(base, dict):
            return copy.deepcopy(base.get(idx))  # GAML: nil for a missing key
        if isinstance(base, list):
            if isinstance(idx, bool) or not isinstance(idx, int):
                raise GamlError(f"Java error: index {gama_json(idx)} is not an int")
            if not 0 <= idx < len(base):
                raise GamlError(f"Java error: index out of bounds: {idx} (size {len(base)})")
            return copy.deepcopy(base[idx])
        if base is None:
            raise GamlError("Java error: nil value detected")
        raise GamlError(f"the stand-in cannot index {gama_json(base)}")
    if op == "call":
        fname, tparams, arg = node[1], node[2], node[3]
        v = _eval(arg, exp)
        if fname == "from_json":
            if not isinstance(v, str):
                raise GamlError("from_json expects a string")
            try:
                return _parse_json_like_gama(v)
            except ValueError as exc:
                raise GamlError(f"Java error: ParseException: {exc}") from exc
        if fname == "list":
            return _cast(v, "list<" + tparams[-1] + ">" if tparams else "list")
        if fname == "map":
            return _cast(v, "map<" + tparams[-1] + ">" if tparams else "map")
        if fname in ("float", "int", "string", "bool"):
            return _cast(v, fname)
        if fname == "length":
            if isinstance(v, (list, dict, str)):
                return len(v)
            if v is None:
                return 0
            raise GamlError(f"length of {gama_json(v)}")
        if fname == "copy":
            return copy.deepcopy(v)
    raise GamlError(f"the stand-in cannot evaluate {node!r}")


def _assign(target: tuple, value: Any, exp: _Experiment) -> None:
    if target == ("var", "seed"):
        exp.seed = _cast(value, "float")
        return
    if target[0] == "attr":
        base = _eval(target[1], exp)
        name = target[2]
        if isinstance(base, _AgentRef):
            types = base.species.types
            if name not in types:
                raise GamlError(f"Attribute {name} unknown for species {base.species.name}")
            base.species.fields[name] = _cast(value, types[name])
            return
        if base is None:
            raise GamlError("Java error: nil value detected")
    if target[0] == "var" and target[1] != "seed":
        exp.global_value(target[1])  # raises for an unknown name
        raise GamlError(f"the stand-in does not support assigning {target[1]}")
    raise GamlError("Syntax error: this cannot be assigned")


def evaluate_expression(text: str, exp: _Experiment) -> tuple[bool, Any]:
    """Evaluate ``expr`` in the experiment's context; returns (is_statement, value). Raises GamlError."""
    prog = _Parser(text).program()
    if prog[0] == "expr":
        return False, _eval(prog[1], exp)
    for target, value_node in prog[1]:
        _assign(target, _eval(value_node, exp), exp)
    return True, None


# =============================================================================================
# The server
# =============================================================================================


class _PlainLoop(asyncio.SelectorEventLoop):
    """An event loop immune to nest_asyncio, which ``gama_client.sync_client`` applies at import by
    patching the methods of the default loop *class* (even while our loop would be running)."""

    run_forever = asyncio.base_events.BaseEventLoop.run_forever
    run_until_complete = asyncio.base_events.BaseEventLoop.run_until_complete
    _run_once = asyncio.base_events.BaseEventLoop._run_once
    _check_running = asyncio.base_events.BaseEventLoop._check_running


class _Conn:
    def __init__(self, ws: Any, socket_id: str) -> None:
        self.ws = ws
        self.id = socket_id
        self.last_activity = time.monotonic()
        self.requests: list[Any] = []
        self.closed = False

    def abort(self) -> None:
        """Close abruptly: TCP abort, no close frame."""
        transport = getattr(self.ws, "transport", None)
        if transport is not None:
            transport.abort()


class _NoAnswer(Exception):
    """The real server sends nothing back for this request."""


class GamaStandIn:
    """The GAMA headless server stand-in, on 127.0.0.1 and a free port, in a background thread.

    Args:
        gaml_dir: the server's working directory: a relative ``model`` path of ``load`` is resolved
            against it (real GAMA resolves it against its process's working directory). None: the
            current directory.
        ping_interval, ping_timeout: server keep-alive (seconds), like ``-ping_interval`` of
            gama-headless (the real default is 10 s) and the Java-WebSocket lost-connection check: a
            ping every ``ping_interval``; a peer that has not answered it within ``ping_timeout`` is
            dropped abruptly (its experiments disposed). The Python gama-client answers pings only
            while one of its commands runs. None disables them (the default here).

    Use ``with GamaStandIn() as gama:`` or ``gama = GamaStandIn().start()`` ... ``gama.stop()``;
    ``gama.host``/``gama.port`` are where to connect; ``gama.faults`` (:class:`FaultConfig`) sets
    faults. Introspection: :attr:`requests` (every parsed request, in arrival order),
    :attr:`requests_by_connection` (socket id -> its parsed requests), :attr:`raw_messages`,
    :attr:`connections` (live socket ids), :attr:`live_experiments`, :meth:`experiment`,
    :meth:`call` (run a function on the server thread), :attr:`errors` (requests the real server
    would not answer because of an uncaught Java exception).
    """

    def __init__(
        self, gaml_dir: str | None = None, ping_interval: float | None = None, ping_timeout: float | None = None,
        engine: str = "embedded",
    ) -> None:
        if engine not in ("embedded", "gaml"):  # gaml: the file's text run by sb3_forager/lang/interp
            raise ValueError(f"engine must be 'embedded' or 'gaml', got {engine!r}")
        self.engine = engine
        self.gaml_dir = os.path.abspath(gaml_dir) if gaml_dir else None
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self.faults = FaultConfig()
        self.requests: list[Any] = []
        self.requests_by_connection: dict[str, list[Any]] = {}
        self.raw_messages: list[str] = []
        self.errors: list[str] = []
        self.exited = False
        self._exp_counter = itertools.count()
        self._experiments: dict[str, dict[str, _Experiment]] = {}
        self._conns: dict[str, _Conn] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._tasks: set[asyncio.Task] = set()
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> GamaStandIn:
        if self._thread is not None:
            return self
        self._loop = _PlainLoop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._open())
            except BaseException as exc:  # pragma: no cover - reported to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="gama-standin", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise RuntimeError(f"the GAMA stand-in could not start: {failure[0]!r}")
        return self

    async def _open(self) -> None:
        # Keep-alive is done by _keepalive (like the Java server: ping, then drop a silent peer
        # abruptly), not by websockets' own keep-alive, which waits for a closing handshake.
        self._server = await websockets.serve(
            self._handler,
            self.host,
            0,
            ping_interval=None,
            ping_timeout=None,
            max_size=None,
            compression=None,
            close_timeout=1,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._thread is None or self._stopped:
            return
        self._stopped = True
        loop = self._loop
        assert loop is not None
        try:
            fut = asyncio.run_coroutine_threadsafe(self._close(), loop)
            fut.result(10)
        except Exception:
            pass
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)

    async def _close(self) -> None:
        for conn in list(self._conns.values()):
            conn.abort()
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 5)
            except Exception:
                pass
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def __enter__(self) -> GamaStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    # ------------------------------------------------------------------ introspection
    @property
    def connections(self) -> list[str]:
        """Socket ids of the live connections."""
        return list(self._conns)

    @property
    def live_experiments(self) -> int:
        """How many experiments are loaded and not yet disposed."""
        return sum(len(e) for e in list(self._experiments.values()))

    def experiment(self, exp_id: str) -> _Experiment:
        """The live experiment with this id (any socket)."""
        for exps in list(self._experiments.values()):
            if str(exp_id) in exps:
                return exps[str(exp_id)]
        raise KeyError(exp_id)

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``fn()`` on the server thread (between two messages) and return its result."""
        assert self._loop is not None

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Poll ``predicate`` until true or ``timeout`` seconds; returns its last value."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.01)
        return bool(predicate())

    # ------------------------------------------------------------------ connections
    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _new_socket_id(self) -> str:
        while True:
            sid = str(random.randint(10_000_000, 2**31 - 1))  # like Java's socket.hashCode()
            if sid not in self._conns and sid not in self._experiments:
                return sid

    async def _handler(self, ws: Any, path: str | None = None) -> None:
        conn = _Conn(ws, self._new_socket_id())
        self._conns[conn.id] = conn
        self.requests_by_connection[conn.id] = conn.requests
        watchdog = self._spawn(self._watchdog(conn))
        keepalive = self._spawn(self._keepalive(conn)) if self.ping_interval else None
        try:
            if not self.faults.refuse_handshake:
                await ws.send(json.dumps({"type": CONNECTION_SUCCESSFUL, "content": conn.id}))
            async for message in ws:
                conn.last_activity = time.monotonic()
                if isinstance(message, bytes):
                    message = message.decode("utf-8", errors="replace")
                await self._on_message(conn, message)
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            watchdog.cancel()
            if keepalive is not None:
                keepalive.cancel()
            self._conns.pop(conn.id, None)
            # GamaHeadlessWebSocketServer.onClose: pause, close and dispose the socket's experiments
            for exp in self._experiments.pop(conn.id, {}).values():
                exp.disposed = True
                exp.playing = False

    async def _watchdog(self, conn: _Conn) -> None:
        while not conn.closed:
            await asyncio.sleep(0.02)
            limit = self.faults.idle_close_after
            if limit is not None and time.monotonic() - conn.last_activity > float(limit):
                conn.abort()
                return

    async def _keepalive(self, conn: _Conn) -> None:
        """Ping every ``ping_interval`` s; no pong within ``ping_timeout`` s: drop the connection."""
        while not conn.closed:
            await asyncio.sleep(float(self.ping_interval or 0))
            try:
                pong = await conn.ws.ping()
            except ConnectionClosed:
                return
            if self.ping_timeout is None:
                continue
            try:
                await asyncio.wait_for(asyncio.shield(pong), float(self.ping_timeout))
            except TimeoutError:
                conn.abort()
                return
            except ConnectionClosed:
                return

    async def _send(self, conn: _Conn, text: str) -> None:
        if conn.closed:
            return
        try:
            await conn.ws.send(text)
        except ConnectionClosed:
            pass

    async def _answer(self, conn: _Conn, text: str) -> None:
        latency = float(self.faults.latency or 0.0)
        if latency > 0:
            await asyncio.sleep(latency)
        await self._send(conn, text)

    @staticmethod
    def _message(
        type_: str,
        content: Any,
        command: dict | None = None,
        content_json: str | None = None,
        exp_id: str | None = None,
    ) -> str:
        parts = [
            '"type":' + json.dumps(type_),
            '"content":' + (content_json if content_json is not None else gama_json(content)),
        ]
        if command is not None:
            cmd = {k: v for k, v in command.items() if k != "server"}
            parts.append('"command":' + gama_json(cmd))
        if exp_id is not None:
            parts.append('"exp_id":' + json.dumps(exp_id))
        return "{" + ",".join(parts) + "}"

    async def _on_message(self, conn: _Conn, raw: str) -> None:
        self.raw_messages.append(raw)
        try:
            req: Any = _parse_json_like_gama(raw)
            parsed = True
        except ValueError as exc:
            req, parsed = exc, False
        if parsed:
            self.requests.append(req)
            conn.requests.append(req)
        stall, drop = self.faults._on_message()
        if drop:
            conn.abort()
            return
        if stall:
            return
        if not parsed:
            # extractParam sends MalformedRequest; onMessage then fails on the null map
            await self._answer(
                conn,
                self._message(
                    MALFORMED,
                    _ExceptionValue(
                        "gama.core.util.json.ParseException",
                        str(req),
                        ["gama.core.util.json.JsonParser.error(JsonParser.java)"],
                    ),
                ),
            )
            await self._answer(
                conn,
                self._message(
                    SERVER_ERROR,
                    _ExceptionValue(
                        "java.lang.NullPointerException",
                        'Cannot invoke "java.util.Map.getOrDefault(Object, Object)" because "received" is null',
                        ["gama.api.utils.server.GamaWebSocketServer.onMessage(GamaWebSocketServer.java)"],
                    ),
                ),
            )
            return
        if not isinstance(req, dict) or req.get("type") is None:
            await self._answer(
                conn,
                self._message(
                    SERVER_ERROR,
                    _ExceptionValue(
                        "java.lang.NullPointerException",
                        'Cannot invoke "Object.toString()" because the return value of'
                        ' "gama.api.utils.server.ReceivedMessage.get(Object)" is null',
                        ["gama.api.utils.server.CommandExecutor.process(CommandExecutor.java)"],
                    ),
                ),
            )
            return
        ctype = _java_str(req["type"])
        handler = self._commands.get(ctype)
        if handler is None:
            await self._answer(
                conn,
                self._message(
                    SERVER_ERROR,
                    _ExceptionValue(
                        "java.lang.IllegalArgumentException",
                        f"Invalid command type: {ctype}",
                        ["gama.api.utils.server.CommandExecutor.process(CommandExecutor.java)"],
                    ),
                ),
            )
            return
        try:
            result = await handler(self, conn, req)
        except _NoAnswer as exc:
            self.errors.append(f"{ctype}: {exc}")
            return
        if result is None:
            return
        type_, content, content_json = result
        await self._answer(conn, self._message(type_, content, req, content_json=content_json))

    # ------------------------------------------------------------------ helpers of commands
    def _socket_id_of(self, conn: _Conn, req: dict) -> str:
        return _java_str(req["socket_id"]) if req.get("socket_id") is not None else conn.id

    def _retrieve(self, conn: _Conn, req: dict) -> _Experiment | tuple:
        """``retrieveExperimentPlan``: the experiment, or the error answer."""
        exp_id = _java_str(req["exp_id"]) if req.get("exp_id") is not None else ""
        if exp_id == "":
            return (MALFORMED, f"For {_java_str(req.get('type'))}, mandatory parameter is: exp_id", None)
        exp = self._experiments.get(self._socket_id_of(conn, req), {}).get(exp_id)
        if exp is None or exp.disposed:
            return (UNABLE, NOT_FOUND, None)
        return exp

    def _resolve_path(self, model: str) -> str:
        path = model.strip()
        if not os.path.isabs(path):
            path = os.path.join(self.gaml_dir or os.getcwd(), path)
        return os.path.abspath(path)

    @staticmethod
    def _check_parameters(params: Any) -> tuple | None:
        """``CommandExecutor.checkLoadParameters``."""
        if params is None:
            return None
        for i, p in enumerate(params, start=1):
            if not isinstance(p, dict):
                return (UNABLE, _ExceptionValue("java.lang.ClassCastException", f"parameter {i} is not a map"), None)
            if p.get("name") is None:
                return (
                    MALFORMED,
                    f"Parameter number {i} is missing its `name` field. Parameter received: " + gama_json(p),
                    None,
                )
            if p.get("value") is None:
                return (
                    MALFORMED,
                    f"Parameter number {i} is missing its `value` field. Parameter received: " + gama_json(p),
                    None,
                )
        return None

    async def _run_cycles(self, exp: _Experiment, n: int) -> None:
        async with exp.lock:
            for _ in range(n):
                if exp.disposed:
                    return
                await self._one_cycle(exp)

    async def _one_cycle(self, exp: _Experiment) -> None:
        message = None
        if self.faults._take_runtime_error():
            message = str(self.faults.runtime_error_message)
            exp.cycle += 1  # the reflex fails; the simulation still counts the cycle
        else:
            try:
                exp.run_cycle()
            except _SimRuntimeError as exc:
                message = str(exc)
                exp.cycle += 1
        exp.corrupt()
        if message is not None and exp.runtime and exp.owner is not None:
            err = _ExceptionValue(
                "gama.api.exceptions.GamaRuntimeException",
                message,
                [f"in {exp.model.name} at cycle {exp.cycle - 1}", "in reflex main_loop"],
            )
            await self._send(exp.owner, self._message(SIMULATION_ERROR, err, exp_id=exp.id))

    async def _report_init_error(self, exp: _Experiment) -> None:
        """A GAML ``error`` in the global init: an unsolicited SimulationError (runtime true only),
        sent before the load / reload answer (see the module docstring)."""
        if exp.init_error is None or not exp.runtime or exp.owner is None:
            return
        err = _ExceptionValue(
            "gama.api.exceptions.GamaRuntimeException",
            exp.init_error,
            [f"in {exp.model.name} at cycle 0", "in init of world", "in statement error"],
        )
        await self._send(exp.owner, self._message(SIMULATION_ERROR, err, exp_id=exp.id))

    async def _flush_async_steps(self, exp: _Experiment) -> None:
        n, exp.pending_async_steps = exp.pending_async_steps, 0
        if n:
            await self._run_cycles(exp, n)

    async def _delayed_steps(self, exp: _Experiment, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._flush_async_steps(exp)

    async def _player(self, exp: _Experiment) -> None:
        while exp.playing and not exp.disposed:
            await self._run_cycles(exp, 1)
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ commands
    async def _cmd_load(self, conn: _Conn, req: dict) -> tuple | None:
        model, experiment = req.get("model"), req.get("experiment")
        if model is None or experiment is None:
            return (MALFORMED, "For load, mandatory parameters are: 'model' and 'experiment'", None)
        params = req.get("parameters")
        if params is not None and not isinstance(params, list):
            return (
                UNABLE,
                _ExceptionValue(
                    "java.lang.ClassCastException",
                    "class gama.api.types.map.GamaMap cannot be cast to class gama.api.types.list.IList",
                ),
                None,
            )
        path = self._resolve_path(_java_str(model))
        if not os.path.exists(path):
            return (UNABLE, f"'{path}' does not exist", None)
        if not path.endswith(".gaml"):
            return (UNABLE, f"'{path}' is not a gaml file", None)
        name = _java_str(experiment)
        err = self._check_parameters(params)
        if err is not None:
            return err
        if os.path.isdir(path):
            return (UNABLE, f"Impossible to compile '{path}' because of Is a directory", None)
        mf = _read_model_file(path)
        if mf.compile_error_line is not None:
            errors = {
                "exception": "GamaCompilationFailedException",
                "message": "The model couldn't be compiled because of compilation errors",
                "errors": [
                    {
                        "type": "Error",
                        "message": "Syntax error: missing ';' (stand-in compile error marker)",
                        "code": "gaml.syntax.error",
                        "data": [""],
                        "source": path,
                        "uri": "file:" + path,
                        "starting_at_line": mf.compile_error_line,
                        "offset": 0,
                    }
                ],
            }
            return (UNABLE, None, gama_json(errors))
        if name not in mf.experiments:
            return (UNABLE, f"'{name}' is not an experiment present in '{path}'", None)
        exp_id = str(next(self._exp_counter))
        sid = self._socket_id_of(conn, req)
        try:
            cls = _experiment_class(mf.kind) if self.engine == "embedded" else _gaml_experiment()
            exp = cls(exp_id, sid, mf, name, req, faults=self.faults, errors=self.errors)
        except _ParamError as exc:  # HeadlessLoadCommand: catch (Exception e) -> the exception as content
            return (UNABLE, exc.value, None)
        exp.owner = self._conns.get(sid, conn)
        self._experiments.setdefault(sid, {})[exp_id] = exp
        await self._report_init_error(exp)
        return (SUCCESS, exp_id, None)

    async def _cmd_step(self, conn: _Conn, req: dict) -> tuple | None:
        exp = self._retrieve(conn, req)
        if isinstance(exp, tuple):
            return exp
        nb_raw = req.get("nb_step")
        if nb_raw is not None and _java_str(nb_raw).strip() != "":
            text = _java_str(nb_raw)
            if not re.fullmatch(r"[+-]?\d+", text):
                # Integer.parseInt throws in the command's thread: the real server never answers
                raise _NoAnswer(f'NumberFormatException: For input string: "{text}"')
            nb = int(text)
        else:
            nb = 1
        sync = _java_parse_bool(req["sync"]) if req.get("sync") is not None else False
        if sync:
            await self._flush_async_steps(exp)
            await self._run_cycles(exp, max(nb, 0))
        elif nb > 0:
            exp.pending_async_steps += nb
            self._spawn(self._delayed_steps(exp, float(self.faults.async_step_delay or 0.0)))
        return (SUCCESS, "", None)

    async def _cmd_step_back(self, conn: _Conn, req: dict) -> tuple | None:
        exp = self._retrieve(conn, req)
        if isinstance(exp, tuple):
            return exp
        return (SUCCESS, "", None)  # no history is recorded: like a headless run, nothing happens

    async def _cmd_reload(self, conn: _Conn, req: dict) -> tuple | None:
        exp = self._retrieve(conn, req)
        if isinstance(exp, tuple):
            return exp
        params = req.get("parameters")
        if params is not None and not isinstance(params, list):
            raise _NoAnswer("ClassCastException: parameters is not a list")
        err = self._check_parameters(params)
        if err is not None:
            return err
        async with exp.lock:
            try:
                exp.set_parameters(params)  # (setParameterValues, in the command's own thread)
            except _ParamError as exc:
                raise _NoAnswer(str(exc)) from None
            if req.get("until") is not None:
                exp.until = _java_str(req["until"])
            exp.init()
        await self._report_init_error(exp)
        return (SUCCESS, "", None)

    async def _cmd_stop(self, conn: _Conn, req: dict) -> tuple | None:
        exp = self._retrieve(conn, req)
        if isinstance(exp, tuple):
            return exp
        exp.disposed = True
        exp.playing = False
        self._experiments.get(exp.socket_id, {}).pop(exp.id, None)
        return (SUCCESS, "", None)

    async def _cmd_play(self, conn: _Conn, req: dict) -> tuple | None:
        exp = self._retrieve(conn, req)
        if isinstance(exp, tuple):
            return exp
        if not exp.playing:
            exp.playing = True
            self._spawn(self._player(exp))
        return (SUCCESS, "", None)

    async def _cmd_pause(self, conn: _Conn, req: dict) -> tuple | None:
        exp = self._retrieve(conn, req)
        if isinstance(exp, tuple):
            return exp
        exp.playing = False
        return (SUCCESS, "", None)

    async def _cmd_expression(self, conn: _Conn, req: dict) -> tuple | None:
        exp = self._retrieve(conn, req)
        if isinstance(exp, tuple):
            return exp
        if req.get("expr") is None:
            return (MALFORMED, "For expression, mandatory parameter is: expr", None)
        text = _java_str(req["expr"]).strip()
        try:
            _, value = exp.evaluate(text) if hasattr(exp, "evaluate") else evaluate_expression(text, exp)
            encoded = gama_json(value)
        except GamlError as exc:
            return (UNABLE, "> Error: " + str(exc), None)
        except Exception as exc:  # a bug or an unsupported value: still a GAMA-like error answer
            return (UNABLE, f"> Error: {type(exc).__name__}: {exc}", None)
        return (SUCCESS, None, encoded)

    async def _cmd_validate(self, conn: _Conn, req: dict) -> tuple | None:
        if req.get("expr") is None:
            return (MALFORMED, "For validate, mandatory parameter is: expr", None)
        text = _java_str(req["expr"]).strip()
        if not text:
            return (SUCCESS, text, None)
        try:
            _Parser(text).program()
        except GamlError as exc:
            errors = {
                "exception": "GamaCompilationFailedException",
                "message": "The model couldn't be compiled because of compilation errors",
                "errors": [
                    {
                        "type": "Error",
                        "message": str(exc),
                        "code": "",
                        "data": [""],
                        "source": "",
                        "uri": "null",
                        "starting_at_line": 1,
                        "offset": 0,
                    }
                ],
            }
            return (UNABLE, None, gama_json(errors))
        return (SUCCESS, "", None)

    async def _cmd_ask(self, conn: _Conn, req: dict) -> tuple | None:
        exp = self._retrieve(conn, req)
        if isinstance(exp, tuple):
            return exp
        action = req.get("action")
        if action is None:
            return (MALFORMED, "For ask, mandatory parameter is: 'action'", None)
        ref = req.get("agent")
        return (UNABLE, f"Action {_java_str(action).strip()} does not exist in agent {_java_str(ref)}", None)

    async def _cmd_describe(self, conn: _Conn, req: dict) -> tuple | None:
        model = req.get("model")
        if model is None:
            return (MALFORMED, "For 'describe', mandatory parameter is: 'model'", None)
        path = self._resolve_path(_java_str(model))
        if not os.path.exists(path):
            return (UNABLE, f"'{path}' does not exist", None)
        if not path.endswith(".gaml"):
            return (UNABLE, f"'{path}' is not a gaml file", None)
        mf = _read_model_file(path)
        res: dict[str, Any] = {}
        if req.get("experiments", True):
            res["experiments"] = [{"name": e, "parameters": []} for e in mf.experiments]
        if req.get("speciesNames", True) or req.get("speciesVariables", True) or req.get("speciesActions", True):
            res["species"] = [{"name": s} for s in mf.species]
        res["name"] = mf.name
        res["path"] = _java_str(model)
        return (SUCCESS, res, None)

    async def _cmd_download(self, conn: _Conn, req: dict) -> tuple | None:
        if req.get("file") is None:
            return (MALFORMED, "For 'download', mandatory parameter is: 'file'", None)
        try:
            with open(self._resolve_path(_java_str(req["file"])), encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            return (UNABLE, "Unable to download file", None)
        return (SUCCESS, text.removesuffix("\n"), None)

    async def _cmd_upload(self, conn: _Conn, req: dict) -> tuple | None:
        if req.get("file") is None or req.get("content") is None:
            return (MALFORMED, "For 'upload', mandatory parameters are: 'file' and 'content'", None)
        try:
            with open(self._resolve_path(_java_str(req["file"])), "w", encoding="utf-8") as fh:
                fh.write(_java_str(req["content"]))
        except OSError as exc:
            return (UNABLE, str(exc), None)
        return (SUCCESS, "", None)

    async def _cmd_exit(self, conn: _Conn, req: dict) -> tuple | None:
        # System.exit(0): no reliable answer; every connection drops and nothing listens any more
        self.exited = True
        if self._server is not None:
            self._server.close()
        for c in list(self._conns.values()):
            c.abort()
        return None

    _commands: dict[str, Callable[..., Any]] = {
        "load": _cmd_load,
        "play": _cmd_play,
        "pause": _cmd_pause,
        "step": _cmd_step,
        "stepBack": _cmd_step_back,
        "back": _cmd_step_back,
        "stop": _cmd_stop,
        "reload": _cmd_reload,
        "expression": _cmd_expression,
        "evaluate": _cmd_expression,
        "exit": _cmd_exit,
        "download": _cmd_download,
        "upload": _cmd_upload,
        "ask": _cmd_ask,
        "validate": _cmd_validate,
        "describe": _cmd_describe,
    }


# =============================================================================================
# Helpers
# =============================================================================================


def free_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (bound once by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gaml_experiment() -> type:
    from gaml_standin_engine import GamlExperiment  # the engine="gaml" experiment (tests/gaml_standin_engine.py)

    return GamlExperiment


def running_standin(**kwargs: Any) -> Iterator[GamaStandIn]:
    """Generator for a pytest fixture: ``yield from running_standin()`` (started, then stopped)."""
    standin = GamaStandIn(**kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()


# =============================================================================================
# W worlds per simulation (the experiments of forager_*_worlds.gaml): tests/gama_standin_worlds.py
# =============================================================================================


def _worlds_kind(experiments: list[str], species: list[str]) -> str | None:
    from gama_standin_worlds import kind_of

    return kind_of(experiments, species)


def _experiment_class(kind: str) -> type:
    if kind.endswith("_worlds"):
        from gama_standin_worlds import WorldsExperiment

        return WorldsExperiment
    return _Experiment
