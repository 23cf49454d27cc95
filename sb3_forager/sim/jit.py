"""The one switch between compiled and interpreted kernels (:mod:`sb3_forager.sim.kernels`).

With numba the kernels are compiled on first use and cached on disk (``cache=True``); without it,
or with ``SB3_FORAGER_JIT=0``, the same functions run as plain Python (identical results, about a
hundred times slower) and a warning says so once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_DISABLED = os.environ.get("SB3_FORAGER_JIT", "1").strip().lower() in ("0", "false", "no", "off")

try:  # pragma: no cover - which branch runs depends on the installation
    if _DISABLED:
        raise ImportError("disabled by SB3_FORAGER_JIT=0")
    import numba

    JIT_AVAILABLE = True
    JIT_PROBLEM = ""
except ImportError as exc:  # pragma: no cover
    numba = None
    JIT_AVAILABLE = False
    JIT_PROBLEM = str(exc)

_warned = False


def warn_if_interpreted() -> None:
    """Log once that the kernels run uncompiled (and why)."""
    global _warned
    if not JIT_AVAILABLE and not _warned:
        _warned = True
        log.warning(
            "numba is not available (%s): the simulation kernels run as plain Python, about 100x "
            "slower than compiled; `pip install numba` (>= 0.64) to compile them",
            JIT_PROBLEM,
        )


def kernel(fn: F) -> F:
    """Compile ``fn`` with ``numba.njit(cache=True)``, or return it unchanged without numba."""
    if numba is None:
        return fn
    return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)  # type: ignore[return-value]
