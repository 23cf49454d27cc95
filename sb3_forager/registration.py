"""Env ids, registered once at ``import sb3_forager`` (idempotent; nothing heavy is imported).

The ids, their modules and episode budgets come from the model table (:mod:`sb3_forager.models`).
"""

from __future__ import annotations

import gymnasium as gym

from .models import MODELS

#: Gymnasium ids of the embedded single forager
EMBEDDED_GYM_ENV_IDS: tuple[str, ...] = tuple(m.gym_id for m in MODELS.values() if m.gym_id)
#: every Gymnasium id this package registers (single forager)
GYM_ENV_IDS: tuple[str, ...] = EMBEDDED_GYM_ENV_IDS + tuple(m.gama_gym_id for m in MODELS.values() if m.gama_gym_id)
#: PettingZoo ids this package registers in PettingZoo's registry (teams), with their modules
PETTINGZOO_MODULES: dict[str, str] = {
    m.pettingzoo_id: f"sb3_forager.{m.pettingzoo_module}" for m in MODELS.values() if m.pettingzoo_id
}
PETTINGZOO_ENV_IDS: tuple[str, ...] = tuple(PETTINGZOO_MODULES)
#: the PettingZoo modules (``env``, ``parallel_env``, ``raw_env``), for tests and docs
PETTINGZOO_MODULE_NAMES: tuple[str, ...] = tuple(PETTINGZOO_MODULES.values())
#: every id, for tests and docs
ENV_IDS: tuple[str, ...] = GYM_ENV_IDS + PETTINGZOO_ENV_IDS


#: the presets' differences from the tutorial's single forager (``sim.scenario.FORAGER_RANDOM``), as
#: plain keyword arguments: registering imports no simulation code
_KWARGS: dict[str, dict] = {"forager-random": {"starts": "random"}}


def _gym_specs() -> dict[str, dict]:
    specs = {}
    for m in MODELS.values():
        kwargs = _KWARGS.get(m.name, {})
        if m.gym_id:
            specs[m.gym_id] = dict(
                entry_point="sb3_forager.envs.forager_env:ForagerEnv",
                vector_entry_point="sb3_forager.envs.vector_env:ForagerVectorEnv",
                max_episode_steps=m.max_steps,
                **({"kwargs": kwargs} if kwargs else {}),
            )
        if m.gama_gym_id:
            specs[m.gama_gym_id] = dict(
                entry_point="sb3_forager.make:gama_forager_env", max_episode_steps=m.max_steps
            )
    return specs


def register_envs() -> None:
    """Register every env id with Gymnasium (and PettingZoo's registry); safe to call again."""
    for env_id, spec in _gym_specs().items():
        if env_id not in gym.registry:
            gym.register(id=env_id, **spec)
    try:
        from pettingzoo.env_registry import registration as pz_registration
    except ImportError:  # PettingZoo < 1.27 has no registry; the module shims still work
        return
    for env_id, module in PETTINGZOO_MODULES.items():
        if env_id not in pz_registration.parallel_registry:
            pz_registration.register("parallel", env_id, entry_point=f"{module}:parallel_env")
        if env_id not in pz_registration.aec_registry:
            pz_registration.register("aec", env_id, entry_point=f"{module}:env")
