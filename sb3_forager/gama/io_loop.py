"""The backend's own asyncio event loop, in a daemon thread, and a blocking ``run_sync`` into it.

All GAMA connections of a process live on this one loop. Ordinary (synchronous) code, SB3
workers, notebooks with their own running loop and threads all call :func:`run_sync`, so nobody
needs a running loop of their own (gama-client needs one), and the WebSocket keeps answering the
server's keep-alive pings between commands (gama-client only reads while a command runs).
A forked child gets a fresh loop: threads do not survive ``fork``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import GamaError, GamaTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")

_lock = threading.Lock()
_state: tuple[int, asyncio.AbstractEventLoop, threading.Thread] | None = None


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop for the backend: uvloop's where it is installed (Linux and macOS; the
    asyncio loop's bookkeeping was about a third of the client's CPU per 32-world step, and uvloop
    cuts a round trip's by a quarter), else asyncio's (Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def io_loop() -> asyncio.AbstractEventLoop:
    """This process's backend loop (started on first use, restarted in a forked child)."""
    global _state
    with _lock:
        if _state is not None and _state[0] == os.getpid() and _state[2].is_alive():
            return _state[1]
        loop = new_loop()
        thread = threading.Thread(target=_serve, args=(loop,), name="sb3_forager-gama-io", daemon=True)
        thread.start()
        _state = (os.getpid(), loop, thread)
        log.debug("started the GAMA I/O loop in thread %s", thread.name)
        return loop


def in_io_thread() -> bool:
    """Whether the caller runs on the backend loop's own thread."""
    return _state is not None and _state[2] is threading.current_thread()


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
    """Run ``coro`` on the backend loop and wait for its result (at most ``timeout`` seconds).

    The coroutines bound every network wait themselves; ``timeout`` is a last-resort guard.
    If the caller is interrupted (Ctrl-C) or the guard fires, the coroutine is cancelled.
    """
    if in_io_thread():
        coro.close()
        raise GamaError("run_sync() called from the GAMA I/O thread itself (would deadlock)")
    future = asyncio.run_coroutine_threadsafe(coro, io_loop())
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        if future.done():
            raise  # the coroutine itself raised a TimeoutError (e.g. GamaTimeoutError): pass it on
        future.cancel()
        raise GamaTimeoutError(f"a GAMA operation did not finish within {timeout:.1f} s") from None
    except BaseException:
        future.cancel()
        raise
