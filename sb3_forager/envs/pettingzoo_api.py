"""The PettingZoo module convention (``env``, ``parallel_env``, ``raw_env``), built once for the
three team modules (``forager_coop_v0``, ``forager_team_v0``, ``forager_stress_v0``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import OrderEnforcingWrapper

from ..sim import Scenario
from .team_env import ForagerAECEnv, ForagerTeamEnv

#: the backend names; ``native`` is accepted as an alias of ``embedded``
BACKENDS = ("embedded", "gama")
BACKEND_ALIASES = {"native": "embedded"}


def check_backend(backend: str) -> str:
    """The canonical backend name (``embedded`` or ``gama``), or ``ValueError``."""
    name = BACKEND_ALIASES.get(backend, backend)
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)} (or 'native' for 'embedded'), got {backend!r}")
    return name


def module_api(
    name: str, base: Scenario, gama_experiment: str, gama_file: str
) -> tuple[Callable[..., ParallelEnv], Callable[..., AECEnv], Callable[..., AECEnv]]:
    """``(parallel_env, raw_env, env)`` of a team module whose default scenario is ``base``."""

    def parallel_env(backend: str = "embedded", **kwargs: Any) -> ParallelEnv:
        if check_backend(backend) == "gama":
            from ..gama.petz_env import GamaTeamEnv

            kwargs.setdefault("experiment", gama_experiment)
            kwargs.setdefault("gaml_file", gama_file)
            env: Any = GamaTeamEnv(base=base, **kwargs)
        else:
            env = ForagerTeamEnv(base=base, **kwargs)
        env.metadata = dict(env.metadata, name=name)
        return env

    def raw_env(backend: str = "embedded", **kwargs: Any) -> AECEnv:
        env = ForagerAECEnv(parallel_env(backend=backend, **kwargs))
        env.metadata = dict(env.metadata, name=name)
        return env

    def env(backend: str = "embedded", **kwargs: Any) -> AECEnv:
        return OrderEnforcingWrapper(raw_env(backend=backend, **kwargs))

    parallel_env.__doc__ = f"The {name} team as a PettingZoo ParallelEnv (``backend='embedded'`` or ``'gama'``)."
    raw_env.__doc__ = f"The {name} team as an unwrapped AEC env (each action checked at its agent's step)."
    env.__doc__ = f"The {name} team as an AEC env with PettingZoo's order-enforcing wrapper."
    return parallel_env, raw_env, env
