"""Per-world random generators, seeded as Gymnasium seeds its envs.

World ``i`` of a batched env seeded with ``s`` uses ``np.random.default_rng(s + i)``, which is
what ``gymnasium.utils.seeding.np_random(s + i)`` gives: so world ``i`` draws exactly the episodes
of a single env reset with ``seed=s + i``, on either backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..common.checks import SEED_LIMIT
from ..common.checks import seed as check_seed


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
