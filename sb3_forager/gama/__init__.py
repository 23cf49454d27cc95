"""The GAMA backend: forager worlds run by GAMA headless servers (``gama-headless.sh -socket 1001``).

:class:`~sb3_forager.gama.backend.GamaWorlds` is the :class:`~sb3_forager.sim.backend.Backend` of
N GAMA experiments on one or several servers, stepped concurrently; the env classes of
:mod:`sb3_forager.envs` run on it (:mod:`sb3_forager.make` builds them: ``GamaForager-v0``,
``forager_coop_v0.parallel_env(backend="gama")``, ``make_gama_vec_env``).

The worlds connect lazily, need no event loop of the caller, pickle without their connection,
bound every wait, and raise the exceptions below with GAMA's own messages. :class:`GamaServers`
starts and stops GAMA servers itself (``gama-headless.sh -socket PORT``, one folder each). The GAMA server runs
any expression it is sent and has no authentication: keep it on loopback or a trusted network.
"""

from __future__ import annotations

from .backend import GamaWorlds
from .launcher import GamaLaunchError, GamaServers
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

__all__ = [
    "GamaCommandError",
    "GamaConnectionError",
    "GamaConnectionLostError",
    "GamaEpisodeLostError",
    "GamaError",
    "GamaLaunchError",
    "GamaLoadError",
    "GamaProtocolError",
    "GamaServers",
    "GamaSimulationError",
    "GamaTimeoutError",
    "GamaWorlds",
]
