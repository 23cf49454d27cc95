"""Checking that GAMA servers answer, before anything is built on them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ..common.checks import server
from .connection import GamaConnection
from .errors import GamaConnectionError
from .io_loop import run_sync


async def _probe(host: str, port: int, timeout: float) -> str | None:
    conn = GamaConnection(host, port, timeout)
    try:
        await conn.open()
    except GamaConnectionError as exc:
        return str(exc)
    await conn.close()
    return None


def probe_servers(servers: Sequence[str], connect_timeout: float = 5.0) -> None:
    """Connect to each GAMA server once (handshake and greeting) and disconnect; raise one
    :class:`GamaConnectionError` naming every server that did not answer."""
    addresses = list(dict.fromkeys(server(s) for s in servers))

    async def probe_all() -> list[str | None]:
        return await asyncio.gather(*(_probe(h, p, connect_timeout) for h, p in addresses))

    problems = run_sync(probe_all(), connect_timeout + 10.0)
    failed = [msg for msg in problems if msg is not None]
    if failed:
        raise GamaConnectionError("; ".join(failed))
