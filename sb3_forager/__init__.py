"""sb3_forager: Stable-Baselines3 environments for GAMA's ForagerRL tutorial.

``import sb3_forager`` registers the Gymnasium ids ``sb3_forager/Forager-v0`` (the tutorial's
single forager), ``sb3_forager/ForagerRandom-v0`` (from random starts) and
``sb3_forager/GamaForager-v0`` (on a GAMA server), and in PettingZoo's registry the teams
``sb3_forager/ForagerCoop-v0``, ``ForagerTeam-v0`` and ``ForagerStress-v0``, which are also the
modules :mod:`sb3_forager.forager_coop_v0`, :mod:`~sb3_forager.forager_team_v0` and
:mod:`~sb3_forager.forager_stress_v0`. Importing it imports neither torch nor Stable-Baselines3.
"""

from __future__ import annotations

import logging

from .registration import (
    EMBEDDED_GYM_ENV_IDS,
    ENV_IDS,
    GYM_ENV_IDS,
    PETTINGZOO_ENV_IDS,
    PETTINGZOO_MODULE_NAMES,
    register_envs,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

register_envs()

__all__ = [
    "EMBEDDED_GYM_ENV_IDS",
    "ENV_IDS",
    "GYM_ENV_IDS",
    "PETTINGZOO_ENV_IDS",
    "PETTINGZOO_MODULE_NAMES",
    "__version__",
    "register_envs",
]
