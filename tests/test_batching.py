"""N worlds stepped together equal N single envs stepped one by one; the batched envs' contracts."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

from sb3_forager import forager_coop_v0
from sb3_forager.envs import ForagerVecEnv, make_forager_vec_env
from sb3_forager.sim import COOP, FORAGER, FORAGER_RANDOM, TEAM, ForagerSim


def _actions(seed: int, steps: int, n: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seek = np.array([0.7, 0.7])  # a bias toward the food so that some episodes end in success
    return np.clip(rng.normal(0, 0.8, (steps, n, k, 2)) + seek * rng.uniform(0, 1.2, (steps, n, 1, 1)), -1, 1)


@pytest.mark.parametrize(
    "scenario",
    [FORAGER, COOP, FORAGER_RANDOM.replace(obstacles="random"), TEAM.replace(n_foragers=3, obstacles="random")],
    ids=["single", "coop", "single-random-layouts", "team3-random-layouts"],
)
def test_n_worlds_equal_n_single_worlds(scenario) -> None:
    """N worlds (each with its own episode: a batch may mix layouts) step exactly as N one-world sims."""
    n, steps = 16, 320
    k = scenario.n_foragers
    acts = _actions(7, steps, n, k)
    rng = np.random.default_rng(0)
    episodes = [scenario.draw(rng) for _ in range(n)]
    batch = ForagerSim.for_scenario(scenario, n)
    batch.reset(None, episodes)
    singles = [ForagerSim.for_scenario(scenario, 1) for _ in range(n)]
    for s, ep in zip(singles, episodes):
        s.reset(None, [ep])
    ended = 0
    for t in range(steps):
        r = batch.step(acts[t])
        for i, s in enumerate(singles):
            ri = s.step(acts[t, i : i + 1])
            np.testing.assert_array_equal(r.obs[i], ri.obs[0])
            np.testing.assert_array_equal(r.reward[i], ri.reward[0])
            np.testing.assert_array_equal(r.terminated[i], ri.terminated[0])
            np.testing.assert_array_equal(r.truncated[i], ri.truncated[0])
            if ri.episode_over[0]:
                s.reset()
        ended += int(r.episode_over.sum())
        batch.reset(r.episode_over)
    assert ended >= n  # every world finished at least one episode along the way


def test_sb3_vec_env_equals_gymnasium_env() -> None:
    n, steps = 8, 700
    acts = _actions(3, steps, n, 1)[:, :, 0]
    acts[:, :2] = -1.0  # worlds 0 and 1 push into the top-left corner: they time out
    venv = ForagerVecEnv(n)
    venv.seed(0)
    obs = venv.reset()
    envs = [gym.make("sb3_forager/Forager-v0") for _ in range(n)]
    single_obs = [e.reset(seed=i)[0] for i, e in enumerate(envs)]
    np.testing.assert_array_equal(obs, np.stack(single_obs))
    successes = truncations = 0
    for t in range(steps):
        obs, rew, dones, infos = venv.step(acts[t].astype(np.float32))
        assert dones.dtype == bool and rew.dtype == np.float32 and obs.dtype == np.float32
        for i, e in enumerate(envs):
            o, r, term, trunc, info = e.step(acts[t, i].astype(np.float32))
            assert rew[i] == np.float32(r)
            assert dones[i] == (term or trunc)
            if term or trunc:
                np.testing.assert_array_equal(infos[i]["terminal_observation"], o)
                assert infos[i]["TimeLimit.truncated"] == (trunc and not term)
                assert infos[i]["is_success"] == info["is_success"] == term
                successes += term
                truncations += trunc
                o, _ = e.reset()
            else:
                assert "terminal_observation" not in infos[i]
            np.testing.assert_array_equal(obs[i], o)
    assert successes > 0 and truncations > 0  # both endings were exercised


def test_coop_vec_env_equals_pettingzoo_env() -> None:
    n, steps = 4, 650
    acts = _actions(11, steps, n, 2)
    acts[:, 0, 1] = -1.0  # world 0: forager_1 never leaves the corner, so that world times out
    acts = acts.astype(np.float32)  # what both envs receive
    venv = make_forager_vec_env(n, "coop")
    assert venv.num_envs == 2 * n
    obs = venv.reset()
    envs = [forager_coop_v0.parallel_env() for _ in range(n)]
    for e in envs:
        e.reset()
    ends = {"success": 0, "timeout": 0}
    for t in range(steps):
        obs, rew, dones, infos = venv.step(acts[t].reshape(2 * n, 2).astype(np.float32))
        for i, e in enumerate(envs):
            o, r, term, trunc, info = e.step({a: acts[t, i, k] for k, a in enumerate(e.possible_agents)})
            for k, a in enumerate(e.possible_agents):
                slot = 2 * i + k
                assert rew[slot] == np.float32(r[a])
                assert dones[slot] == (not e.agents)
                if not e.agents:
                    np.testing.assert_array_equal(infos[slot]["terminal_observation"], o[a])
                    assert infos[slot]["TimeLimit.truncated"] == (trunc[a] and not term[a])
                    assert infos[slot]["is_success"] == info[a]["is_success"]
                else:
                    np.testing.assert_array_equal(obs[slot], o[a])
            if not e.agents:
                ends["success" if info["forager_0"]["is_success"] else "timeout"] += 1
                o, _ = e.reset()
                for k, a in enumerate(e.possible_agents):
                    np.testing.assert_array_equal(obs[2 * i + k], o[a])
    assert ends["timeout"] > 0


def test_vec_env_works_with_vecmonitor_and_vecnormalize() -> None:
    venv = VecNormalize(VecMonitor(ForagerVecEnv(4)), norm_obs=True, norm_reward=True)
    venv.reset()
    returns_before = None
    for _ in range(310):  # everyone times out at step 300: VecNormalize must reset its returns
        _, _, dones, infos = venv.step(np.full((4, 2), -1.0, np.float32))
        if dones.any():
            returns_before = venv.returns.copy()
            assert all("episode" in i for i in infos)
    assert returns_before is not None and np.all(returns_before == 0.0)
    assert venv.get_attr("render_mode") == [None] * 4
    assert venv.env_is_wrapped(gym.Wrapper) == [False] * 4


def test_random_scenario_vec_env_equals_seeded_gymnasium_envs() -> None:
    """World w of a VecEnv seeded s plays the episodes of ForagerRandom-v0 reset with seed s + w,
    the auto-resets included."""
    n, steps = 4, 400
    acts = _actions(5, steps, n, 1)[:, :, 0].astype(np.float32)
    venv = ForagerVecEnv(n, FORAGER_RANDOM)
    venv.seed(100)
    obs = venv.reset()
    envs = [gym.make("sb3_forager/ForagerRandom-v0") for _ in range(n)]
    first = [e.reset(seed=100 + i)[0] for i, e in enumerate(envs)]
    np.testing.assert_array_equal(obs, np.stack(first))
    resets = 0
    for t in range(steps):
        obs, _, dones, infos = venv.step(acts[t])
        for i, e in enumerate(envs):
            o, *_, term, trunc, _ = e.step(acts[t, i])
            if term or trunc:
                assert infos[i]["start"] == e.unwrapped.backend.episodes[0].starts[0]  # the episode that ended
                o, _ = e.reset()
                resets += 1
            np.testing.assert_array_equal(obs[i], o)
    assert resets > 0


# ---------------------------------------------------------------------- SB3 sub-env access per slot
def test_env_method_reset_resets_only_the_given_worlds() -> None:
    venv = make_forager_vec_env(3, "coop")
    venv.reset()
    for _ in range(5):
        venv.step(np.full((6, 2), 0.5, np.float32))
    steps_before = venv.backend.steps.copy()
    out = venv.env_method("reset", indices=[2, 3])  # slots 2 and 3: both foragers of world 1
    assert list(venv.backend.steps) == [steps_before[0], 0, steps_before[2]]
    assert len(out) == 2 and out[0].shape == (15,) and not np.array_equal(out[0], out[1])
    all_out = venv.env_method("reset")  # every world once (not once per slot)
    assert len(all_out) == 6 and list(venv.backend.steps) == [0, 0, 0]


def test_vec_env_pickles_mid_episode() -> None:
    import pickle

    venv = make_forager_vec_env(2, "team", n_foragers=3)
    venv.seed(3)
    venv.reset()
    venv.step(np.full((6, 2), 0.4, np.float32))
    clone = pickle.loads(pickle.dumps(venv))
    a = venv.step(np.full((6, 2), -0.2, np.float32))
    b = clone.step(np.full((6, 2), -0.2, np.float32))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_set_attr_and_get_attr_per_slot() -> None:
    venv = make_forager_vec_env(3, "coop")
    new = COOP.replace(obstacles="random")
    venv.set_attr("scenario", new, indices=[0])  # world 0 only, from its next episode
    assert venv.get_attr("scenario") == [new, new, COOP, COOP, COOP, COOP]
    venv.reset()
    assert venv.get_attr("episode", indices=[0])[0].obstacles != COOP.obstacles
    assert venv.get_attr("episode", indices=[4])[0].obstacles == COOP.obstacles
    with pytest.raises(ValueError, match="shared by all 6 slots"):
        venv.set_attr("render_size", 200, indices=[0])
    venv.set_attr("render_size", 200)
    assert venv.get_attr("render_size") == [200] * 6
    with pytest.raises(ValueError, match="same rules, n_foragers and teammate"):
        venv.set_attr("scenario", FORAGER, indices=[0])
    with pytest.raises(IndexError, match=r"\[6\] out of range"):
        venv.get_attr("scenario", indices=[6])
