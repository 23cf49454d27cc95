"""GAMA server addresses: the start hint, the WebSocket URI and the non-loopback warning
(``host:port`` parsing is :func:`sb3_forager.common.checks.server`)."""

from __future__ import annotations

import ipaddress
import logging
import socket

log = logging.getLogger(__name__)

_warned: set[str] = set()


def start_hint(port: int) -> str:
    """How to start a GAMA headless server on ``port``."""
    return f"start one with `gama-headless.sh -socket {port}` (gama-headless.bat on Windows)"


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address ``name`` spells, also in the short IPv4 forms ``connect()`` accepts (``127.1``)."""
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if name and all(part.isdigit() for part in name.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def is_loopback(host: str) -> bool:
    """Whether connecting to ``host`` reaches this machine: ``localhost``, a loopback address in any
    spelling (``127.0.0.1``, ``127.1``, ``::1``, ``::ffff:127.0.0.1``) or the unspecified address
    (``0.0.0.0``, ``::``, which ``connect()`` sends to this machine). Names are not resolved."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = _ip(name)
    if ip is None:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_loopback or ip.is_unspecified


def warn_if_remote(host: str, port: int) -> None:
    """Log a warning (once per address) when ``host`` is not a loopback address."""
    key = f"{host}:{port}"
    if is_loopback(host) or key in _warned:
        return
    _warned.add(key)
    log.warning(
        "GAMA server %s is not on this machine: the GAMA server runs any GAML expression it is sent "
        "and has no authentication, so only use it on a network you trust (or an SSH tunnel to localhost)",
        key,
    )


def ws_uri(host: str, port: int) -> str:
    """The ``ws://`` URI of a GAMA server (IPv6 literals bracketed)."""
    bare = host.strip("[]")
    return f"ws://[{bare}]:{port}" if ":" in bare else f"ws://{bare}:{port}"
