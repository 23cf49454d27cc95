"""API conformance of every env: Gymnasium/SB3 checkers, PettingZoo's suite, render, pickle, spawn."""

from __future__ import annotations

import multiprocessing as mp
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
)
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sb3_forager
from sb3_forager import EMBEDDED_GYM_ENV_IDS, forager_coop_v0

# Warnings we accept from the checkers (HighwayEnv-style allow-list); anything else fails.
ALLOWED_WARNINGS = (
    "For Box action spaces, we recommend using a symmetric and normalized space",
    "It seems a Box observation space is an image but the lower and upper bounds are not",
)


def _unexpected(caught) -> list[str]:
    return [str(w.message) for w in caught if not any(a in str(w.message) for a in ALLOWED_WARNINGS)]


@pytest.mark.parametrize("env_id", EMBEDDED_GYM_ENV_IDS)
def test_gymnasium_check_env(env_id: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make(env_id, render_mode="rgb_array")
        gym_check_env(env.unwrapped)
    assert not _unexpected(caught), _unexpected(caught)


@pytest.mark.parametrize("env_id", EMBEDDED_GYM_ENV_IDS)
def test_sb3_check_env(env_id: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(gym.make(env_id).unwrapped, warn=True)
    assert not _unexpected(caught), _unexpected(caught)


def test_registration_is_idempotent() -> None:
    before = dict(gym.registry)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # re-registering would warn "Overriding environment"
        sb3_forager.register_envs()
    assert dict(gym.registry) == before
    assert gym.spec("sb3_forager/Forager-v0").vector_entry_point is not None


def test_make_vec_uses_the_batched_env() -> None:
    venv = gym.make_vec("sb3_forager/Forager-v0", num_envs=5, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=0)
    assert type(venv.unwrapped).__name__ == "ForagerVectorEnv"
    assert obs.shape == (5, 13) and obs.dtype == np.float32
    assert venv.observation_space.shape == (5, 13) and venv.single_action_space.shape == (2,)


def test_pettingzoo_parallel_suite() -> None:
    parallel_api_test(forager_coop_v0.parallel_env(), num_cycles=1000)
    parallel_seed_test(forager_coop_v0.parallel_env, num_cycles=500)
    max_cycles_test(forager_coop_v0)


def test_pettingzoo_aec_suite() -> None:
    api_test(forager_coop_v0.env(), num_cycles=1000)
    # render_test builds one env with render_mode="human" only to read metadata["render_modes"];
    # we declare rgb_array only (no window on headless machines), so that probe gets None.
    render_test(
        lambda render_mode=None: forager_coop_v0.env(render_mode=None if render_mode == "human" else render_mode)
    )


def test_pettingzoo_registry() -> None:
    from pettingzoo import make

    env = make("parallel", "sb3_forager/ForagerCoop-v0")
    assert env.possible_agents == ["forager_0", "forager_1"]


def test_coop_spaces_and_episode_end_contract() -> None:
    env = forager_coop_v0.parallel_env()
    obs, infos = env.reset(seed=1)
    assert set(obs) == {"forager_0", "forager_1"}
    assert env.observation_space("forager_0") == gym.spaces.Box(0, 1, (15,), np.float32)
    assert env.action_space("forager_1") == gym.spaces.Box(-1, 1, (2,), np.float32)
    assert all(o.dtype == np.float32 and o.shape == (15,) for o in obs.values())
    steps = 0
    while env.agents:  # still for 300 steps: a timeout
        _, _, terms, truncs, infos = env.step({a: np.zeros(2, np.float32) for a in env.agents})
        steps += 1
    assert steps == 300
    assert truncs == {"forager_0": True, "forager_1": True} and not any(terms.values())
    assert infos["forager_0"]["is_success"] is False and infos["forager_1"]["episode_steps"] == 300


@pytest.mark.parametrize(
    "make",
    [
        lambda: gym.make("sb3_forager/Forager-v0", render_mode="rgb_array"),
        lambda: forager_coop_v0.parallel_env(render_mode="rgb_array"),
    ],
)
def test_render_gives_an_image_of_the_declared_shape(make) -> None:
    env = make()
    env.reset(seed=0)
    img = env.render()
    assert img.shape == (400, 400, 3) and img.dtype == np.uint8
    # obstacles are dark grey, the food green: both must be in the picture
    assert (img == (80, 80, 80)).all(axis=2).sum() > 1000
    assert (img == (50, 180, 50)).all(axis=2).sum() > 100
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 4


def _rollout(env, actions):
    out = [env.reset(seed=3)[0]]
    for a in actions:
        obs, reward, term, trunc, _ = env.step(a)
        out.append((obs, reward, term, trunc))
        if term or trunc:
            out.append(env.reset()[0])
    return out


def test_determinism_rollout() -> None:
    actions = np.random.default_rng(0).uniform(-1, 1, (400, 2)).astype(np.float32)
    a = _rollout(gym.make("sb3_forager/Forager-v0"), actions)
    b = _rollout(gym.make("sb3_forager/Forager-v0"), actions)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(
            np.asarray(x[0] if isinstance(x, tuple) else x), np.asarray(y[0] if isinstance(y, tuple) else y)
        )
        if isinstance(x, tuple):
            assert x[1:] == y[1:]


def test_pickle_round_trip_mid_episode() -> None:
    env = gym.make("sb3_forager/Forager-v0")
    env.reset(seed=0)
    for _ in range(7):
        env.step(np.array([0.5, 0.8], np.float32))
    clone = pickle.loads(pickle.dumps(env))
    a = env.step(np.array([0.3, -0.2], np.float32))
    b = clone.step(np.array([0.3, -0.2], np.float32))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:4] == b[1:4]
    coop = forager_coop_v0.parallel_env()
    coop.reset()
    coop.step({"forager_0": [1.0, 0.0], "forager_1": [0.0, 1.0]})
    coop2 = pickle.loads(pickle.dumps(coop))
    o1 = coop.step({"forager_0": [0.2, 0.2], "forager_1": [0.2, 0.2]})[0]
    o2 = coop2.step({"forager_0": [0.2, 0.2], "forager_1": [0.2, 0.2]})[0]
    np.testing.assert_array_equal(o1["forager_1"], o2["forager_1"])


def _make_in_child(queue) -> None:  # runs in a spawned interpreter: nothing imported beforehand
    import gymnasium

    env = gymnasium.make("sb3_forager:sb3_forager/Forager-v0")
    obs, _ = env.reset(seed=0)
    queue.put(obs.tolist())


def test_spawn_subprocess_make() -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_make_in_child, args=(queue,))
    proc.start()
    obs = queue.get(timeout=120)
    proc.join(timeout=60)
    assert proc.exitcode == 0
    np.testing.assert_allclose(obs, gym.make("sb3_forager/Forager-v0").reset(seed=0)[0])
