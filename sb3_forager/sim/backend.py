"""The backend protocol: N worlds of K foragers, reset and stepped as one.

Every env adapter (:mod:`sb3_forager.envs`) runs on an object of this shape, whatever simulates
the worlds: the compiled core (:class:`~sb3_forager.sim.core.ForagerSim`) or a set of GAMA
experiments (:class:`sb3_forager.gama.backend.GamaWorlds`). The adapters draw the episodes (so a
seed gives the same episode on every backend), validate the actions, and turn a
:class:`StepResult` into Gymnasium's, PettingZoo's or SB3's return values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .scenario import Episode

#: world indices, a bool (N,) mask, or None for every world
Worlds = Sequence[int] | np.ndarray | None


@dataclass
class StepResult:
    """What a reset or a step of N worlds produced (world axis first). The embedded backend hands
    out views of its buffers, valid until its next ``step`` or ``reset``: copy what you keep."""

    obs: np.ndarray  #: (N, K, obs_dim) float64
    reward: np.ndarray  #: (N, K) float64 (zeros after a reset)
    terminated: np.ndarray  #: (N, K) bool, the raw GAML flag
    truncated: np.ndarray  #: (N, K) bool, the raw GAML flag
    episode_over: np.ndarray  #: (N,) bool: all at the food, or the step limit reached
    success: np.ndarray  #: (N,) bool: all foragers at the food
    at_food: np.ndarray  #: (N, K) bool: each forager at the food
    arrival: np.ndarray  #: (N, K) int: the step each forager reached the food, -1 if not (yet)
    steps: np.ndarray  #: (N,) int: the cycles run in each world's episode
    #: the GAML info maps, per world and forager, when the backend has them (GAMA); else None
    infos: list[list[dict[str, Any]]] | None = None
    #: after ``step(..., next_episode=...)``: the first observations of the worlds whose episode
    #: ended (the rows where ``episode_over``), which were reset in the same step; else None
    reset_obs: np.ndarray | None = None


class Backend(Protocol):
    """N worlds of K foragers, reset and stepped together."""

    n_worlds: int
    n_agents: int
    #: each world's current episode (None before its first reset)
    episodes: list[Episode | None]

    @property
    def obs(self) -> np.ndarray | None:
        """The current observations (N, K, obs_dim), or None before anything was observed."""

    def reset(self, worlds: Worlds = None, episodes: Sequence[Episode] | None = None,
              seeds: Sequence[int | None] | None = None) -> StepResult:  # fmt: skip
        """Start ``episodes`` (one per reset world) in ``worlds``; ``seeds``: one per reset world,
        handed to the model (GAMA's ``seed``; the embedded model draws nothing)."""

    def step(self, actions: np.ndarray, acting: np.ndarray | None = None,
             next_episode: Callable[[int], Episode] | None = None) -> StepResult:  # fmt: skip
        """One cycle of every world. ``actions`` float64 (N, K, 2), already validated; ``acting``
        bool (N, K) or None (all act). With ``next_episode``, a world whose episode ended is reset
        at once with ``next_episode(w)`` (see :attr:`StepResult.reset_obs`)."""

    def render(self, world: int = 0, size: int = 400) -> np.ndarray | None:
        """An RGB picture of one world (None when there is nothing to draw yet)."""

    def close(self) -> None:
        """Release what the backend holds (connections); a later reset starts again."""
