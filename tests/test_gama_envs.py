"""The GAMA backend's envs against the GAMA stand-in: API checks, same contract as the embedded envs
(the same episodes for the same seed, the tutorial scenarios and the random ones), refused actions,
round trips per step, pickling, use from ordinary code, threads and subprocess workers."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import pickle
import re
import sys
import threading
import warnings

import gymnasium as gym
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


import sb3_forager  # noqa: F401  (registers the ids)
from sb3_forager import forager_coop_v0, forager_stress_v0, forager_team_v0
from sb3_forager.envs import EpisodeOverError, ForagerEnv, ForagerTeamEnv
from sb3_forager.gama import GamaWorlds
from sb3_forager.make import gama_forager_env
from sb3_forager.sim import COOP, STRESS_STARTS

TOL = 1e-6  # GAMA's JSON rounds floats to 8 decimals; float32 observations
FOOD = np.array([95.0, 95.0])


def coop_pair(port: int, **kw):
    """The tutorial pair on GAMA and embedded, built the same way."""
    return forager_coop_v0.parallel_env(backend="gama", port=port, **kw), forager_coop_v0.parallel_env(**kw)


def greedy(rng: np.random.Generator, positions: np.ndarray, noise: float = 0.6) -> np.ndarray:
    """Towards the food with noise, inside the action Box (bumps obstacles now and then)."""
    a = 0.08 * (FOOD - positions) + rng.uniform(-noise, noise, positions.shape)
    return np.clip(a, -1.0, 1.0)


def run_pair_single(gama_env, ref, actions, seed=None, options=None) -> int:
    """Step both single-forager envs with ``actions``, resetting both (unseeded: the next episodes
    come from each env's own generator) at episode ends; compare everything. Returns the number
    of episodes that ended."""
    g, gi = gama_env.reset(seed=seed, options=options)
    e, ei = ref.reset(seed=seed, options=options)
    assert g.dtype == np.float32 and np.abs(g - e).max() < TOL and gi == ei
    ended = 0
    for a in actions:
        go, gr, gterm, gtrunc, ginfo = gama_env.step(a)
        eo, er, eterm, etrunc, einfo = ref.step(a)
        assert go.dtype == np.float32 and go.shape == (13,)
        assert np.abs(go - eo).max() < TOL
        assert abs(gr - er) < TOL and isinstance(gr, float)
        assert (gterm, gtrunc) == (eterm, etrunc)
        assert ginfo == einfo
        if gterm or gtrunc:
            ended += 1
            g, gi = gama_env.reset()
            e, ei = ref.reset()
            assert np.abs(g - e).max() < TOL and gi == ei
    return ended


def assert_same_team_step(g, e) -> None:
    assert set(g[0]) == set(e[0])
    for a in e[0]:
        assert g[0][a].dtype == np.float32 and np.abs(g[0][a] - e[0][a]).max() < TOL, a
        assert abs(g[1][a] - e[1][a]) < TOL, a
    assert g[2:] == e[2:]  # flags and infos (at_food, is_success, episode_steps, arrival_step) exactly


def run_pair_team(gama_env, ref, steps, rng, seed=None, options=None, greedy_share=0.5) -> int:
    """Step both team envs ``steps`` times with actions for the live agents (some greedy, some
    random), resetting both (unseeded) at episode ends; compare everything. Returns the episodes ended."""
    g_obs, g_info = gama_env.reset(seed=seed, options=options)
    e_obs, e_info = ref.reset(seed=seed, options=options)
    assert g_info == e_info and gama_env.agents == ref.agents
    for a in ref.agents:
        assert np.abs(g_obs[a] - e_obs[a]).max() < TOL
    ended = 0
    for _ in range(steps):
        pos = np.stack([e_obs[a][:2] for a in ref.agents]) * 100.0
        acts = greedy(rng, pos) if rng.random() < greedy_share else rng.uniform(-1, 1, pos.shape)
        actions = {a: acts[k] for k, a in enumerate(ref.agents)}
        g = gama_env.step(actions)
        e = ref.step(actions)
        assert_same_team_step(g, e)
        assert gama_env.agents == ref.agents
        e_obs = e[0]
        if not ref.agents:
            ended += 1
            g_obs, g_info = gama_env.reset()
            e_obs, e_info = ref.reset()
            assert g_info == e_info
            for a in ref.agents:
                assert np.abs(g_obs[a] - e_obs[a]).max() < TOL
    return ended


# ------------------------------------------------------------------ single forager
@pytest.mark.timeout(30)
def test_registered_with_lazy_connection_and_defaults():
    spec = gym.spec("sb3_forager/GamaForager-v0")
    assert spec.entry_point == "sb3_forager.make:gama_forager_env"
    env = gym.make("sb3_forager/GamaForager-v0")  # port 1001, nothing listening: construction must not connect
    inner = env.unwrapped
    assert isinstance(inner, ForagerEnv) and isinstance(inner.backend, GamaWorlds)
    (world,) = inner.backend.worlds
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

    for kw in ({}, {"starts": "random", "obstacles": "random"}):
        env = gym.make("sb3_forager/GamaForager-v0", port=gama.port, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning either
            gym_check_env(env.unwrapped)  # with random scenarios: the seeded determinism check too
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
    gaml = gama_forager_env().backend.worlds[0].gaml_path

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
    actions = rng.uniform(-1, 1, (330, 2))  # crosses the 300-step time limit
    actions[::17] = [1.0, -1.0]  # the Box's corners are valid actions, used as given
    env = gama_forager_env(port=gama.port)
    assert run_pair_single(env, ForagerEnv(), actions) == 1
    env.close()


@pytest.mark.timeout(30)
def test_single_episode_end_info_and_errors_like_embedded(gama):
    env = gama_forager_env(port=gama.port)
    ref = ForagerEnv()
    with pytest.raises(EpisodeOverError):
        env.step([0.0, 0.0])  # before reset
    env.reset()
    ref.reset()
    for bad in ([0.0], [[0.0, 0.0]], [np.nan, 0.0], "up", None, [1.5, 0.0], [0.0, -np.inf]):
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
    env = gama_forager_env(port=gama.port)
    env.reset(seed=5)
    (conn_id,) = gama.connections
    log = gama.requests_by_connection[conn_id]
    kinds = [r["type"] for r in log]
    assert kinds == ["load", "expression", "expression", "expression"]  # load, spaces, seed, first obs
    assert "parameters" not in log[0]  # the tutorial scenario: the model's own defaults
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
    assert "parameters" not in log[n]
    env.close()


@pytest.mark.timeout(30)
def test_render_rgb_array(gama):
    env = gama_forager_env(port=gama.port, render_mode="rgb_array", starts="random", obstacles="random")
    env.reset(seed=2)
    env.step([1.0, 0.5])
    frame = env.render()
    ref = ForagerEnv(render_mode="rgb_array")
    ref.reset()
    assert frame.shape == ref.render().shape and frame.shape[1] == 400 and frame.dtype == np.uint8
    env.close()
    with pytest.raises(ValueError):
        gama_forager_env(render_mode="human-ish")


# ------------------------------------------------------------------ refused actions (nothing sent)
BAD_ACTIONS = [
    ([np.nan, 0.0], "nan"),
    ([0.0, np.inf], "inf"),
    ([-np.inf, np.nan], "inf"),
    ([1.5, 0.0], "1.5"),
    ([0.0, -1.0001], "-1.0001"),
    ([1e308, 1e308], "1e+308"),
    ([0.0], "(1,)"),
    ([[0.0, 0.0]], "(1, 2)"),
    (np.zeros(3), "(3,)"),
    ("up", "'up'"),
    (None, "None"),
]


def _gama_and_embedded(kind: str, port: int):
    if kind == "gym":
        return gym.make("sb3_forager/GamaForager-v0", port=port), gym.make("sb3_forager/Forager-v0")
    module = {"coop": forager_coop_v0, "team": forager_team_v0, "stress": forager_stress_v0}[kind]
    return module.parallel_env(backend="gama", port=port), module.parallel_env()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["gym", "coop", "team", "stress"])
def test_bad_actions_are_refused_naming_forager_and_value_and_nothing_is_sent(gama, kind):
    env, ref = _gama_and_embedded(kind, gama.port)
    env.reset(seed=4)
    ref.reset(seed=4)
    team = kind != "gym"
    victim = "forager_1" if team else "forager_0"
    sent = len(gama.requests)
    for bad, shown in BAD_ACTIONS:
        action = {a: ([0.5, 0.5] if a != victim else bad) for a in env.agents} if team else bad
        with pytest.raises(ValueError) as err:
            env.step(action)
        message = str(err.value)
        assert victim in message and shown in message, message
        assert len(gama.requests) == sent, f"{bad!r} reached the server"
    # nothing moved: the next valid step is the first one, as on the embedded env
    action = {a: [0.5, -0.25] for a in env.agents} if team else [0.5, -0.25]
    got, want = env.step(action), ref.step(action)
    if team:
        assert_same_team_step(got, want)
    else:
        assert np.abs(got[0] - want[0]).max() < TOL and abs(got[1] - want[1]) < TOL and got[4] == want[4]
        assert got[4]["episode_steps"] == 1
    env.close()


# ------------------------------------------------------------------ the scenario reaches GAMA
SINGLE_SCENARIOS = {
    "random starts": dict(starts="random", max_steps=60),
    "random layout": dict(starts="random", obstacles="random", n_obstacles=9, max_steps=60),
    "fixed start, random layout": dict(starts=[[10.0, 12.5]], obstacles="random", n_obstacles=6, max_steps=50),
    "no obstacles, other food": dict(starts="random", obstacles=[], food=[40.0, 70.0], max_steps=60),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(SINGLE_SCENARIOS))
def test_random_single_episodes_are_the_embedded_ones(gama, name):
    kw = SINGLE_SCENARIOS[name]
    env = gama_forager_env(port=gama.port, **kw)
    ref = ForagerEnv(**kw)
    rng = np.random.default_rng(11)
    actions = []
    for _ in range(200):  # about 3 episodes: the next episodes, drawn after the seeded one, match too
        actions.append(rng.uniform(-1, 1, 2))
    env.reset(seed=123)
    first = env.episode
    assert run_pair_single(env, ref, np.array(actions), seed=123) >= 3
    assert env.episode != first  # later episodes are other draws ...
    env.reset(seed=123)
    assert env.episode == first  # ... and the seed decides the episode
    env.close()


TEAM_SCENARIOS = {
    "pair from random starts": (forager_team_v0, dict(max_cycles=40)),
    "pair, random layout": (forager_coop_v0, dict(obstacles="random", n_obstacles=7, max_cycles=40)),
    "three, random layout": (forager_team_v0, dict(n_foragers=3, obstacles="random", max_cycles=40)),
    "three, first teammate": (forager_team_v0, dict(n_foragers=3, teammate="first", max_cycles=30)),
    "ten from random starts": (forager_team_v0, dict(n_foragers=10, max_cycles=30)),
    "stress": (forager_stress_v0, dict()),
    "stress from random starts": (forager_stress_v0, dict(starts="random", max_cycles=30)),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(TEAM_SCENARIOS))
def test_random_team_episodes_are_the_embedded_ones(gama, name):
    module, kw = TEAM_SCENARIOS[name]
    env = module.parallel_env(backend="gama", port=gama.port, **kw)
    ref = module.parallel_env(**kw)
    assert isinstance(env, ForagerTeamEnv) and isinstance(env.backend, GamaWorlds) and env.possible_agents == ref.possible_agents
    steps = 80 if name != "stress" else 60
    ended = run_pair_team(env, ref, steps, np.random.default_rng(7), seed=99)
    if name != "stress":
        assert ended >= 2  # the following episodes (drawn after the seeded one) match too
    assert env.episode == ref.episode
    env.close()


@pytest.mark.timeout(30)
def test_stress_model_is_the_tutorials_ten_foragers(gama):
    env = forager_stress_v0.parallel_env(backend="gama", port=gama.port)
    obs, _ = env.reset()
    assert env.backend.worlds[0].experiment == "petz_stress_env" and env.backend.worlds[0].gaml_path.endswith("forager_petz_stress.gaml")
    assert env.possible_agents == [f"forager_{k}" for k in range(10)]
    got = [tuple(np.round(obs[a][:2] * 100, 4)) for a in env.possible_agents]
    assert got == [tuple(map(float, p)) for p in STRESS_STARTS]
    loads = [r for r in gama.requests if r["type"] == "load" and r["experiment"] == "petz_stress_env"]
    assert loads and "parameters" not in loads[-1]  # the model's own defaults: 10 foragers, 500 steps
    env.close()


def _reloads_and_loads(requests):
    return [r for r in requests if r["type"] in ("load", "reload")]


def _parameter(request, name):
    values = [p["value"] for p in request.get("parameters", []) if p["name"] == name]
    return values[0] if values else None


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["gym", "coop", "stress"])
def test_tutorial_scenario_sends_no_parameters_but_after_some_every_reload_does(gama, kind):
    if kind == "gym":
        env, ref = gama_forager_env(port=gama.port), ForagerEnv()
        starts = [[12.0, 80.0]]
    else:
        module = forager_coop_v0 if kind == "coop" else forager_stress_v0
        env, ref = module.parallel_env(backend="gama", port=gama.port), module.parallel_env()
        starts = [[10.0 + 8 * k, 80.0] for k in range(len(env.possible_agents))]
    obstacles = [[40.0, 70.0], [20.0, 60.0]]

    def reset_both(**kw):
        got, want = env.reset(**kw), ref.reset(**kw)
        g = got[0] if kind == "gym" else np.stack([got[0][a] for a in env.possible_agents])
        e = want[0] if kind == "gym" else np.stack([want[0][a] for a in env.possible_agents])
        assert np.abs(g - e).max() < TOL and got[1] == want[1]

    def step_both(n=5):
        for _ in range(n):
            a = [0.7, 0.3] if kind == "gym" else {x: [0.7, 0.3] for x in env.agents}
            got, want = env.step(a), ref.step(a)
            if kind == "gym":
                assert np.abs(got[0] - want[0]).max() < TOL and abs(got[1] - want[1]) < TOL
                assert got[2:] == want[2:]
            else:
                assert_same_team_step(got, want)

    n0 = len(gama.requests)
    reset_both()
    step_both()
    reset_both(seed=8)
    sent = _reloads_and_loads(gama.requests[n0:])
    assert [r["type"] for r in sent] == ["load", "reload"]
    assert all("parameters" not in r for r in sent)  # the tutorial model needs none

    # a per-episode start and layout reach the model ...
    n1 = len(gama.requests)
    reset_both(options={"starts": starts, "obstacles": obstacles})
    step_both()
    (reload,) = _reloads_and_loads(gama.requests[n1:])
    assert json.loads(_parameter(reload, "starts_json")) == starts
    assert json.loads(_parameter(reload, "obstacles_json")) == obstacles
    # ... and from then on every reload sends the episode's parameters, the tutorial's included
    # (GAMA keeps the last values given: without them this episode would start at `starts`)
    n2 = len(gama.requests)
    reset_both()
    step_both()
    reset_both(options={"obstacles": obstacles})
    reset_both()
    later = _reloads_and_loads(gama.requests[n2:])
    assert len(later) == 3 and all("parameters" in r for r in later)
    default_starts = [[15.0, 5.0], [5.0, 15.0]] if kind == "coop" else [[5.0, 5.0]] if kind == "gym" else None
    if default_starts is not None:
        assert json.loads(_parameter(later[0], "starts_json")) == default_starts
    env.close()


@pytest.mark.timeout(30)
def test_reset_options_set_the_episode_on_gama_like_embedded(gama):
    options = {"starts": [[60.0, 20.0]], "obstacles": [[70.0, 30.0], [80.0, 80.0], [30.0, 70.0]]}
    env = gama_forager_env(port=gama.port)
    rng = np.random.default_rng(3)
    run_pair_single(env, ForagerEnv(), rng.uniform(-1, 1, (30, 2)), options=options)
    assert env.episode.starts == ((60.0, 20.0),) and len(env.episode.obstacles) == 3
    sent = len(gama.requests)
    with pytest.raises(ValueError, match=re.escape("options['starts'][0] = (25.0, 25.0) is inside")):
        env.reset(options={"starts": [[25.0, 25.0]]})  # inside a tutorial obstacle
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"food": [1, 1]})
    assert len(gama.requests) == sent  # refused before anything is sent
    env.close()

    team, ref = coop_pair(gama.port)
    options = {"starts": [[60.0, 20.0], [10.0, 90.0]], "obstacles": [[50.0, 50.0]]}
    run_pair_team(team, ref, 30, np.random.default_rng(4), options=options)
    with pytest.raises(ValueError, match="expected 2 point"):
        team.reset(options={"starts": [[60.0, 20.0]]})
    team.close()


@pytest.mark.timeout(30)
def test_max_cycles_reaches_gama(gama):
    env, ref = coop_pair(gama.port, max_cycles=20)
    assert env.max_cycles == 20
    env.reset()
    ref.reset()
    load = [r for r in gama.requests if r["type"] == "load"][-1]
    assert _parameter(load, "max_steps") == 20
    for _ in range(20):
        g = env.step({a: [-1.0, -1.0] for a in env.agents})
        e = ref.step({a: [-1.0, -1.0] for a in ref.agents})
        assert_same_team_step(g, e)
    assert env.agents == [] and all(g[3].values()) and g[4]["forager_0"]["episode_steps"] == 20
    env.close()


@pytest.mark.timeout(30)
def test_team_env_refuses_bad_seeds_and_lengths_naming_the_value(gama):
    env = forager_coop_v0.parallel_env(backend="gama", port=gama.port)
    sent = len(gama.requests)
    for bad in ("x", -1, 2**32, 1.5, True, [1]):
        with pytest.raises(ValueError) as err:
            env.reset(seed=bad)
        assert repr(bad) in str(err.value) or str(bad) in str(err.value), str(err.value)
    assert len(gama.requests) == sent  # refused before connecting
    for bad in (1.7, 0, "300", -5, float("nan")):
        with pytest.raises(ValueError) as err:
            forager_coop_v0.parallel_env(backend="gama", port=gama.port, max_cycles=bad)
        assert repr(bad) in str(err.value) or str(bad) in str(err.value), str(err.value)
    with pytest.raises(ValueError, match="'sideways'"):
        forager_team_v0.parallel_env(backend="gama", teammate="sideways")
    obs, _ = env.reset(seed=3)
    assert set(obs) == {"forager_0", "forager_1"}
    env.close()


# ------------------------------------------------------------------ cooperative pair
@pytest.mark.timeout(60)
def test_coop_parallel_api_test(gama):
    from pettingzoo.test import parallel_api_test

    env = forager_coop_v0.parallel_env(backend="gama", host="127.0.0.1", port=gama.port, timeout=10.0)
    assert isinstance(env.backend, GamaWorlds) and env.metadata["name"] == "forager_coop_v0"
    parallel_api_test(env, num_cycles=350)  # runs through a whole episode (300 steps)
    env.close()


@pytest.mark.timeout(60)
def test_team_parallel_api_and_seed_tests(gama):
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    env = forager_team_v0.parallel_env(backend="gama", port=gama.port, n_foragers=3, max_cycles=25)
    parallel_api_test(env, num_cycles=60)
    env.close()
    parallel_seed_test(lambda: forager_team_v0.parallel_env(backend="gama", port=gama.port, max_cycles=25))


@pytest.mark.timeout(60)
def test_coop_matches_embedded_until_the_end(gama):
    env, ref = coop_pair(gama.port)
    assert isinstance(ref, ForagerTeamEnv) and ref.scenario == COOP
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
        assert_same_team_step(g, e)
        assert env.agents == ref.agents
        if not ref.agents:
            break
    assert env.agents == [] and t == 299
    assert g[4]["forager_0"] == {"at_food": False, "is_success": False, "episode_steps": 300, "arrival_step": -1}
    with pytest.raises(EpisodeOverError):
        env.step({"forager_0": [0, 0]})
    np.testing.assert_allclose(env.reset()[0]["forager_1"], ref.reset()[0]["forager_1"], atol=TOL)
    assert np.abs(env.state() - ref.state()).max() < TOL
    env.close()


@pytest.mark.timeout(30)
def test_coop_bad_actions_like_embedded(gama):
    env, ref = coop_pair(gama.port)
    env.reset()
    ref.reset()
    for bad in (
        {},
        {"forager_9": [0, 0]},
        {"forager_0": [0]},
        [0, 0],
        {"forager_0": [2, 0]},
        {"forager_1": [0, np.nan]},
    ):
        with pytest.raises(ValueError) as got:
            env.step(bad)
        with pytest.raises(ValueError) as want:
            ref.step(bad)
        assert str(got.value) == str(want.value)
    env.close()


@pytest.mark.timeout(30)
def test_coop_aec_view(gama):
    aec = forager_coop_v0.env(backend="gama", port=gama.port)
    aec.reset()
    for _agent in aec.agent_iter(6):
        obs, reward, term, trunc, info = aec.last()
        assert obs.shape == (15,)
        aec.step(None if term or trunc else np.array([0.5, 0.5], dtype=np.float32))
    sent = len(gama.requests)
    with pytest.raises(ValueError, match=re.escape("[3.0, 0.0]")):
        aec.step(np.array([3.0, 0.0]))  # refused at that agent's own step
    assert len(gama.requests) == sent
    aec.close()


# ------------------------------------------------------------------ pickling, loops, threads, workers
@pytest.mark.timeout(30)
def test_pickle_roundtrip_before_and_during_an_episode(gama):
    env = gama_forager_env(port=gama.port)
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
    coop = forager_coop_v0.parallel_env(backend="gama", port=gama.port)
    coop.reset()
    coop2 = pickle.loads(pickle.dumps(coop))
    assert coop2.agents == coop.agents
    out = coop2.step({"forager_0": [1, 0], "forager_1": [0, 1]})
    assert set(out[0]) == {"forager_0", "forager_1"}
    coop.close()
    coop2.close()
    # a random episode is restored with its own scenario parameters
    team = forager_team_v0.parallel_env(backend="gama", port=gama.port, n_foragers=3, obstacles="random")
    ref = forager_team_v0.parallel_env(n_foragers=3, obstacles="random")
    team.reset(seed=5)
    ref.reset(seed=5)
    for _ in range(3):
        acts = {a: [0.4, 0.6] for a in ref.agents}
        team.step(acts)
        ref.step(acts)
    team2 = pickle.loads(pickle.dumps(team))
    acts = {a: [-0.2, 0.9] for a in ref.agents}
    assert_same_team_step(team2.step(acts), ref.step(acts))
    team.close()
    team2.close()


@pytest.mark.timeout(30)
def test_usable_inside_a_running_event_loop_and_from_threads(gama):
    """No 'no running event loop', and no 'loop already running' either."""

    async def main():
        env = gama_forager_env(port=gama.port)
        obs, _ = env.reset()  # called synchronously from inside a coroutine
        env.step([0.1, 0.2])
        env.close()
        return obs

    assert asyncio.run(main()).shape == (13,)
    results, errors = [], []

    def worker():
        try:
            env = gama_forager_env(port=gama.port)
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
