"""Training on the GAMA backend against the project's GAMA server stand-in (``tests/gama_standin.py``):
``--backend gama`` trains and evaluates, and a server that dies mid-training leaves a checkpoint and a
clear error. Skipped when the GAMA bridge or the stand-in is not available."""

from __future__ import annotations

import os
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
gama_standin = pytest.importorskip("gama_standin")
pytest.importorskip("sb3_forager.gama")

from stable_baselines3 import PPO

from sb3_forager.training import TrainingError, resolve_config, train

pytestmark = pytest.mark.timeout(240)


def gama_config(server, **overrides):
    run = {
        "backend": "gama",
        "gama_servers": [f"{server.host}:{server.port}"],
        "gama_timeout": 10.0,
        "n_worlds": 2,
        "n_timesteps": 128,
        "eval_freq": 64,
        "eval_episodes": 1,
        "checkpoint_freq": 0,
        "progress_bar": False,
    }
    run.update(overrides)
    return resolve_config(
        "coop", "ppo", overrides=run, hyperparam_overrides={"n_steps": 16, "batch_size": 32, "n_epochs": 1}
    )


def test_training_on_a_gama_server(tmp_path):
    with gama_standin.GamaStandIn() as server:
        result = train(gama_config(server), logdir=tmp_path, run_name="g")
    assert result.num_timesteps == 128
    assert (result.run_dir / "best_model.zip").is_file() and (result.run_dir / "evaluations.npz").is_file()
    assert PPO.load(result.model_path, device="cpu").observation_space.shape == (15,)


def test_a_server_that_dies_leaves_a_checkpoint(tmp_path):
    server = gama_standin.GamaStandIn().start()
    try:
        timer = threading.Timer(2.0, server.stop)
        timer.start()
        with pytest.raises(TrainingError) as err:
            train(gama_config(server, n_timesteps=10_000_000, eval_freq=0), logdir=tmp_path, run_name="dead")
        timer.join()
    finally:
        server.stop()
    ckpt = err.value.checkpoint
    assert ckpt is not None and ckpt.is_file()
    assert f"--resume {tmp_path / 'dead'}" in str(err.value)
    assert PPO.load(ckpt, device="cpu").num_timesteps > 0


def test_training_on_random_scenarios_sends_them_to_gama(tmp_path):
    """``team``: pairs from random starts (a quarter of the worlds in random layouts) reach the
    GAML model as experiment parameters, one episode's world per reload."""
    with gama_standin.GamaStandIn() as server:
        cfg = gama_config(server, n_timesteps=64, eval_freq=0)
        cfg = resolve_config(
            "team",
            "ppo",
            overrides={k: getattr(cfg, k) for k in ("backend", "gama_servers", "gama_timeout", "n_worlds", "n_timesteps")}
            | {"eval_freq": 0, "checkpoint_freq": 0, "progress_bar": False},
            hyperparam_overrides={"n_steps": 16, "batch_size": 32, "n_epochs": 1},
        )
        result = train(cfg, logdir=tmp_path, run_name="r")
        loads = [r for r in server.requests if r["type"] in ("load", "reload")]
    assert result.num_timesteps >= 64
    assert loads and all("parameters" in r for r in loads)  # random episodes: always sent
    starts = {next(p["value"] for p in r["parameters"] if p["name"] == "starts_json") for r in loads}
    assert len(starts) >= 2  # worlds and episodes draw their own starts
