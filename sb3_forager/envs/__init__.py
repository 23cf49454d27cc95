"""Env adapters over a backend (:class:`~sb3_forager.sim.backend.Backend`: the embedded
simulation by default, GAMA servers through :mod:`sb3_forager.make`): Gymnasium, PettingZoo and
(imported on first use) SB3.

``ForagerVecEnv`` and ``make_forager_vec_env`` need Stable-Baselines3 (and so torch); they are
imported lazily, so that making a Gymnasium or PettingZoo env does not import torch.
"""

from __future__ import annotations

from typing import Any

from .contract import EpisodeOverError
from .forager_env import ForagerEnv
from .team_env import ForagerAECEnv, ForagerTeamEnv
from .vector_env import ForagerVectorEnv

__all__ = [
    "EpisodeOverError",
    "ForagerAECEnv",
    "ForagerEnv",
    "ForagerTeamEnv",
    "ForagerVecEnv",
    "ForagerVectorEnv",
    "make_forager_vec_env",
]

_LAZY = {"ForagerVecEnv", "make_forager_vec_env"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import vec_env

        return getattr(vec_env, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
