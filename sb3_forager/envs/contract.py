"""Rules every adapter and backend (embedded or GAMA) applies on top of the raw GAML model.

Keeping them in one place is what makes all the envs one contract: the spaces, the refusal of
actions outside the Box (``docs/model.md``, section "Actions outside the Box": a ``ValueError``
naming the forager, the world and the value, raised before anything changes), the
end-of-episode flags, and the per-world generators of the batched envs: world ``i`` of a batch
seeded with ``s`` uses ``np.random.default_rng(s + i)`` (what ``gymnasium.utils.seeding.np_random(s
+ i)`` gives), so it draws exactly the episodes of a single env reset with ``seed=s + i``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from ..common.checks import SEED_LIMIT
from ..common.checks import seed as check_seed
from ..sim.kernels import first_bad_action

#: the action Box of every forager
ACTION_LOW = -1.0
ACTION_HIGH = 1.0


class EpisodeOverError(RuntimeError):
    """``step`` was called after the episode ended, without ``reset``."""


def forager_spaces(obs_dim: int) -> tuple[spaces.Box, spaces.Box]:
    """The observation and action spaces of one forager (float32, as SB3 wants)."""
    obs = spaces.Box(0.0, 1.0, (int(obs_dim),), dtype=np.float32)
    act = spaces.Box(ACTION_LOW, ACTION_HIGH, (2,), dtype=np.float32)
    return obs, act


def _refusal(a0: float, a1: float) -> str:
    """What an action outside the Box fails to be, for the error message."""
    return "finite" if not (math.isfinite(a0) and math.isfinite(a1)) else "in the action Box [-1, 1]^2"


def check_action(action: Any, agent: str, out: np.ndarray | None = None) -> np.ndarray:
    """``action`` as a float64 (2,) array (written into ``out`` if given), or ``ValueError``.

    A valid action is used exactly as given; a non-numeric, wrongly shaped, non-finite or
    out-of-Box (``[-1, 1]`` per component) action is refused, naming ``agent`` and the value.
    """
    if type(action) is np.ndarray and action.shape == (2,) and action.dtype.kind == "f":
        arr = action  # the common case (what SB3 and action_space.sample() give), without a copy
    else:
        try:
            arr = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"action for {agent} is not numeric: {action!r}") from None
        if arr.shape != (2,):
            raise ValueError(f"action for {agent} must have shape (2,), got shape {arr.shape}: {action!r}")
    a0 = float(arr[0])
    a1 = float(arr[1])
    if not (ACTION_LOW <= a0 <= ACTION_HIGH and ACTION_LOW <= a1 <= ACTION_HIGH):
        raise ValueError(f"action for {agent} must be {_refusal(a0, a1)}, got {[a0, a1]}")
    if out is not None:
        out[0] = a0
        out[1] = a1
        return out
    return np.array((a0, a1))


@functools.lru_cache(maxsize=16)
def _everyone(n_worlds: int, k: int) -> np.ndarray:
    """A read-only all-True (n_worlds, k) mask, made once per shape (``np.ones`` each step costs
    about as much as the check of 16 worlds' actions)."""
    mask = np.ones((n_worlds, k), dtype=bool)
    mask.setflags(write=False)
    return mask


def check_batch_actions(
    actions: Any, n_worlds: int, agent_ids: Sequence[str], acting: np.ndarray | None = None
) -> np.ndarray:
    """Validate a batch of actions for ``n_worlds`` worlds of ``len(agent_ids)`` foragers, all at once.

    Accepts shape (N * K, 2) (one row per agent slot, world-major) or (N, K, 2), and for K == 1
    also (N, 2). Returns float64 (N, K, 2). The first bad action raises ``ValueError`` naming its
    slot, world, forager and value; nothing has been stepped then. ``acting`` (N, K) bool limits
    the check to the foragers that act (a frozen or absent forager's row is not used).
    """
    k = len(agent_ids)
    try:
        arr = np.asarray(actions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"actions are not numeric: {actions!r:.200}") from None
    if arr.shape == (n_worlds * k, 2):
        arr = arr.reshape(n_worlds, k, 2)
    elif arr.shape != (n_worlds, k, 2):
        raise ValueError(f"actions must have shape ({n_worlds * k}, 2) (one row per agent slot), got shape {arr.shape}")
    arr = np.ascontiguousarray(arr)
    mask = _everyone(n_worlds, k) if acting is None else np.ascontiguousarray(acting, dtype=bool)
    bad = first_bad_action(arr, mask, ACTION_LOW, ACTION_HIGH)
    if bad >= 0:
        w, a = divmod(int(bad), k)
        a0, a1 = arr[w, a].tolist()
        raise ValueError(
            f"action of slot {bad} (world {w}, {agent_ids[a]}) must be {_refusal(a0, a1)}, got {[a0, a1]}; "
            "no world was stepped"
        )
    return arr


def fill_agent_actions(
    actions: Mapping[str, Any], index: Mapping[str, int], batch: np.ndarray, acting: np.ndarray
) -> None:
    """Validate a PettingZoo action dict, all of it, writing straight into the (1, K, 2) ``batch``
    and the (1, K) ``acting`` mask (scratch arrays: a refused dict leaves no state changed).

    Unknown names raise; every action is checked. A live forager may be left out (the GAML model
    then does not move it this cycle); an empty dict raises, because the GAML ``main_loop`` would
    not advance the simulation at all.
    """
    if type(actions) is not dict and not isinstance(actions, Mapping):
        raise ValueError(f"actions must be a dict agent -> action, got {type(actions).__name__}")
    unknown = [a for a in actions if a not in index]
    if unknown:
        raise ValueError(f"unknown agent(s) {unknown}; the agents are {list(index)}")
    if not actions:
        raise ValueError(
            f"no actions given; expected actions for {list(index)} (the GAML model does not advance on an "
            "empty action map)"
        )
    acting.fill(False)
    row = batch[0]
    for agent, action in actions.items():
        k = index[agent]
        check_action(action, agent, row[k])
        acting[0, k] = True


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


def world_generators(
    seed: int | Sequence[int | None] | None, n: int, previous: Sequence[np.random.Generator] | None = None
) -> list[np.random.Generator]:
    """Generators for ``n`` worlds: from ``seed`` (int: world i gets ``seed + i``; a list: one seed
    per world, None keeping that world's generator), or ``previous`` unchanged when ``seed`` is None."""
    if seed is None:
        return list(previous) if previous is not None else [np.random.default_rng() for _ in range(n)]
    if isinstance(seed, (list, tuple, np.ndarray)):
        if len(seed) != n:
            raise ValueError(f"seed: expected {n} seeds, one per world, got {len(seed)}")
        seeds = [check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)]
        old = list(previous) if previous is not None else [None] * n
        return [
            np.random.default_rng(s) if s is not None else (old[i] or np.random.default_rng())
            for i, s in enumerate(seeds)
        ]
    base = check_seed(seed)
    assert base is not None
    if base + n - 1 >= SEED_LIMIT:
        raise ValueError(f"seed {base} + {n - 1} worlds would pass 2**32")
    return [np.random.default_rng(base + i) for i in range(n)]
