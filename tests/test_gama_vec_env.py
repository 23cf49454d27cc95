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

from gama_standin import GamaStandIn

from sb3_forager.envs import EpisodeOverError, ForagerVecEnv, make_forager_vec_env
from sb3_forager import forager_coop_v0
from sb3_forager.gama import GamaWorlds
from sb3_forager.make import make_gama_vec_env
from sb3_forager.sim import FORAGER, FORAGER_RANDOM, STRESS, TEAM

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
@pytest.mark.parametrize("kind", ["forager", "coop"])
def test_matches_embedded_vec_env_step_for_step(gama, kind):
    """Random actions in most worlds, a food-seeking controller in world 0 (success endings)."""
    n = 3
    venv = make_gama_vec_env(kind, n, servers=[f"127.0.0.1:{gama.port}"])
    ref = make_forager_vec_env(n, env=kind)
    k = 1 if kind == "forager" else 2
    assert isinstance(venv, ForagerVecEnv) and isinstance(venv.backend, GamaWorlds) and venv.num_envs == n * k
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


def run_both(venv, ref, steps, rng, greedy_worlds=()):
    """Step both VecEnvs with the same actions (random, or towards the food in ``greedy_worlds``),
    comparing every step; returns how many episodes ended (auto-resets)."""
    k = venv.n_agents
    obs = venv.reset()
    want = ref.reset()
    assert np.abs(obs - want).max() < TOL
    ended = 0
    for _ in range(steps):
        actions = rng.uniform(-1, 1, (venv.num_envs, 2)).astype(np.float32)
        for w in greedy_worlds:
            actions[w * k : (w + 1) * k] = np.clip(0.08 * (95.0 - want[w * k : (w + 1) * k, :2] * 100.0), -1, 1)
        got = venv.step(actions)
        want_step = ref.step(actions)
        assert_same_step(got, want_step)
        want = want_step[0]
        ended += int(got[2].sum()) // k
    return ended


VEC_SCENARIOS = {
    "forager from random starts": ("forager", FORAGER_RANDOM.replace(max_steps=40)),
    "forager, random layout": ("forager", FORAGER_RANDOM.replace(obstacles="random", n_obstacles=8, max_steps=40)),
    "three, random layout": ("coop", TEAM.replace(n_foragers=3, obstacles="random", max_steps=30)),
    "stress": ("stress", STRESS),
    "stress from random starts": ("stress", STRESS.replace(starts="random", max_steps=25)),
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("name", list(VEC_SCENARIOS))
def test_random_scenarios_match_the_embedded_vec_env_with_auto_resets(gama, name):
    env, scenario = VEC_SCENARIOS[name]
    n = 2
    venv = make_gama_vec_env(env, n, servers=[f"127.0.0.1:{gama.port}"], scenario=scenario)
    ref = ForagerVecEnv(n, scenario)
    assert venv.num_envs == ref.num_envs and venv.seed(21) == ref.seed(21)
    steps = 50 if name == "stress" else 100
    ended = run_both(venv, ref, steps, np.random.default_rng(5), greedy_worlds=[0])
    if name != "stress":
        assert ended >= 2 * n  # the episodes drawn at the auto-resets match too
    assert venv.get_attr("episode") == ref.get_attr("episode")
    assert venv.get_attr("steps") == ref.get_attr("steps")
    venv.close()


@pytest.mark.timeout(60)
def test_worlds_with_their_own_scenarios_match_embedded(gama):
    scenarios = [TEAM.replace(max_steps=30), TEAM.replace(obstacles="random", max_steps=20), COOP_SHORT]
    venv = make_gama_vec_env("coop", 3, servers=[f"127.0.0.1:{gama.port}"], scenario=scenarios)
    ref = ForagerVecEnv(3, scenarios)
    venv.seed(3)
    ref.seed(3)
    assert run_both(venv, ref, 70, np.random.default_rng(8)) >= 3
    venv.close()


COOP_SHORT = TEAM.replace(starts=((15.0, 5.0), (5.0, 15.0)), teammate="nearest", max_steps=25)


@pytest.mark.timeout(60)
def test_a_refused_batch_steps_no_world_and_names_world_forager_and_value(gama):
    venv = make_gama_vec_env("coop", 3, servers=[f"127.0.0.1:{gama.port}"])
    ref = make_forager_vec_env(3, env="coop")
    venv.reset()
    ref.reset()
    good = np.full((6, 2), 0.25, np.float32)
    for slot, value, shown in (
        (3, [np.nan, 0.0], "nan"),
        (5, [0.0, np.inf], "inf"),
        (0, [1.5, 0.0], "1.5"),
        (4, [0.0, -1.25], "-1.25"),
    ):
        actions = good.copy()
        actions[slot] = value
        sent = len(gama.requests)
        with pytest.raises(ValueError) as err:
            venv.step(actions)
        message = str(err.value)
        world, agent = divmod(slot, 2)
        assert f"world {world}" in message and f"forager_{agent}" in message and shown in message, message
        assert "no world was stepped" in message
        assert len(gama.requests) == sent  # nothing reached any world's server
    for bad in (np.zeros((5, 2)), np.zeros((6, 3)), "up"):
        sent = len(gama.requests)
        with pytest.raises(ValueError):
            venv.step(bad)
        assert len(gama.requests) == sent
    assert venv.get_attr("steps") == [0] * 6
    assert_same_step(venv.step(good), ref.step(good))  # every world is still at its first step
    venv.close()


def _loads_and_reloads(requests):
    return [r for r in requests if r["type"] in ("load", "reload")]


@pytest.mark.timeout(60)
def test_tutorial_worlds_send_no_parameters_until_an_option_did(gama):
    venv = make_gama_vec_env("coop", 2, servers=[f"127.0.0.1:{gama.port}"])
    ref = make_forager_vec_env(2, env="coop")
    n0 = len(gama.requests)
    venv.reset()
    ref.reset()
    first = _loads_and_reloads(gama.requests[n0:])
    assert [r["type"] for r in first] == ["load", "load"] and all("parameters" not in r for r in first)
    # one world gets its own episode through SB3's per-world reset ...
    options = {"starts": [[30.0, 80.0], [80.0, 20.0]], "obstacles": [[50.0, 50.0]]}
    n1 = len(gama.requests)
    got = venv.env_method("reset", indices=[2], options=options)
    want = ref.env_method("reset", indices=[2], options=options)
    assert np.abs(np.array(got) - np.array(want)).max() < TOL
    (reload,) = _loads_and_reloads(gama.requests[n1:])
    assert "parameters" in reload
    assert venv.get_attr("episode", [2]) == ref.get_attr("episode", [2])
    # ... and from then on that world's reloads carry parameters (its auto-reset back to the
    # tutorial episode too); the other world still sends none
    venv.set_options({"starts": [[20.0, 80.0], [80.0, 10.0]]})
    ref.set_options({"starts": [[20.0, 80.0], [80.0, 10.0]]})
    n2 = len(gama.requests)
    assert np.abs(venv.reset() - ref.reset()).max() < TOL
    assert all("parameters" in r for r in _loads_and_reloads(gama.requests[n2:]))
    n3 = len(gama.requests)
    venv.reset()
    ref.reset()
    later = _loads_and_reloads(gama.requests[n3:])
    assert len(later) == 2 and all("parameters" in r for r in later)  # both had parameters by now
    rng = np.random.default_rng(1)
    for _ in range(10):
        a = rng.uniform(-1, 1, (4, 2))
        assert_same_step(venv.step(a), ref.step(a))
    venv.close()


@pytest.mark.timeout(30)
def test_round_robin_over_servers_and_address_parsing(gama):
    with GamaStandIn() as other:
        venv = make_gama_vec_env("forager", 3, servers=f"127.0.0.1:{gama.port},localhost:{other.port}")
        assert [w.port for w in venv.backend.worlds] == [gama.port, other.port, gama.port]
        venv.reset()
        assert gama.live_experiments == 2 and other.live_experiments == 1
        venv.step(np.zeros((3, 2), np.float32))
        venv.close()
        assert gama.wait_until(lambda: gama.live_experiments == 0)
    for bad, named in (
        (dict(env="pair"), "'pair'"),
        (dict(env="single"), "'single'"),  # the old name of "forager"
        (dict(env="forager", n_worlds=0), "got 0"),
        (dict(env="forager", n_worlds="3"), "got '3'"),
        (dict(env="forager", n_worlds=2.0), "got 2.0"),
        (dict(env="forager", n_worlds=True), "got True"),
        (dict(env="forager", servers=["host:x"]), "'host:x'"),
        (dict(env="forager", servers=[]), "no GAMA server"),
        (dict(env="forager", scenario=TEAM), "team scenario"),
        (dict(env="coop", scenario=FORAGER), "single scenario"),
        (dict(env="coop", n_worlds=2, scenario=[TEAM]), "list of 2 Scenarios"),
    ):
        with pytest.raises(ValueError) as err:
            make_gama_vec_env(**bad)
        assert named in str(err.value), str(err.value)
    v6 = make_gama_vec_env("coop", 1, servers=["[::1]:1234"])
    assert (v6.backend.worlds[0].host, v6.backend.worlds[0].port, v6.num_envs) == ("::1", 1234, 2)


@pytest.mark.timeout(60)
def test_round_trips_of_experiments_overlap(gama):
    """With 0.1 s per answer, one step of 4 experiments takes about 3 answers, not 12."""
    n, latency = 4, 0.1
    venv = make_gama_vec_env("forager", n, servers=[f"127.0.0.1:{gama.port}"])
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
    assert venv.seed(7) == [7, 7, 8, 8]  # world w gets seed + w; its two slots share it
    n0 = len(gama.requests)
    venv.reset()  # worlds get seeds 7 and 8, as a team env's reset(seed=7 / 8) would send them
    exprs = [str(r.get("expr")) for r in gama.requests[n0:] if r.get("type") == "expression"]
    seeds = [e for e in exprs if e.startswith("seed")]
    assert sorted(seeds) == ["seed <- 7;", "seed <- 8;"]
    n0 = len(gama.requests)
    venv.reset()  # an unseeded reset sends no seed
    assert not [r for r in gama.requests[n0:] if str(r.get("expr", "")).startswith("seed")]
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

    env = forager_coop_v0.parallel_env(backend="gama", port=gama.port)
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


def test_a_team_world_where_no_forager_acts_still_steps_like_embedded(gama):
    """Backend.step with ``acting`` all False for a world: the embedded simulation steps it (nobody
    moves, the step counts towards the time limit); the GAML models skip a cycle whose action map
    is empty, so the backend must not send one (it sends an action of no values instead)."""
    from sb3_forager.make import make_gama_vec_env, make_vec_env
    from sb3_forager.sim import Scenario

    sc = Scenario.from_kwargs(make_vec_env("coop", 2).scenario, max_steps=5)
    venv = make_gama_vec_env("coop", 2, servers=[f"127.0.0.1:{gama.port}"], scenario=sc)
    ref = ForagerVecEnv(2, sc)
    venv.reset(), ref.reset()
    acts = np.full((2, 2, 2), 0.5)
    acting = np.array([[True, True], [False, False]])
    for t in range(5):
        got, want = venv.backend.step(acts, acting if t else None), ref.backend.step(acts, acting if t else None)
        assert (got.steps == want.steps).all() and (got.episode_over == want.episode_over).all()
        assert np.abs(got.obs - want.obs).max() < TOL and np.abs(got.reward - want.reward).max() < TOL
    assert want.episode_over.all()  # both worlds reached their 5-step limit together
    venv.close()
