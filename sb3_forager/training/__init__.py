"""The training pipeline: configs, envs for training, the SuperSuit fix-up layer, callbacks,
run folders with atomic writes, plots and evaluation. ``scripts/train_sb3.py`` and
``scripts/evaluate.py`` are thin CLIs over this package.

Saved models are plain SB3 zips: ``PPO.load(path)`` (or ``sb3_contrib.RecurrentPPO.load``) opens
them without importing ``sb3_forager``.
"""

from __future__ import annotations

from .config import ALGOS, BACKENDS, ENVS, ConfigError, TrainConfig, resolve_config
from .envs import BackendUnavailableError, make_vec_env
from .evaluation import EpisodeBatch, evaluate_team, record_replay
from .run_dir import RunPaths
from .supersuit_vec import (
    SuperSuitVecEnv,
    make_supersuit_vec_env,
    make_team_supersuit_vec_env,
)
from .train import TrainingError, TrainResult, load_model, train

__all__ = [
    "ALGOS",
    "BACKENDS",
    "ENVS",
    "BackendUnavailableError",
    "ConfigError",
    "EpisodeBatch",
    "RunPaths",
    "SuperSuitVecEnv",
    "TrainConfig",
    "TrainResult",
    "TrainingError",
    "evaluate_team",
    "load_model",
    "make_supersuit_vec_env",
    "make_team_supersuit_vec_env",
    "make_vec_env",
    "record_replay",
    "resolve_config",
    "train",
]
