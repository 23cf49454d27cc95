"""The shared checks of user-given values: numbers, integers, points, seeds, servers, backend names.

Every layer (the scenario, the env adapters, the GAMA bridge, the training config, the CLIs) checks
its values with these, so one kind of value has one rule and one wording. Each raises
``ValueError`` naming the value (callers with their own error class re-raise it).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: seeds are numpy's: integers in [0, 2**32)
SEED_LIMIT = 2**32
#: the backends: the compiled simulation, or GAML models on GAMA servers
BACKENDS: tuple[str, ...] = ("embedded", "gama")
#: GAMA's headless server's usual port (``gama-headless.sh -socket 1001``)
DEFAULT_GAMA_PORT = 1001

Point = tuple[float, float]


def number(value: Any, name: str, low: float | None = None, high: float | None = None, low_open: bool = False) -> float:
    """A finite real number (not a bool) in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {x:g}")
    if high is not None and x > high:
        raise ValueError(f"{name} must be <= {high:g}, got {x:g}")
    return x


def integer(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    """An integer in ``[low, high]``; an integral float (``300.0``) is accepted, ``1.7`` and bools are not."""
    integral = isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and float(value).is_integer())
    if isinstance(value, bool) or not integral:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    n = int(value)
    if (low is not None and n < low) or (high is not None and n > high):
        bound = f">= {low}" if high is None else (f"<= {high}" if low is None else f"in [{low}, {high}]")
        raise ValueError(f"{name} must be {bound}, got {n}")
    return n


def point(value: Any, name: str) -> Point:
    """A point ``[x, y]`` of two finite numbers."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)) or len(value) != 2:
        raise ValueError(f"{name} must be a point [x, y], got {value!r}")
    return (number(value[0], f"{name} x"), number(value[1], f"{name} y"))


def points(value: Any, name: str, limit: int, alternative: str = "'random'") -> tuple[Point, ...]:
    """A list of at most ``limit`` points (``alternative``: what else the value may be, for the message)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ValueError(f"{name} must be a list of [x, y] points or {alternative}, got {value!r}")
    if len(value) > limit:
        raise ValueError(f"{name}: at most {limit} points, got {len(value)}")
    return tuple(point(p, f"{name}[{i}]") for i, p in enumerate(value))


def seed(value: Any, name: str = "seed") -> int | None:
    """A seed: None, or an integer in ``[0, 2**32)``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer in [0, 2**32) or None, got {value!r}")
    n = int(value)
    if not 0 <= n < SEED_LIMIT:
        raise ValueError(f"{name} must be in [0, 2**32), got {n}")
    return n


def backend(name: Any) -> str:
    """A backend name: ``embedded`` or ``gama``."""
    if name not in BACKENDS:
        hint = " ('native' is now called 'embedded')" if name == "native" else ""
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {name!r}{hint}")
    return str(name)


def server(spec: Any, default_port: int = DEFAULT_GAMA_PORT) -> tuple[str, int]:
    """A GAMA server address -> ``(host, port)``: ``host:port``, ``host`` (the default port),
    ``[v6]:port`` or a bare IPv6 address; host names (``localhost``) are accepted as they are."""
    text = str(spec).strip()
    if not text:
        raise ValueError("empty GAMA server address; expected host:port, e.g. 127.0.0.1:1001")
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:  # a bare host name or a bare IPv6 address
        host, port_text = text, ""
    if not host:
        raise ValueError(f"no host in GAMA server address {spec!r}; expected host:port, e.g. 127.0.0.1:1001")
    if port_text and not port_text.isdigit():
        raise ValueError(f"bad port in GAMA server address {spec!r}; expected host:port, e.g. 127.0.0.1:1001")
    port = int(port_text) if port_text else int(default_port)
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in GAMA server address {spec!r} (1-65535)")
    return host, port


def servers(value: Any) -> list[tuple[str, int]]:
    """A non-empty list of GAMA server addresses (a list, or one comma-separated string)."""
    items = [s for s in value.split(",") if s.strip()] if isinstance(value, str) else list(value or ())
    if not items:
        raise ValueError("no GAMA server given; expected addresses like 127.0.0.1:1001")
    return [server(s) for s in items]
