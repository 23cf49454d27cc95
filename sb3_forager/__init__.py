"""sb3_forager: Stable-Baselines3 environments for GAMA's ForagerRL tutorial.

``import sb3_forager`` registers ``sb3_forager/Forager-v0`` (embedded single forager),
``sb3_forager/GamaForager-v0`` (the same on a GAMA server) and, in PettingZoo's registry,
``sb3_forager/ForagerCoop-v0``; the cooperative pair is also :mod:`sb3_forager.forager_coop_v0`.
"""

from __future__ import annotations

import logging

from .registration import (
    EMBEDDED_GYM_ENV_IDS,
    ENV_IDS,
    GYM_ENV_IDS,
    PETTINGZOO_ENV_IDS,
    register_envs,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

register_envs()

__all__ = ["ENV_IDS", "GYM_ENV_IDS", "PETTINGZOO_ENV_IDS", "EMBEDDED_GYM_ENV_IDS", "register_envs", "__version__"]
