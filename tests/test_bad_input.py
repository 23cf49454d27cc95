"""Bad input gets one clear error that names what was wrong, and changes nothing.

Actions outside the Box (``docs/model.md``, section "Actions outside the Box"), non-finite or wrongly shaped are refused
on every embedded adapter (Gymnasium env, VectorEnv, SB3 VecEnv, PettingZoo parallel and AEC, the
SuperSuit training VecEnv), atomically: a refused batch steps no world. Bad scenarios, options,
seeds and sizes are refused before anything changes. (The GAMA envs: tests/test_gama_failures.py.)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from sb3_forager import forager_coop_v0, forager_team_v0
from sb3_forager.envs import EpisodeOverError, ForagerVecEnv, make_forager_vec_env
from sb3_forager.sim import COOP, FORAGER, TEAM, ForagerSim, Scenario

BAD_ACTIONS = [
    (np.array([np.nan, 0.0]), "forager_0 must be finite"),
    (np.array([0.0, np.inf]), "forager_0 must be finite"),
    (np.array([1.5, 0.0]), r"forager_0 must be in the action Box \[-1, 1\]\^2, got \[1.5, 0.0\]"),
    (np.array([1.1e308, 0.0]), r"forager_0 must be in the action Box"),
    (np.array([0.0, -1.0000001]), r"forager_0 must be in the action Box"),
    (np.array([1.0, 0.0, 0.0]), r"forager_0 must have shape \(2,\)"),
    (np.array([[1.0, 0.0]]), r"forager_0 must have shape \(2,\)"),
    (0.5, r"forager_0 must have shape \(2,\)"),
    ("left", "forager_0 is not numeric"),
]


def _state(sim: ForagerSim) -> tuple:
    return (sim.x.copy(), sim.y.copy(), sim.vx.copy(), sim.vy.copy(), sim.steps.copy(), sim.obs.copy())


def _same(a: tuple, b: tuple) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture
def env():
    e = gym.make("sb3_forager/Forager-v0", disable_env_checker=True).unwrapped
    e.reset(seed=0)
    e.step(np.array([0.5, 0.5], np.float32))
    return e


@pytest.mark.parametrize(("action", "message"), BAD_ACTIONS)
def test_single_env_refuses_bad_actions(env, action, message) -> None:
    before = _state(env.backend)
    with pytest.raises(ValueError, match=message):
        env.step(action)
    assert _same(before, _state(env.backend))  # nothing was applied
    env.step(np.array([0.5, 0.5], np.float32))  # and the episode goes on


def test_box_edges_are_valid_and_used_as_given(env) -> None:
    env.step(np.array([1.0, -1.0], np.float32))
    sim = ForagerSim.for_scenario(FORAGER)
    sim.step(np.array([[[0.3, -0.7]]]))
    assert (sim.vx[0, 0], sim.vy[0, 0]) == (0.3 * 1.5, -0.7 * 1.5)  # no clipping, no rescaling


def test_single_env_step_after_end_raises(env) -> None:
    for _ in range(299):
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


def test_vector_env_refuses_a_batch_atomically() -> None:
    venv = gym.make_vec("sb3_forager/Forager-v0", num_envs=3, vectorization_mode="vector_entry_point").unwrapped
    venv.reset(seed=0)
    before = _state(venv.backend)
    bad = np.zeros((3, 2), np.float32)
    bad[2] = [0.2, 1.5]
    with pytest.raises(ValueError, match=r"slot 2 \(world 2, forager_0\) must be in the action Box.*no world"):
        venv.step(bad)
    assert _same(before, _state(venv.backend))


@pytest.fixture
def coop():
    e = forager_coop_v0.parallel_env()
    e.reset(seed=0)
    return e


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ({"forager_0": [0.0, 0.0], "forager_7": [0.0, 0.0]}, r"unknown agent\(s\) \['forager_7'\]"),
        ({"forager_0": [np.nan, 0.0], "forager_1": [0.0, 0.0]}, "forager_0 must be finite"),
        ({"forager_0": [0.0, 0.0], "forager_1": [0.0]}, r"forager_1 must have shape \(2,\)"),
        ({"forager_0": [0.0, 0.0], "forager_1": [0.0, 2.0]}, r"forager_1 must be in the action Box.*\[0.0, 2.0\]"),
        ({}, "no actions given"),
        ([[0.0, 0.0], [0.0, 0.0]], "must be a dict"),
    ],
)
def test_parallel_env_refuses_bad_actions(coop, actions, message) -> None:
    before = _state(coop.backend)
    with pytest.raises(ValueError, match=message):
        coop.step(actions)
    assert _same(before, _state(coop.backend)) and coop.backend.steps[0] == 0
    coop.step({"forager_0": [0.0, 0.0], "forager_1": [0.0, 0.0]})  # the episode goes on


def test_aec_env_refuses_a_bad_action_at_that_agents_own_step() -> None:
    aec = forager_coop_v0.env()
    aec.reset(seed=0)
    aec.step(np.array([0.5, 0.5], np.float32))  # forager_0
    assert aec.agent_selection == "forager_1"
    with pytest.raises(ValueError, match=r"forager_1 must be in the action Box"):
        aec.step(np.array([3.0, 0.0], np.float32))
    assert aec.agent_selection == "forager_1"  # still its turn: nothing was stored
    aec.step(np.array([0.5, 0.5], np.float32))  # a valid action completes the cycle
    assert aec.agent_selection == "forager_0"
    raw = forager_coop_v0.raw_env()
    raw.reset(seed=0)
    with pytest.raises(ValueError, match="forager_0 must be finite"):
        raw.step(np.array([np.nan, 0.0]))


def test_coop_missing_action_means_no_move_like_gaml(coop) -> None:
    x0 = coop.backend.x[0].copy()
    coop.step({"forager_0": [1.0, 1.0]})
    assert coop.backend.x[0, 1] == x0[1] and coop.backend.x[0, 0] != x0[0]


def test_coop_step_after_end_raises(coop) -> None:
    while coop.agents:
        coop.step({a: [0.0, 0.0] for a in coop.agents})
    with pytest.raises(EpisodeOverError, match="reset"):
        coop.step({"forager_0": [0.0, 0.0], "forager_1": [0.0, 0.0]})


def test_unknown_agent_space_raises(coop) -> None:
    with pytest.raises(KeyError, match="forager_9"):
        coop.observation_space("forager_9")


def test_sb3_vec_env_refuses_a_batch_atomically() -> None:
    venv = make_forager_vec_env(3, "coop")
    venv.reset()
    before = _state(venv.backend)
    with pytest.raises(ValueError, match=r"shape \(6, 2\)"):
        venv.step(np.zeros((2, 2), np.float32))
    bad = np.zeros((6, 2), np.float32)
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"slot 5 \(world 2, forager_1\) must be finite"):
        venv.step(bad)
    bad[5, 1] = -7.0
    with pytest.raises(ValueError, match=r"slot 5 \(world 2, forager_1\) must be in the action Box.*-7.0"):
        venv.step(bad)
    assert _same(before, _state(venv.backend))


def test_supersuit_training_vec_env_refuses_a_batch_before_any_copy_steps() -> None:
    from sb3_forager.training.supersuit_vec import make_team_supersuit_vec_env

    venv = make_team_supersuit_vec_env(3)
    venv.reset()
    copies = [c.par_env for c in venv.venv.vec_envs]
    before = [_state(p.backend) for p in copies]
    bad = np.zeros((6, 2), np.float32)
    bad[4, 0] = 1.01  # copy 2, forager_0: copies 0 and 1 would have stepped first
    with pytest.raises(ValueError, match=r"slot 4 \(world 2, forager_0\) must be in the action Box"):
        venv.step(bad)
    assert all(_same(b, _state(p.backend)) for b, p in zip(before, copies))
    venv.close()


@pytest.mark.filterwarnings("ignore:.*possible render_modes:UserWarning")  # Gymnasium's own warning first
@pytest.mark.parametrize("mode", ["rgb", "ansi"])
def test_bad_render_mode(mode) -> None:
    with pytest.raises(ValueError, match="render_mode"):
        gym.make("sb3_forager/Forager-v0", render_mode=mode, disable_env_checker=True)
    with pytest.raises(ValueError, match="render_mode"):
        forager_coop_v0.parallel_env(render_mode=mode)


def test_bad_backend_and_sizes() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        forager_coop_v0.parallel_env(backend="unity")
    with pytest.raises(ValueError, match="n_worlds must be >= 1"):
        ForagerSim(0)
    with pytest.raises(ValueError, match="n_worlds must be >= 1"):
        ForagerVecEnv(0)
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        forager_coop_v0.parallel_env(max_cycles=0)
    with pytest.raises(ValueError, match="max_steps must be an integer, got 1.7"):
        forager_coop_v0.parallel_env(max_cycles=1.7)
    with pytest.raises(ValueError, match="max_steps must be an integer, got True"):
        forager_coop_v0.parallel_env(max_cycles=True)
    with pytest.raises(ValueError, match="n_worlds must be an integer"):
        ForagerVecEnv("3")  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", ["x", -1, 2**32, 1.5, True])
def test_bad_seeds(coop, seed) -> None:
    with pytest.raises(ValueError, match="seed"):
        coop.reset(seed=seed)
    venv = ForagerVecEnv(2)
    with pytest.raises(ValueError, match="seed"):
        venv.seed(seed)


# ---------------------------------------------------------------------- scenarios and options
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"starts": [[25.0, 25.0]]}, r"starts\[0\] = \(25.0, 25.0\) is inside .* obstacle centred at \(25.0, 25.0\)"),
        ({"starts": [[20.0, 22.0]]}, r"starts\[0\] = \(20.0, 22.0\) is inside \(or on the edge of\)"),
        ({"starts": [[0.5, 50.0]]}, r"starts\[0\] = \(0.5, 50.0\) is outside the world's free square"),
        ({"starts": [[5.0, 5.0], [6.0, 6.0]]}, r"starts: expected 1 point\(s\), one per forager, got 2"),
        ({"starts": [[float("nan"), 5.0]]}, r"starts\[0\] x must be finite"),
        ({"starts": "somewhere"}, "starts must be a list"),
        ({"obstacles": "many"}, "obstacles must be a list"),
        ({"obstacles": [[95.0, 95.0]]}, "the food at .* is inside the obstacle"),
        ({"food": [200.0, 5.0]}, r"food must lie in \[1, 99\]"),
        ({"max_steps": 0}, "max_steps must be >= 1"),
        ({"n_obstacles": -2, "obstacles": "random"}, "n_obstacles must be in"),
        ({"speed": 3}, r"Scenario\(\) got an unexpected keyword argument 'speed'"),
    ],
)
def test_bad_scenarios_raise_naming_the_value(kwargs, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        gym.make("sb3_forager/Forager-v0", disable_env_checker=True, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_foragers": 1}, "a team needs n_foragers >= 2"),
        ({"teammate": "furthest"}, r"teammate must be one of \['first', 'nearest'\]"),
        ({"n_foragers": 3, "starts": [[5.0, 5.0], [6.0, 6.0]]}, r"expected 3 point\(s\)"),
    ],
)
def test_bad_team_scenarios(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        forager_team_v0.parallel_env(**kwargs)


def test_n_foragers_without_starts_on_a_fixed_start_module() -> None:
    with pytest.raises(ValueError, match="n_foragers=3 needs starts too"):
        forager_coop_v0.parallel_env(n_foragers=3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"start": [[5.0, 5.0]]}, r"unknown reset option\(s\) \['start'\]"),
        ({"starts": [[25.0, 25.0], [5.0, 15.0]]}, r"options\['starts'\]\[0\] = \(25.0, 25.0\) is inside"),
        ({"starts": [[5.0, 5.0]]}, r"options\['starts'\]: expected 2 point\(s\)"),
        ({"obstacles": [[np.inf, 3.0]]}, r"options\['obstacles'\]\[0\] x must be finite"),
        ({"starts": [[10.0, 10.0], [60.0, 60.0]], "obstacles": [[60.0, 60.0]]}, r"\[1\] = \(60.0, 60.0\) is inside"),
        ("fast", "options must be a dict"),
    ],
)
def test_bad_reset_options_change_nothing(coop, options, message) -> None:
    coop.step({"forager_0": [0.3, 0.3], "forager_1": [0.3, 0.3]})
    before = _state(coop.backend)
    episode = coop.episode
    with pytest.raises(ValueError, match=message):
        coop.reset(options=options)
    assert _same(before, _state(coop.backend)) and coop.episode is episode and coop.agents


def test_enclosed_start_is_refused() -> None:
    """A start inside a closed pocket of squares (no free path to the food) is refused."""
    # a ring of eight squares around the open hole (45, 55)^2
    pocket = [
        [40.0, 40.0],
        [50.0, 40.0],
        [60.0, 40.0],
        [60.0, 50.0],
        [60.0, 60.0],
        [50.0, 60.0],
        [40.0, 60.0],
        [40.0, 50.0],
    ]
    with pytest.raises(ValueError, match="has no obstacle-free path to the food"):
        gym.make("sb3_forager/Forager-v0", disable_env_checker=True, starts=[[50.0, 50.0]], obstacles=pocket)


def test_random_starts_avoid_obstacles_and_the_food() -> None:
    rng = np.random.default_rng(0)
    sc = TEAM.replace(n_foragers=10, obstacles="random", n_obstacles=12)
    for _ in range(200):
        ep = sc.draw(rng)
        boxes = np.array([[cx - 5, cy - 5, cx + 5, cy + 5] for cx, cy in ep.obstacles])
        for x, y in ep.starts:
            assert 1 <= x <= 99 and 1 <= y <= 99 and np.hypot(95 - x, 95 - y) >= 10
            inside = (boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3])
            assert not inside.any()
        for cx, cy in ep.obstacles:
            assert 10 <= cx <= 90 and 10 <= cy <= 90 and np.hypot(95 - cx, 95 - cy) >= 15


def test_scenario_round_trips_through_plain_data() -> None:
    for sc in (FORAGER, COOP, TEAM.replace(obstacles="random", n_obstacles=3)):
        assert Scenario.from_dict(sc.to_dict()) == sc
