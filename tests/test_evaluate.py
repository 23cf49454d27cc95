"""``scripts/evaluate.py`` and the replay helpers: tables per team and per forager, GIF and PNG,
run folders and bare zips, VecNormalize statistics, RecurrentPPO."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scripted_policies import Steer
from stable_baselines3.common.vec_env import VecMonitor

from sb3_forager.envs import make_forager_vec_env
from sb3_forager.training import record_replay, resolve_config, train
from sb3_forager.training.evaluation import save_gif, save_trajectory_png

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "evaluate.py"

pytestmark = pytest.mark.timeout(300)


def load_cli():
    spec = importlib.util.spec_from_file_location("evaluate_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny runs: coop PPO, forager RecurrentPPO, forager PPO with VecNormalize."""
    logdir = tmp_path_factory.mktemp("logs")
    common = {"n_envs": 2, "eval_freq": 96, "eval_episodes": 1, "checkpoint_freq": 0, "progress_bar": False}
    hyper = {"n_steps": 16, "batch_size": 32, "n_epochs": 1}
    runs = {}
    runs["coop"] = train(
        resolve_config("coop", "ppo", overrides={**common, "n_timesteps": 128}, hyperparam_overrides=hyper),
        logdir=logdir,
        run_name="coop",
    ).run_dir
    runs["lstm"] = train(
        resolve_config(
            "forager",
            "recurrent_ppo",
            overrides={**common, "n_timesteps": 96},
            hyperparam_overrides={**hyper, "policy_kwargs": {"lstm_hidden_size": 8}},
        ),
        logdir=logdir,
        run_name="lstm",
    ).run_dir
    runs["norm"] = train(
        resolve_config(
            "forager", "ppo", overrides={**common, "n_timesteps": 96, "normalize": True}, hyperparam_overrides=hyper
        ),
        logdir=logdir,
        run_name="norm",
    ).run_dir
    return runs


def test_coop_table_gif_and_png(trained, tmp_path, capsys):
    cli = load_cli()
    gif, png = tmp_path / "replay.gif", tmp_path / "path.png"
    assert cli.main([str(trained["coop"]), "--episodes", "2", "--gif", str(gif), "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "PPO, coop" in out
    for word in (
        "deterministic (2 episodes)",
        "stochastic (2 episodes)",
        "team",
        "forager_0",
        "forager_1",
        "success",
        "steps to food",
        "return",
        "replay (deterministic)",
    ):
        assert word in out, word
    with Image.open(gif) as im:
        assert im.n_frames > 1 and im.size == (400, 400)
    with Image.open(png) as im:
        assert im.format == "PNG"


def test_best_model_recurrent_and_bare_zip(trained, tmp_path, capsys):
    cli = load_cli()
    assert cli.main([str(trained["lstm"]), "--best", "--episodes", "1", "--mode", "deterministic"]) == 0
    out = capsys.readouterr().out
    assert "RecurrentPPO, forager" in out and "stochastic" not in out
    bare = tmp_path / "elsewhere.zip"
    shutil.copy(trained["coop"] / "model.zip", bare)  # no config.yml: the env is read from the policy
    assert cli.main([str(bare), "--episodes", "1", "--mode", "stochastic"]) == 0
    assert "coop" in capsys.readouterr().out


def test_vecnormalize_stats_are_used(trained, capsys):
    assert (trained["norm"] / "vecnormalize.pkl").is_file()
    assert load_cli().main([str(trained["norm"]), "--episodes", "1"]) == 0
    assert "forager" in capsys.readouterr().out


def test_bad_arguments(tmp_path, capsys):
    cli = load_cli()
    assert cli.main([str(tmp_path / "missing.zip")]) == 2
    assert "neither" in capsys.readouterr().err
    assert cli.main([str(tmp_path), "--episodes", "1"]) == 2  # a folder without model.zip
    assert "does not exist" in capsys.readouterr().err


def test_evaluate_script_runs_in_a_subprocess(trained):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(trained["coop"]), "--episodes", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "deterministic (1 episodes)" in proc.stdout
    help_proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    for flag in ("--episodes", "--gif", "--png", "--best", "--mode", "--backend"):
        assert flag in help_proc.stdout


@pytest.mark.parametrize("kind,k", [("single", 1), ("coop", 2)])
def test_replay_of_a_successful_episode(kind, k, tmp_path):
    replay = record_replay(Steer(), VecMonitor(make_forager_vec_env(1, kind)), k)
    assert replay.success and len(replay.observations) == replay.steps + 1
    pos = replay.positions()
    assert pos.shape == (replay.steps + 1, k, 2)
    assert np.all(np.hypot(pos[-1, :, 0] - 95, pos[-1, :, 1] - 95) < 5)  # all at the food at the end
    with Image.open(save_gif(replay, tmp_path / "r.gif", size=120)) as im:
        assert im.n_frames == replay.steps + 1
    assert save_trajectory_png(replay, tmp_path / "r.png").stat().st_size > 1000
