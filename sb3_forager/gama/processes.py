"""The managed GAMA servers' processes: dying with their parent, their process groups, the watchdog.

GAMA's script runs Java as a *child*, so a server is a process group: it is signalled as a group,
the kernel's parent-death signal (``PR_SET_PDEATHSIG``) reaches only the script, and a small
watchdog process kills what is left of the group when this process dies without cleaning up.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_WINDOWS = os.name == "nt"
_LINUX = sys.platform.startswith("linux")

_libc_prctl: Any = None
if _LINUX:
    try:
        import ctypes

        _libc_prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc
        _libc_prctl = None
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> Callable[[], None]:
    def preexec() -> None:  # runs in the child between fork and exec
        # Linux: the kernel sends SIGKILL to this server when the process that started it dies, even by
        # SIGKILL (then no atexit or finally of ours runs); the watchdog handles the server's own children
        if _libc_prctl is not None:
            _libc_prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: do not outlive it
            os._exit(1)

    return preexec


_spawner: tuple[int, "queue.Queue[Any]"] | None = None
_spawner_lock = threading.Lock()


def from_lasting_thread(fn: Callable[[], T]) -> T:
    """``fn()`` on a thread that lives as long as the process: the main thread, or else one daemon
    thread of ours. (Linux's parent-death signal follows the *thread* that forked: a server started
    from a short-lived thread would be killed when that thread ends.)"""
    global _spawner
    if threading.current_thread() is threading.main_thread():
        return fn()
    with _spawner_lock:
        if _spawner is None or _spawner[0] != os.getpid():
            jobs: queue.Queue[Any] = queue.Queue()

            def serve() -> None:
                while True:
                    job, done = jobs.get()
                    try:
                        done.set_result(job())
                    except BaseException as exc:  # handed to the caller
                        done.set_exception(exc)

            threading.Thread(target=serve, name="sb3_forager-gama-spawner", daemon=True).start()
            _spawner = (os.getpid(), jobs)
    done: concurrent.futures.Future[T] = concurrent.futures.Future()
    _spawner[1].put((fn, done))
    return done.result()


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    if not _LINUX:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp ...
        if len(fields) > 2 and fields[0] not in (b"Z", b"X") and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


_WATCHDOG = r"""
import os, select, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
parent, groups, buf, fd = int(sys.argv[1]), set(), b"", sys.stdin.fileno()
def kill_all():
    for g in groups:
        try:
            os.killpg(g, signal.SIGKILL)
        except OSError:
            pass
while True:
    ready = select.select([fd], [], [], 0.25)[0]
    if ready:
        data = os.read(fd, 4096)
        if not data:
            kill_all()
            break
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line == b"bye":
                sys.exit(0)
            (groups.add if line[:1] == b"+" else groups.discard)(int(line[1:]))
    elif os.getppid() != parent:
        kill_all()
        break
"""


class Watchdog:
    """A tiny process that SIGKILLs the registered process groups when this process dies (it sees its
    stdin close, or its parent change). Told ``+pgid`` / ``-pgid``; ``bye`` lets it go quietly."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
        self._lock = threading.Lock()

    def tell(self, line: str) -> None:
        with self._lock:
            if self.proc.stdin is None or self.proc.poll() is not None:
                return
            try:
                self.proc.stdin.write(line.encode() + b"\n")
                self.proc.stdin.flush()
            except OSError:
                pass

    def close(self) -> None:
        self.tell("bye")
        with self._lock:
            if self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover - it exits on "bye"
            self.proc.kill()
            self.proc.wait()
