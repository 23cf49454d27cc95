"""sb3_forager: Stable-Baselines3 environments for GAMA's ForagerRL tutorial.

``import sb3_forager`` registers the Gymnasium ids ``sb3_forager/Forager-v0`` (the tutorial's
single forager), ``sb3_forager/ForagerRandom-v0`` (from random starts) and
``sb3_forager/GamaForager-v0`` (on a GAMA server), and in PettingZoo's registry the teams
``sb3_forager/ForagerCoop-v0``, ``ForagerTeam-v0`` and ``ForagerStress-v0``, which are also the
modules :mod:`sb3_forager.forager_coop_v0`, :mod:`~sb3_forager.forager_team_v0` and
:mod:`~sb3_forager.forager_stress_v0`. Importing it imports neither torch nor Stable-Baselines3.
The ids, their modules and episode budgets come from the model table (:mod:`sb3_forager.models`).
"""

from __future__ import annotations

import logging

import gymnasium as gym

from .models import MODELS

__version__ = "0.2.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Gymnasium ids of the embedded single forager, and every Gymnasium id this package registers
EMBEDDED_GYM_ENV_IDS: tuple[str, ...] = tuple(m.gym_id for m in MODELS.values() if m.gym_id)
GYM_ENV_IDS: tuple[str, ...] = EMBEDDED_GYM_ENV_IDS + tuple(m.gama_gym_id for m in MODELS.values() if m.gama_gym_id)
#: PettingZoo ids (teams) and their modules (``env``, ``parallel_env``, ``raw_env``)
_TEAMS = [m for m in MODELS.values() if m.pettingzoo_id]
PETTINGZOO_ENV_IDS: tuple[str, ...] = tuple(m.pettingzoo_id for m in _TEAMS)
PETTINGZOO_MODULE_NAMES: tuple[str, ...] = tuple(f"sb3_forager.{m.pettingzoo_module}" for m in _TEAMS)
#: the presets' differences from the tutorial's single forager (``sim.scenario.FORAGER_RANDOM``), as
#: plain keyword arguments: registering imports no simulation code
_KWARGS: dict[str, dict] = {"forager-random": {"starts": "random"}}


def register_envs() -> None:
    """Register every env id with Gymnasium (and PettingZoo's registry); safe to call again."""
    for m in MODELS.values():
        if m.gym_id and m.gym_id not in gym.registry:
            gym.register(m.gym_id, "sb3_forager.envs.forager_env:ForagerEnv", max_episode_steps=m.max_steps,
                         vector_entry_point="sb3_forager.envs.vector_env:ForagerVectorEnv", kwargs=_KWARGS.get(m.name))
        if m.gama_gym_id and m.gama_gym_id not in gym.registry:
            gym.register(m.gama_gym_id, "sb3_forager.make:gama_forager_env", max_episode_steps=m.max_steps)
    try:
        from pettingzoo.env_registry import registration as pz_registration
    except ImportError:  # PettingZoo < 1.27 has no registry; the module shims still work
        return
    for env_id, module in zip(PETTINGZOO_ENV_IDS, PETTINGZOO_MODULE_NAMES):
        if env_id not in pz_registration.parallel_registry:
            pz_registration.register("parallel", env_id, entry_point=f"{module}:parallel_env")
        if env_id not in pz_registration.aec_registry:
            pz_registration.register("aec", env_id, entry_point=f"{module}:env")


register_envs()

__all__ = [
    "EMBEDDED_GYM_ENV_IDS",
    "GYM_ENV_IDS",
    "PETTINGZOO_ENV_IDS",
    "PETTINGZOO_MODULE_NAMES",
    "__version__",
    "register_envs",
]
