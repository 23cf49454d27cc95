"""The GAMA backend: the forager envs run by a GAMA headless server (``gama-headless.sh -socket 1001``).

* :class:`~sb3_forager.gama.gym_env.GamaForagerEnv` — ``sb3_forager/GamaForager-v0``, GymAgent contract;
* :class:`~sb3_forager.gama.petz_env.GamaTeamEnv` — ``forager_coop_v0.parallel_env(backend="gama")``
  (and ``forager_team_v0`` / ``forager_stress_v0``), PetzAgent contract;
* :func:`~sb3_forager.gama.vec_env.make_gama_vec_env` — an SB3 VecEnv of N experiments on one or
  several servers, stepped concurrently.

The envs connect lazily, need no event loop of the caller, pickle without their connection, bound
every wait, and raise the exceptions below with GAMA's own messages. The GAMA server runs any
expression it is sent and has no authentication: keep it on loopback or a trusted network.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    GamaCommandError,
    GamaConnectionError,
    GamaConnectionLostError,
    GamaEpisodeLostError,
    GamaError,
    GamaLoadError,
    GamaProtocolError,
    GamaSimulationError,
    GamaTimeoutError,
)
from .gym_env import GamaForagerEnv
from .petz_env import GamaForagerCoopEnv, GamaTeamEnv

__all__ = [
    "GamaCommandError",
    "GamaConnectionError",
    "GamaConnectionLostError",
    "GamaEpisodeLostError",
    "GamaError",
    "GamaForagerCoopEnv",
    "GamaForagerEnv",
    "GamaLoadError",
    "GamaProtocolError",
    "GamaSimulationError",
    "GamaTeamEnv",
    "GamaTimeoutError",
    "GamaVecEnv",
    "make_gama_vec_env",
]


def __getattr__(name: str) -> Any:
    # the SB3 VecEnv imports Stable-Baselines3 (and torch): only when asked for
    if name in ("GamaVecEnv", "make_gama_vec_env"):
        from . import vec_env

        return getattr(vec_env, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
