"""Bad input gets a clear error that names what was wrong, and nothing is silently changed."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from sb3_forager import forager_coop_v0
from sb3_forager.envs import EpisodeOverError, ForagerVecEnv
from sb3_forager.sim import SINGLE_FORAGER, ForagerSim


@pytest.fixture
def env():
    e = gym.make("sb3_forager/Forager-v0", disable_env_checker=True).unwrapped
    e.reset(seed=0)
    return e


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.array([np.nan, 0.0]), "forager_0 must be finite"),
        (np.array([0.0, np.inf]), "forager_0 must be finite"),
        (np.array([1.0, 0.0, 0.0]), r"forager_0 must have shape \(2,\)"),
        (np.array([[1.0, 0.0]]), r"forager_0 must have shape \(2,\)"),
        (0.5, r"forager_0 must have shape \(2,\)"),
        ("left", "forager_0 is not numeric"),
    ],
)
def test_single_env_rejects_bad_actions(env, action, message) -> None:
    state = (env.sim.x.copy(), env.sim.steps.copy())
    with pytest.raises(ValueError, match=message):
        env.step(action)
    # nothing was applied
    assert np.array_equal(env.sim.x, state[0]) and np.array_equal(env.sim.steps, state[1])


def test_out_of_box_actions_are_applied_unchanged(env) -> None:
    """The GAML model does not clip; neither do we (SB3 clips to the Box before stepping)."""
    env.step(np.array([2.0, 0.0]))
    assert env.sim.vx[0, 0] == pytest.approx(3.0)  # 1.5 * 2.0, not 1.5 * 1.0
    sim = ForagerSim(SINGLE_FORAGER)
    sim.step(np.array([[[0.3, -0.7]]]))
    assert (sim.vx[0, 0], sim.vy[0, 0]) == (0.3 * 1.5, -0.7 * 1.5)


def test_single_env_step_after_end_raises(env) -> None:
    for _ in range(300):
        _, _, term, trunc, _ = env.step(np.array([-1.0, -1.0], np.float32))
    assert trunc and not term
    with pytest.raises(EpisodeOverError, match="call reset"):
        env.step(np.array([0.0, 0.0], np.float32))
    env.reset()
    env.step(np.array([0.0, 0.0], np.float32))  # fine again


def test_single_env_step_before_reset_raises() -> None:
    e = gym.make("sb3_forager/Forager-v0", disable_env_checker=True).unwrapped
    with pytest.raises(EpisodeOverError):
        e.step(np.zeros(2, np.float32))


@pytest.fixture
def coop():
    e = forager_coop_v0.parallel_env()
    e.reset(seed=0)
    return e


@pytest.mark.parametrize(
    ("actions", "exc", "message"),
    [
        ({"forager_0": [0.0, 0.0], "forager_7": [0.0, 0.0]}, ValueError, r"unknown agent\(s\) \['forager_7'\]"),
        ({"forager_0": [np.nan, 0.0], "forager_1": [0.0, 0.0]}, ValueError, "forager_0 must be finite"),
        ({"forager_0": [0.0, 0.0], "forager_1": [0.0]}, ValueError, r"forager_1 must have shape \(2,\)"),
        ({}, ValueError, "no actions given"),
        ([[0.0, 0.0], [0.0, 0.0]], ValueError, "must be a dict"),
    ],
)
def test_coop_env_rejects_bad_actions(coop, actions, exc, message) -> None:
    before = coop.sim.x.copy()
    with pytest.raises(exc, match=message):
        coop.step(actions)
    assert np.array_equal(coop.sim.x, before) and coop.sim.steps[0] == 0


def test_coop_missing_action_means_no_move_like_gaml(coop) -> None:
    x0 = coop.sim.x[:, 0].copy()
    coop.step({"forager_0": [1.0, 1.0]})
    assert coop.sim.x[1, 0] == x0[1] and coop.sim.x[0, 0] != x0[0]


def test_coop_step_after_end_raises(coop) -> None:
    while coop.agents:
        coop.step({a: [0.0, 0.0] for a in coop.agents})
    with pytest.raises(EpisodeOverError, match="reset"):
        coop.step({"forager_0": [0.0, 0.0], "forager_1": [0.0, 0.0]})


def test_unknown_agent_space_raises(coop) -> None:
    with pytest.raises(KeyError, match="forager_9"):
        coop.observation_space("forager_9")


def test_vec_env_rejects_bad_batches() -> None:
    venv = ForagerVecEnv(3)
    venv.reset()
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        venv.step(np.zeros((2, 2), np.float32))
    bad = np.zeros((3, 2), np.float32)
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"slot 2 \(world 2, forager_0\) must be finite"):
        venv.step(bad)


@pytest.mark.filterwarnings("ignore:.*possible render_modes:UserWarning")  # Gymnasium's own warning first
@pytest.mark.parametrize("mode", ["rgb", "ansi"])
def test_bad_render_mode(mode) -> None:
    with pytest.raises(ValueError, match="render_mode"):
        gym.make("sb3_forager/Forager-v0", render_mode=mode, disable_env_checker=True)
    with pytest.raises(ValueError, match="render_mode"):
        forager_coop_v0.parallel_env(render_mode=mode)
    with pytest.raises(ValueError, match="render_mode"):
        forager_coop_v0.parallel_env(render_mode="human")  # no window: rgb_array only


def test_bad_backend_and_sizes() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        forager_coop_v0.parallel_env(backend="unity")
    with pytest.raises(ValueError, match="n_worlds must be >= 1"):
        ForagerSim(SINGLE_FORAGER, 0)
    with pytest.raises(ValueError, match="max_cycles must be >= 1"):
        forager_coop_v0.parallel_env(max_cycles=0)
