"""Recovery of the worlds of a managed GAMA server that died: restart it, restore (replay) the worlds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from .errors import GamaConnectionError
from .launcher import GamaLaunchError, GamaServers, managed

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_ROUNDS = 2


async def _settle(aws: Iterable[Awaitable[T]]) -> list[T | BaseException]:
    return list(await asyncio.gather(*aws, return_exceptions=True))


def run_recovering(
    run: Callable[[Awaitable[Any]], Any],
    worlds: Sequence[Any],
    make: Callable[[int], Awaitable[T]],
    idx: Sequence[int],
) -> list[T]:
    """Run ``make(w)`` for the worlds ``idx`` (on the backend's loop through ``run``); a world that
    failed because its *managed* server died has that server restarted and the episode restored
    (replayed) before ``make(w)`` is tried again, for at most :data:`RETRY_ROUNDS` rounds and each
    server's ``max_restarts``. Any other failure (or one that persists) is raised as it came, the
    first one after all worlds are done, as :func:`~sb3_forager.gama.backend.gather_all` does."""
    idx = list(idx)
    results: list[Any] = run(_settle(make(w) for w in idx))
    restarted: dict[tuple[GamaServers, int], int] = {}
    for _ in range(RETRY_ROUNDS):
        failed = [k for k, r in enumerate(results) if isinstance(r, BaseException)]
        owners = _dead_owners(worlds, idx, results, failed)
        if not owners:
            break
        try:
            for (servers, i), ks in owners.items():
                log.warning(
                    "the managed GAMA server %d (%s) died (exit code %s): restarting it and restoring its %d world(s)",
                    i, servers.addresses[i], servers.exit_code(i), len(ks),
                )  # fmt: skip
                servers.restart(i)
                restarted[servers, i] = restarted.get((servers, i), 0) + 1
        except GamaLaunchError as exc:
            first = results[failed[0]]
            raise type(first)(f"{first}; {exc}") from exc

        async def again(w: int) -> T:
            await worlds[w].restore()
            return await make(w)

        redo = [k for ks in owners.values() for k in ks]
        for k, r in zip(redo, run(_settle(again(idx[k]) for k in redo))):
            results[k] = r
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        for other in failures[1:]:
            log.warning("another GAMA world failed in the same operation: %r", other)
        first = failures[0]
        if restarted and isinstance(first, GamaConnectionError):
            again = ", ".join(f"server {i} {k} time(s) (log: {servers._servers[i].log_path})"
                              for (servers, i), k in restarted.items())  # fmt: skip
            raise type(first)(f"{first}; it failed again after restarting the managed GAMA {again}") from first
        raise first
    return results


def _dead_owners(
    worlds: Sequence[Any], idx: list[int], results: list[Any], failed: list[int]
) -> dict[tuple[GamaServers, int], list[int]]:
    """``{(servers, i): [k, ...]}`` when every failure in ``failed`` is a lost connection to a managed
    server that is dead; ``{}`` otherwise (then the failures are raised as they are)."""
    owners: dict[tuple[GamaServers, int], list[int]] = {}
    for k in failed:
        address = worlds[idx[k]].address
        servers = managed(address)
        i = servers.index_of(address) if servers is not None else None
        if not isinstance(results[k], GamaConnectionError) or servers is None or i is None:
            return {}
        owners.setdefault((servers, i), []).append(k)
    if not all(servers.is_dead(i) for servers, i in owners):
        return {}  # a server that is alive: the failure is not ours to fix
    return owners
