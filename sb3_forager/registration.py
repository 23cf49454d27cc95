"""Env ids, registered once at ``import sb3_forager`` (idempotent)."""

from __future__ import annotations

import gymnasium as gym

#: Gymnasium ids this package registers (single forager).
GYM_ENV_IDS: tuple[str, ...] = ("sb3_forager/Forager-v0", "sb3_forager/GamaForager-v0")
#: PettingZoo ids this package registers in PettingZoo's registry (cooperative pair).
PETTINGZOO_ENV_IDS: tuple[str, ...] = ("sb3_forager/ForagerCoop-v0",)
#: Every id, for tests and docs.
ENV_IDS: tuple[str, ...] = GYM_ENV_IDS + PETTINGZOO_ENV_IDS
#: The ids that need no GAMA server.
EMBEDDED_GYM_ENV_IDS: tuple[str, ...] = ("sb3_forager/Forager-v0",)


def register_envs() -> None:
    """Register every env id with Gymnasium (and PettingZoo's registry); safe to call again."""
    if "sb3_forager/Forager-v0" not in gym.registry:
        gym.register(
            id="sb3_forager/Forager-v0",
            entry_point="sb3_forager.envs.forager_env:ForagerEnv",
            vector_entry_point="sb3_forager.envs.vec_env:ForagerVectorEnv",
        )
    if "sb3_forager/GamaForager-v0" not in gym.registry:
        gym.register(
            id="sb3_forager/GamaForager-v0",
            entry_point="sb3_forager.gama.gym_env:GamaForagerEnv",
        )
    try:
        from pettingzoo.env_registry import registration as pz_registration
    except ImportError:  # PettingZoo < 1.27 has no registry; the module shim still works
        return
    if "sb3_forager/ForagerCoop-v0" not in pz_registration.parallel_registry:
        pz_registration.register(
            "parallel", "sb3_forager/ForagerCoop-v0", entry_point="sb3_forager.forager_coop_v0:parallel_env"
        )
    if "sb3_forager/ForagerCoop-v0" not in pz_registration.aec_registry:
        pz_registration.register("aec", "sb3_forager/ForagerCoop-v0", entry_point="sb3_forager.forager_coop_v0:env")
