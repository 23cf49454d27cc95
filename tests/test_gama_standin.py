"""Tests of the GAMA server stand-in (tests/gama_standin.py).

Every expected value is derived independently of the stand-in: protocol facts from the GAMA server
source as summarised in ../shared/research/upstream_gama.md (section 3), model values from the
package's embedded simulation (sb3_forager.sim.ForagerSim) or computed by hand in the comments.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import pathlib
import sys
import time

import numpy as np
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gama_gymnasium  # noqa: E402,F401  (applies nest_asyncio, as any real user of the bridges does)
from gama_client.sync_client import GamaSyncClient  # noqa: E402
from gama_gymnasium import GamaEnv  # noqa: E402
from gama_gymnasium.exceptions import GamaConnectionError  # noqa: E402
from gama_pettingzoo.gama_parallel_env import GamaParallelEnv  # noqa: E402
from gama_standin import (  # noqa: E402
    COMPILE_ERROR_MARKER,
    GamaStandIn,
    format_float,
    free_port,
    gama_json,
)

from sb3_forager.sim import COOP_FORAGERS, SINGLE_FORAGER, ForagerSim  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
GYM_GAML = (HERE.parent / "gaml" / "forager_gym.gaml").resolve()
PETZ_GAML = (HERE.parent / "gaml" / "forager_petz.gaml").resolve()
NOT_FOUND = "Unable to find the experiment or simulation"
TOL = 1e-6


# ----------------------------------------------------------------------------------- helpers
def close_loop(loop) -> None:
    """Finish what is left on a client loop (websockets' closing tasks), then close it."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


@contextlib.contextmanager
def client_loop():
    """A fresh event loop, set as the current one (the stock bridges must be built on a running
    loop and then keep using it), closed afterwards."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        close_loop(loop)


def build_stock(loop, cls, gaml: pathlib.Path, experiment: str, port: int):
    """A stock gama-gymnasium / gama-pettingzoo env, constructed inside ``loop`` as they require."""

    async def build():
        return cls(
            gaml_experiment_path=str(gaml), gaml_experiment_name=experiment, gama_ip_address="127.0.0.1", gama_port=port
        )

    return loop.run_until_complete(build())


def close_stock(loop, env) -> None:
    env.close()
    loop.run_until_complete(asyncio.sleep(0.05))  # let websockets finish its closing handshake


def run(coro, timeout: float = 20.0):
    """Run a coroutine on a fresh event loop (the bridges' nest_asyncio is applied process-wide)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout))
    finally:
        close_loop(loop)


class Raw:
    """A plain `websockets` client speaking the GAMA server protocol."""

    def __init__(self, ws):
        self.ws = ws
        self.n = 0
        self.hello = None
        self.others: list[dict] = []

    @classmethod
    async def open(cls, port: int, handshake: bool = True) -> "Raw":
        raw = cls(await websockets.connect(f"ws://127.0.0.1:{port}", ping_interval=None, close_timeout=1))
        if handshake:
            raw.hello = await raw.recv()
        return raw

    async def send(self, obj) -> None:
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def recv(self, timeout: float = 3.0) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def cmd(self, timeout: float = 3.0, **fields) -> dict:
        self.n += 1
        fields.setdefault("api_id", f"t{self.n}")
        await self.send(fields)
        while True:
            msg = await self.recv(timeout)
            if isinstance(msg.get("command"), dict) and msg["command"].get("api_id") == fields["api_id"]:
                return msg
            self.others.append(msg)

    async def expr(self, exp_id: str, text: str) -> dict:
        return await self.cmd(type="expression", exp_id=exp_id, expr=text)

    async def value(self, exp_id: str, text: str):
        ans = await self.expr(exp_id, text)
        assert ans["type"] == "CommandExecutedSuccessfully", ans
        return ans["content"]

    async def load(self, path=GYM_GAML, experiment="gym_env", **extra) -> str:
        ans = await self.cmd(type="load", model=str(path), experiment=experiment, **extra)
        assert ans["type"] == "CommandExecutedSuccessfully", ans
        return ans["content"]

    async def close(self) -> None:
        await self.ws.close()


def assert_close(got, expected, tol=TOL):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert np.max(np.abs(got - expected)) <= tol, (got, expected)


ACTIONS = [(1.0, 1.0), (0.5, -0.25), (-1.0, 0.3), (0.0, 0.0), (1.0, 0.0), (0.2, 1.0), (-0.3, -0.7), (1.0, 1.0)]


# ---------------------------------------------------------------------------- raw protocol
@pytest.mark.timeout(30)
def test_handshake_first_then_load_echoes_the_request(gama):
    async def scenario():
        raw = await Raw.open(gama.port)
        # 1. the very first message is ConnectionSuccessful with a socket id string
        assert raw.hello["type"] == "ConnectionSuccessful"
        assert isinstance(raw.hello["content"], str) and raw.hello["content"].isdigit()
        assert raw.hello["content"] in gama.connections
        # 2. load: content = experiment id (a counter, as a string); the request comes back whole
        req = {
            "type": "load",
            "model": str(GYM_GAML),
            "experiment": "gym_env",
            "console": False,
            "runtime": True,
            "api_id": "my-id-7",
        }
        await raw.send(req)
        ans = await raw.recv()
        assert ans["type"] == "CommandExecutedSuccessfully"
        assert ans["command"] == req
        assert isinstance(ans["content"], str) and ans["content"].isdigit()
        second = await raw.load()
        assert int(second) == int(ans["content"]) + 1
        assert gama.requests_by_connection[raw.hello["content"]][0] == req
        await raw.close()

    run(scenario())


@pytest.mark.timeout(30)
def test_gym_model_expressions_steps_reload_stop_follow_the_gaml(gama):
    sim = ForagerSim(SINGLE_FORAGER, 1)

    async def scenario():
        raw = await Raw.open(gama.port)
        eid = await raw.load()
        # spaces exactly as the GAML init sets them
        assert await raw.value(eid, "GymAgent[0].action_space") == {
            "type": "Box",
            "low": [-1.0, -1.0],
            "high": [1.0, 1.0],
            "dtype": "float",
        }
        obs_space = await raw.value(eid, "GymAgent[0].observation_space")
        assert obs_space == {"type": "Box", "low": [0.0] * 13, "high": [1.0] * 13, "dtype": "float"}
        # init: state is the observation at (5, 5); data already filled by the forager's init
        state = await raw.value(eid, "GymAgent[0].state")
        assert_close(state, sim.obs[0, 0])
        data = await raw.value(eid, "GymAgent[0].data")
        assert list(data) == ["State", "Reward", "Terminated", "Truncated", "Info"]
        assert data["Reward"] == 0.0 and data["Terminated"] is False and data["Info"] == {}
        assert await raw.value(eid, "GymAgent[0].info") == {}
        assert await raw.value(eid, "GymAgent[0].next_action") == []
        # a step without an action: the reflex returns, nothing but the cycle changes
        ans = await raw.cmd(type="step", exp_id=eid, sync=True)
        assert ans["type"] == "CommandExecutedSuccessfully" and ans["content"] == ""
        assert await raw.value(eid, "cycle") == 1
        assert await raw.value(eid, "GymAgent[0].data") == data
        # actions: the same observations / rewards / flags as the embedded simulation
        for ax, ay in ACTIONS:
            set_ans = await raw.expr(eid, f"GymAgent[0].next_action <- [{ax}, {ay}];")
            assert set_ans["type"] == "CommandExecutedSuccessfully" and set_ans["content"] is None
            await raw.cmd(type="step", exp_id=eid, sync=True)
            res = sim.step(np.array([[[ax, ay]]]))
            data = await raw.value(eid, "GymAgent[0].data")
            assert_close(data["State"], res.obs[0, 0])
            assert abs(data["Reward"] - res.reward[0, 0]) <= TOL
            assert data["Terminated"] is bool(res.terminated[0, 0])
            assert data["Truncated"] is bool(res.truncated[0, 0])
            # the gym model consumes the action
            assert await raw.value(eid, "GymAgent[0].next_action") == []
        assert await raw.value(eid, "cycle") == 1 + len(ACTIONS)
        assert await raw.value(eid, "current_step") == len(ACTIONS)
        # reload re-runs init
        ans = await raw.cmd(type="reload", exp_id=eid)
        assert ans["type"] == "CommandExecutedSuccessfully"
        assert await raw.value(eid, "cycle") == 0
        assert_close(await raw.value(eid, "GymAgent[0].state"), ForagerSim(SINGLE_FORAGER, 1).obs[0, 0])
        # reload parameters are honoured (seed is the experiment's "Random Seed" parameter)
        ans = await raw.cmd(
            type="reload", exp_id=eid, parameters=[{"type": "float", "name": "Random Seed", "value": 3.5}]
        )
        assert ans["type"] == "CommandExecutedSuccessfully"
        assert await raw.value(eid, "seed") == 3.5
        bad = await raw.cmd(type="reload", exp_id=eid, parameters=[{"name": "Random Seed"}])
        assert bad["type"] == "MalformedRequest" and "value" in bad["content"]
        # stop disposes the experiment
        n = gama.live_experiments
        ans = await raw.cmd(type="stop", exp_id=eid)
        assert ans["type"] == "CommandExecutedSuccessfully"
        assert gama.live_experiments == n - 1
        gone = await raw.expr(eid, "cycle")
        assert gone["type"] == "UnableToExecuteRequest" and gone["content"] == NOT_FOUND
        await raw.close()

    run(scenario())


@pytest.mark.timeout(30)
def test_petz_model_raw_flags_and_consumed_actions(gama):
    sim = ForagerSim(COOP_FORAGERS, 1)
    rng = np.random.default_rng(3)

    async def scenario():
        raw = await Raw.open(gama.port)
        eid = await raw.load(PETZ_GAML, "petz_env")
        ids = ["forager_0", "forager_1"]
        assert await raw.value(eid, "PetzAgent[0].possible_agents") == ids
        assert await raw.value(eid, "PetzAgent[0].agents") == ids
        spaces = await raw.value(eid, "PetzAgent[0].observation_spaces")
        assert spaces == {a: {"type": "Box", "low": [0.0] * 15, "high": [1.0] * 15, "dtype": "float"} for a in ids}
        assert await raw.value(eid, "PetzAgent[0].infos") == {a: {} for a in ids}
        obs = await raw.value(eid, "PetzAgent[0].observations")
        for k, a in enumerate(ids):
            assert_close(obs[a], sim.obs[0, k])
        # lockstep with the embedded simulation, both assignment forms of the actions
        for i in range(12):
            acts = rng.uniform(-1, 1, size=(2, 2))
            payload = json.dumps({a: acts[k].tolist() for k, a in enumerate(ids)})
            form = "from_json('{}')" if i % 2 else "map(from_json('{}'))"
            ans = await raw.expr(eid, "PetzAgent[0].actions <- " + form.format(payload) + ";")
            assert ans["type"] == "CommandExecutedSuccessfully" and ans["content"] is None
            await raw.cmd(type="step", exp_id=eid, sync=True)
            res = sim.step(acts[None])
            data = await raw.value(eid, "PetzAgent[0].data")
            assert list(data) == ["Observations", "Rewards", "Terminations", "Truncations", "Infos"]
            for k, a in enumerate(ids):
                assert_close(data["Observations"][a], res.obs[0, k])
                assert abs(data["Rewards"][a] - res.reward[0, k]) <= TOL
                assert data["Terminations"][a] is False and data["Truncations"][a] is False
                assert data["Infos"][a] == {}
            assert await raw.value(eid, "PetzAgent[0].actions") == {}  # cleared after the foragers act
        # An action for one agent only: the other one does not move
        before = await raw.value(eid, "PetzAgent[0].observations")
        await raw.expr(eid, "PetzAgent[0].actions <- from_json('{\"forager_0\": [1.0, 1.0]}');")
        await raw.cmd(type="step", exp_id=eid, sync=True)
        after = await raw.value(eid, "PetzAgent[0].observations")
        assert after["forager_1"][:2] == before["forager_1"][:2]
        assert after["forager_0"][:2] != before["forager_0"][:2]

        # Waiting at the food: put forager_0 at (93, 93) and forager_1 at (50, 50), both at rest
        def place(x0, y0, x1, y1, steps=None):
            exp = gama.experiment(eid)
            exp.sim.x[:, 0] = (x0, x1)
            exp.sim.y[:, 0] = (y0, y1)
            exp.sim.vx[:, 0] = 0.0
            exp.sim.vy[:, 0] = 0.0
            if steps is not None:
                exp.sim.steps[0] = steps

        gama.call(lambda: place(93.0, 93.0, 50.0, 50.0))
        # forager_0: v = 1.5 * 0.5 = 0.75 per axis -> (93.75, 93.75), 1.77 from the food (< 5)
        await raw.expr(eid, 'PetzAgent[0].actions <- from_json(\'{"forager_0":[0.5,0.5],"forager_1":[0,0]}\');')
        await raw.cmd(type="step", exp_id=eid, sync=True)
        data = await raw.value(eid, "PetzAgent[0].data")
        assert data["Rewards"]["forager_0"] == 0.5
        assert data["Terminations"]["forager_0"] is False and data["Truncations"]["forager_0"] is False
        assert await raw.value(eid, "PetzAgent[0].agents") == ids
        assert await raw.value(eid, "agents_at_food") == [True, False]
        # forager_1 next to the food too: it arrives after forager_0 got its (still waiting) reward
        gama.call(lambda: place(93.75, 93.75, 94.0, 94.0))
        await raw.expr(eid, 'PetzAgent[0].actions <- from_json(\'{"forager_0":[0,0],"forager_1":[0,0]}\');')
        await raw.cmd(type="step", exp_id=eid, sync=True)
        data = await raw.value(eid, "PetzAgent[0].data")
        assert data["Rewards"] == {"forager_0": 0.5, "forager_1": 100.0}
        assert data["Terminations"] == {"forager_0": False, "forager_1": True}
        assert data["Truncations"] == {"forager_0": False, "forager_1": False}
        assert await raw.value(eid, "PetzAgent[0].agents") == []

        # Time limit: step 299 -> 300, both truncated with -1, agents emptied
        await raw.cmd(type="reload", exp_id=eid)
        assert await raw.value(eid, "PetzAgent[0].agents") == ids
        assert await raw.value(eid, "PetzAgent[0].data") == {}  # the petz init does not call update_data
        gama.call(lambda: place(15.0, 5.0, 5.0, 15.0, steps=299))
        await raw.expr(eid, 'PetzAgent[0].actions <- from_json(\'{"forager_0":[0,0],"forager_1":[0,0]}\');')
        await raw.cmd(type="step", exp_id=eid, sync=True)
        data = await raw.value(eid, "PetzAgent[0].data")
        assert data["Rewards"] == {"forager_0": -1.0, "forager_1": -1.0}
        assert data["Truncations"] == {"forager_0": True, "forager_1": True}
        assert data["Terminations"] == {"forager_0": False, "forager_1": False}
        assert await raw.value(eid, "PetzAgent[0].agents") == []
        await raw.close()

    run(scenario())


@pytest.mark.timeout(30)
def test_load_error_answers(gama, tmp_path):
    txt = tmp_path / "model.txt"
    txt.write_text("model x\n")
    broken = tmp_path / "broken.gaml"
    broken.write_text(GYM_GAML.read_text() + "\n" + COMPILE_ERROR_MARKER + "\n")
    missing = tmp_path / "nowhere" / "missing.gaml"

    async def scenario():
        raw = await Raw.open(gama.port)
        ans = await raw.cmd(type="load", model=str(missing), experiment="gym_env")
        assert ans["type"] == "UnableToExecuteRequest"
        assert str(missing) in ans["content"] and "does not exist" in ans["content"]
        ans = await raw.cmd(type="load", model=str(txt), experiment="gym_env")
        assert ans["type"] == "UnableToExecuteRequest" and "is not a gaml file" in ans["content"]
        ans = await raw.cmd(type="load", model=str(GYM_GAML), experiment="petz_env")
        assert ans["type"] == "UnableToExecuteRequest"
        assert "'petz_env' is not an experiment present in" in ans["content"] and str(GYM_GAML) in ans["content"]
        ans = await raw.cmd(type="load", model=str(broken), experiment="gym_env")
        assert ans["type"] == "UnableToExecuteRequest"
        assert isinstance(ans["content"], dict) and ans["content"]["errors"]  # real JSON, not a string
        assert ans["content"]["errors"][0]["source"] == str(broken)
        ans = await raw.cmd(type="load", model=str(GYM_GAML))
        assert ans["type"] == "MalformedRequest" and "'model' and 'experiment'" in ans["content"]
        ans = await raw.cmd(type="load", model=str(GYM_GAML), experiment="gym_env", parameters=[{"value": 1}])
        assert ans["type"] == "MalformedRequest" and "`name`" in ans["content"]
        await raw.close()

    n = gama.live_experiments
    run(scenario())
    assert gama.live_experiments == n


@pytest.mark.timeout(30)
def test_relative_model_paths_resolve_against_the_server_directory():
    with GamaStandIn(gaml_dir=str(GYM_GAML.parent)) as gama:

        async def scenario():
            raw = await Raw.open(gama.port)
            assert (await raw.cmd(type="load", model="forager_gym.gaml", experiment="gym_env"))[
                "type"
            ] == "CommandExecutedSuccessfully"
            ans = await raw.cmd(type="load", model="nope.gaml", experiment="gym_env")
            assert ans["content"] == f"'{GYM_GAML.parent / 'nope.gaml'}' does not exist"
            await raw.close()

        run(scenario())


@pytest.mark.timeout(30)
def test_unknown_experiment_unknown_command_and_malformed_json(gama):
    async def scenario():
        raw = await Raw.open(gama.port)
        for ctype in ("step", "expression", "reload", "stop"):
            ans = await raw.cmd(type=ctype, exp_id="987654", expr="cycle")
            assert ans["type"] == "UnableToExecuteRequest" and ans["content"] == NOT_FOUND
        ans = await raw.cmd(type="step")
        assert ans["type"] == "MalformedRequest" and "exp_id" in ans["content"]
        # an unknown command type: GamaServerError WITHOUT the command (no api_id to match)
        await raw.send({"type": "fly", "api_id": "x1"})
        ans = await raw.recv()
        assert ans["type"] == "GamaServerError" and "command" not in ans
        assert "Invalid command type: fly" in ans["content"]["message"]
        # unparsable JSON: MalformedRequest without command (then the server error of the null map)
        await raw.send("{not json")
        ans = await raw.recv()
        assert ans["type"] == "MalformedRequest" and "command" not in ans
        follow = await raw.recv()
        assert follow["type"] == "GamaServerError" and "command" not in follow
        # the connection still works
        assert (await raw.cmd(type="load", model=str(GYM_GAML), experiment="gym_env"))[
            "type"
        ] == "CommandExecutedSuccessfully"
        await raw.close()

    run(scenario())


@pytest.mark.timeout(30)
def test_expression_grammar_and_gama_json_encoding(gama):
    async def scenario():
        raw = await Raw.open(gama.port)
        eid = await raw.load()
        # exponents, negative numbers; floats come back rounded to 8 decimals
        await raw.value(eid, "GymAgent[0].next_action <- [1e-05, -2.5E-1];")
        assert await raw.value(eid, "GymAgent[0].next_action") == [1e-05, -0.25]
        await raw.value(eid, "GymAgent[0].next_action <- [0.123456789123, 0.987654321987];")
        assert await raw.value(eid, "GymAgent[0].next_action") == [0.12345679, 0.98765432]
        # the typed cast form; ints become floats in a list<float>
        await raw.value(eid, "GymAgent[0].next_action <- list<float>(from_json('[1, 0.5]'));")
        assert await raw.value(eid, "GymAgent[0].next_action") == [1.0, 0.5]
        # several reads in one expression: a list literal and a map literal
        both = await raw.value(eid, "[GymAgent[0].next_action, cycle]")
        assert both == [[1.0, 0.5], 0]
        named = await raw.value(eid, '[ "a" :: GymAgent[0].data["Reward"] , "b"::cycle, "c" :: seed]')
        assert named == {"a": 0.0, "b": 0, "c": 0.0}
        # seed: accepted, no effect on the model
        assert (await raw.expr(eid, "seed <- 0.5488135039273248;"))["content"] is None
        assert await raw.value(eid, "seed") == 0.54881350
        assert (await raw.expr(eid, "seed <- 42;"))["type"] == "CommandExecutedSuccessfully"
        # statements over several lines, answering null
        ans = await raw.expr(eid, "GymAgent[0].next_action <- [0.1,\n 0.2];\n seed <- 1;")
        assert ans["type"] == "CommandExecutedSuccessfully" and ans["content"] is None
        # errors start with "> Error: "
        for bad in (
            "GymAgent[0].no_such_field",
            "PetzAgent[0].agents",
            "foo",
            "GymAgent[0].data;",
            "GymAgent[0].next_action <- [1, 2]",
            "1 + 2",
            "GymAgent[1].state",
            "PetzAgent[0].actions <- from_json('{bad');",
            "GymAgent[0].next_action <- [NaN, 1];",
        ):
            ans = await raw.expr(eid, bad)
            assert ans["type"] == "UnableToExecuteRequest", (bad, ans)
            assert ans["content"].startswith("> Error: "), (bad, ans)
        assert (await raw.cmd(type="expression", exp_id=eid))["type"] == "MalformedRequest"
        await raw.close()

    run(scenario())
    # the encoder itself: Java JsonFloat rules and the NaN / Infinity strings
    assert json.loads(gama_json({"nan": math.nan, "inf": math.inf, "-inf": -math.inf})) == {
        "nan": "NaN",
        "inf": "Infinity",
        "-inf": "-Infinity",
    }
    assert json.loads(format_float(1.0)) == 1.0 and isinstance(json.loads(format_float(1.0)), float)
    assert json.loads(format_float(0.123456785)) == 0.12345679  # half up at the 8th decimal
    assert json.loads(format_float(1.23456789e-4)) == 1.23456789e-4  # below 1e-3: not rounded
    assert json.loads(gama_json([1, True, None, "s", {1: 2}])) == [1, True, None, "s", {"1": 2}]


@pytest.mark.timeout(30)
def test_step_options_nb_step_and_async(gama):
    async def scenario():
        raw = await Raw.open(gama.port)
        eid = await raw.load()
        # a scalar becomes a one-element list<float>; apply_action consumes it and returns before
        # moving or counting the step; the reward is then pure shaping: 2 * 0 - 0.01
        await raw.value(eid, "GymAgent[0].next_action <- 0.5;")
        assert await raw.value(eid, "GymAgent[0].next_action") == [0.5]
        await raw.cmd(type="step", exp_id=eid, sync=True)
        assert await raw.value(eid, "GymAgent[0].next_action") == []
        assert await raw.value(eid, "current_step") == 0
        data = await raw.value(eid, "GymAgent[0].data")
        assert data["Reward"] == -0.01
        assert data["State"][:2] == [0.05, 0.05]
        # nb_step 3: the first cycle consumes the action, the next two do nothing
        await raw.value(eid, "GymAgent[0].next_action <- [1.0, 1.0];")
        await raw.cmd(type="step", exp_id=eid, nb_step=3, sync=True)
        assert await raw.value(eid, "cycle") == 4
        assert await raw.value(eid, "current_step") == 1
        # sync false: answered before the cycle runs; a read right after races and sees the old state
        gama.faults.async_step_delay = 0.3
        await raw.value(eid, "GymAgent[0].next_action <- [1.0, 1.0];")
        ans = await raw.cmd(type="step", exp_id=eid, sync=False)
        assert ans["type"] == "CommandExecutedSuccessfully"
        assert await raw.value(eid, "cycle") == 4
        await asyncio.sleep(0.6)
        assert await raw.value(eid, "cycle") == 5 and await raw.value(eid, "current_step") == 2
        # nb_step as a float: Integer.parseInt throws in the server thread, no answer ever comes
        await raw.send({"type": "step", "exp_id": eid, "nb_step": 2.0, "sync": True, "api_id": "f"})
        with pytest.raises(asyncio.TimeoutError):
            await raw.recv(timeout=0.5)
        assert any("NumberFormatException" in e for e in gama.errors)
        await raw.close()

    run(scenario())


@pytest.mark.timeout(30)
def test_experiments_belong_to_their_socket_and_die_with_it(gama):
    async def scenario():
        a = await Raw.open(gama.port)
        b = await Raw.open(gama.port)
        ea, eb = await a.load(), await b.load()
        assert ea != eb
        await a.value(ea, "GymAgent[0].next_action <- [1, 1];")
        await a.cmd(type="step", exp_id=ea, sync=True)
        assert await a.value(ea, "cycle") == 1 and await b.value(eb, "cycle") == 0
        # another socket cannot see it... unless it names the owner's socket_id
        assert (await b.expr(ea, "cycle"))["content"] == NOT_FOUND
        ans = await b.cmd(type="expression", exp_id=ea, expr="cycle", socket_id=a.hello["content"])
        assert ans["content"] == 1
        n = gama.live_experiments
        await a.close()
        assert gama.wait_until(lambda: gama.live_experiments == n - 1)
        assert await b.value(eb, "cycle") == 0
        await b.close()

    run(scenario())


# ------------------------------------------------------------------- the stock bridge libraries
@pytest.mark.timeout(60)
def test_stock_gama_gymnasium_passes_check_env_and_matches_the_simulation(gama):
    from gymnasium.utils.env_checker import check_env

    with client_loop() as loop:
        env = build_stock(loop, GamaEnv, GYM_GAML, "gym_env", gama.port)
        try:
            env.gama_client.client.default_timeout = 10.0  # a stand-in bug fails instead of hanging
            check_env(env.unwrapped, skip_render_check=True)
            obs, info = env.reset(seed=0)
            sim = ForagerSim(SINGLE_FORAGER, 1)
            assert info == {}
            assert_close(obs, sim.obs[0, 0])
            for ax, ay in ACTIONS:
                obs, reward, terminated, truncated, info = env.step(np.array([ax, ay], dtype=np.float32))
                # gama-gymnasium sends the float32 action as JSON floats; the sim gets the same numbers
                res = sim.step(np.array([[[float(np.float32(ax)), float(np.float32(ay))]]]))
                assert_close(obs, res.obs[0, 0])
                assert abs(reward - res.reward[0, 0]) <= TOL
                assert terminated is False and truncated is False and info == {}
            sent = [r.get("expr") for r in gama.requests if isinstance(r, dict) and r.get("type") == "expression"]
            assert "GymAgent[0].observation_space" in sent and "GymAgent[0].data" in sent
        finally:
            close_stock(loop, env)


@pytest.mark.timeout(60)
def test_stock_gama_pettingzoo_step_raises_the_released_nb_steps_typeerror(gama):
    with client_loop() as loop:
        env = build_stock(loop, GamaParallelEnv, PETZ_GAML, "petz_env", gama.port)
        try:
            env.gama_client.client.default_timeout = 10.0
            observations, infos = env.reset(seed=1)
            sim = ForagerSim(COOP_FORAGERS, 1)
            assert set(observations) == {"forager_0", "forager_1"}
            assert_close(observations["forager_1"], sim.obs[0, 1])
            assert infos == {"forager_0": {}, "forager_1": {}}
            with pytest.raises(TypeError, match="nb_steps"):
                env.step({a: np.zeros(2, dtype=np.float32) for a in env.agents})
        finally:
            close_stock(loop, env)


# ------------------------------------------------------------------------------------ faults
@pytest.mark.timeout(30)
def test_stall_makes_a_client_with_a_timeout_raise(gama):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def build():
        client = GamaSyncClient("127.0.0.1", gama.port, default_timeout=1.0)
        await client.connect_awaitable(ping_interval=None)
        return client

    client = loop.run_until_complete(build())
    try:
        eid = client.load(str(GYM_GAML), "gym_env")["content"]
        gama.faults.stall_after_n_commands = 1
        assert client.expression(eid, "cycle")["content"] == 0  # the first one is still answered
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            client.expression(eid, "cycle")
        assert 0.9 <= time.monotonic() - start < 3.0
        assert client.socket.open  # stalled, not closed
        gama.faults.stall_after_n_commands = None
        assert client.expression(eid, "cycle")["content"] == 0
    finally:
        loop.run_until_complete(client.socket.close())
        asyncio.set_event_loop(None)
        close_loop(loop)


@pytest.mark.timeout(30)
def test_drop_closes_the_connection_abruptly_once(gama):
    async def scenario():
        raw = await Raw.open(gama.port)
        eid = await raw.load()
        n = gama.live_experiments
        gama.faults.drop_after_n_commands = 1
        assert await raw.value(eid, "cycle") == 0
        await raw.send({"type": "expression", "exp_id": eid, "expr": "cycle", "api_id": "z"})
        with pytest.raises(ConnectionClosed) as info:
            await raw.recv()
        assert info.value.rcvd is None  # no close frame: an abrupt drop
        assert gama.faults.drop_after_n_commands is None  # one-shot
        assert gama.wait_until(lambda: gama.live_experiments == n - 1)
        other = await Raw.open(gama.port)  # the server itself still serves
        assert other.hello["type"] == "ConnectionSuccessful"
        await other.close()

    run(scenario())


@pytest.mark.timeout(30)
def test_runtime_error_arrives_unsolicited_before_the_step_answer(gama):
    async def scenario():
        raw = await Raw.open(gama.port)
        eid = await raw.load(runtime=True)
        await raw.value(eid, "GymAgent[0].next_action <- [1.0, 1.0];")
        gama.faults.runtime_error_on_step = True
        await raw.send({"type": "step", "exp_id": eid, "sync": True, "api_id": "s1"})
        first, second = await raw.recv(), await raw.recv()
        assert first["type"] == "SimulationError" and "command" not in first
        assert first["exp_id"] == eid and first["content"]["message"]
        assert second["type"] == "CommandExecutedSuccessfully" and second["command"]["api_id"] == "s1"
        # the reflex failed: data is stale and the action is still pending; the cycle counted
        data = await raw.value(eid, "GymAgent[0].data")
        assert data["Reward"] == 0.0
        assert await raw.value(eid, "GymAgent[0].next_action") == [1.0, 1.0]
        assert await raw.value(eid, "cycle") == 1
        # one-shot: the next step applies the action
        await raw.cmd(type="step", exp_id=eid, sync=True)
        assert await raw.value(eid, "current_step") == 1
        assert not raw.others
        # loaded with runtime false: no SimulationError is sent
        quiet = await raw.load(runtime=False)
        gama.faults.runtime_error_on_step = True
        ans = await raw.cmd(type="step", exp_id=quiet, sync=True)
        assert ans["type"] == "CommandExecutedSuccessfully" and not raw.others
        await raw.close()

    run(scenario())


@pytest.mark.timeout(30)
def test_refuse_handshake_sends_no_connection_message(gama):
    async def scenario():
        gama.faults.refuse_handshake = True
        raw = await Raw.open(gama.port, handshake=False)
        with pytest.raises(asyncio.TimeoutError):
            await raw.recv(timeout=0.5)
        await raw.close()

    run(scenario())


@pytest.mark.timeout(30)
def test_idle_connections_are_closed_by_the_server(gama):
    async def scenario():
        raw = await Raw.open(gama.port)
        eid = await raw.load()
        gama.faults.idle_close_after = 0.3
        await asyncio.sleep(0.1)
        assert await raw.value(eid, "cycle") == 0  # activity keeps it open
        await asyncio.sleep(0.8)
        with pytest.raises(ConnectionClosed):
            await raw.recv()

    run(scenario())


@pytest.mark.timeout(30)
def test_latency_delays_answers_without_blocking_other_connections(gama):
    async def scenario():
        a, b = await Raw.open(gama.port), await Raw.open(gama.port)
        ea, eb = await a.load(), await b.load()
        gama.faults.latency = 0.4
        start = time.monotonic()
        ra, rb = await asyncio.gather(a.value(ea, "cycle"), b.value(eb, "cycle"))
        elapsed = time.monotonic() - start
        assert ra == 0 and rb == 0
        assert 0.4 <= elapsed < 0.75  # both waited once, concurrently (not 0.8 s)
        await a.close()
        await b.close()

    run(scenario())


@pytest.mark.timeout(30)
def test_server_keepalive_closes_a_client_that_does_not_answer_pings():
    with GamaStandIn(ping_interval=0.2, ping_timeout=0.2) as gama:
        loop = asyncio.new_event_loop()
        try:
            raw = loop.run_until_complete(Raw.open(gama.port))
            loop.run_until_complete(raw.load())
            assert gama.live_experiments == 1
            time.sleep(1.0)  # the client's loop does not run: no pong, like gama-client between commands
            assert gama.live_experiments == 0
            with pytest.raises(ConnectionClosed):
                loop.run_until_complete(raw.recv())
        finally:
            close_loop(loop)


@pytest.mark.timeout(30)
def test_exit_drops_every_connection_and_stops_listening():
    with GamaStandIn() as gama:

        async def scenario():
            raw = await Raw.open(gama.port)
            await raw.load()
            await raw.send({"type": "exit", "api_id": "bye"})
            with pytest.raises(ConnectionClosed):
                await raw.recv()
            with pytest.raises(OSError):
                await Raw.open(gama.port)

        run(scenario())
        assert gama.exited


@pytest.mark.timeout(30)
def test_free_port_has_nothing_listening():
    port = free_port()

    async def scenario():
        with pytest.raises(OSError):
            await websockets.connect(f"ws://127.0.0.1:{port}", open_timeout=2)

    run(scenario())
    with client_loop() as loop:
        start = time.monotonic()
        with pytest.raises(GamaConnectionError):
            build_stock(loop, GamaEnv, GYM_GAML, "gym_env", port)
        assert time.monotonic() - start < 2.0
