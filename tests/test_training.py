"""The training library (``sb3_forager.training``): configs, run folders and atomic writes, team
metrics, evaluation, reproducibility, resume, failures during ``learn``, the GAMA backend hook.

Budgets are tiny (a few hundred to a few thousand timesteps) so that the file runs in well under
a minute on 2 cores; everything is written under pytest's tmp_path, never into logs/.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import yaml
from scripted_policies import Steer, Still
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecMonitor

from sb3_forager.envs import ForagerVecEnv, make_forager_vec_env
from sb3_forager.training import (
    BackendUnavailableError,
    ConfigError,
    TrainConfig,
    TrainingError,
    evaluate_team,
    resolve_config,
    train,
)
from sb3_forager.training.callbacks import TeamMetricsCallback, read_episodes_csv
from sb3_forager.training.config import (
    build_algo_kwargs,
    default_hyperparams,
    parse_hyperparam_overrides,
)
from sb3_forager.training.run_dir import (
    _FILE_MODE,
    RunPaths,
    atomic_save_model,
    atomic_write_bytes,
    create_run_dir,
    detect_algo,
    detect_env,
    resolve_resume,
    zip_metadata,
)

pytestmark = pytest.mark.timeout(300)

#: a tiny but complete run: 2 worlds, 16-step rollouts, evaluation and checkpoints on
TINY = {"n_steps": 16, "batch_size": 32, "n_epochs": 2}


def tiny_config(env: str = "forager", algo: str = "ppo", **overrides) -> TrainConfig:
    run = {
        "n_timesteps": 256,
        "n_envs": 2,
        "eval_freq": 128,
        "eval_episodes": 2,
        "checkpoint_freq": 128,
        "progress_bar": False,
    }
    run.update(overrides)
    hyper = dict(TINY)
    if algo == "recurrent_ppo":
        hyper["policy_kwargs"] = {"lstm_hidden_size": 8}
    return resolve_config(env, algo, overrides=run, hyperparam_overrides=hyper)


# ---------------------------------------------------------------------- config
@pytest.mark.parametrize("env", ["coop", "forager"])
@pytest.mark.parametrize("algo", ["ppo", "recurrent_ppo"])
def test_shipped_defaults_resolve(env, algo):
    cfg = resolve_config(env, algo)
    assert cfg.env == env and cfg.algo == algo and cfg.backend == "native" and cfg.seed == 0
    assert cfg.hyperparams["batch_size"] >= 256  # gradient steps must not dominate on 2 cores
    assert cfg.device == "cpu"
    kwargs = build_algo_kwargs(cfg)
    assert "n_steps" in kwargs and "policy" not in kwargs


def test_default_is_the_cooperative_pair():
    assert TrainConfig().env == "coop"
    assert default_hyperparams("coop", "ppo")["policy"] == "MlpPolicy"


def test_user_file_sections_flat_files_and_overrides(tmp_path):
    sections = tmp_path / "sections.yml"
    sections.write_text("coop:\n  gamma: 0.9\n  n_envs: 3\nforager:\n  gamma: 0.5\n")
    cfg = resolve_config("coop", "ppo", config_file=sections)
    assert cfg.hyperparams["gamma"] == 0.9 and cfg.n_envs == 3
    assert resolve_config("forager", "ppo", config_file=sections).hyperparams["gamma"] == 0.5

    flat = tmp_path / "flat.yml"
    flat.write_text(
        "learning_rate: lin_0.001\nn_timesteps: 1000\npolicy_kwargs: {net_arch: [32, 32], activation_fn: relu}\n"
    )
    cfg = resolve_config(
        "coop",
        "ppo",
        config_file=flat,
        overrides={"n_timesteps": 77, "seed": None},
        hyperparam_overrides={"gamma": 0.8},
    )
    assert cfg.n_timesteps == 77  # explicit flags win over the file
    assert cfg.seed == 0  # None means "not given"
    assert cfg.hyperparams["gamma"] == 0.8 and cfg.hyperparams["batch_size"] == 256  # shipped value kept
    kwargs = build_algo_kwargs(cfg)
    assert isinstance(kwargs["learning_rate"], LinearSchedule)
    assert kwargs["learning_rate"](1.0) == pytest.approx(1e-3) and kwargs["learning_rate"](0.0) == 0.0
    import torch.nn as nn

    assert kwargs["policy_kwargs"] == {"net_arch": [32, 32], "activation_fn": nn.ReLU}


def test_bad_configs_fail_loudly(tmp_path):
    with pytest.raises(ConfigError, match="n_stepz"):
        resolve_config("coop", "ppo", hyperparam_overrides={"n_stepz": 3})
    with pytest.raises(ConfigError, match="env"):
        resolve_config("coop", "ppo", overrides={"env": "pacman"})
    with pytest.raises(ConfigError, match="host:port"):
        resolve_config("coop", "ppo", overrides={"gama_servers": ["localhost"]})
    with pytest.raises(ConfigError, match="activation_fn"):
        resolve_config("coop", "ppo", hyperparam_overrides={"policy_kwargs": {"activation_fn": "swish2"}})
    bad = tmp_path / "bad.yml"
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        resolve_config("coop", "ppo", config_file=bad)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_hyperparam_overrides(["gamma"])
    assert parse_hyperparam_overrides(["gamma=0.9", "normalize=true", "net=[1, 2]"]) == {
        "gamma": 0.9,
        "normalize": True,
        "net": [1, 2],
    }


# ---------------------------------------------------------------------- run folders, atomic writes
def test_run_dirs_are_numbered_and_names_never_reused(tmp_path):
    assert create_run_dir(tmp_path, "coop_ppo").name == "coop_ppo_1"
    assert create_run_dir(tmp_path, "coop_ppo").name == "coop_ppo_2"
    assert create_run_dir(tmp_path, "coop_ppo", "mine").name == "mine"
    with pytest.raises(FileExistsError, match="--resume"):
        create_run_dir(tmp_path, "coop_ppo", "mine")


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "model.zip"
    atomic_write_bytes(target, b"old")
    assert target.stat().st_mode & 0o777 == _FILE_MODE  # the umask's permissions, not mkstemp's 0600

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]  # no temp file left


def test_resume_targets(tmp_path):
    env = make_forager_vec_env(2)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=32, device="cpu")
    paths = RunPaths(tmp_path / "run")
    atomic_save_model(model, paths.model)
    model.num_timesteps = 500
    atomic_save_model(model, paths.checkpoint(500))
    assert resolve_resume(paths.root) == (paths.root, paths.checkpoint(500))  # the most trained one
    assert resolve_resume(paths.checkpoint(500)) == (paths.root, paths.checkpoint(500))
    assert resolve_resume(paths.model) == (paths.root, paths.model)
    assert zip_metadata(paths.checkpoint(500))["num_timesteps"] == 500
    assert detect_algo(paths.model) == "ppo" and detect_env(paths.model) == "forager"
    with pytest.raises(FileNotFoundError):
        resolve_resume(tmp_path / "nothing")


# ---------------------------------------------------------------------- metrics, evaluation
def test_team_metrics_are_per_team_episode(tmp_path):
    class FakeLogger:
        def __init__(self):
            self.values = {}

        def record(self, key, value, exclude=None):
            self.values[key] = value

    cb = TeamMetricsCallback(n_agents=2, episodes_path=tmp_path / "episodes.csv")
    cb.num_timesteps = 0
    cb.model = types.SimpleNamespace(num_timesteps=0)

    def step(dones, infos):
        cb.locals = {"dones": np.asarray(dones), "infos": infos}
        cb._on_step()

    ep = lambda r, n: {"episode": {"r": r, "l": n, "t": 0.0}}  # noqa: E731
    # world 0 succeeds in 40 steps (returns 300 + 310), world 1 goes on
    step(
        [True, True, False, False],
        [
            {**ep(300.0, 40), "is_success": True, "episode_steps": 40},
            {**ep(310.0, 40), "is_success": True, "episode_steps": 40},
            {},
            {},
        ],
    )
    # world 1 times out
    step(
        [False, False, True, True],
        [
            {},
            {},
            {**ep(-50.0, 300), "is_success": False, "episode_steps": 300},
            {**ep(-60.0, 300), "is_success": False, "episode_steps": 300},
        ],
    )
    log = FakeLogger()
    cb.record_to(log)
    assert log.values["team/episodes"] == 2
    assert log.values["team/success_rate"] == 0.5
    assert log.values["team/return_mean"] == pytest.approx((610.0 - 110.0) / 2)
    assert log.values["team/steps_to_food_mean"] == 40
    cb.flush()
    rows = read_episodes_csv(tmp_path / "episodes.csv")
    np.testing.assert_allclose(rows["team_return"], [610.0, -110.0])
    np.testing.assert_allclose(rows["forager_1_return"], [310.0, -60.0])
    # a resumed run keeps the rows
    again = TeamMetricsCallback(n_agents=2, episodes_path=tmp_path / "episodes.csv")
    assert again.n_team_episodes == 2


@pytest.mark.parametrize("kind,k", [("single", 1), ("coop", 2)])
def test_evaluate_team_counts_team_episodes(kind, k):
    venv = VecMonitor(make_forager_vec_env(3, kind))
    batch = evaluate_team(Steer(), venv, 5, k)
    assert batch.n_episodes == 5 and batch.success.all()
    assert batch.forager_returns.shape == (5, k)
    np.testing.assert_allclose(batch.team_returns, batch.forager_returns.sum(axis=1))
    assert (batch.arrival_steps > 0).all() and (batch.arrival_steps.max(axis=1) == batch.steps).all()
    s = batch.summary()
    assert s["success_rate"] == 1.0 and s["steps_to_food"] == batch.steps.mean()
    if k == 2:
        assert s["forager_0/steps_to_food"] < s["steps_to_food"] or s["forager_1/steps_to_food"] < s["steps_to_food"]
    still = evaluate_team(Still(), venv, 2, k)
    assert not still.success.any() and (still.steps == 300).all() and (still.arrival_steps == -1).all()
    assert np.isnan(still.summary()["steps_to_food"])


# ---------------------------------------------------------------------- training runs
def test_tiny_run_writes_every_artifact(tmp_path):
    cfg = tiny_config("forager", n_timesteps=640)
    result = train(cfg, logdir=tmp_path, run_name="run")
    p = RunPaths(tmp_path / "run")
    assert result.run_dir == p.root and result.model_path == p.model and not result.interrupted
    for f in (p.model, p.best_model, p.config, p.evaluations, p.plot, p.episodes):
        assert f.is_file(), f
    assert sorted(x.name for x in p.checkpoints.iterdir())[:1] == ["model_128_steps.zip"]
    assert list((p.root / "tb_1").glob("events.out.tfevents.*"))
    assert yaml.safe_load(p.config.read_text())["n_timesteps"] == 640
    with np.load(p.evaluations) as ev:
        assert ev["timesteps"].tolist() == [128, 256, 384, 512, 640]
        assert ev["results"].shape == (5, 2) and ev["successes"].dtype == bool
        assert "stochastic_successes" in ev.files
    assert result.final_eval is not None and 0.0 <= result.final_eval[0]["success_rate"] <= 1.0
    assert not list(tmp_path.rglob("*.tmp"))


def test_yaml_config_is_honoured(tmp_path):
    conf = tmp_path / "hp.yml"
    conf.write_text(
        yaml.safe_dump(
            {
                "forager": {
                    "n_envs": 3,
                    "n_steps": 8,
                    "batch_size": 12,
                    "gamma": 0.9,
                    "learning_rate": 5e-4,
                    "n_epochs": 1,
                    "policy_kwargs": {"net_arch": [16, 16], "activation_fn": "relu"},
                    "eval_freq": 0,
                    "checkpoint_freq": 0,
                    "n_timesteps": 48,
                }
            }
        )
    )
    cfg = resolve_config("forager", "ppo", config_file=conf, overrides={"progress_bar": False})
    result = train(cfg, logdir=tmp_path, run_name="hp")
    model = PPO.load(result.model_path, device="cpu")
    assert model.n_steps == 8 and model.batch_size == 12 and model.gamma == 0.9 and model.n_envs == 3
    assert model.learning_rate == 5e-4 and model.n_epochs == 1
    assert model.policy_kwargs["net_arch"] == [16, 16]
    assert type(model.policy.mlp_extractor.policy_net[1]).__name__ == "ReLU"
    assert model.policy.mlp_extractor.policy_net[0].out_features == 16
    saved = yaml.safe_load((result.run_dir / "config.yml").read_text())
    assert saved["n_envs"] == 3 and saved["hyperparams"]["gamma"] == 0.9
    assert not (result.run_dir / "best_model.zip").exists()  # eval_freq 0: no evaluation
    assert not (result.run_dir / "checkpoints").exists()


def _params(path: Path) -> list[np.ndarray]:
    model = PPO.load(path, device="cpu")
    return [p.detach().numpy().copy() for p in model.policy.parameters()]


@pytest.mark.parametrize("env", ["forager", "coop"])
def test_same_seed_same_learning_curve(tmp_path, env):
    n = 1280 if env == "forager" else 1344  # enough for a few (time-out) episodes
    runs = []
    for name, eval_freq in (("a", 256), ("b", 256), ("c", 0)):
        cfg = tiny_config(env, n_timesteps=n, seed=5, eval_freq=eval_freq, checkpoint_freq=0)
        runs.append(train(cfg, logdir=tmp_path, run_name=name))
    curves = [read_episodes_csv(r.run_dir / "episodes.csv") for r in runs]
    assert curves[0]["team_return"].size > 0
    for other in curves[1:]:  # identical, and evaluating (stochastically) changes nothing
        for key in curves[0]:
            if key != "time_s":
                np.testing.assert_array_equal(curves[0][key], other[key])
    pa, pb, pc = (_params(r.model_path) for r in runs)
    for x, y, z in zip(pa, pb, pc):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    cfg = tiny_config(env, n_timesteps=n, seed=6, eval_freq=0, checkpoint_freq=0)
    other_seed = train(cfg, logdir=tmp_path, run_name="d")
    assert any(not np.array_equal(x, y) for x, y in zip(pa, _params(other_seed.model_path)))


def test_resume_continues_the_count_and_the_curves(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    first = train(tiny_config("forager", n_timesteps=640, eval_freq=320), logdir=tmp_path, run_name="r")
    rows_before = read_episodes_csv(first.run_dir / "episodes.csv")["timesteps"].size
    second = train(tiny_config("forager", n_timesteps=320, eval_freq=320), resume=first.run_dir)
    assert second.run_dir == first.run_dir and second.num_timesteps == 960
    assert PPO.load(second.model_path, device="cpu").num_timesteps == 960
    assert sorted(p.name for p in first.run_dir.iterdir() if p.name.startswith("tb")) == ["tb_1"]
    acc = EventAccumulator(str(first.run_dir / "tb_1"))
    acc.Reload()
    steps = [e.step for e in acc.Scalars("time/fps")]
    assert steps == sorted(steps) and steps[-1] == 960 and min(steps) <= 640
    assert read_episodes_csv(first.run_dir / "episodes.csv")["timesteps"].size >= rows_before
    with np.load(first.run_dir / "evaluations.npz") as ev:
        assert ev["timesteps"].tolist() == [320, 640, 960]


def test_resume_from_a_checkpoint_zip(tmp_path):
    first = train(tiny_config("forager", n_timesteps=256), logdir=tmp_path, run_name="r")
    ckpt = first.run_dir / "checkpoints" / "model_128_steps.zip"
    second = train(tiny_config("forager", n_timesteps=64, eval_freq=0), resume=ckpt)
    assert second.run_dir == first.run_dir and second.num_timesteps == 192


def test_env_failure_during_learn_saves_a_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    original = ForagerVecEnv.step_wait

    def flaky(self):
        calls["n"] += 1
        if calls["n"] > 40:
            raise ConnectionError("GAMA server at 127.0.0.1:1001 closed the connection")
        return original(self)

    monkeypatch.setattr(ForagerVecEnv, "step_wait", flaky)
    cfg = tiny_config("forager", n_timesteps=10_000, eval_freq=0)
    with pytest.raises(TrainingError, match="ConnectionError") as err:
        train(cfg, logdir=tmp_path, run_name="crash")
    ckpt = err.value.checkpoint
    assert ckpt is not None and ckpt.is_file() and ckpt.parent.name == "checkpoints"
    assert str(ckpt) in str(err.value) and "--resume" in str(err.value)
    assert isinstance(err.value.__cause__, ConnectionError)
    assert PPO.load(ckpt, device="cpu").num_timesteps == 80  # 40 steps of 2 worlds


def test_recurrent_ppo_coop_tiny_run(tmp_path):
    from sb3_contrib import RecurrentPPO

    cfg = tiny_config("coop", "recurrent_ppo", n_timesteps=128, eval_freq=64)
    result = train(cfg, logdir=tmp_path, run_name="lstm")
    model = RecurrentPPO.load(result.model_path, device="cpu")
    assert model.num_timesteps == 128 and model.policy.lstm_actor.hidden_size == 8
    assert (result.run_dir / "best_model.zip").is_file()


def test_normalize_writes_vecnormalize_stats(tmp_path):
    from stable_baselines3.common.vec_env import VecNormalize

    cfg = tiny_config("forager", n_timesteps=128, normalize={"norm_obs": False, "norm_reward": True})
    result = train(cfg, logdir=tmp_path, run_name="norm")
    stats = VecNormalize.load(str(result.run_dir / "vecnormalize.pkl"), make_forager_vec_env(2))
    assert stats.norm_reward and not stats.norm_obs and stats.ret_rms.count > 1
    assert (result.run_dir / "best_vecnormalize.pkl").is_file()
    resumed = train(
        tiny_config("forager", n_timesteps=64, eval_freq=0, normalize={"norm_obs": False, "norm_reward": True}),
        resume=result.run_dir,
    )
    assert resumed.num_timesteps == 192


# ---------------------------------------------------------------------- GAMA backend hook
def test_gama_backend_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sb3_forager.gama", None)  # import fails as if not installed
    cfg = tiny_config("coop", backend="gama")
    with pytest.raises(BackendUnavailableError, match="--backend native"):
        train(cfg, logdir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no half-made run folder


def test_gama_backend_uses_make_gama_vec_env(tmp_path, monkeypatch):
    calls = []

    def fake_make_gama_vec_env(kind, n_envs=1, servers=("127.0.0.1:1001",), gaml_path=None, timeout=30.0):
        calls.append({"kind": kind, "n_envs": n_envs, "servers": list(servers), "timeout": timeout})
        return make_forager_vec_env(n_envs, kind)  # the same contract as the GAMA VecEnv

    fake = types.ModuleType("sb3_forager.gama")
    fake.make_gama_vec_env = fake_make_gama_vec_env
    monkeypatch.setitem(sys.modules, "sb3_forager.gama", fake)
    cfg = tiny_config(
        "coop",
        backend="gama",
        n_timesteps=128,
        eval_freq=64,
        gama_servers=["127.0.0.1:1001", "127.0.0.1:1002"],
        gama_timeout=5.0,
    )
    result = train(cfg, logdir=tmp_path, run_name="g")
    assert calls[0] == {"kind": "coop", "n_envs": 2, "servers": ["127.0.0.1:1001", "127.0.0.1:1002"], "timeout": 5.0}
    assert calls[1]["n_envs"] == 1  # the evaluation env: one more experiment
    assert result.num_timesteps == 128 and (result.run_dir / "best_model.zip").is_file()
