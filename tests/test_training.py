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
        "n_worlds": 2,
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
@pytest.mark.parametrize("env", ["coop", "team", "forager", "forager-random"])
@pytest.mark.parametrize("algo", ["ppo", "recurrent_ppo"])
def test_shipped_defaults_resolve(env, algo):
    cfg = resolve_config(env, algo)
    assert cfg.env == env and cfg.algo == algo and cfg.backend == "embedded" and cfg.seed == 0
    assert cfg.hyperparams["batch_size"] >= 256  # gradient steps must not dominate on 2 cores
    assert cfg.device == "cpu"
    kwargs = build_algo_kwargs(cfg)
    assert "n_steps" in kwargs and "policy" not in kwargs


def test_default_is_the_cooperative_pair():
    assert TrainConfig().env == "coop"
    assert default_hyperparams("coop", "ppo")["policy"] == "MlpPolicy"
    with pytest.raises(ConfigError, match=r"backend must be one of \['embedded', 'gama'\], got 'native' \('native' is"):
        resolve_config("coop", "ppo", overrides={"backend": "native"})
    with pytest.raises(ConfigError, match=r"got 'coop-random' \('coop-random' is now called 'team'\)"):
        resolve_config("coop-random", "ppo")


def test_training_distribution_of_team():
    cfg = resolve_config("team", "ppo", overrides={"n_worlds": 8})
    scenarios = cfg.training_scenarios(8)
    random_layouts = [s for s in scenarios if s.random_obstacles]
    assert len(random_layouts) == 2 and all(s.random_starts and s.n_foragers == 2 for s in scenarios)
    assert not cfg.base_scenario().random_obstacles  # evaluations: the tutorial layout
    with pytest.raises(ConfigError, match="fractions add up to 1.5"):
        resolve_config("team", "ppo", overrides={"scenario_mix": [{"fraction": 0.7}, {"fraction": 0.8}]})
    with pytest.raises(ConfigError, match="team size"):
        resolve_config("team", "ppo", overrides={"scenario_mix": [{"fraction": 0.5, "n_foragers": 3}]})
    with pytest.raises(ConfigError, match=r"scenario: Scenario\(\) got an unexpected keyword argument 'colour'"):
        resolve_config("team", "ppo", overrides={"scenario": {"colour": "red"}})


def test_user_file_sections_flat_files_and_overrides(tmp_path):
    sections = tmp_path / "sections.yml"
    sections.write_text("coop:\n  gamma: 0.9\n  n_worlds: 3\nforager:\n  gamma: 0.5\n")
    cfg = resolve_config("coop", "ppo", config_file=sections)
    assert cfg.hyperparams["gamma"] == 0.9 and cfg.n_worlds == 3
    assert resolve_config("forager", "ppo", config_file=sections).hyperparams["gamma"] == 0.5
    # RL Zoo's n_envs: read as n_worlds in a Gymnasium-id section (where RL Zoo reads it), refused elsewhere
    rl_zoo = tmp_path / "rl_zoo.yml"
    rl_zoo.write_text("sb3_forager/Forager-v0:\n  n_envs: 5\n")
    assert resolve_config("forager", "ppo", config_file=rl_zoo).n_worlds == 5
    for env, text in (
        ("coop", "coop:\n  n_envs: 3\n"),
        ("coop", "n_envs: 3\n"),
        ("forager", "sb3_forager/Forager-v0:\n  n_envs: 5\n  n_worlds: 4\n"),
    ):
        rl_zoo.write_text(text)
        with pytest.raises(ConfigError, match="n_envs is RL Zoo's key, read only in the Gymnasium-id sections"):
            resolve_config(env, "ppo", config_file=rl_zoo)
    rl_zoo.write_text("coop-random:\n  gamma: 0.9\n")
    with pytest.raises(ConfigError, match="section 'coop-random' is now called 'team'"):
        resolve_config("team", "ppo", config_file=rl_zoo)

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
    shipped = resolve_config("coop", "ppo").hyperparams["batch_size"]
    assert cfg.hyperparams["gamma"] == 0.8 and cfg.hyperparams["batch_size"] == shipped  # shipped value kept
    kwargs = build_algo_kwargs(cfg)
    assert isinstance(kwargs["learning_rate"], LinearSchedule)
    assert kwargs["learning_rate"](1.0) == pytest.approx(1e-3) and kwargs["learning_rate"](0.0) == 0.0
    from torch import nn

    assert kwargs["policy_kwargs"] == {"net_arch": [32, 32], "activation_fn": nn.ReLU}


def test_bad_configs_fail_loudly(tmp_path):
    with pytest.raises(ConfigError, match="n_stepz"):
        resolve_config("coop", "ppo", hyperparam_overrides={"n_stepz": 3})
    with pytest.raises(ConfigError, match="env"):
        resolve_config("coop", "ppo", overrides={"env": "pacman"})
    with pytest.raises(ConfigError, match="bad port in GAMA server address 'gama.lan:x'; expected host:port"):
        resolve_config("coop", "ppo", overrides={"gama_servers": ["gama.lan:x"]})
    assert resolve_config("coop", "ppo", overrides={"gama_servers": ["localhost"]}).gama_servers == ["localhost"]
    with pytest.raises(ConfigError, match="activation_fn"):
        resolve_config("coop", "ppo", hyperparam_overrides={"policy_kwargs": {"activation_fn": "swish2"}})
    with pytest.raises(ConfigError, match=r"policy_kwargs.net_arch must be a non-empty list .* got 'abc'"):
        resolve_config("coop", "ppo", hyperparam_overrides={"policy_kwargs": {"net_arch": "abc"}})
    with pytest.raises(ConfigError, match="n_steps must be an integer, got 'lots'"):
        resolve_config("coop", "ppo", hyperparam_overrides={"n_steps": "lots"})
    with pytest.raises(ConfigError, match=r"gamma must be <= 1, got 1.5"):
        resolve_config("coop", "ppo", hyperparam_overrides={"gamma": 1.5})
    with pytest.raises(ConfigError, match=r"gamma must be > 0"):
        resolve_config("coop", "ppo", hyperparam_overrides={"gamma": 0})
    with pytest.raises(ConfigError, match=r"policy for ppo must be one of \['MlpPolicy'\], got 'FooPolicy'"):
        resolve_config("coop", "ppo", overrides={"policy": "FooPolicy"})
    with pytest.raises(ConfigError, match=r"seed must be in \[0, 2\*\*32\), got -1"):
        resolve_config("coop", "ppo", overrides={"seed": -1})
    with pytest.raises(ConfigError, match=r"n_worlds must be in \[1, 65536\]"):
        resolve_config("forager", "ppo", overrides={"n_worlds": 10**9})
    with pytest.raises(ConfigError, match=r"n_worlds must be in \[1, 1024\]"):  # SuperSuit copies
        resolve_config("coop", "ppo", overrides={"n_worlds": 5000})
    with pytest.raises(ConfigError, match="gama_timeout must be > 0"):
        resolve_config("coop", "ppo", overrides={"gama_timeout": -1})
    with pytest.raises(ConfigError, match="learning_rate must be > 0"):
        resolve_config("coop", "ppo", hyperparam_overrides={"learning_rate": "lin_-1"})
    bad = tmp_path / "bad.yml"
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        resolve_config("coop", "ppo", config_file=bad)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_hyperparam_overrides(["gamma"])
    with pytest.raises(ConfigError, match=r"--hyperparams 'gamma=\[0.9': the value is not valid YAML"):
        parse_hyperparam_overrides(["gamma=[0.9"])
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


def test_resume_skips_a_truncated_zip(tmp_path, caplog):
    env = make_forager_vec_env(2)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=32, device="cpu")
    paths = RunPaths(tmp_path / "run")
    model.num_timesteps = 300
    atomic_save_model(model, paths.checkpoint(300))
    model.num_timesteps = 900
    atomic_save_model(model, paths.model)
    paths.model.write_bytes(paths.model.read_bytes()[:-4000])  # killed while writing (not atomically)
    with caplog.at_level("WARNING", logger="sb3_forager"):
        assert resolve_resume(paths.root) == (paths.root, paths.checkpoint(300))
    assert "skipping" in caplog.text and "model.zip" in caplog.text
    with pytest.raises(ValueError, match="not a complete Stable-Baselines3 model zip"):
        resolve_resume(paths.model)


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

    ep = lambda r, n: {"episode": {"r": r, "l": n, "t": 0.0}}
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


@pytest.mark.parametrize("kind,k", [("forager", 1), ("coop", 2)])
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
    # the final evaluation is the saved model's, on the evaluation episodes (seeded like every evaluation)
    from sb3_forager.training.callbacks import EVAL_SEED

    model = PPO.load(p.model, device="cpu")
    venv = VecMonitor(ForagerVecEnv(2, cfg.base_scenario()))
    venv.seed(EVAL_SEED)
    again = evaluate_team(model, venv, cfg.eval_episodes, 1, deterministic=True).summary()
    assert result.final_eval is not None
    for key in ("success_rate", "steps_to_food", "path_efficiency", "team_return"):
        a, b = result.final_eval[0][key], again[key]
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b), key
    assert (p.root / "best_model.json").is_file()
    assert not list(tmp_path.rglob("*.tmp"))


def test_stop_training_on_no_model_improvement_stops_the_run(tmp_path):
    """SB3's StopTrainingOnNoModelImprovement as callback_after_eval: it reads best_mean_reward (the
    best model's deterministic team success rate) and stops training cleanly after the first
    evaluation that does not raise it."""
    from stable_baselines3.common.callbacks import StopTrainingOnNoModelImprovement

    from sb3_forager.training.callbacks import TeamEvalCallback

    stop = StopTrainingOnNoModelImprovement(max_no_improvement_evals=0)
    cfg = tiny_config("forager", n_timesteps=1280, checkpoint_freq=0)
    result = train(cfg, logdir=tmp_path, run_name="run", callback_after_eval=stop)
    assert isinstance(stop.parent, TeamEvalCallback)
    with np.load(RunPaths(result.run_dir).evaluations) as ev:
        success = ev["scores"][:, 0]
    # the evaluation that stopped it is the first one whose success rate is not a new maximum
    first_flat = next(i for i in range(1, len(success)) if success[i] <= success[:i].max())
    assert len(success) == first_flat + 1 and stop.parent.best_mean_reward == success.max()
    assert result.stopped_early and result.num_timesteps == 128 * (first_flat + 1) < 1280
    assert result.model_path.is_file() and RunPaths(result.run_dir).best_model.is_file()


def test_callback_after_eval_reads_the_summaries_and_can_stop(tmp_path):
    """callback_after_eval runs after every evaluation with the eval callback as its parent (the
    summaries as attributes, in RL Zoo's TrialEvalCallback manner); returning False stops training."""
    from stable_baselines3.common.callbacks import BaseCallback

    seen = []

    class Prune(BaseCallback):
        def _on_step(self) -> bool:
            p = self.parent
            seen.append((p.num_timesteps, p.last_summary["success_rate"], p.last_stochastic_summary is not None))
            assert p.last_mean_reward == p.last_summary["success_rate"]
            return len(seen) < 2

    result = train(tiny_config("forager", n_timesteps=640), logdir=tmp_path, run_name="run", callback_after_eval=Prune())
    assert [s[0] for s in seen] == [128, 256] and all(s[2] for s in seen)
    assert result.stopped_early and result.num_timesteps == 256 and result.final_eval is not None
    with np.load(RunPaths(result.run_dir).evaluations) as ev:
        assert ev["timesteps"].tolist() == [128, 256]
    # no stop requested: a full run
    full = train(tiny_config("forager", n_timesteps=256), logdir=tmp_path, run_name="full")
    assert not full.stopped_early and full.num_timesteps == 256


def test_callback_on_new_best_stop_training_on_reward_threshold(tmp_path):
    """SB3's StopTrainingOnRewardThreshold as callback_on_new_best: best_mean_reward (the best
    model's team success rate, >= 0) reaches a threshold of 0 at the first evaluation."""
    from stable_baselines3.common.callbacks import StopTrainingOnRewardThreshold

    stop = StopTrainingOnRewardThreshold(reward_threshold=0.0)
    result = train(tiny_config("forager", n_timesteps=640), logdir=tmp_path, run_name="run", callback_on_new_best=stop)
    assert result.stopped_early and result.num_timesteps == 128
    assert RunPaths(result.run_dir).best_model.is_file()  # saved before the child runs, as in SB3


def test_a_config_yml_from_before_the_renames_loads():
    """A resumed run's config.yml written before 0.2 (n_envs, env coop-random) reads with today's names."""
    old = TrainConfig(env="team", n_worlds=3).to_dict()
    old["n_envs"] = old.pop("n_worlds")
    old["env"] = "coop-random"
    cfg = TrainConfig.from_dict(old)
    assert (cfg.env, cfg.n_worlds, cfg.model.name) == ("team", 3, "team")


def test_yaml_config_is_honoured(tmp_path):
    conf = tmp_path / "hp.yml"
    conf.write_text(
        yaml.safe_dump(
            {
                "forager": {
                    "n_worlds": 3,
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
    assert saved["n_worlds"] == 3 and saved["hyperparams"]["gamma"] == 0.9
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
    second = train(tiny_config("forager", n_timesteps=960, eval_freq=320), resume=first.run_dir)  # the total
    assert second.run_dir == first.run_dir and second.num_timesteps == 960
    assert PPO.load(second.model_path, device="cpu").num_timesteps == 960
    # TensorBoard: the resumed part is its own event folder, starting after 640
    assert sorted(p.name for p in first.run_dir.iterdir() if p.name.startswith("tb")) == ["tb_1", "tb_from_640_0"]
    acc = EventAccumulator(str(first.run_dir / "tb_from_640_0"))
    acc.Reload()
    steps = [e.step for e in acc.Scalars("time/fps")]
    assert steps == sorted(steps) and steps[-1] == 960 and min(steps) > 640
    assert read_episodes_csv(first.run_dir / "episodes.csv")["timesteps"].size >= rows_before
    with np.load(first.run_dir / "evaluations.npz") as ev:
        assert ev["timesteps"].tolist() == [320, 640, 960]


def test_resume_from_an_older_checkpoint_cuts_the_history_back(tmp_path):
    """Resuming from the checkpoint at 256 discards what came after it: evaluations, episode rows,
    the best score and best_model.zip describe one timeline."""
    first = train(
        tiny_config("forager", n_timesteps=768, eval_freq=128, checkpoint_freq=256), logdir=tmp_path, run_name="r"
    )
    run = first.run_dir
    with np.load(run / "evaluations.npz") as ev:
        assert ev["timesteps"].tolist() == [128, 256, 384, 512, 640, 768]
    best_at = __import__("json").loads((run / "best_model.json").read_text())["timesteps"]
    ckpt = run / "checkpoints" / "model_256_steps.zip"
    second = train(tiny_config("forager", n_timesteps=512, eval_freq=128, checkpoint_freq=0), resume=ckpt)
    assert second.run_dir == run and second.num_timesteps == 512
    with np.load(run / "evaluations.npz") as ev:
        assert ev["timesteps"].tolist() == [128, 256, 384, 512]  # one timeline, no repeats
    rows = read_episodes_csv(run / "episodes.csv")["timesteps"]
    assert (np.diff(rows) >= 0).all() and rows.max() <= 512
    marker = __import__("json").loads((run / "best_model.json").read_text())
    if best_at > 256:  # the old best came from the discarded part: a new best of this timeline replaced it
        assert marker["timesteps"] in (384, 512)
    else:
        assert marker["timesteps"] <= 512
    assert PPO.load(run / "best_model.zip", device="cpu").num_timesteps == marker["timesteps"]


def test_a_resume_that_fails_changes_nothing(tmp_path, monkeypatch):
    first = train(tiny_config("forager", n_timesteps=256), logdir=tmp_path, run_name="r")
    before = {p.name: p.read_bytes() for p in first.run_dir.iterdir() if p.is_file()}
    train_module = sys.modules["sb3_forager.training.train"]

    def broken(*args, **kwargs):
        raise ValueError("the env cannot be made")

    monkeypatch.setattr(train_module, "make_vec_env", broken)
    with pytest.raises(ValueError, match="cannot be made"):
        train(tiny_config("forager", n_timesteps=320, seed=9), resume=first.run_dir)
    after = {p.name: p.read_bytes() for p in first.run_dir.iterdir() if p.is_file()}
    assert after == before


def test_a_resume_of_a_complete_run_trains_nothing(tmp_path, monkeypatch):
    """The budget is the total: a run that has trained it is complete (nothing is built, trained or
    written); a larger budget trains only the difference."""
    first = train(tiny_config("forager", n_timesteps=256), logdir=tmp_path, run_name="r")
    before = {p: p.read_bytes() for p in first.run_dir.rglob("*") if p.is_file()}
    train_module = sys.modules["sb3_forager.training.train"]
    with monkeypatch.context() as patched:
        patched.setattr(train_module, "make_vec_env", None)  # nothing may be built
        done = train(tiny_config("forager", n_timesteps=256), resume=first.run_dir)
    assert done.already_complete and done.num_timesteps == 256 and done.model_path == first.model_path
    assert {p: p.read_bytes() for p in first.run_dir.rglob("*") if p.is_file()} == before
    more = train(tiny_config("forager", n_timesteps=320, eval_freq=0), resume=first.run_dir)
    assert not more.already_complete and more.num_timesteps == 320

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
    assert (tmp_path / "crash" / "episodes.csv").is_file()  # flushed with the checkpoint


def test_non_finite_parameters_are_never_saved(tmp_path, monkeypatch):
    """A failure after the network went NaN saves no checkpoint and suggests no resume."""
    import torch

    calls = {"n": 0}
    original = ForagerVecEnv.step_wait

    def poisoned(self):
        calls["n"] += 1
        if calls["n"] == 60:
            raise FloatingPointError("the model sent NaN")
        return original(self)

    class Poison(__import__("stable_baselines3").common.callbacks.BaseCallback):
        def _on_step(self):
            if self.num_timesteps >= 100:
                with torch.no_grad():
                    next(self.model.policy.parameters()).fill_(float("nan"))
            return True

    monkeypatch.setattr(ForagerVecEnv, "step_wait", poisoned)
    cfg = tiny_config("forager", n_timesteps=10_000, eval_freq=0, checkpoint_freq=0)
    with pytest.raises(TrainingError, match="no longer finite") as err:
        train(cfg, logdir=tmp_path, run_name="nan", extra_callbacks=[Poison()])
    assert err.value.checkpoint is None and "--resume" not in str(err.value)
    assert not (tmp_path / "nan" / "checkpoints").exists() and not (tmp_path / "nan" / "model.zip").exists()


def test_failure_before_any_training_offers_no_resume(tmp_path, monkeypatch):
    def dead(self):
        raise ConnectionError("the server is gone")

    monkeypatch.setattr(ForagerVecEnv, "step_wait", dead)
    with pytest.raises(TrainingError, match="Nothing was trained") as err:
        train(tiny_config("forager", eval_freq=0), logdir=tmp_path, run_name="zero")
    assert "--resume" not in str(err.value) and err.value.checkpoint is None


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
    count_before = stats.ret_rms.count
    resumed = train(
        tiny_config("forager", n_timesteps=192, eval_freq=0, normalize={"norm_obs": False, "norm_reward": True}),
        resume=result.run_dir,
    )
    assert resumed.num_timesteps == 192
    # the resumed run went on from the saved statistics (64 more updates), not from fresh ones
    after = VecNormalize.load(str(result.run_dir / "vecnormalize.pkl"), make_forager_vec_env(2))
    assert after.ret_rms.count == pytest.approx(count_before + 64)


# ---------------------------------------------------------------------- GAMA backend hook
def test_gama_backend_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sb3_forager.gama", None)  # import fails as if not installed
    cfg = tiny_config("coop", backend="gama")
    with pytest.raises(BackendUnavailableError, match="--backend embedded"):
        train(cfg, logdir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no half-made run folder


def test_gama_backend_with_nothing_listening_fails_before_any_folder(tmp_path):
    from gama_standin import free_port

    cfg = tiny_config("coop", backend="gama", gama_servers=[f"127.0.0.1:{free_port()}"], gama_timeout=2.0)
    with pytest.raises(BackendUnavailableError, match="cannot connect to a GAMA server") as err:
        train(cfg, logdir=tmp_path / "logs")
    assert str(err.value).count("cannot connect") == 1 and "--resume" not in str(err.value)
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())
