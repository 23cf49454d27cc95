"""``make_gama_vec_env`` against the GAMA stand-in: the same slots, infos and auto-reset as the embedded
``ForagerVecEnv`` step for step, round-robin over servers, overlapping round trips, SB3 and SuperSuit."""

from __future__ import annotations

import os
import pickle
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))

from gama_standin import GamaStandIn  # noqa: E402

from sb3_forager.envs import EpisodeOverError, make_forager_vec_env  # noqa: E402
from sb3_forager.gama import GamaForagerCoopEnv, GamaVecEnv, make_gama_vec_env  # noqa: E402

TOL = 1e-6


def assert_same_step(got, want):
    go, gr, gd, gi = got
    eo, er, ed, ei = want
    assert go.dtype == np.float32 and go.shape == eo.shape
    assert np.abs(go - eo).max() < TOL
    assert gr.dtype == np.float32 and np.abs(gr - er).max() < TOL
    assert gd.dtype == bool and (gd == ed).all()
    assert len(gi) == len(ei)
    for g, e in zip(gi, ei):
        assert set(g) == set(e)
        for key in e:
            if key == "terminal_observation":
                assert np.abs(g[key] - e[key]).max() < TOL
            else:
                assert g[key] == e[key], key


def steer(positions: np.ndarray) -> np.ndarray:
    """Towards the food along a route that avoids the obstacles (no velocity term: good enough)."""
    out = np.empty_like(positions)
    for i, (x, y) in enumerate(positions):
        target = (50.0, 10.0) if x < 45 else (90.0, 30.0) if y < 25 else (95.0, 95.0)
        out[i] = np.clip(0.1 * (np.array(target) - (x, y)), -1, 1)
    return out


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", ["single", "coop"])
def test_matches_embedded_vec_env_step_for_step(gama, kind):
    """Random actions in most worlds, a food-seeking controller in world 0 (success endings)."""
    n = 3
    venv = make_gama_vec_env(kind, n, servers=[f"127.0.0.1:{gama.port}"])
    ref = make_forager_vec_env(n, kind=kind)
    k = 1 if kind == "single" else 2
    assert isinstance(venv, GamaVecEnv) and venv.num_envs == n * k
    assert venv.observation_space == ref.observation_space and venv.action_space == ref.action_space
    obs = venv.reset()
    want = ref.reset()
    assert np.abs(obs - want).max() < TOL
    rng = np.random.default_rng(4)
    successes = truncations = 0
    for _ in range(320):  # past the 300-step limit: time-limit endings and auto-reset
        actions = rng.uniform(-1, 1, (n * k, 2)).astype(np.float32)
        actions[:k] = steer(want[:k, :2] * 100.0)
        got = venv.step(actions)
        want_step = ref.step(actions)
        assert_same_step(got, want_step)
        want = want_step[0]
        successes += sum(bool(i.get("is_success")) for i in got[3])
        truncations += sum(bool(i.get("TimeLimit.truncated")) for i in got[3])
    assert successes >= k and truncations >= k  # both kinds of ending were compared
    venv.close()


@pytest.mark.timeout(30)
def test_round_robin_over_servers_and_address_parsing(gama):
    with GamaStandIn() as other:
        venv = make_gama_vec_env("single", 3, servers=f"127.0.0.1:{gama.port},localhost:{other.port}")
        assert [w.port for w in venv.worlds] == [gama.port, other.port, gama.port]
        venv.reset()
        assert gama.live_experiments == 2 and other.live_experiments == 1
        venv.step(np.zeros((3, 2), np.float32))
        venv.close()
        assert gama.wait_until(lambda: gama.live_experiments == 0)
    for bad in (
        dict(kind="pair"),
        dict(kind="single", n_envs=0),
        dict(kind="single", servers=["host:x"]),
        dict(kind="single", servers=[]),
    ):
        with pytest.raises(ValueError):
            make_gama_vec_env(**bad)
    v6 = make_gama_vec_env("coop", 1, servers=["[::1]:1234"])
    assert (v6.worlds[0].host, v6.worlds[0].port, v6.num_envs) == ("::1", 1234, 2)


@pytest.mark.timeout(60)
def test_round_trips_of_experiments_overlap(gama):
    """With 0.1 s per answer, one step of 4 experiments takes about 3 answers, not 12."""
    n, latency = 4, 0.1
    venv = make_gama_vec_env("single", n, servers=[f"127.0.0.1:{gama.port}"])
    venv.reset()
    gama.faults.latency = latency
    t0 = time.perf_counter()
    venv.step(np.zeros((n, 2), np.float32))
    elapsed = time.perf_counter() - t0
    gama.faults.latency = 0.0
    assert 3 * latency <= elapsed < 6 * latency, elapsed  # sequential would be 12 * latency
    venv.close()


@pytest.mark.timeout(30)
def test_vec_env_api_details(gama):
    venv = make_gama_vec_env("coop", 2, servers=[f"127.0.0.1:{gama.port}"])
    with pytest.raises(EpisodeOverError):
        venv.step_wait()
    with pytest.raises(ValueError, match="shape"):
        venv.step_async(np.zeros((3, 2)))
    assert venv.get_attr("render_mode") == [None] * 4
    assert venv.env_is_wrapped(object) == [False] * 4
    assert venv.seed(7) == [7, 8, 9, 10]
    venv.reset()  # worlds get seeds 7 and 9
    exprs = [str(r.get("expr")) for r in gama.requests if r.get("type") == "expression"]
    seeds = [e for e in exprs if e.startswith("seed")]
    assert sorted(seeds[-2:]) == ["seed <- 7;", "seed <- 9;"]
    venv.step(np.zeros((4, 2)))
    copy = pickle.loads(pickle.dumps(venv))  # pickles without connections, continues the episodes
    got = copy.step(np.ones((4, 2)) * 0.5)
    want = venv.step(np.ones((4, 2)) * 0.5)
    assert np.abs(got[0] - want[0]).max() < TOL
    copy.close()
    venv.close()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ppo_trains_on_gama_vec_env(gama):
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor

    venv = VecMonitor(make_gama_vec_env("coop", 2, servers=[f"127.0.0.1:{gama.port}"]))
    try:
        model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
        model.learn(512)
        assert model.num_timesteps >= 512
    finally:
        venv.close()


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.filterwarnings("ignore:The `render_mode` attribute is not defined:UserWarning")  # SuperSuit's wrapper
def test_supersuit_pipeline_with_the_gama_parallel_env(gama):
    """The standard SuperSuit recipe cloudpickles the env: ours pickles, then connects in each copy."""
    import supersuit as ss
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor

    env = GamaForagerCoopEnv(port=gama.port)
    venv = ss.pettingzoo_env_to_vec_env_v1(env)
    venv = ss.concat_vec_envs_v1(venv, 2, num_cpus=0, base_class="stable_baselines3")
    venv = VecMonitor(venv)
    try:
        assert venv.num_envs == 4
        model = PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, device="cpu")
        model.learn(256)
        assert gama.live_experiments >= 2
    finally:
        venv.close()
