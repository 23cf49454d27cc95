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
from sb3_forager.gama.address import is_loopback, parse_server, ws_uri
from sb3_forager.gama.connection import GamaConnection, describe_content
from sb3_forager.gama.contracts import GymAgentContract, PetzAgentContract, gaml_number
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
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.3.4.5", "localhost", "::1", "[::1]", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("10.0.0.1", "192.0.2.7", "gama.example.org", "0.0.0.0"))


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
    with pytest.raises(GamaProtocolError, match="13 numbers"):
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
    ok = petz.parse_step(
        [
            {
                "Observations": {"forager_0": [0.5] * 15, "forager_1": ["NaN"] + [0.5] * 14},
                "Rewards": {"forager_0": 1, "forager_1": 0.5},
                "Terminations": {"forager_0": True, "forager_1": False},
                "Truncations": {"forager_0": False, "forager_1": False},
                "Infos": {"forager_0": [], "forager_1": {"k": 1}},
            },
            [],
        ]
    )
    assert ok.episode_over and ok.success and np.isnan(ok.obs[1, 0]) and ok.infos == [{}, {"k": 1}]


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
def test_a_server_that_greets_wrongly():
    async def script(ws, path=None):
        await ws.send(json.dumps({"type": "Hello", "content": "not GAMA"}))
        await ws.wait_closed()

    async def nothing(conn):
        return None

    with Scripted(script) as port:
        with pytest.raises(GamaConnectionError, match="did not greet like a GAMA server"):
            run_sync(with_connection(port, nothing), 10)
