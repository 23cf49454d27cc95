"""Small parts of the GAMA backend: addresses, GAML literals, answer parsing, and the protocol client
against scripted servers (out-of-order answers, unsolicited errors, wrong greetings)."""

from __future__ import annotations

import asyncio
import json
import logging

import numpy as np
import pytest
import websockets

from sb3_forager.gama import GamaConnectionError, GamaProtocolError, GamaSimulationError
from sb3_forager.common.checks import server as parse_server
from sb3_forager.gama.address import is_loopback, ws_uri
from sb3_forager.gama.connection import GamaConnection, describe_content
from sb3_forager.gama import contracts
from sb3_forager.gama.contracts import gaml_number
from sb3_forager.models import MODELS


def GymAgentContract():  # noqa: N802  (the tutorial model's contract)
    m = MODELS["forager"]
    return contracts.GymAgentContract(m.scenario, m.experiment, m.gaml_file)


def PetzAgentContract():  # noqa: N802
    m = MODELS["coop"]
    return contracts.PetzAgentContract(m.scenario, m.experiment, m.gaml_file)
from sb3_forager.gama.errors import GamaError
from sb3_forager.gama.io_loop import run_sync


# ------------------------------------------------------------------ addresses, literals
def test_parse_server_and_loopback():
    assert parse_server("127.0.0.1:1001") == ("127.0.0.1", 1001)
    assert parse_server(" gama.lan:6868 ") == ("gama.lan", 6868)
    assert parse_server("localhost") == ("localhost", 1001)
    assert parse_server("[::1]:7000") == ("::1", 7000)
    assert parse_server("::1") == ("::1", 1001)
    for bad in ("", ":1001", "host:port", "host:70000"):
        with pytest.raises(ValueError):
            parse_server(bad)
    assert ws_uri("::1", 7000) == "ws://[::1]:7000" and ws_uri("h", 1) == "ws://h:1"
    loopback = ("127.0.0.1", "127.3.4.5", "localhost", "::1", "[::1]", "LOCALHOST", "gama.localhost")
    # other spellings connect() also sends to this machine: short IPv4, IPv4-mapped IPv6, unspecified
    loopback += ("127.1", "127.0.1", "::ffff:127.0.0.1", "[::ffff:127.0.0.1]", "0.0.0.0", "::", "0")
    assert [h for h in loopback if not is_loopback(h)] == []
    remote = ("10.0.0.1", "192.0.2.7", "gama.example.org", "::ffff:192.0.2.7", "128.0.0.1", "localhost.example.org")
    assert [h for h in remote if is_loopback(h)] == []


@pytest.mark.parametrize("x", [0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, 1e-5, -2.5e-12, 123456.789, 1e22, np.float32(0.7)])
def test_gaml_numbers_are_positional_and_exact(x):
    text = gaml_number(x)
    assert "e" not in text.lower() and "." in text  # GAML float literals: digits '.' digits
    assert float(text) == float(x) and json.loads(text) == float(x)


def test_action_statements_are_the_bridges():
    gym = GymAgentContract()
    assert gym.action_expr({"forager_0": np.array([0.5, -1e-05])}) == "GymAgent[0].next_action <- [0.5,-0.00001];"
    petz = PetzAgentContract()
    expr = petz.action_expr({"forager_0": np.array([1.0, 0.25]), "forager_1": np.array([-0.5, 0.0])})
    assert expr == 'PetzAgent[0].actions <- from_json(\'{"forager_0":[1.0,0.25],"forager_1":[-0.5,0.0]}\');'


def test_answers_that_break_the_contract_are_protocol_errors():
    gym = GymAgentContract()
    with pytest.raises(GamaProtocolError, match="13 values, got 12"):
        gym.parse_reset([[0.1] * 12, {}])
    with pytest.raises(GamaProtocolError, match="Reward"):
        gym.parse_step({"State": [0.0] * 13, "Terminated": False, "Truncated": False})
    with pytest.raises(GamaProtocolError, match="shape"):
        gym.check_spaces(
            [{"type": "Box", "low": [0.0] * 12, "high": [1.0] * 12}, {"type": "Box", "low": [-1, -1], "high": [1, 1]}]
        )
    with pytest.raises(GamaProtocolError, match="Box"):
        gym.check_spaces([{"type": "Discrete", "n": 4}, {"type": "Box", "low": [-1, -1], "high": [1, 1]}])
    petz = PetzAgentContract()
    with pytest.raises(GamaProtocolError, match="possible_agents"):
        petz.check_spaces([["a", "b"], {}, {}])
    with pytest.raises(GamaProtocolError, match="forager_1"):
        petz.parse_reset([["forager_0", "forager_1"], {"forager_0": [0.0] * 15}, {}])
    ok = petz.parse_step([petz_data(), []])
    assert ok.episode_over[0] and not ok.success[0] and ok.infos == [[{}, {"k": 1}]]  # one world
    assert ok.reward.tolist() == [[1.0, 0.5]] and ok.at_food.tolist() == [[False, False]]
    # GAMA writes NaN as the string "NaN": refused (the old parser took it as a NaN observation)
    with pytest.raises(
        GamaProtocolError, match=r"Observations'\]\['forager_1'\]\[0\] must be a finite number, got 'NaN'"
    ):
        petz.parse_step([petz_data(obs1=["NaN"] + [0.5] * 14), []])


def petz_data(obs1=None, **changes):
    """A valid PetzAgent[0].data answer for the pair (then changed)."""
    data = {
        "Observations": {"forager_0": [0.5] * 15, "forager_1": obs1 if obs1 is not None else [0.25] * 15},
        "Rewards": {"forager_0": 1, "forager_1": 0.5},
        "Terminations": {"forager_0": True, "forager_1": False},
        "Truncations": {"forager_0": False, "forager_1": False},
        "Infos": {"forager_0": [], "forager_1": {"k": 1}},
    }
    data.update(changes)
    return data


def gym_data(**changes):
    data = {"State": [0.5] * 13, "Reward": 0.25, "Terminated": False, "Truncated": False, "Info": {}}
    data.update(changes)
    return data


GYM_BAD = [
    # (field changed, bad value, what the message must name)
    ("State", [0.5] * 12 + ["NaN"], "State'][12] must be a finite number, got 'NaN'"),
    ("State", [0.5] * 12 + ["Infinity"], "got 'Infinity'"),
    ("State", [0.5] * 12 + ["-Infinity"], "got '-Infinity'"),
    ("State", [0.5] * 12, "State'] must have 13 values, got 12"),
    ("State", [0.5] * 12 + [None], "State'][12] must be a finite number, got None"),
    ("State", None, "State'] must be a list of 13 numbers, got None"),
    ("State", [0.5] * 12 + [1.00001], "State'][12] = 1.00001 is outside the observation Box [0, 1]"),
    ("State", [-0.001] + [0.5] * 12, "State'][0] = -0.001 is outside"),
    ("State", [True] + [0.5] * 12, "State'][0] must be a finite number, got True"),
    ("Reward", "NaN", "Reward'] must be a finite number, got 'NaN'"),
    ("Reward", None, "Reward'] must be a finite number, got None"),
    ("Reward", "1.5", "Reward'] must be a finite number, got '1.5'"),
    ("Terminated", "false", "Terminated'] must be a boolean (true or false), got 'false'"),
    ("Truncated", None, "Truncated'] must be a boolean (true or false), got None"),
    ("Truncated", 0, "Truncated'] must be a boolean (true or false), got 0"),
    ("Info", None, "Info'] must be a map, got NoneType: None"),
    ("Info", {"at_food": "true"}, "['at_food'] must be a boolean (true or false), got 'true'"),
]


@pytest.mark.parametrize("field,value,named", GYM_BAD, ids=[f"{f}={v!r:.20}" for f, v, _ in GYM_BAD])
def test_gym_answers_with_bad_data_are_refused_naming_field_and_value(field, value, named):
    gym = GymAgentContract()
    gym.parse_step(gym_data())  # the valid answer passes
    with pytest.raises(GamaProtocolError) as err:
        gym.parse_step(gym_data(**{field: value}))
    assert named in str(err.value) and "GymAgent[0].data" in str(err.value)


PETZ_BAD = [
    (
        dict(Observations={"forager_0": [0.5] * 15, "forager_1": [0.5] * 14}),
        "['forager_1'] must have 15 values, got 14",
    ),
    (
        dict(Observations={"forager_0": [0.5] * 15, "forager_1": [0.5] * 15, "forager_7": [0.5] * 15}),
        "unknown ['forager_7']",
    ),
    (dict(Observations={"forager_0": [0.5] * 15}), "missing ['forager_1']"),
    (
        dict(Rewards={"forager_0": 1.0, "forager_1": "Infinity"}),
        "Rewards']['forager_1'] must be a finite number, got 'Infinity'",
    ),
    (dict(Rewards={"forager_0": 1.0, "forager_1": None}), "Rewards']['forager_1'] must be a finite number, got None"),
    (dict(Terminations={"forager_0": "false", "forager_1": False}), "Terminations']['forager_0'] must be a boolean"),
    (dict(Truncations=None), "Truncations'] must be a map, got NoneType"),
    (dict(Infos={"forager_0": {}, "forager_1": "x"}), "Infos']['forager_1'] must be a map, got str"),
    (dict(Infos={"forager_0": {"at_food": "false"}, "forager_1": {}}), "['at_food'] must be a boolean"),
]


@pytest.mark.parametrize("changes,named", PETZ_BAD, ids=[str(i) for i in range(len(PETZ_BAD))])
def test_petz_answers_with_bad_data_are_refused_naming_field_and_value(changes, named):
    petz = PetzAgentContract()
    with pytest.raises(GamaProtocolError) as err:
        petz.parse_step([petz_data(**changes), ["forager_0", "forager_1"]])
    assert named in str(err.value)


@pytest.mark.parametrize(
    "agents,named",
    [
        ("forager_0", "PetzAgent[0].agents must be a list of agent names, got 'forager_0'"),
        (["forager_0", "forager_9"], "(unknown: ['forager_9'])"),
        (["forager_1", "forager_0"], "expected ['forager_0', 'forager_1'] or []"),
        (None, "must be a list of agent names, got None"),
        ([0, 1], "must be a list of agent names, got [0, 1]"),
    ],
)
def test_petz_agent_lists_must_be_the_known_ids(agents, named):
    petz = PetzAgentContract()
    with pytest.raises(GamaProtocolError) as err:
        petz.parse_step([petz_data(), agents])
    assert named in str(err.value)
    with pytest.raises(GamaProtocolError):
        petz.parse_reset([agents, petz_data()["Observations"], {"forager_0": {}, "forager_1": {}}])


def test_observations_within_gamas_rounding_of_the_box_are_taken_and_clipped():
    gym = GymAgentContract()
    # GAMA rounds to 8 decimals: 1 + 5e-9 and -5e-9 are rounding, not bad data
    step = gym.parse_step(gym_data(State=[1.0 + 5e-9, -5e-9] + [0.5] * 11))
    assert step.obs[0, 0, 0] == 1.0 and step.obs[0, 0, 1] == 0.0  # world 0, forager 0
    for bad in (1.0 + 2e-8, -2e-8):
        with pytest.raises(GamaProtocolError, match="outside the observation Box"):
            gym.parse_step(gym_data(State=[bad] + [0.5] * 12))


BOX13 = {"type": "Box", "low": [0.0] * 13, "high": [1.0] * 13, "dtype": "float"}
ACT = {"type": "Box", "low": [-1.0, -1.0], "high": [1.0, 1.0], "dtype": "float"}


@pytest.mark.parametrize(
    "obs_space,named",
    [
        (dict(BOX13, high=[1.0] * 12 + ["NaN"]), "observation_space['high'][12] must be a finite number, got 'NaN'"),
        (dict(BOX13, low=["-Infinity"] * 13), "observation_space['low'][0] must be a finite number, got '-Infinity'"),
        (dict(BOX13, high="Infinity"), "observation_space['high'] must be a finite number, got 'Infinity'"),
        (dict(BOX13, low=[0.0] * 12), "observation_space must have shape (13,), the model declares"),
        (dict(BOX13, high=[None] * 13), "observation_space['high'][0] must be a finite number, got None"),
        (dict(BOX13, low=["false"] * 13), "got 'false'"),
        (None, "must be a map"),
        ("Box", "must be a map"),
        (dict(BOX13, type="Discrete"), "Discrete"),
        (dict(BOX13, type="Discrete", n=4), "must be a Box space"),
    ],
)
def test_declared_spaces_with_bad_data_are_refused(obs_space, named):
    gym = GymAgentContract()
    gym.check_spaces([BOX13, ACT])
    with pytest.raises(GamaProtocolError) as err:
        gym.check_spaces([obs_space, ACT])
    assert named in str(err.value)
    petz = PetzAgentContract()
    box15 = dict(BOX13, low=[0.0] * 15, high=[1.0] * 15)
    petz.check_spaces(
        [["forager_0", "forager_1"], {"forager_0": box15, "forager_1": box15}, {"forager_0": ACT, "forager_1": ACT}]
    )
    with pytest.raises(GamaProtocolError, match="forager_1"):
        petz.check_spaces(
            [
                ["forager_0", "forager_1"],
                {"forager_0": box15, "forager_1": dict(box15, high="NaN")},
                {"forager_0": ACT, "forager_1": ACT},
            ]
        )


def test_describe_content():
    assert describe_content({"exception": "X", "message": "nil value", "stack": []}) == "nil value"
    compile_error = {
        "message": "could not compile",
        "errors": [{"message": "missing ';'", "source": "/m.gaml", "starting_at_line": 3}],
    }
    assert describe_content(compile_error) == "could not compile: missing ';' (/m.gaml, line 3)"
    assert describe_content("plain") == "plain"
    assert describe_content([1, 2]) == "[1, 2]"


def test_run_sync_refuses_to_deadlock():
    async def inner():
        return run_sync(asyncio.sleep(0), 1)

    with pytest.raises(GamaError, match="deadlock"):
        run_sync(inner(), 5)


# ------------------------------------------------------------------ scripted servers
class Scripted:
    """A WebSocket server on the backend loop running ``script(ws)`` per connection."""

    def __init__(self, script):
        self.script = script
        self.server = None

    def __enter__(self):
        async def start():
            return await websockets.serve(self.script, "127.0.0.1", 0)

        self.server = run_sync(start(), 5)
        return self.server.sockets[0].getsockname()[1]

    def __exit__(self, *exc):
        async def stop():
            self.server.close()
            await self.server.wait_closed()

        run_sync(stop(), 5)


def greet():
    return json.dumps({"type": "ConnectionSuccessful", "content": "42"})


def answer(request, content="", kind="CommandExecutedSuccessfully"):
    return json.dumps({"type": kind, "content": content, "command": request})


async def with_connection(port, body, connect_timeout=2.0):
    conn = GamaConnection("127.0.0.1", port, connect_timeout)
    await conn.open()
    try:
        return await body(conn)
    finally:
        await conn.close()


@pytest.mark.timeout(20)
def test_answers_are_matched_by_api_id_even_out_of_order():
    async def script(ws, path=None):
        await ws.send(greet())
        first = json.loads(await ws.recv())
        second = json.loads(await ws.recv())
        await ws.send(answer(second, "second"))
        await ws.send(answer(first, "first"))
        await ws.wait_closed()

    async def body(conn):
        return await asyncio.gather(
            conn.request({"type": "expression", "expr": "1"}, 5), conn.request({"type": "expression", "expr": "2"}, 5)
        )

    with Scripted(script) as port:
        a, b = run_sync(with_connection(port, body), 10)
    assert (a["content"], b["content"]) == ("first", "second")


@pytest.mark.timeout(20)
def test_unsolicited_errors_fail_the_waiting_command_or_the_next_one(caplog):
    async def script(ws, path=None):
        await ws.send(greet())
        req = json.loads(await ws.recv())  # 1: a runtime error arrives while it waits; answered later anyway
        await ws.send(json.dumps({"type": "RuntimeError", "content": {"message": "division by zero"}}))
        await ws.send(answer(req))
        req = json.loads(await ws.recv())  # 2: answered, then an error arrives between commands
        await ws.send(answer(req))
        await ws.send(json.dumps({"type": "SimulationError", "content": {"message": "nil agent"}, "exp_id": "0"}))
        await ws.send(json.dumps({"type": "GamaServerError", "content": "java.lang.Exception: somewhere"}))
        await ws.send(json.dumps({"type": "SimulationOutput", "content": {"message": "hello"}, "exp_id": "0"}))
        await ws.send("not json")
        await ws.send(json.dumps({"type": "SimulationStatus", "content": "ok", "exp_id": "0"}))
        req = json.loads(await ws.recv())  # 4: after discard_errors
        await ws.send(answer(req, "fine"))
        await ws.wait_closed()

    async def body(conn):
        results = []
        try:
            await conn.request({"type": "step", "exp_id": "0"}, 5)
        except GamaSimulationError as exc:
            results.append(str(exc))
        await conn.request({"type": "step", "exp_id": "0"}, 5)
        await asyncio.sleep(0.2)
        try:
            await conn.request({"type": "expression", "exp_id": "0", "expr": "x"}, 5)  # 3: raises before sending
        except GamaSimulationError as exc:
            results.append(str(exc))
        conn.discard_errors()
        results.append((await conn.request({"type": "expression", "exp_id": "0", "expr": "y"}, 5))["content"])
        return results

    with caplog.at_level(logging.INFO, logger="sb3_forager.gama"), Scripted(script) as port:
        first, second, third = run_sync(with_connection(port, body), 10)
    assert "division by zero" in first and "RuntimeError" in first
    assert "nil agent" in second and "experiment 0" in second
    assert third == "fine"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "somewhere" in logged and "hello" in logged and "unreadable" in logged


@pytest.mark.timeout(20)
def test_answers_orjson_refuses_are_read_as_json_reads_them():
    """Bare NaN / -Infinity: orjson refuses them, json reads them; the answer must arrive as json
    reads it (not be dropped as unreadable, which would time out)."""

    async def script(ws, path=None):
        await ws.send(greet())
        req = json.loads(await ws.recv())
        await ws.send(answer(req, [float("nan"), float("-inf"), 0.5]))
        req = json.loads(await ws.recv())
        await ws.send(answer(req, {"State": [0.25, 1.0], "Reward": -1}))  # the orjson path
        await ws.wait_closed()

    async def body(conn):
        first = await conn.request({"type": "expression", "exp_id": "0", "expr": "x"}, 3)
        second = await conn.request({"type": "expression", "exp_id": "0", "expr": "y"}, 3)
        return first["content"], second["content"]

    with Scripted(script) as port:
        (nan, minus_inf, half), second = run_sync(with_connection(port, body), 10)
    assert np.isnan(nan) and minus_inf == float("-inf") and half == 0.5
    assert second == {"State": [0.25, 1.0], "Reward": -1}


def test_decode_message_reads_what_json_reads_and_rejects_what_it_rejects():
    from sb3_forager.gama.connection import decode_message

    for text in ('{"a": [1, 2.5e-7, "\\u00e9", null, true]}', "[NaN, Infinity]", "[-9223372036854775808]"):
        assert repr(decode_message(text)) == repr(json.loads(text))
    with pytest.raises(ValueError):
        decode_message("not json")


def test_the_backend_loop_is_uvloops_where_installed_else_asyncios(monkeypatch):
    import sys

    from sb3_forager.gama import io_loop

    pytest.importorskip("uvloop")
    loop = io_loop.io_loop()
    assert type(loop).__module__.startswith("uvloop")
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on Windows: no uvloop
    fallback = io_loop.new_loop()
    try:
        assert type(fallback).__module__.startswith("asyncio")
    finally:
        fallback.close()


@pytest.mark.timeout(20)
def test_a_server_that_greets_wrongly():
    async def script(ws, path=None):
        await ws.send(json.dumps({"type": "Hello", "content": "not GAMA"}))
        await ws.wait_closed()

    async def nothing(conn):
        return None

    with Scripted(script) as port, pytest.raises(GamaConnectionError, match="did not greet like a GAMA server"):
        run_sync(with_connection(port, nothing), 10)


@pytest.mark.timeout(20)
def test_a_message_over_the_size_cap_fails_naming_the_limit(monkeypatch):
    from sb3_forager.gama import GamaConnectionLostError, connection

    monkeypatch.setattr(connection, "MAX_MESSAGE_BYTES", 4096)

    async def script(ws, path=None):
        await ws.send(greet())
        req = json.loads(await ws.recv())
        await ws.send(answer(req, "small"))
        req = json.loads(await ws.recv())
        await ws.send(answer(req, "x" * 5000))  # over the cap
        await ws.wait_closed()

    async def body(conn):
        first = (await conn.request({"type": "expression", "expr": "1"}, 5))["content"]
        try:
            await conn.request({"type": "expression", "expr": "GymAgent[0].data"}, 5)
        except GamaConnectionLostError as exc:
            return first, str(exc), conn.closed
        return first, None, conn.closed

    with Scripted(script) as port:
        first, message, closed = run_sync(with_connection(port, body), 10)
    assert first == "small" and closed
    assert message is not None and "larger than the limit of 4096 bytes" in message, message
    assert "MAX_MESSAGE_BYTES" in message and "expression 'GymAgent[0].data'" in message
    assert connection.describe_size(64 * 2**20) == "64 MiB (67108864 bytes)"
