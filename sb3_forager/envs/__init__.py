"""Env adapters over the simulation core: Gymnasium, PettingZoo, SB3 VecEnv."""

from .contract import EpisodeOverError
from .coop_env import ForagerCoopEnv
from .forager_env import ForagerEnv
from .vec_env import ForagerVecEnv, ForagerVectorEnv, make_forager_vec_env

__all__ = [
    "EpisodeOverError",
    "ForagerEnv",
    "ForagerCoopEnv",
    "ForagerVecEnv",
    "ForagerVectorEnv",
    "make_forager_vec_env",
]
