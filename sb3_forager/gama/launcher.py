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

import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import GamaConnectionError
from .processes import _WINDOWS, Watchdog, die_with_parent, from_lasting_thread, group_members, signal_group

log = logging.getLogger(__name__)

#: the environment variable holding the default path of ``gama-headless.sh`` / ``.bat``
ENV_VAR = "GAMA_HEADLESS"
#: how many lines of a server's log an error quotes
LOG_TAIL = 20
#: log text that means the server could not bind its port (Java's BindException)
_PORT_TAKEN = ("address already in use", "bindexception", "failed to bind")

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
        self._watchdog: Watchdog | None = None
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
            self._watchdog = Watchdog() if not _WINDOWS else None
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
                    signal_group(s.pgid, signal.SIGTERM) if not _WINDOWS else s.proc.terminate()  # type: ignore[union-attr]
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
                kwargs["preexec_fn"] = die_with_parent(os.getpid())  # tied to the thread that forks: see below
            s.proc = from_lasting_thread(lambda: subprocess.Popen(
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
            signal_group(pgid, signal.SIGTERM)
        end = time.monotonic() + grace
        while group_members(pgid) and time.monotonic() < end:
            time.sleep(0.05)
        if group_members(pgid):
            log.warning("GAMA server %d (port %d) did not stop within %.1f s of SIGTERM: killing it", s.index, s.port, grace)
            signal_group(pgid, signal.SIGKILL)
            end = time.monotonic() + 5.0
            while group_members(pgid) and time.monotonic() < end:
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
