"""The GAMA backend's envs against the GAMA stand-in: API checks, same contract as the embedded envs,
round trips per step, pickling, use from ordinary code, threads and subprocess workers."""

from __future__ import annotations

import asyncio
import copy
import os
import pickle
import sys
import threading
import warnings

import gymnasium as gym
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


import sb3_forager  # noqa: E402,F401  (registers the ids)
from sb3_forager import forager_coop_v0  # noqa: E402
from sb3_forager.envs import EpisodeOverError, ForagerCoopEnv, ForagerEnv  # noqa: E402
from sb3_forager.gama import GamaForagerCoopEnv, GamaForagerEnv  # noqa: E402

TOL = 1e-6  # GAMA's JSON rounds floats to 8 decimals; float32 observations


def run_pair_single(gama_env, ref, actions):
    """Step both single-forager envs with ``actions`` (resetting at episode ends); compare all."""
    g, _ = gama_env.reset()
    e, _ = ref.reset()
    assert g.dtype == np.float32 and np.abs(g - e).max() < TOL
    for a in actions:
        go, gr, gterm, gtrunc, ginfo = gama_env.step(a)
        eo, er, eterm, etrunc, einfo = ref.step(a)
        assert go.dtype == np.float32 and go.shape == (13,)
        assert np.abs(go - eo).max() < TOL
        assert abs(gr - er) < TOL and isinstance(gr, float)
        assert (gterm, gtrunc) == (eterm, etrunc)
        assert ginfo == einfo
        if gterm or gtrunc:
            gama_env.reset()
            ref.reset()


# ------------------------------------------------------------------ single forager
@pytest.mark.timeout(30)
def test_registered_with_lazy_connection_and_defaults():
    spec = gym.spec("sb3_forager/GamaForager-v0")
    assert spec.entry_point == "sb3_forager.gama.gym_env:GamaForagerEnv"
    env = gym.make("sb3_forager/GamaForager-v0")  # port 1001, nothing listening: construction must not connect
    inner = env.unwrapped
    assert isinstance(inner, GamaForagerEnv)
    world = inner.world
    assert (world.host, world.port, world.experiment, world.timeout, world.connect_timeout) == (
        "127.0.0.1",
        1001,
        "gym_env",
        30.0,
        5.0,
    )
    assert os.path.isabs(world.gaml_path) and os.path.isfile(world.gaml_path)
    assert world.gaml_path.endswith(os.path.join("gaml", "forager_gym.gaml"))
    assert os.path.realpath(world.gaml_path) == world.gaml_path  # symlink resolved
    assert env.observation_space == gym.spaces.Box(0, 1, (13,), np.float32)
    assert env.action_space == gym.spaces.Box(-1, 1, (2,), np.float32)


@pytest.mark.timeout(60)
def test_gymnasium_and_sb3_check_env(gama):
    from gymnasium.utils.env_checker import check_env as gym_check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make("sb3_forager/GamaForager-v0", port=gama.port)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)
    env.close()


@pytest.mark.timeout(60)
def test_stock_gama_gymnasium_env_passes_check_env(gama):
    """The stock bridge against the same server and model (built inside a loop, as it requires)."""
    from gama_gymnasium import (
        GamaEnv,  # applies nest_asyncio to the process, as for any of its users
    )
    from gymnasium.utils.env_checker import check_env as gym_check_env

    loop = asyncio.new_event_loop()
    gaml = GamaForagerEnv().world.gaml_path

    async def build():
        return GamaEnv(
            gaml_experiment_path=gaml, gaml_experiment_name="gym_env", gama_ip_address="127.0.0.1", gama_port=gama.port
        )

    env = loop.run_until_complete(build())
    env.gama_client.client.default_timeout = 10
    try:
        gym_check_env(env, skip_render_check=True)
    finally:
        env.close()
        loop.close()


@pytest.mark.timeout(60)
def test_single_matches_embedded_step_for_step(gama):
    rng = np.random.default_rng(1)
    actions = rng.uniform(-1.3, 1.3, (330, 2))  # crosses the 300-step time limit; beyond [-1, 1] on purpose
    env = GamaForagerEnv(port=gama.port)
    run_pair_single(env, ForagerEnv(), actions)
    env.close()


@pytest.mark.timeout(30)
def test_single_episode_end_info_and_errors_like_embedded(gama):
    env = GamaForagerEnv(port=gama.port)
    ref = ForagerEnv()
    with pytest.raises(EpisodeOverError):
        env.step([0.0, 0.0])  # before reset
    env.reset()
    ref.reset()
    for bad in ([0.0], [[0.0, 0.0]], [np.nan, 0.0], "up", None):
        with pytest.raises(ValueError) as got:
            env.step(bad)
        with pytest.raises(ValueError) as want:
            ref.step(bad)
        assert str(got.value) == str(want.value)
    for _ in range(300):
        *_, term, trunc, info = env.step([-1.0, -1.0])  # into the top-left corner until time runs out
        if term or trunc:
            break
    assert (term, trunc) == (False, True)
    assert info == {"is_success": False, "episode_steps": 300}
    with pytest.raises(EpisodeOverError):
        env.step([0.0, 0.0])
    env.close()


@pytest.mark.timeout(30)
def test_round_trips_per_reset_and_step(gama):
    """reset = reload + one read (+ the seed when given); step = action, synchronous step, one read."""
    env = GamaForagerEnv(port=gama.port)
    env.reset(seed=5)
    (conn_id,) = gama.connections
    log = gama.requests_by_connection[conn_id]
    kinds = [r["type"] for r in log]
    assert kinds == ["load", "expression", "expression", "expression"]  # load, spaces, seed, first obs
    assert log[2]["expr"] == "seed <- 5;"
    n = len(log)
    env.step([0.25, -0.5])
    step_requests = log[n:]
    assert [r["type"] for r in step_requests] == ["expression", "step", "expression"]
    assert step_requests[0]["expr"] == "GymAgent[0].next_action <- [0.25,-0.5];"  # the stock bridge's statement
    assert step_requests[1]["sync"] is True
    assert step_requests[2]["expr"] == "GymAgent[0].data"
    n = len(log)
    env.reset()
    assert [r["type"] for r in log[n:]] == ["reload", "expression"]
    env.close()


@pytest.mark.timeout(30)
def test_render_rgb_array(gama):
    env = GamaForagerEnv(port=gama.port, render_mode="rgb_array")
    env.reset()
    env.step([1.0, 0.5])
    frame = env.render()
    assert frame.shape == (400, 400, 3) and frame.dtype == np.uint8
    env.close()
    with pytest.raises(ValueError):
        GamaForagerEnv(render_mode="human")


# ------------------------------------------------------------------ cooperative pair
@pytest.mark.timeout(60)
def test_coop_parallel_api_test(gama):
    from pettingzoo.test import parallel_api_test

    env = forager_coop_v0.parallel_env(backend="gama", host="127.0.0.1", port=gama.port, timeout=10.0)
    assert isinstance(env, GamaForagerCoopEnv)
    parallel_api_test(env, num_cycles=350)  # runs through a whole episode (300 steps)
    env.close()


@pytest.mark.timeout(60)
def test_coop_matches_embedded_until_the_end(gama):
    env = GamaForagerCoopEnv(port=gama.port)
    ref = ForagerCoopEnv()
    rng = np.random.default_rng(2)
    g_obs, g_info = env.reset()
    e_obs, e_info = ref.reset()
    assert g_info == e_info and env.agents == ref.agents
    for t in range(310):
        acts = {a: rng.uniform(-1, 1, 2) for a in ref.agents}
        if t % 7 == 3:
            acts.pop("forager_1")  # a live forager may be left out: it does not move this cycle
        g = env.step(acts)
        e = ref.step(acts)
        assert set(g[0]) == set(e[0])
        for a in e[0]:
            assert g[0][a].dtype == np.float32 and np.abs(g[0][a] - e[0][a]).max() < TOL
            assert abs(g[1][a] - e[1][a]) < TOL
        assert g[2:] == e[2:]
        assert env.agents == ref.agents
        if not ref.agents:
            break
    assert env.agents == [] and t == 299
    assert g[4]["forager_0"] == {"is_success": False, "episode_steps": 300}
    with pytest.raises(EpisodeOverError):
        env.step({"forager_0": [0, 0]})
    np.testing.assert_allclose(env.reset()[0]["forager_1"], ref.reset()[0]["forager_1"], atol=TOL)
    assert np.abs(env.state() - ref.state()).max() < TOL
    env.close()


@pytest.mark.timeout(30)
def test_coop_bad_actions_like_embedded(gama):
    env = GamaForagerCoopEnv(port=gama.port)
    ref = ForagerCoopEnv()
    env.reset()
    ref.reset()
    for bad in ({}, {"forager_9": [0, 0]}, {"forager_0": [0]}, [0, 0]):
        with pytest.raises(ValueError) as got:
            env.step(bad)
        with pytest.raises(ValueError) as want:
            ref.step(bad)
        assert str(got.value) == str(want.value)
    with pytest.raises(ValueError, match="max_cycles"):
        GamaForagerCoopEnv(max_cycles=100)
    env.close()


@pytest.mark.timeout(30)
def test_coop_aec_view(gama):
    aec = forager_coop_v0.env(backend="gama", port=gama.port)
    aec.reset()
    for _agent in aec.agent_iter(6):
        obs, reward, term, trunc, info = aec.last()
        assert obs.shape == (15,)
        aec.step(None if term or trunc else np.array([0.5, 0.5], dtype=np.float32))
    aec.close()


# ------------------------------------------------------------------ pickling, loops, threads, workers
@pytest.mark.timeout(30)
def test_pickle_roundtrip_before_and_during_an_episode(gama):
    env = GamaForagerEnv(port=gama.port)
    ref = ForagerEnv()
    fresh = pickle.loads(pickle.dumps(env))  # never connected
    assert np.abs(fresh.reset()[0] - ref.reset()[0]).max() < TOL
    for a in ([0.5, 0.1], [0.2, 0.9], [-0.3, 0.4]):
        fresh.step(a)
        ref.step(a)
    blob = pickle.dumps(fresh)  # mid-episode: no connection in the pickle
    copied = pickle.loads(blob)
    deep = copy.deepcopy(fresh)
    for a in ([0.7, 0.7], [0.1, 0.1]):
        ro, rr, *_ = ref.step(a)
        for e in (copied, deep):
            o, r, *_ = e.step(a)  # the first step reconnects, reloads and replays the episode
            assert np.abs(o - ro).max() < TOL and abs(r - rr) < TOL
    assert b"socket" not in blob.lower() and len(blob) < 100_000
    for e in (env, fresh, copied, deep):
        e.close()
    coop = GamaForagerCoopEnv(port=gama.port)
    coop.reset()
    coop2 = pickle.loads(pickle.dumps(coop))
    assert coop2.agents == coop.agents
    out = coop2.step({"forager_0": [1, 0], "forager_1": [0, 1]})
    assert set(out[0]) == {"forager_0", "forager_1"}
    coop.close()
    coop2.close()


@pytest.mark.timeout(30)
def test_usable_inside_a_running_event_loop_and_from_threads(gama):
    """No 'no running event loop', and no 'loop already running' either."""

    async def main():
        env = GamaForagerEnv(port=gama.port)
        obs, _ = env.reset()  # called synchronously from inside a coroutine
        env.step([0.1, 0.2])
        env.close()
        return obs

    assert asyncio.run(main()).shape == (13,)
    results, errors = [], []

    def worker():
        try:
            env = GamaForagerEnv(port=gama.port)
            env.reset()
            results.append(env.step([0.3, 0.3])[1])
            env.close()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors and len(results) == 3 and len(set(results)) == 1


def _make_gama_env(port: int):

    return gym.make("sb3_forager/GamaForager-v0", port=port)


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_subproc_vec_env_workers(gama, start_method):
    from functools import partial

    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    venv = SubprocVecEnv([partial(_make_gama_env, gama.port)] * 2, start_method=start_method)
    ref = DummyVecEnv([lambda: gym.make("sb3_forager/Forager-v0")] * 2)
    try:
        assert np.abs(venv.reset() - ref.reset()).max() < TOL
        rng = np.random.default_rng(3)
        for _ in range(20):
            a = rng.uniform(-1, 1, (2, 2)).astype(np.float32)
            go, gr, gd, _ = venv.step(a)
            eo, er, ed, _ = ref.step(a)
            assert np.abs(go - eo).max() < TOL and np.abs(gr - er).max() < TOL and (gd == ed).all()
    finally:
        venv.close()
