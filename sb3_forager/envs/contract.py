"""Rules every backend (embedded or GAMA) applies on top of the raw GAML flags.

Keeping them in one place is what makes the embedded and the GAMA envs the same contract.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class EpisodeOverError(RuntimeError):
    """``step`` was called after the episode ended, without ``reset``."""


def check_action(action: Any, agent: str) -> np.ndarray:
    """Return ``action`` as a float64 array of shape (2,), or raise ``ValueError`` naming ``agent``.

    Valid actions are used exactly as given (the GAML model does not clip, and neither do we);
    only non-numeric, wrongly shaped or non-finite actions are rejected.
    """
    try:
        arr = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"action for {agent} is not numeric: {action!r}") from exc
    if arr.shape != (2,):
        raise ValueError(f"action for {agent} must have shape (2,), got shape {arr.shape}: {action!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"action for {agent} must be finite, got {arr.tolist()}")
    return arr


def check_batch_actions(actions: Any, n: int, agent_ids: Sequence[str]) -> np.ndarray:
    """Validate a batch of actions for ``n`` worlds of ``len(agent_ids)`` foragers.

    Accepts shape (n * K, 2) (one row per agent slot, world-major) or (n, K, 2), and for K == 1
    also (n, 2). Returns float64 (n, K, 2). Errors name the slot, the world and the forager.
    """
    k = len(agent_ids)
    try:
        arr = np.asarray(actions, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"actions are not numeric: {actions!r}") from exc
    if arr.shape == (n * k, 2):
        arr = arr.reshape(n, k, 2)
    elif arr.shape != (n, k, 2):
        raise ValueError(f"actions must have shape ({n * k}, 2) (one row per agent slot), got shape {arr.shape}")
    bad = ~np.isfinite(arr).all(axis=2)
    if bad.any():
        w, a = map(int, np.argwhere(bad)[0])
        raise ValueError(
            f"action of slot {w * k + a} (world {w}, {agent_ids[a]}) must be finite, got {arr[w, a].tolist()}"
        )
    return arr


def check_agent_actions(
    actions: Mapping[str, Any], live_agents: Sequence[str], possible_agents: Sequence[str]
) -> dict[str, np.ndarray]:
    """Validate a PettingZoo action dict: unknown names raise, each action is checked.

    A live forager may be left out (the GAML model then does not move it this cycle); an empty
    dict raises, because the GAML ``main_loop`` would not advance the simulation at all.
    """
    if not isinstance(actions, Mapping):
        raise ValueError(f"actions must be a dict agent -> action, got {type(actions).__name__}")
    unknown = [a for a in actions if a not in possible_agents]
    if unknown:
        raise ValueError(f"unknown agent(s) {unknown}; the agents are {list(possible_agents)}")
    if not actions:
        raise ValueError(
            f"no actions given; expected actions for {list(live_agents)} (the GAML model does not "
            "advance on an empty action map)"
        )
    return {a: check_action(v, a) for a, v in actions.items()}


def end_of_episode_flags(
    terminated: np.ndarray, truncated: np.ndarray, episode_over: np.ndarray, success: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The PettingZoo contract on top of the raw GAML flags, for arrays (N, K) / (N,).

    When a world's episode ends, a forager with neither flag (it was waiting at the food) gets
    ``terminated`` if the team succeeded and ``truncated`` if time ran out. Its reward is unchanged.
    """
    neither = ~(terminated | truncated) & episode_over[:, None]
    terminated = terminated | (neither & success[:, None])
    truncated = truncated | (neither & ~success[:, None])
    return terminated, truncated


def check_render_mode(render_mode: str | None, render_modes: Sequence[str]) -> str | None:
    """Return ``render_mode`` if it is None or one of ``render_modes``, else raise ``ValueError``."""
    if render_mode is not None and render_mode not in render_modes:
        raise ValueError(f"render_mode must be one of {list(render_modes)} or None, got {render_mode!r}")
    return render_mode
