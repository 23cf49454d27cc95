"""The GAMA backend: the forager envs run by a GAMA headless server (``gama-headless.sh -socket 1001``).

* :class:`~sb3_forager.gama.gym_env.GamaForagerEnv` — ``sb3_forager/GamaForager-v0``, GymAgent contract;
* :class:`~sb3_forager.gama.petz_env.GamaForagerCoopEnv` — ``forager_coop_v0.parallel_env(backend="gama")``,
  PetzAgent contract;
* :func:`~sb3_forager.gama.vec_env.make_gama_vec_env` — an SB3 VecEnv of N experiments on one or
  several servers, stepped concurrently.

The envs connect lazily, need no event loop of the caller, pickle without their connection, bound
every wait, and raise the exceptions below with GAMA's own messages. The GAMA server runs any
expression it is sent and has no authentication: keep it on loopback or a trusted network.
"""

from __future__ import annotations

from .errors import (
    GamaCommandError,
    GamaConnectionError,
    GamaConnectionLostError,
    GamaError,
    GamaLoadError,
    GamaProtocolError,
    GamaSimulationError,
    GamaTimeoutError,
)
from .gym_env import GamaForagerEnv
from .petz_env import GamaForagerCoopEnv
from .vec_env import GamaVecEnv, make_gama_vec_env

__all__ = [
    "GamaForagerEnv",
    "GamaForagerCoopEnv",
    "GamaVecEnv",
    "make_gama_vec_env",
    "GamaError",
    "GamaConnectionError",
    "GamaConnectionLostError",
    "GamaTimeoutError",
    "GamaCommandError",
    "GamaLoadError",
    "GamaSimulationError",
    "GamaProtocolError",
]
