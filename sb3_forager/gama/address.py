"""GAMA server addresses: ``host:port`` parsing, the start hint, and the non-loopback warning."""

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


def parse_server(spec: str, default_port: int = 1001) -> tuple[str, int]:
    """``"host:port"`` (or ``"host"``, ``"[::1]:1001"``) -> ``(host, port)``; raises ``ValueError``."""
    text = spec.strip()
    if not text:
        raise ValueError("empty GAMA server address; expected host:port, e.g. 127.0.0.1:1001")
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:  # a bare host name or a bare IPv6 address
        host, port_text = text, ""
    if not host:
        raise ValueError(f"no host in GAMA server address {spec!r}; expected host:port")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ValueError(f"bad port in GAMA server address {spec!r}; expected host:port") from None
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in GAMA server address {spec!r}")
    return host, port


def ws_uri(host: str, port: int) -> str:
    """The ``ws://`` URI of a GAMA server (IPv6 literals bracketed)."""
    bare = host.strip("[]")
    return f"ws://[{bare}]:{port}" if ":" in bare else f"ws://{bare}:{port}"
