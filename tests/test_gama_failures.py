"""Never hangs, never trains on bad data, always says why: every failure of a GAMA server or of a GAML
model, injected with the stand-in's faults (and a raw TCP server that never speaks WebSocket)."""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import threading
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gama_standin import COMPILE_ERROR_MARKER, free_port

from sb3_forager import forager_coop_v0, forager_team_v0
from sb3_forager.envs import EpisodeOverError, ForagerEnv, make_forager_vec_env
from sb3_forager.make import gama_forager_env, make_gama_vec_env
from sb3_forager.gama import (
    GamaConnectionError,
    GamaConnectionLostError,
    GamaEpisodeLostError,
    GamaError,
    GamaLoadError,
    GamaProtocolError,
    GamaSimulationError,
    GamaTimeoutError,
)

TOL = 1e-6
GAML_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gaml")
#: a private class name (``_EpisodeLost``, ``_SimRuntimeError``) in a message
PRIVATE_NAME = re.compile(r"(?<![A-Za-z0-9_.\-/])_[A-Z][A-Za-z0-9]*")


def public(exc: BaseException) -> str:
    """``exc``'s message, checked to name no private class (users cannot catch or look those up)."""
    text = f"{type(exc).__name__}: {exc}"
    assert not type(exc).__name__.startswith("_"), text
    assert not PRIVATE_NAME.search(text), text
    return str(exc)


def make_env(kind: str, port: int, **kw):
    if kind == "gym":
        return gama_forager_env(port=port, **kw)
    if kind == "coop":
        return forager_coop_v0.parallel_env(backend="gama", port=port, **kw)
    return forager_team_v0.parallel_env(backend="gama", port=port, n_foragers=3, **kw)


def step(env, action=(0.3, 0.2)):
    if isinstance(env, ForagerEnv):
        return env.step(list(action))
    return env.step({a: list(action) for a in env.agents})


# ------------------------------------------------------------------ no server / not a GAMA server
@pytest.mark.timeout(20)
def test_nothing_listening_fails_fast_and_says_how_to_start_gama():
    port = free_port()
    env = gama_forager_env(port=port)
    t0 = time.monotonic()
    with pytest.raises(GamaConnectionError) as err:
        env.reset()
    assert time.monotonic() - t0 < 5.0
    msg = public(err.value)
    assert f"127.0.0.1:{port}" in msg and f"gama-headless.sh -socket {port}" in msg


class SilentTcpServer:
    """Accepts TCP connections and never says anything (no WebSocket handshake)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # kept open, never read, never written

    def __enter__(self) -> SilentTcpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
        for c in self.accepted:
            c.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("connect_timeout", [0.5])
def test_connect_timeout_is_kept_when_tcp_is_accepted_but_no_websocket_handshake_follows(connect_timeout):
    with SilentTcpServer() as server:
        for env in (
            gama_forager_env(port=server.port, connect_timeout=connect_timeout),
            forager_coop_v0.parallel_env(backend="gama", port=server.port, connect_timeout=connect_timeout),
            make_gama_vec_env("forager", 2, servers=[f"127.0.0.1:{server.port}"], connect_timeout=connect_timeout),
        ):
            t0 = time.monotonic()
            with pytest.raises(GamaConnectionError) as err:
                env.reset()
            elapsed = time.monotonic() - t0
            assert connect_timeout * 0.9 <= elapsed < connect_timeout + 1.0, elapsed  # not ~2 s more (a close wait)
            msg = public(err.value)
            assert f"127.0.0.1:{server.port}" in msg and f"{connect_timeout:g} s" in msg
            t0 = time.monotonic()
            env.close()
            assert time.monotonic() - t0 < 0.5
        assert len(server.accepted) >= 4  # the TCP connections were really accepted


@pytest.mark.timeout(20)
def test_server_that_never_greets(gama):
    gama.faults.refuse_handshake = True
    env = gama_forager_env(port=gama.port, connect_timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(GamaConnectionError, match="ConnectionSuccessful") as err:
        env.reset()
    assert 0.5 <= time.monotonic() - t0 < 1.5
    assert f"127.0.0.1:{gama.port}" in public(err.value)


# ------------------------------------------------------------------ silence and drops
@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["gym", "coop"])
def test_server_stops_answering_mid_episode(gama, kind):
    env = make_env(kind, gama.port, timeout=0.5)
    env.reset()
    step(env)
    gama.faults.stall_after_n_commands = 1  # the action is set, the cycle is never answered
    t0 = time.monotonic()
    with pytest.raises(GamaTimeoutError) as err:
        step(env)
    assert 0.5 <= time.monotonic() - t0 < 1.5
    msg = public(err.value)
    assert f"127.0.0.1:{gama.port}" in msg and "'step' command" in msg
    with pytest.raises(GamaConnectionLostError, match="reset") as err:
        step(env)  # the episode is over for good, immediately
    public(err.value)
    gama.faults.stall_after_n_commands = None
    env.reset()  # reconnects and reloads
    step(env)
    env.close()


@pytest.mark.timeout(30)
def test_server_stops_answering_at_load(gama):
    gama.faults.stall_after_n_commands = 0
    env = gama_forager_env(port=gama.port, timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(GamaTimeoutError, match="load") as err:
        env.reset()
    assert 0.5 <= time.monotonic() - t0 < 1.5
    public(err.value)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["gym", "coop"])
def test_connection_dropped_mid_episode(gama, kind):
    env = make_env(kind, gama.port, timeout=5.0)
    env.reset()
    step(env)
    gama.faults.drop_after_n_commands = 1  # the connection dies while the cycle is waited for
    t0 = time.monotonic()
    with pytest.raises(GamaConnectionLostError) as err:
        step(env)
    assert time.monotonic() - t0 < 1.0  # well within the command timeout
    msg = public(err.value)
    assert f"127.0.0.1:{gama.port}" in msg and "reset()" in msg
    with pytest.raises(GamaEpisodeLostError) as err:
        step(env)
    public(err.value)
    env.reset()  # reconnects and loads again
    step(env)
    env.close()


# ------------------------------------------------------------------ GAML runtime errors
@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["gym", "coop", "team"])
def test_runtime_error_during_a_step_is_raised_with_gamas_message(gama, kind):
    env = make_env(kind, gama.port)
    env.reset(seed=1)
    connections = list(gama.connections)
    gama.faults.runtime_error_message = "Java error: nil value detected in apply_action"
    gama.faults.runtime_error_on_step = True
    with pytest.raises(GamaSimulationError, match="nil value detected in apply_action") as err:
        step(env)
    assert err.value.message_type == "SimulationError"
    public(err.value)
    # the episode cannot be trusted any more, but the connection is fine: the next step says what
    # failed (a GAML error), not that a connection was lost
    with pytest.raises(GamaSimulationError, match="failed at step 1") as err:
        step(env)
    assert not isinstance(err.value, GamaConnectionLostError)
    assert err.value.message_type == "SimulationError" and "reset()" in public(err.value)
    assert "nil value detected in apply_action" in str(err.value)
    n = len(gama.requests)
    env.reset()
    assert [r["type"] for r in gama.requests[n:]][0] == "reload"  # same connection, same experiment
    assert gama.connections == connections
    step(env)  # a new episode runs normally
    env.close()


@pytest.mark.timeout(30)
def test_runtime_error_in_one_world_of_a_vec_env(gama):
    venv = make_gama_vec_env("forager", 3, servers=[f"127.0.0.1:{gama.port}"])
    venv.reset()
    gama.faults.runtime_error_on_step = True
    with pytest.raises(GamaSimulationError, match="nil value detected") as err:
        venv.step(np.zeros((3, 2), np.float32))
    public(err.value)
    with pytest.raises(GamaSimulationError, match="reset") as err:
        venv.step(np.zeros((3, 2), np.float32))  # that world still says what happened
    assert not isinstance(err.value, GamaConnectionLostError)
    venv.reset()
    venv.step(np.zeros((3, 2), np.float32))
    venv.close()


# ------------------------------------------------------------------ bad data from the model
NAN, INF = float("nan"), float("inf")


def _set(path, value):
    """A corrupt fault setting ``fields[path[0]][path[1]]... = value`` (after every cycle)."""

    def corrupt(fields):
        target = fields
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value

    return corrupt


GYM_CORRUPTIONS = {
    "NaN": (_set(["data", "State", 3], NAN), "GymAgent[0].data['State'][3] must be a finite number, got 'NaN'"),
    "infinity": (_set(["data", "Reward"], INF), "GymAgent[0].data['Reward'] must be a finite number, got 'Infinity'"),
    "-infinity": (_set(["data", "State", 0], -INF), "['State'][0] must be a finite number, got '-Infinity'"),
    "list too short": (_set(["data", "State"], lambda s: s[:12]), "['State'] must have 13 values, got 12"),
    "'false' flag": (
        _set(["data", "Terminated"], "false"),
        "['Terminated'] must be a boolean (true or false), got 'false'",
    ),
    "null": (_set(["data", "Reward"], None), "['Reward'] must be a finite number, got None"),
    "null info": (_set(["data", "Info"], None), "['Info'] must be a map, got NoneType: None"),
    "outside the Box": (
        _set(["data", "State", 1], 1.0001),
        "['State'][1] = 1.0001 is outside the observation Box [0, 1]",
    ),
    "below the Box": (_set(["data", "State", 1], -1e-6), "['State'][1] = -1e-06 is outside the observation Box"),
}
PETZ_CORRUPTIONS = {
    "NaN": (
        _set(["data", "Observations", "forager_0", 3], NAN),
        "PetzAgent[0].data['Observations']['forager_0'][3] must be a finite number, got 'NaN'",
    ),
    "infinity": (
        _set(["data", "Truncations", "forager_1"], INF),
        "['Truncations']['forager_1'] must be a boolean (true or false), got 'Infinity'",
    ),
    "-infinity reward": (
        _set(["data", "Rewards", "forager_1"], -INF),
        "['Rewards']['forager_1'] must be a finite number, got '-Infinity'",
    ),
    "list too short": (
        _set(["data", "Observations", "forager_1"], lambda o: o[:5]),
        "['Observations']['forager_1'] must have 15 values, got 5",
    ),
    "'false' flag": (
        _set(["data", "Terminations", "forager_0"], "false"),
        "['Terminations']['forager_0'] must be a boolean",
    ),
    "null": (
        _set(["data", "Rewards", "forager_1"], None),
        "['Rewards']['forager_1'] must be a finite number, got None",
    ),
    "agents as a string": (
        _set(["agents"], "forager_0"),
        "PetzAgent[0].agents must be a list of agent names, got 'forager_0'",
    ),
    "unknown agent in agents": (_set(["agents"], ["forager_0", "forager_7"]), "(unknown: ['forager_7'])"),
    "unknown agent in observations": (
        _set(["data", "Observations", "forager_7"], [0.5] * 15),
        "['Observations'] must have one entry per agent ['forager_0', 'forager_1']; unknown ['forager_7']",
    ),
    "outside the Box": (
        _set(["data", "Observations", "forager_0", 0], 1.5),
        "['Observations']['forager_0'][0] = 1.5 is outside the observation Box [0, 1]",
    ),
    "'true' at_food": (
        _set(["data", "Infos", "forager_1", "at_food"], "true"),
        "['forager_1']['at_food'] must be a boolean",
    ),
}
CORRUPTIONS = [("gym", name) for name in GYM_CORRUPTIONS] + [("coop", name) for name in PETZ_CORRUPTIONS]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind,name", CORRUPTIONS, ids=[f"{k}-{n}" for k, n in CORRUPTIONS])
def test_bad_data_from_the_model_is_refused_then_reset_works(gama, kind, name):
    corrupt, named = (GYM_CORRUPTIONS if kind == "gym" else PETZ_CORRUPTIONS)[name]
    env = make_env(kind, gama.port)
    env.reset()
    step(env)
    gama.faults.corrupt = corrupt  # a buggy model: from the next cycle on
    with pytest.raises(GamaProtocolError) as err:
        step(env)
    msg = public(err.value)
    assert named in msg, msg
    assert f"GAMA server 127.0.0.1:{gama.port}" in msg and "bad data from the GAML model" in msg
    assert "corrupt:" not in " ".join(gama.errors)  # the fault really applied
    # the episode is over: the next step says so (and sends nothing), reset() starts a new one
    sent = len(gama.requests)
    with pytest.raises(GamaProtocolError, match=r"sent bad data at step 2.*call reset\(\)") as err:
        step(env)
    public(err.value)
    assert len(gama.requests) == sent
    gama.faults.corrupt = None
    env.reset()
    out = step(env)  # a clean episode from the start
    if kind == "gym":
        assert out[4]["episode_steps"] == 1
    else:
        assert set(out[0]) == {"forager_0", "forager_1"} and out[4]["forager_0"]["at_food"] is False
    env.close()


@pytest.mark.timeout(30)
def test_bad_data_in_a_vec_env_is_refused_then_reset_works(gama):
    venv = make_gama_vec_env("coop", 2, servers=[f"127.0.0.1:{gama.port}"])
    venv.reset()
    gama.faults.corrupt = _set(["data", "Observations", "forager_1", 2], NAN)
    with pytest.raises(GamaProtocolError, match="got 'NaN'") as err:
        venv.step(np.zeros((4, 2)))
    public(err.value)
    with pytest.raises(GamaProtocolError, match="reset"):
        venv.step(np.zeros((4, 2)))
    gama.faults.corrupt = None
    venv.reset()
    venv.step(np.zeros((4, 2)))
    venv.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "kind,corrupt,named",
    [
        ("gym", _set(["state", 0], NAN), "GymAgent[0].state[0] must be a finite number, got 'NaN'"),
        ("gym", _set(["info"], None), "GymAgent[0].info must be a map, got NoneType: None"),
        ("coop", _set(["observations", "forager_1"], lambda o: o[:14]), "['forager_1'] must have 15 values, got 14"),
        ("coop", _set(["agents"], "forager_0"), "PetzAgent[0].agents after reset must be a list of agent names"),
    ],
)
def test_bad_data_at_reset_is_refused(gama, kind, corrupt, named):
    env = make_env(kind, gama.port)
    gama.faults.corrupt = corrupt  # applied after the model's init (load and reload)
    with pytest.raises(GamaProtocolError) as err:
        env.reset()
    msg = public(err.value)
    assert named in msg and f"127.0.0.1:{gama.port}" in msg
    with pytest.raises((EpisodeOverError, GamaError), match="reset"):
        step(env)  # no episode runs: nothing from that answer was used
    gama.faults.corrupt = None
    env.reset()
    step(env)
    env.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "kind,corrupt,named",
    [
        (
            "gym",
            _set(["observation_space", "high", 12], NAN),
            "GymAgent[0].observation_space['high'][12] must be a finite number, got 'NaN'",
        ),
        (
            "gym",
            _set(["action_space", "low"], "-Infinity"),
            "GymAgent[0].action_space['low'] must be a finite number, got '-Infinity'",
        ),
        (
            "gym",
            _set(["observation_space", "low"], lambda v: v[:12]),
            "GymAgent[0].observation_space must have shape (13,)",
        ),
        (
            "gym",
            _set(["observation_space"], None),
            "GymAgent[0].observation_space: a space must be a map, got NoneType",
        ),
        (
            "coop",
            _set(["action_spaces", "forager_1", "high"], [1.0, INF]),
            "action space of forager_1['high'][1] must be a finite number, got 'Infinity'",
        ),
        (
            "coop",
            _set(["observation_spaces", "forager_0", "low", 0], "false"),
            "observation space of forager_0['low'][0] must be a finite number, got 'false'",
        ),
        (
            "coop",
            _set(["possible_agents"], ["forager_0", "forager_2"]),
            "PetzAgent[0].possible_agents is ['forager_0', 'forager_2']",
        ),
        ("coop", _set(["observation_spaces"], "Box"), "PetzAgent[0].observation_spaces must be a map, got str: 'Box'"),
    ],
)
def test_bad_spaces_after_load_are_refused(gama, kind, corrupt, named):
    env = make_env(kind, gama.port)
    before = gama.live_experiments
    gama.faults.corrupt = corrupt
    with pytest.raises(GamaProtocolError) as err:
        env.reset()
    msg = public(err.value)
    assert named in msg, msg
    assert f"GAMA server 127.0.0.1:{gama.port}" in msg and "does not declare this env's spaces" in msg
    assert gama.wait_until(lambda: gama.live_experiments <= before)  # the refused experiment is closed
    gama.faults.corrupt = None
    env.reset()  # connects and loads again
    step(env)
    env.close()


@pytest.mark.timeout(30)
def test_a_message_over_the_size_cap_fails_naming_the_limit_then_reset_reconnects(gama, monkeypatch):
    from sb3_forager.gama import connection

    monkeypatch.setattr(connection, "MAX_MESSAGE_BYTES", 8192)
    env = gama_forager_env(port=gama.port)
    env.reset()
    step(env)
    gama.faults.corrupt = _set(["data", "Info"], {"blob": "x" * 10_000})  # a model sending far too much
    with pytest.raises(GamaConnectionLostError) as err:
        step(env)
    msg = public(err.value)
    assert "larger than the limit of 8192 bytes" in msg and "MAX_MESSAGE_BYTES" in msg, msg
    assert f"127.0.0.1:{gama.port}" in msg
    gama.faults.corrupt = None
    env.reset()  # a new connection
    step(env)
    env.close()


# ------------------------------------------------------------------ load failures
@pytest.mark.timeout(30)
def test_load_failures_carry_gamas_message(gama, tmp_path):
    missing = str(tmp_path / "nowhere.gaml")
    with pytest.raises(GamaLoadError, match="does not exist") as err:
        gama_forager_env(port=gama.port, gaml_path=missing).reset()
    assert missing in public(err.value)
    with pytest.raises(GamaLoadError, match="'train' is not an experiment present in") as err:
        gama_forager_env(port=gama.port, experiment="train").reset()
    public(err.value)
    broken = tmp_path / "broken.gaml"
    text = open(os.path.join(GAML_DIR, "forager_petz.gaml"), encoding="utf-8").read()
    broken.write_text(text + "\n" + COMPILE_ERROR_MARKER + "\n", encoding="utf-8")
    with pytest.raises(GamaLoadError, match="compil") as err:
        forager_coop_v0.parallel_env(backend="gama", port=gama.port, gaml_path=str(broken)).reset()
    msg = public(err.value)
    assert "missing ';'" in msg and "line" in msg  # GAMA's error list, with where
    before = gama.live_experiments
    venv = make_gama_vec_env("forager", 2, servers=[f"127.0.0.1:{gama.port}"], gaml_path=missing)
    with pytest.raises(GamaLoadError, match="does not exist"):
        venv.reset()
    assert gama.live_experiments == before


# ------------------------------------------------------------------ idle connections closed by the server
@pytest.mark.timeout(30)
def test_idle_close_mid_episode_reconnects_and_restores_the_episode(gama, caplog):
    env = gama_forager_env(port=gama.port)
    ref = ForagerEnv()
    env.reset()
    ref.reset()
    rng = np.random.default_rng(5)
    for _ in range(12):
        a = rng.uniform(-1, 1, 2)
        env.step(a)
        ref.step(a)
    gama.faults.idle_close_after = 0.3  # a long PPO update, and the server's keep-alive drops us
    time.sleep(0.6)
    gama.faults.idle_close_after = None
    with caplog.at_level(logging.WARNING, logger="sb3_forager.gama"):
        for _ in range(5):
            a = rng.uniform(-1, 1, 2)
            got = env.step(a)
            want = ref.step(a)
            assert np.abs(got[0] - want[0]).max() < TOL and abs(got[1] - want[1]) < TOL
    assert any("replaying 12 step" in r.getMessage() for r in caplog.records)
    env.close()


@pytest.mark.timeout(30)
def test_idle_close_mid_random_episode_restores_it_with_its_parameters(gama):
    env = gama_forager_env(port=gama.port, starts="random", obstacles="random")
    ref = ForagerEnv(starts="random", obstacles="random")
    env.reset(seed=17)
    ref.reset(seed=17)
    rng = np.random.default_rng(6)
    for _ in range(6):
        a = rng.uniform(-1, 1, 2)
        env.step(a)
        ref.step(a)
    gama.faults.idle_close_after = 0.3
    time.sleep(0.6)
    gama.faults.idle_close_after = None
    n = len(gama.requests)
    for _ in range(3):
        a = rng.uniform(-1, 1, 2)
        got, want = env.step(a), ref.step(a)
        assert np.abs(got[0] - want[0]).max() < TOL and abs(got[1] - want[1]) < TOL
    load = [r for r in gama.requests[n:] if r["type"] == "load"]
    assert len(load) == 1 and "parameters" in load[0]  # the new experiment got this episode's world
    env.close()


@pytest.mark.timeout(30)
def test_idle_close_between_episodes_reconnects_at_reset(gama):
    env = forager_coop_v0.parallel_env(backend="gama", port=gama.port)
    env.reset()
    step(env)
    gama.faults.idle_close_after = 0.3
    time.sleep(0.6)
    gama.faults.idle_close_after = None
    obs, _ = env.reset()
    assert set(obs) == {"forager_0", "forager_1"}
    step(env)
    env.close()


@pytest.mark.timeout(30)
def test_idle_close_in_a_vec_env(gama):
    venv = make_gama_vec_env("coop", 2, servers=[f"127.0.0.1:{gama.port}"])
    ref = make_forager_vec_env(2, env="coop")
    venv.reset()
    ref.reset()
    rng = np.random.default_rng(6)
    for i in range(10):
        if i == 4:
            gama.faults.idle_close_after = 0.3
            time.sleep(0.6)
            gama.faults.idle_close_after = None
        a = rng.uniform(-1, 1, (4, 2)).astype(np.float32)
        got, want = venv.step(a), ref.step(a)
        assert np.abs(got[0] - want[0]).max() < TOL and np.abs(got[1] - want[1]).max() < TOL
    venv.close()


@pytest.mark.timeout(30)
def test_restoring_an_episode_that_does_not_replay_is_a_clear_error(gama):
    env = gama_forager_env(port=gama.port)
    env.reset()
    env.step([0.5, 0.5])
    env.backend.worlds[0]._last.obs[0, 0] += 0.25  # as if the model were random: the replay cannot reproduce it
    gama.faults.idle_close_after = 0.3
    time.sleep(0.6)
    gama.faults.idle_close_after = None
    with pytest.raises(GamaEpisodeLostError, match="did not reproduce") as err:
        env.step([0.5, 0.5])
    public(err.value)
    with pytest.raises(GamaEpisodeLostError, match="reset") as err:
        env.step([0.5, 0.5])
    public(err.value)
    env.reset()
    env.close()


# ------------------------------------------------------------------ security warning
@pytest.mark.timeout(10)
def test_warns_about_non_loopback_hosts(caplog):
    with caplog.at_level(logging.WARNING, logger="sb3_forager.gama"):
        gama_forager_env(host="127.0.0.1")
        gama_forager_env(host="localhost")
        make_gama_vec_env("forager", 2, servers=["[::1]:1001"])
        for host in ("127.1", "::ffff:127.0.0.1", "0.0.0.0", "127.0.0.2"):  # this machine, spelled otherwise
            gama_forager_env(host=host, port=1001)
        forager_coop_v0.parallel_env(backend="gama", host="0.0.0.0")
        assert not caplog.records, [r.getMessage() for r in caplog.records]
        gama_forager_env(host="192.0.2.7", port=1001)
        forager_coop_v0.parallel_env(backend="gama", host="192.0.2.7", port=1001)  # once per address
        gama_forager_env(host="gama.example.org", port=1001)  # a name: not resolved, so not trusted
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and "192.0.2.7:1001" in warnings[0] and "no authentication" in warnings[0]
    assert "gama.example.org:1001" in warnings[1]


# ------------------------------------------------------------------ messages
@pytest.mark.timeout(30)
def test_errors_of_every_kind_name_no_private_class(gama):
    """One sweep through the failure paths, beyond the tests above (which check each message too)."""
    messages = []
    env = make_env("coop", gama.port, timeout=0.3)
    env.reset()
    for fault, value in (("drop_after_n_commands", 0), ("stall_after_n_commands", 0)):
        setattr(gama.faults, fault, value)
        for _ in range(2):  # the failure, then the step after it
            with pytest.raises(GamaError) as err:
                step(env)
            messages.append(public(err.value))
        gama.faults.reset()
        env.reset()
    with pytest.raises(ValueError) as err:
        env.reset(seed="x")
    messages.append(public(err.value))
    with pytest.raises(ValueError) as err:
        make_gama_vec_env("coop", n_worlds="3")
    messages.append(public(err.value))
    env.close()
    with pytest.raises(EpisodeOverError) as err:
        step(env)
    messages.append(public(err.value))
    assert len(messages) == 7 and not any("_EpisodeLost" in m for m in messages)
