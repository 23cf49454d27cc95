"""Never hangs, always says why: every failure of a GAMA server, injected with the stand-in's faults."""

from __future__ import annotations

import logging
import os
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gama_standin import COMPILE_ERROR_MARKER, free_port  # noqa: E402

from sb3_forager.envs import ForagerEnv, make_forager_vec_env  # noqa: E402
from sb3_forager.gama import (  # noqa: E402
    GamaConnectionError,
    GamaConnectionLostError,
    GamaForagerCoopEnv,
    GamaForagerEnv,
    GamaLoadError,
    GamaSimulationError,
    GamaTimeoutError,
    make_gama_vec_env,
)

TOL = 1e-6
GAML_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gaml")


def make_env(kind: str, port: int, **kw):
    return GamaForagerEnv(port=port, **kw) if kind == "single" else GamaForagerCoopEnv(port=port, **kw)


def step(env, action=(0.3, 0.2)):
    if isinstance(env, GamaForagerEnv):
        return env.step(list(action))
    return env.step({a: list(action) for a in env.agents})


# ------------------------------------------------------------------ no server / not a GAMA server
@pytest.mark.timeout(20)
def test_nothing_listening_fails_fast_and_says_how_to_start_gama():
    port = free_port()
    env = GamaForagerEnv(port=port)
    t0 = time.monotonic()
    with pytest.raises(GamaConnectionError) as err:
        env.reset()
    assert time.monotonic() - t0 < 5.0
    msg = str(err.value)
    assert f"127.0.0.1:{port}" in msg and f"gama-headless.sh -socket {port}" in msg


@pytest.mark.timeout(20)
def test_server_that_never_greets(gama):
    gama.faults.refuse_handshake = True
    env = GamaForagerEnv(port=gama.port, connect_timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(GamaConnectionError, match="ConnectionSuccessful") as err:
        env.reset()
    assert time.monotonic() - t0 < 3.0
    assert f"127.0.0.1:{gama.port}" in str(err.value)


# ------------------------------------------------------------------ silence and drops
@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["single", "coop"])
def test_server_stops_answering_mid_episode(gama, kind):
    env = make_env(kind, gama.port, timeout=1.0)
    env.reset()
    step(env)
    gama.faults.stall_after_n_commands = 1  # the action is set, the cycle is never answered
    t0 = time.monotonic()
    with pytest.raises(GamaTimeoutError) as err:
        step(env)
    assert 1.0 <= time.monotonic() - t0 < 2.5
    assert f"127.0.0.1:{gama.port}" in str(err.value) and "'step' command" in str(err.value)
    with pytest.raises(GamaConnectionLostError, match="reset"):
        step(env)  # the episode is over for good, immediately
    gama.faults.stall_after_n_commands = None
    env.reset()  # reconnects and reloads
    step(env)
    env.close()


@pytest.mark.timeout(30)
def test_server_stops_answering_at_load(gama):
    gama.faults.stall_after_n_commands = 0
    env = GamaForagerEnv(port=gama.port, timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(GamaTimeoutError, match="load"):
        env.reset()
    assert time.monotonic() - t0 < 2.5


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["single", "coop"])
def test_connection_dropped_mid_episode(gama, kind):
    env = make_env(kind, gama.port, timeout=5.0)
    env.reset()
    step(env)
    gama.faults.drop_after_n_commands = 1  # the connection dies while the cycle is waited for
    t0 = time.monotonic()
    with pytest.raises(GamaConnectionLostError) as err:
        step(env)
    assert time.monotonic() - t0 < 1.0  # well within the command timeout
    assert f"127.0.0.1:{gama.port}" in str(err.value) and "reset()" in str(err.value)
    env.reset()  # reconnects and loads again
    step(env)
    env.close()


# ------------------------------------------------------------------ GAML runtime errors
@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["single", "coop"])
def test_runtime_error_during_a_step_is_raised_with_gamas_message(gama, kind):
    env = make_env(kind, gama.port)
    env.reset()
    gama.faults.runtime_error_message = "Java error: nil value detected in apply_action"
    gama.faults.runtime_error_on_step = True
    with pytest.raises(GamaSimulationError, match="nil value detected in apply_action") as err:
        step(env)
    assert err.value.message_type == "SimulationError"
    with pytest.raises(GamaConnectionLostError, match="failed at step 1"):
        step(env)  # the episode cannot be trusted any more
    env.reset()
    step(env)  # a new episode runs normally
    env.close()


@pytest.mark.timeout(30)
def test_runtime_error_in_one_world_of_a_vec_env(gama):
    venv = make_gama_vec_env("single", 3, servers=[f"127.0.0.1:{gama.port}"])
    venv.reset()
    gama.faults.runtime_error_on_step = True
    with pytest.raises(GamaSimulationError, match="nil value detected"):
        venv.step(np.zeros((3, 2), np.float32))
    venv.reset()
    venv.step(np.zeros((3, 2), np.float32))
    venv.close()


# ------------------------------------------------------------------ load failures
@pytest.mark.timeout(30)
def test_load_failures_carry_gamas_message(gama, tmp_path):
    missing = str(tmp_path / "nowhere.gaml")
    with pytest.raises(GamaLoadError, match="does not exist") as err:
        GamaForagerEnv(port=gama.port, gaml_path=missing).reset()
    assert missing in str(err.value)
    with pytest.raises(GamaLoadError, match="'train' is not an experiment present in"):
        GamaForagerEnv(port=gama.port, experiment="train").reset()
    broken = tmp_path / "broken.gaml"
    text = open(os.path.join(GAML_DIR, "forager_petz.gaml"), encoding="utf-8").read()
    broken.write_text(text + "\n" + COMPILE_ERROR_MARKER + "\n", encoding="utf-8")
    with pytest.raises(GamaLoadError, match="compil") as err:
        GamaForagerCoopEnv(port=gama.port, gaml_path=str(broken)).reset()
    assert "missing ';'" in str(err.value) and "line" in str(err.value)  # GAMA's error list, with where
    before = gama.live_experiments
    venv = make_gama_vec_env("single", 2, servers=[f"127.0.0.1:{gama.port}"], gaml_path=missing)
    with pytest.raises(GamaLoadError, match="does not exist"):
        venv.reset()
    assert gama.live_experiments == before


# ------------------------------------------------------------------ idle connections closed by the server
@pytest.mark.timeout(30)
def test_idle_close_mid_episode_reconnects_and_restores_the_episode(gama, caplog):
    env = GamaForagerEnv(port=gama.port)
    ref = ForagerEnv()
    env.reset()
    ref.reset()
    rng = np.random.default_rng(5)
    for _ in range(12):
        a = rng.uniform(-1, 1, 2)
        env.step(a)
        ref.step(a)
    gama.faults.idle_close_after = 0.3  # a long PPO update, and the server's keep-alive drops us
    time.sleep(0.8)
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
def test_idle_close_between_episodes_reconnects_at_reset(gama):
    env = GamaForagerCoopEnv(port=gama.port)
    env.reset()
    step(env)
    gama.faults.idle_close_after = 0.3
    time.sleep(0.8)
    gama.faults.idle_close_after = None
    obs, _ = env.reset()
    assert set(obs) == {"forager_0", "forager_1"}
    step(env)
    env.close()


@pytest.mark.timeout(30)
def test_idle_close_in_a_vec_env(gama):
    venv = make_gama_vec_env("coop", 2, servers=[f"127.0.0.1:{gama.port}"])
    ref = make_forager_vec_env(2, kind="coop")
    venv.reset()
    ref.reset()
    rng = np.random.default_rng(6)
    for i in range(10):
        if i == 4:
            gama.faults.idle_close_after = 0.3
            time.sleep(0.8)
            gama.faults.idle_close_after = None
        a = rng.uniform(-1, 1, (4, 2)).astype(np.float32)
        got, want = venv.step(a), ref.step(a)
        assert np.abs(got[0] - want[0]).max() < TOL and np.abs(got[1] - want[1]).max() < TOL
    venv.close()


@pytest.mark.timeout(30)
def test_restoring_an_episode_that_does_not_replay_is_a_clear_error(gama):
    env = GamaForagerEnv(port=gama.port)
    env.reset()
    env.step([0.5, 0.5])
    env.world._last.obs[0, 0] += 0.25  # as if the model were random: the replay cannot reproduce it
    gama.faults.idle_close_after = 0.3
    time.sleep(0.8)
    gama.faults.idle_close_after = None
    with pytest.raises(GamaConnectionLostError, match="did not reproduce"):
        env.step([0.5, 0.5])
    env.reset()
    env.close()


# ------------------------------------------------------------------ security warning
@pytest.mark.timeout(10)
def test_warns_about_non_loopback_hosts(caplog):
    with caplog.at_level(logging.WARNING, logger="sb3_forager.gama"):
        GamaForagerEnv(host="127.0.0.1")
        GamaForagerEnv(host="localhost")
        make_gama_vec_env("single", 2, servers=["[::1]:1001"])
        assert not caplog.records
        GamaForagerEnv(host="192.0.2.7", port=1001)
        GamaForagerCoopEnv(host="192.0.2.7", port=1001)  # once per address
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "192.0.2.7:1001" in warnings[0] and "no authentication" in warnings[0]
