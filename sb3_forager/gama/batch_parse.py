"""One pass over a ``step_worlds`` answer of W worlds into (W, ...) arrays.

The strict per-world parsers (:class:`~sb3_forager.gama.batched.WorldsContract.parse_step`, built on
:mod:`.contracts`) check every number with its own call and name the field of a bad one; at W = 32
that was most of the client's time per step. Here the same checks run over the whole answer at once
(the JSON types by ``set(map(type, ...))``, the values with numpy); an answer this pass does not
accept (bad data, or a shape it does not cover, such as non-empty infos of the single forager) gives
None and the caller runs the strict parsers, which either accept it or raise the error naming the world.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

from ..sim import StepResult
from ..sim.world import WORLD
from .contracts import BOX_TOLERANCE

_NUMBER = frozenset({int, float})
_BOOL = frozenset({bool})


def _numbers(values: Sequence[Any]) -> np.ndarray | None:
    """Finite JSON numbers (no bool, no string) as float64, or None."""
    if not set(map(type, values)) <= _NUMBER:
        return None
    arr = np.array(values, dtype=np.float64)
    return arr if np.isfinite(arr).all() else None


def _observations(rows: list[Any], shape: tuple[int, ...]) -> np.ndarray | None:
    """Lists of finite numbers in the Box [0, 1] (up to GAMA's rounding), clipped, or None."""
    if not set(map(type, rows)) <= {list} or not set(map(type, chain.from_iterable(rows))) <= _NUMBER:
        return None
    try:
        obs = np.array(rows, dtype=np.float64)
    except ValueError:  # rows of different lengths
        return None
    if obs.shape != (len(rows), shape[-1]) or not np.isfinite(obs).all():
        return None
    if ((obs < -BOX_TOLERANCE) | (obs > 1.0 + BOX_TOLERANCE)).any():
        return None
    return np.clip(obs, 0.0, 1.0, out=obs).reshape(shape)


def _flags(values: list[Any]) -> np.ndarray | None:
    return np.array(values, dtype=bool) if set(map(type, values)) <= _BOOL else None


def _result(obs, reward, terminated, truncated, over, success, at_food, infos) -> StepResult:  # type: ignore[no-untyped-def]
    n, k = reward.shape
    return StepResult(obs, reward, terminated, truncated, over, success, at_food, np.full((n, k), -1),
                      np.zeros(n, dtype=np.int64), infos)  # fmt: skip


def single(value: Any, n: int, obs_dim: int) -> tuple[StepResult, list[int]] | None:
    """The answer of n single-forager worlds: (the (n, 1, ...) result, the worlds that carry a 'Reset')."""
    if type(value) is not list or len(value) != n or not set(map(type, value)) <= {dict}:
        return None
    try:
        states = [m["State"] for m in value]
        rewards = [m["Reward"] for m in value]
        term_raw = [m["Terminated"] for m in value]
        trunc_raw = [m["Truncated"] for m in value]
    except KeyError:
        return None
    infos = [m.get("Info", {}) for m in value]
    if not set(map(type, infos)) <= {dict, list} or any(infos):
        return None  # an info with fields: the strict parser reads them
    obs, reward = _observations(states, (n, 1, obs_dim)), _numbers(rewards)
    terminated, truncated = _flags(term_raw), _flags(trunc_raw)
    if obs is None or reward is None or terminated is None or truncated is None:
        return None
    over = terminated | truncated
    resets = [w for w, m in enumerate(value) if "Reset" in m]
    if resets != np.flatnonzero(over).tolist():
        return None
    # no at_food info: the model's Terminated is its success (as GymAgentContract.parse_step)
    result = _result(obs, reward[:, None], terminated[:, None], truncated[:, None], over, terminated.copy(),
                     terminated[:, None].copy(), [[{}] for _ in range(n)])  # fmt: skip
    return result, resets


def team(value: Any, n: int, ids: Sequence[str], obs_dim: int) -> tuple[StepResult, list[int]] | None:
    """The answer of n team worlds of the foragers ``ids`` (each map's entries in that order)."""
    ids = list(ids)
    k = len(ids)
    if type(value) is not list or len(value) != n or not set(map(type, value)) <= {dict}:
        return None
    try:
        parts = [(m["Observations"], m["Rewards"], m["Terminations"], m["Truncations"], m.get("Infos"), m["Agents"])
                 for m in value]  # fmt: skip
    except KeyError:
        return None
    maps = [p[i] for p in parts for i in range(4)] + [p[4] for p in parts if p[4] is not None]
    if not set(map(type, maps)) <= {dict} or any(list(m) != ids for m in maps):
        return None  # not one entry per forager in the bridge's order: the strict parser decides
    obs = _observations([p[0][a] for p in parts for a in ids], (n, k, obs_dim))
    reward = _numbers([p[1][a] for p in parts for a in ids])
    terminated, truncated = _flags([p[2][a] for p in parts for a in ids]), _flags([p[3][a] for p in parts for a in ids])
    agents = [p[5] for p in parts]
    if obs is None or reward is None or terminated is None or truncated is None:
        return None
    if any(a != ids and a != [] for a in agents):
        return None
    infos = [[{} for _ in ids] if p[4] is None else [p[4][a] for a in ids] for p in parts]
    flat = list(chain.from_iterable(infos))
    if not set(map(type, flat)) <= {dict, list} or any(type(i) is list and i for i in flat):
        return None
    flat = [i if type(i) is dict else {} for i in flat]
    if not set(type(i["at_food"]) for i in flat if "at_food" in i) <= _BOOL:
        return None
    near = (obs[:, :, 2] * WORLD.max_distance < WORLD.food_radius).ravel()
    at_food = np.array([i["at_food"] if "at_food" in i else bool(c) for i, c in zip(flat, near)]).reshape(n, k)
    over = np.array([a == [] for a in agents], dtype=bool)
    resets = [w for w, m in enumerate(value) if "Reset" in m]
    if resets != np.flatnonzero(over).tolist():
        return None
    infos = [[dict(i) for i in flat[w * k:(w + 1) * k]] for w in range(n)]
    result = _result(obs, reward.reshape(n, k), terminated.reshape(n, k), truncated.reshape(n, k), over,
                     over & at_food.all(axis=1), at_food, infos)  # fmt: skip
    return result, resets


_FIELDS = ("obs", "reward", "terminated", "truncated", "episode_over", "success", "at_food", "arrival", "steps")


def join(results: Sequence[StepResult]) -> StepResult:
    """Results of consecutive worlds as one (infos concatenated)."""
    if len(results) == 1:
        return results[0]
    infos = [i for r in results for i in (r.infos or [])]
    return StepResult(*(np.concatenate([getattr(r, f) for r in results]) for f in _FIELDS), infos)


def row(result: StepResult, i: int) -> StepResult:
    """World ``i`` of ``result`` as a one-world result (views)."""
    return StepResult(*(getattr(result, f)[i:i + 1] for f in _FIELDS), None if result.infos is None else [result.infos[i]])
