"""Managed GAMA headless servers: start ``gama-headless.sh -socket PORT`` ourselves, stop them on every way out.

:class:`GamaServers` is a context manager that owns K GAMA servers on free loopback ports, each in
its own working folder ``<workdir>/gama-server-<i>/`` (GAMA's script creates its ``.workspace*``
folders in its working directory) with its output in ``gama.log`` there::

    with GamaServers("/opt/gama/headless/gama-headless.sh", n_servers=2) as servers:
        venv = make_gama_vec_env("coop", n_worlds=8, servers=servers)

A server is ready when it accepts a WebSocket connection and greets like GAMA (its banner
``Server started ... at port N`` is not relied on). A server that does not start within
``start_timeout``, exits early or finds its port taken raises one :class:`GamaLaunchError` quoting
the last lines of its log.

Stopping: ``close()`` / ``__exit__`` / ``atexit`` send SIGTERM to each server's process group
(GAMA's script runs Java as a *child*, so the script's pid alone is not enough), wait
``stop_timeout`` seconds, then SIGKILL the group. If this process dies without running any of
that (SIGKILL, out of memory), each server gets SIGKILL from the kernel (``PR_SET_PDEATHSIG``) and
a small watchdog process kills what is left of its group (the Java child: the kernel's parent-death
signal reaches only the script). A server that dies while in use is restarted on the same port by
the GAMA backend's recovery (:func:`run_recovering`), at most ``max_restarts`` times.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from .errors import GamaConnectionError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: the environment variable holding the default path of ``gama-headless.sh`` / ``.bat``
ENV_VAR = "GAMA_HEADLESS"
#: how many lines of a server's log an error quotes
LOG_TAIL = 20
#: log text that means the server could not bind its port (Java's BindException)
_PORT_TAKEN = ("address already in use", "bindexception", "failed to bind")
_WINDOWS = os.name == "nt"
_LINUX = sys.platform.startswith("linux")

#: the running managed servers by address (the backend's recovery looks its worlds' servers up here)
_registry: dict[str, GamaServers] = {}


class GamaLaunchError(GamaConnectionError):
    """A managed GAMA server did not start (timeout, early exit, port taken) or could not be restarted."""


# ---------------------------------------------------------------------------------------- checks
def resolve_launch(path: str | os.PathLike[str] | None) -> Path:
    """The launch script to run: ``path``, or the ``GAMA_HEADLESS`` variable; raise ValueError naming
    the value when it is missing, a folder, or not executable."""
    if path is None or str(path) == "":
        path = os.environ.get(ENV_VAR, "")
        if not path:
            raise ValueError(
                f"no GAMA launch script given: pass the path of GAMA's headless/gama-headless.sh "
                f"(gama-headless.bat on Windows) or set {ENV_VAR}"
            )
    p = Path(path).expanduser()
    if not p.exists():
        raise ValueError(f"the GAMA launch script {str(path)!r} does not exist")
    if p.is_dir():
        raise ValueError(f"the GAMA launch script {str(path)!r} is a folder; give its headless/gama-headless.sh")
    if not _WINDOWS and not os.access(p, os.X_OK):
        raise ValueError(f"the GAMA launch script {str(path)!r} is not executable (chmod +x {p})")
    return p.resolve()


def n_servers_value(n: Any) -> int:
    """The number of servers as an int >= 1 (ValueError naming the value otherwise)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of GAMA servers must be an integer >= 1, got {n!r}")
    return n


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct TCP ports on ``host`` with nothing listening (bound together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound (nothing listening there)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


# ------------------------------------------------------------------------------------ processes
_libc_prctl: Any = None
if _LINUX:
    try:
        import ctypes

        _libc_prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc
        _libc_prctl = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> Callable[[], None]:
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


def _from_lasting_thread(fn: Callable[[], T]) -> T:
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


def _group_members(pgid: int) -> list[int]:
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


def _signal_group(pgid: int, sig: int) -> None:
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


class _Watchdog:
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


# -------------------------------------------------------------------------------------- servers
class _Server:
    """One managed server: its process, folder, log and port."""

    def __init__(self, index: int, folder: Path, port: int) -> None:
        self.index = index
        self.folder = folder
        self.port = port
        self.log_path = folder / "gama.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pgid: int | None = None
        self.log_offset = 0  # where this run's output starts in gama.log
        self.restarts = 0

    def log_text(self) -> str:
        """What the current run of the server wrote to its log."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self, n: int = LOG_TAIL) -> str:
        """The last ``n`` non-blank lines of :meth:`log_text`, indented, for error messages."""
        lines = [line for line in self.log_text().splitlines() if line.strip()][-n:]
        return "\n".join(f"    {line}" for line in lines) if lines else "    (the log is empty)"


class GamaServers:
    """K GAMA headless servers started, watched and stopped by this object.

    Args:
        launch: GAMA's ``headless/gama-headless.sh`` (``.bat`` on Windows); default the
            ``GAMA_HEADLESS`` environment variable.
        n_servers: how many servers (each on its own free port).
        workdir: the parent of the servers' folders ``gama-server-<i>/``; default a new temporary
            folder, removed by :meth:`close` (a given folder is kept, logs included).
        start_timeout: seconds a server may take to accept connections.
        stop_timeout: seconds between SIGTERM and SIGKILL when stopping.
        max_restarts: how many times each server may be restarted after dying.
        host: the loopback address the servers are reached at.
        ports: fixed ports (one per server) instead of free ones.
        extra_args: more arguments for the script (e.g. ``["-m", "4g"]``).

    ``start()`` (or ``with``) starts them; :attr:`addresses` are their ``host:port``, accepted by the
    GAMA envs and VecEnvs (``servers=``, or pass the object itself).
    """

    def __init__(
        self,
        launch: str | os.PathLike[str] | None = None,
        n_servers: int = 1,
        workdir: str | os.PathLike[str] | None = None,
        *,
        start_timeout: float = 120.0,
        stop_timeout: float = 10.0,
        max_restarts: int = 3,
        host: str = "127.0.0.1",
        ports: Sequence[int] | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.launch = resolve_launch(launch)
        self.n_servers = n_servers_value(n_servers)
        if ports is not None and len(ports) != self.n_servers:
            raise ValueError(f"ports must give one port per server ({self.n_servers}), got {list(ports)!r}")
        for name, value in (("start_timeout", start_timeout), ("stop_timeout", stop_timeout)):
            if not float(value) > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {value!r}")
        self.workdir = Path(workdir) if workdir is not None else None
        self.start_timeout = float(start_timeout)
        self.stop_timeout = float(stop_timeout)
        self.max_restarts = int(max_restarts)
        self.host = host
        self._ports = list(ports) if ports is not None else None
        self.extra_args = [str(a) for a in extra_args]
        self._servers: list[_Server] = []
        self._temp = False
        self._watchdog: _Watchdog | None = None
        self._pid = os.getpid()
        self._lock = threading.RLock()
        self.started = False
        self.closed = False

    # ------------------------------------------------------------------ public
    @property
    def addresses(self) -> list[str]:
        """``host:port`` of each server (after :meth:`start`)."""
        if not self.started:
            raise RuntimeError("the GAMA servers are not started: use start() or a with block")
        return [f"{self.host}:{s.port}" for s in self._servers]

    @property
    def folders(self) -> list[Path]:
        """Each server's working folder (its ``gama.log`` and GAMA's ``.workspace*`` are there)."""
        return [s.folder for s in self._servers]

    @property
    def pids(self) -> list[int | None]:
        """Each server's script pid (its process group id too); None for a stopped one."""
        return [s.proc.pid if s.proc is not None else None for s in self._servers]

    def start(self, workdir: str | os.PathLike[str] | None = None) -> GamaServers:
        """Start every server and wait until all accept connections; raise :class:`GamaLaunchError`
        (every server stopped again) when one does not."""
        with self._lock:
            if self.closed:
                raise RuntimeError("these GAMA servers were closed; make a new GamaServers")
            if self.started:
                return self
            if workdir is not None:
                self.workdir = Path(workdir)
            if self.workdir is None:
                self.workdir = Path(tempfile.mkdtemp(prefix="sb3_forager-gama-"))
                self._temp = True
            ports = self._ports or free_ports(self.n_servers, self.host)
            taken = [p for p in ports if not port_is_free(self.host, p)]
            if taken:
                raise GamaLaunchError(f"cannot start GAMA on {self.host}:{taken[0]}: the port is taken by another program")
            self._servers = [_Server(i, self.workdir / f"gama-server-{i}", p) for i, p in enumerate(ports)]
            self.started = True
            self._watchdog = _Watchdog() if not _WINDOWS else None
            _atexit_register(self)
            try:
                for s in self._servers:
                    self._spawn(s)
                deadline = time.monotonic() + self.start_timeout
                for s in self._servers:
                    self._wait_ready(s, deadline)
            except BaseException:
                self.close(_keep=True)
                raise
            for address in self.addresses:
                _registry[address] = self
            log.info("started %d GAMA server(s) at %s (folders in %s)", self.n_servers, ", ".join(self.addresses), self.workdir)
            return self

    def restart(self, index: int) -> None:
        """Stop server ``index`` (whatever is left of it) and start it again on the same port; raise
        :class:`GamaLaunchError` when it was restarted ``max_restarts`` times already or does not start."""
        with self._lock:
            s = self._servers[index]
            if s.restarts >= self.max_restarts:
                raise GamaLaunchError(
                    f"the managed GAMA server {index} ({self.host}:{s.port}) died again after {s.restarts} restart(s) "
                    f"(the limit, max_restarts={self.max_restarts}); the last lines of {s.log_path}:\n{s.tail()}"
                )
            s.restarts += 1
            self._stop(s, grace=min(self.stop_timeout, 2.0))
            self._spawn(s)
            self._wait_ready(s, time.monotonic() + self.start_timeout)
            log.warning("restarted the GAMA server %d at %s:%d (restart %d of at most %d)", index, self.host, s.port,
                        s.restarts, self.max_restarts)  # fmt: skip

    def exit_code(self, index: int) -> int | None:
        """Server ``index``'s exit code, None while it runs."""
        proc = self._servers[index].proc
        return None if proc is None else proc.poll()

    def is_dead(self, index: int, wait: float = 2.0) -> bool:
        """Whether server ``index`` is gone: its script exited, or (after up to ``wait`` seconds for it
        to exit) its port refuses connections."""
        s = self._servers[index]
        end = time.monotonic() + wait
        while True:
            if s.proc is None or s.proc.poll() is not None:
                return True
            if time.monotonic() >= end:
                return not _accepts(self.host, s.port, 1.0)
            time.sleep(0.05)

    def index_of(self, address: str) -> int | None:
        """The index of the server at ``address`` (``host:port``), None if it is not one of these."""
        if not self.started:
            return None
        try:
            return self.addresses.index(address)
        except ValueError:
            return None

    def close(self, _keep: bool = False) -> None:
        """Stop every server (SIGTERM to its process group, then SIGKILL after ``stop_timeout``);
        idempotent. A temporary workdir is removed (kept when starting failed)."""
        with self._lock:
            if self.closed or os.getpid() != self._pid:
                return
            self.closed = True
            _atexit_unregister(self)
            for s in self._servers:
                _registry.pop(f"{self.host}:{s.port}", None)
            live = [s for s in self._servers if s.proc is not None]
            for s in live:
                if s.pgid is not None:
                    _signal_group(s.pgid, signal.SIGTERM) if not _WINDOWS else s.proc.terminate()  # type: ignore[union-attr]
            deadline = time.monotonic() + self.stop_timeout
            for s in live:
                self._stop(s, grace=max(0.0, deadline - time.monotonic()), signalled=True)
            if self._watchdog is not None:
                self._watchdog.close()
                self._watchdog = None
            if self._temp and not _keep and self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> GamaServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = ", ".join(self.addresses) if self.started and not self.closed else ("closed" if self.closed else "not started")
        return f"GamaServers({str(self.launch)!r}, n_servers={self.n_servers}: {where})"

    # ------------------------------------------------------------------ internals
    def _spawn(self, s: _Server) -> None:
        s.folder.mkdir(parents=True, exist_ok=True)
        cmd = [str(self.launch), "-socket", str(s.port), *self.extra_args]
        if _WINDOWS and self.launch.suffix.lower() in (".bat", ".cmd"):
            cmd = ["cmd.exe", "/c", *cmd]
        with open(s.log_path, "ab") as out:
            s.log_offset = out.tell()
            out.write(f"=== sb3_forager: {' '.join(cmd)} (in {s.folder}) at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            out.flush()
            s.log_offset = out.tell()
            kwargs: dict[str, Any] = {}
            if _WINDOWS:
                kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
            else:
                kwargs["start_new_session"] = True  # its own process group: stopped as a whole
                kwargs["preexec_fn"] = _die_with_parent(os.getpid())  # tied to the thread that forks: see below
            s.proc = _from_lasting_thread(lambda: subprocess.Popen(
                cmd, cwd=s.folder, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, close_fds=True, **kwargs
            ))  # fmt: skip
        s.pgid = s.proc.pid if not _WINDOWS else None
        if self._watchdog is not None and s.pgid is not None:
            self._watchdog.tell(f"+{s.pgid}")
        log.debug("GAMA server %d: pid %d, port %d, folder %s", s.index, s.proc.pid, s.port, s.folder)

    def _fail(self, s: _Server, what: str) -> GamaLaunchError:
        return GamaLaunchError(
            f"the GAMA server {s.index} ({self.launch} -socket {s.port}, in {s.folder}) {what}; "
            f"the last lines of {s.log_path}:\n{s.tail()}"
        )

    def _wait_ready(self, s: _Server, deadline: float) -> None:
        """Until ``s`` accepts a WebSocket connection with GAMA's greeting, or raise."""
        assert s.proc is not None
        accepted = False
        while True:
            code = s.proc.poll()
            if code is not None:
                raise self._fail(s, f"exited with code {code} before accepting connections")
            if any(p in s.log_text().lower() for p in _PORT_TAKEN):
                raise self._fail(s, f"could not listen on port {s.port}: the port is taken")
            if _accepts(self.host, s.port, 0.5):
                accepted = True
                if _greets(self.host, s.port, min(5.0, max(0.5, deadline - time.monotonic()))):
                    return
            if time.monotonic() >= deadline:
                why = ("accepted TCP connections but never greeted like a GAMA server" if accepted
                       else "did not accept connections")  # fmt: skip
                raise self._fail(s, f"{why} within {self.start_timeout:g} s (start_timeout)")
            time.sleep(0.1)

    def _stop(self, s: _Server, grace: float, signalled: bool = False) -> None:
        """Stop ``s``'s process group: SIGTERM (unless ``signalled``), ``grace`` seconds, SIGKILL; reap it."""
        proc, pgid = s.proc, s.pgid
        if proc is None:
            return
        if _WINDOWS:  # pragma: no cover - not tested here
            if proc.poll() is None:
                subprocess.run(["taskkill", "/PID", str(proc.pid), "/T", "/F"], capture_output=True, timeout=30)
            proc.wait(30)
            s.proc = None
            return
        assert pgid is not None
        if not signalled:
            _signal_group(pgid, signal.SIGTERM)
        end = time.monotonic() + grace
        while _group_members(pgid) and time.monotonic() < end:
            time.sleep(0.05)
        if _group_members(pgid):
            log.warning("GAMA server %d (port %d) did not stop within %.1f s of SIGTERM: killing it", s.index, s.port, grace)
            _signal_group(pgid, signal.SIGKILL)
            end = time.monotonic() + 5.0
            while _group_members(pgid) and time.monotonic() < end:
                time.sleep(0.02)
        if self._watchdog is not None:
            self._watchdog.tell(f"-{pgid}")
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover - killed above
            pass
        s.proc = None
        s.pgid = None


def _accepts(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _greets(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` completes a WebSocket handshake and sends GAMA's ``ConnectionSuccessful``."""
    from .connection import GamaConnection
    from .io_loop import run_sync

    async def probe() -> bool:
        conn = GamaConnection(host, port, timeout)
        try:
            await conn.open()
        except GamaConnectionError:
            return False
        await conn.close()
        return True

    try:
        return run_sync(probe(), timeout + 10.0)
    except GamaConnectionError:
        return False


# ----------------------------------------------------------------------------------------- atexit
#: started and not closed (held here so that a GamaServers nobody keeps still runs until closed or exit)
_open_servers: set[GamaServers] = set()


def _close_all_at_exit() -> None:
    for servers in list(_open_servers):
        try:
            servers.close()
        except Exception:  # pragma: no cover - best effort at exit
            log.debug("closing GAMA servers at exit failed", exc_info=True)


atexit.register(_close_all_at_exit)


def _atexit_register(servers: GamaServers) -> None:
    _open_servers.add(servers)


def _atexit_unregister(servers: GamaServers) -> None:
    _open_servers.discard(servers)


# ---------------------------------------------------------------------------------------- recovery
def managed(address: str) -> GamaServers | None:
    """The running :class:`GamaServers` that owns ``address`` (``host:port``), if any."""
    return _registry.get(address)


def split_servers(servers: Any) -> list[str] | Any:
    """``servers`` as the address list the GAMA envs take: a :class:`GamaServers` gives its addresses."""
    return servers.addresses if isinstance(servers, GamaServers) else servers


#: rounds of restart-and-retry per backend operation
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
