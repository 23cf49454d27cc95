"""``forager_coop_v0``: the cooperative forager pair, PettingZoo module convention.

``parallel_env(**kw)`` is the ParallelEnv (what SuperSuit and SB3 train on), ``env(**kw)`` the
turn-based AEC view of it with PettingZoo's order checks, ``raw_env(**kw)`` the AEC view without
them. ``backend="embedded"`` (default) runs the numpy simulation; ``backend="gama"`` runs
``gaml/forager_petz.gaml`` on a GAMA server (keyword arguments of
:class:`sb3_forager.gama.petz_env.GamaForagerCoopEnv`).
"""

from __future__ import annotations

from typing import Any

from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import OrderEnforcingWrapper, parallel_to_aec

from .envs.coop_env import ForagerCoopEnv

__all__ = ["env", "parallel_env", "raw_env", "ForagerCoopEnv"]

BACKENDS = ("embedded", "gama")


def parallel_env(backend: str = "embedded", **kwargs: Any) -> ParallelEnv:
    """The cooperative pair as a PettingZoo ParallelEnv on the chosen backend."""
    if backend == "embedded":
        return ForagerCoopEnv(**kwargs)
    if backend == "gama":
        from .gama.petz_env import GamaForagerCoopEnv

        return GamaForagerCoopEnv(**kwargs)
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def raw_env(backend: str = "embedded", **kwargs: Any) -> AECEnv:
    """The AEC (turn-based) view of :func:`parallel_env`, without order enforcement."""
    return parallel_to_aec(parallel_env(backend=backend, **kwargs))


def env(backend: str = "embedded", **kwargs: Any) -> AECEnv:
    """The AEC view of :func:`parallel_env` with PettingZoo's order-enforcing wrapper."""
    return OrderEnforcingWrapper(raw_env(backend=backend, **kwargs))
