"""Env ids, registered once at ``import sb3_forager`` (idempotent; nothing heavy is imported)."""

from __future__ import annotations

import gymnasium as gym

#: Gymnasium ids of the embedded single forager
EMBEDDED_GYM_ENV_IDS: tuple[str, ...] = ("sb3_forager/Forager-v0", "sb3_forager/ForagerRandom-v0")
#: every Gymnasium id this package registers (single forager)
GYM_ENV_IDS: tuple[str, ...] = EMBEDDED_GYM_ENV_IDS + ("sb3_forager/GamaForager-v0",)
#: PettingZoo ids this package registers in PettingZoo's registry (teams), with their modules
PETTINGZOO_MODULES: dict[str, str] = {
    "sb3_forager/ForagerCoop-v0": "sb3_forager.forager_coop_v0",
    "sb3_forager/ForagerTeam-v0": "sb3_forager.forager_team_v0",
    "sb3_forager/ForagerStress-v0": "sb3_forager.forager_stress_v0",
}
PETTINGZOO_ENV_IDS: tuple[str, ...] = tuple(PETTINGZOO_MODULES)
#: the PettingZoo modules (``env``, ``parallel_env``, ``raw_env``), for tests and docs
PETTINGZOO_MODULE_NAMES: tuple[str, ...] = tuple(PETTINGZOO_MODULES.values())
#: every id, for tests and docs
ENV_IDS: tuple[str, ...] = GYM_ENV_IDS + PETTINGZOO_ENV_IDS
#: the single forager's episode length (the GAML max_steps)
MAX_EPISODE_STEPS = 300

_GYM = {
    "sb3_forager/Forager-v0": dict(
        entry_point="sb3_forager.envs.forager_env:ForagerEnv",
        vector_entry_point="sb3_forager.envs.vector_env:ForagerVectorEnv",
    ),
    "sb3_forager/ForagerRandom-v0": dict(
        entry_point="sb3_forager.envs.forager_env:ForagerEnv",
        vector_entry_point="sb3_forager.envs.vector_env:ForagerVectorEnv",
        kwargs={"starts": "random"},
    ),
    "sb3_forager/GamaForager-v0": dict(entry_point="sb3_forager.gama.gym_env:GamaForagerEnv"),
}


def register_envs() -> None:
    """Register every env id with Gymnasium (and PettingZoo's registry); safe to call again."""
    for env_id, spec in _GYM.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, max_episode_steps=MAX_EPISODE_STEPS, **spec)
    try:
        from pettingzoo.env_registry import registration as pz_registration
    except ImportError:  # PettingZoo < 1.27 has no registry; the module shims still work
        return
    for env_id, module in PETTINGZOO_MODULES.items():
        if env_id not in pz_registration.parallel_registry:
            pz_registration.register("parallel", env_id, entry_point=f"{module}:parallel_env")
        if env_id not in pz_registration.aec_registry:
            pz_registration.register("aec", env_id, entry_point=f"{module}:env")
