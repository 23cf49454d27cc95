"""The Gymnasium VectorEnv (``gym.make_vec(..., vectorization_mode="vector_entry_point")``) plays,
sub-env by sub-env and across its next-step autoresets, exactly the episodes of Gymnasium's own
``SyncVectorEnv`` of ``Forager-v0`` envs; what it returns is the caller's (later steps do not
overwrite it, and writing into it changes nothing); a refused batch changes nothing, not even the
pending autoresets."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import sb3_forager  # noqa: F401  (registers the ids)

N = 6


def _towards_food(obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Head for the food (obs 3, 4: the heading's cos and sin in [0, 1]) with noise, so that
    episodes end by success and by time, at different steps in different sub-envs."""
    heading = (2.0 * obs[:, 3:5] - 1.0) * (np.arange(len(obs)) % 2 == 0)[:, None]  # odd sub-envs: noise only
    noise = rng.uniform(-1.0, 1.0, heading.shape) * rng.uniform(0.0, 1.6, (len(obs), 1))
    return np.clip(heading + noise, -1.0, 1.0).astype(np.float32)


def _stock_time_limit() -> type:
    """Gymnasium's own ``TimeLimit``: importing ``rl_zoo3`` (as tests/test_ecosystem.py does) replaces
    it process-wide with RL Zoo's ``PatchedTimeLimit``, which does not truncate an episode that also
    terminates at the limit; the reference here is stock Gymnasium."""
    cls = gym.wrappers.TimeLimit
    while not cls.__module__.startswith("gymnasium."):  # a subclass put in its place
        cls = cls.__base__
    return cls


def _pair(env_id: str, **kwargs):
    ours = gym.make_vec(env_id, num_envs=N, vectorization_mode="vector_entry_point", **kwargs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gym.wrappers, "TimeLimit", _stock_time_limit())  # what gym.make wraps with
        theirs = gym.make_vec(env_id, num_envs=N, vectorization_mode="sync", **kwargs)
    return ours, theirs


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("sb3_forager/ForagerRandom-v0", {}),  # the model's own 300-step limit; random starts redrawn
        ("sb3_forager/ForagerRandom-v0", {"max_episode_steps": 40}),  # TimeLimit before the model's
        ("sb3_forager/Forager-v0", {"max_episode_steps": 120}),
    ],
)
def test_vector_env_plays_the_sync_vector_env_episodes_exactly(env_id: str, kwargs: dict) -> None:
    ours, theirs = _pair(env_id, **kwargs)
    assert type(ours.unwrapped).__name__ == "ForagerVectorEnv"
    obs, _ = ours.reset(seed=11)
    ref, _ = theirs.reset(seed=11)
    np.testing.assert_array_equal(obs, ref)
    rng = np.random.default_rng(0)
    ends = {"success": 0, "time": 0, "autoresets": 0}
    for t in range(1000):
        actions = _towards_food(obs, rng)
        obs, reward, term, trunc, info = ours.step(actions)
        ref, ref_reward, ref_term, ref_trunc, ref_info = theirs.step(actions)
        np.testing.assert_array_equal(obs, ref, err_msg=f"step {t}")
        assert obs.dtype == ref.dtype == np.float32
        np.testing.assert_array_equal(reward, ref_reward, err_msg=f"step {t}")
        assert reward.dtype == ref_reward.dtype
        np.testing.assert_array_equal(term, ref_term, err_msg=f"step {t}")
        np.testing.assert_array_equal(trunc, ref_trunc, err_msg=f"step {t}")
        ended = term | trunc
        if ended.any():
            assert set(info) == {"is_success", "_is_success", "episode_steps", "_episode_steps"}
            np.testing.assert_array_equal(info["_is_success"], ended)
            np.testing.assert_array_equal(info["_episode_steps"], ended)
            np.testing.assert_array_equal(info["is_success"][ended], ref_info["is_success"][ended])
            np.testing.assert_array_equal(info["episode_steps"][ended], ref_info["episode_steps"][ended])
            assert not info["is_success"][~ended].any() and not info["episode_steps"][~ended].any()
        else:
            assert info == {}
        ends["success"] += int(term.sum())
        ends["time"] += int(trunc.sum())
        ends["autoresets"] += int((ref_reward == 0.0).sum())
    assert min(ends.values()) >= 3, ends  # all three paths were exercised, in several sub-envs


def _make(n: int = N, limit: int = 3, env_id: str = "sb3_forager/Forager-v0"):
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", max_episode_steps=limit)


def test_later_steps_do_not_overwrite_what_a_step_returned() -> None:
    """As ``SyncVectorEnv`` (``copy=True``, its default, and its rewards and flags always)."""
    venv = _make()
    kept = [venv.reset(seed=0)]
    copies = [(kept[0][0].copy(), {})]
    a = np.full((N, 2), 0.7, np.float32)
    for _ in range(8):  # across the time limit and the autoresets
        out = venv.step(a)
        kept.append(out)
        copies.append(([np.copy(x) for x in out[:4]], {k: np.copy(v) for k, v in out[4].items()}))
    assert any(out[4] for out in kept[1:]) and any(not out[4] for out in kept[1:])
    for out, (arrays, info) in zip(kept[1:], copies[1:]):
        for x, c in zip(out[:4], arrays):
            np.testing.assert_array_equal(x, c)
        assert out[4].keys() == info.keys()
        for k, v in info.items():
            np.testing.assert_array_equal(out[4][k], v)
    np.testing.assert_array_equal(kept[0][0], copies[0][0])


def test_writing_into_returned_arrays_changes_nothing() -> None:
    venv, twin = _make(), _make()
    venv.reset(seed=0)
    twin.reset(seed=0)
    a = np.full((N, 2), 0.7, np.float32)
    for _ in range(12):
        out, ref = venv.step(a), twin.step(a)
        for mine, theirs in zip(out[:4], ref[:4]):
            np.testing.assert_array_equal(mine, theirs)
        assert out[4].keys() == ref[4].keys()
        for x in list(out[:4]) + list(out[4].values()):
            x[...] = ~x if x.dtype == bool else 0  # the caller's to scribble on


def test_returned_arrays_do_not_share_memory_between_steps() -> None:
    venv = _make(limit=2)
    venv.reset(seed=0)
    a = np.zeros((N, 2), np.float32)
    first = venv.step(a)
    second = venv.step(a)  # the time limit: every sub-env ends, infos are filled
    third = venv.step(a)  # the autoreset
    arrays = list(first[:4]) + list(second[:4]) + list(second[4].values()) + list(third[:4])
    for i, x in enumerate(arrays):
        for y in arrays[i + 1 :]:
            assert not np.shares_memory(x, y)
    assert second[3].all() and (third[1] == 0).all() and not third[3].any()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.nan, r"slot 4 \(world 4, forager_0\) must be finite"),
        (1.5, r"slot 4 \(world 4, forager_0\) must be in the action Box.*no world was stepped"),
    ],
)
def test_a_refused_batch_leaves_pending_autoresets_pending(bad: float, message: str) -> None:
    """A batch refused in the step that would autoreset the ended sub-envs changes nothing: the
    retried good batch then gives what an env that never saw the bad batch gives."""
    venv, twin = (_make(limit=4, env_id="sb3_forager/ForagerRandom-v0") for _ in range(2))
    venv.reset(seed=5)
    twin.reset(seed=5)
    a = np.full((N, 2), 0.3, np.float32)
    for _ in range(4):
        venv.step(a)
        twin.step(a)
    wrong = a.copy()
    wrong[4, 1] = bad
    with pytest.raises(ValueError, match=message):
        venv.step(wrong)
    with pytest.raises(ValueError, match=r"actions must have shape \(6, 2\)"):
        venv.step(a[:5])
    for _ in range(3):
        x, y = venv.step(a), twin.step(a)
        for i in range(4):
            np.testing.assert_array_equal(x[i], y[i])
    assert (x[1] != 0).all()
