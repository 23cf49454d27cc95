"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` in a temporary folder.

The server listens on ``127.0.0.1`` on a free port, trusts local connections (no password), runs
with ``fsync`` off (a test database is disposable) and is stopped and deleted afterwards::

    with PostgresServer() as pg:
        url = pg.create_database("study")   # postgresql+psycopg://postgres@127.0.0.1:<port>/study

The server binaries are Debian's ``postgresql`` package (``/usr/lib/postgresql/<major>/bin``; set
``SB3F_PG_BIN`` to use another folder). PostgreSQL refuses to run as root, so when the tests run as
root the server runs as the ``postgres`` system user (which the Debian package creates), through
``runuser`` (or ``su``), in a temporary folder owned by that user. As any other user it simply runs
as that user. :func:`unavailable_reason` says why a server cannot be started here (None: it can),
for ``pytest.skip``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PG_BIN_GLOB", "PostgresServer", "find_pg_bin", "unavailable_reason"]

#: where Debian's postgresql-<major> package puts the server binaries
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_BINARIES = ("initdb", "pg_ctl", "postgres")
_SERVICE_USER = "postgres"


def find_pg_bin() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``/``postgres``: ``$SB3F_PG_BIN``, the newest Debian
    ``/usr/lib/postgresql/<major>/bin``, or the folder of ``pg_ctl`` on ``PATH``; None if absent."""

    def complete(folder: Path) -> bool:
        return all(os.access(folder / name, os.X_OK) for name in _BINARIES)

    if os.environ.get("SB3F_PG_BIN"):
        folder = Path(os.environ["SB3F_PG_BIN"])
        return folder if complete(folder) else None

    def major(folder: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", folder.parent.name)) or (0,)

    for folder in sorted((Path(p) for p in _glob(PG_BIN_GLOB)), key=major, reverse=True):
        if complete(folder):
            return folder
    on_path = shutil.which("pg_ctl")
    if on_path and complete(Path(on_path).parent):
        return Path(on_path).parent
    return None


def _glob(pattern: str) -> list[str]:
    import glob

    return glob.glob(pattern)


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def unavailable_reason() -> str | None:
    """Why no test server can be started here (for ``pytest.skip``), or None if one can."""
    if find_pg_bin() is None:
        if os.environ.get("SB3F_PG_BIN"):
            folder = os.environ["SB3F_PG_BIN"]
            return f"SB3F_PG_BIN={folder} does not hold the PostgreSQL server binaries ({', '.join(_BINARIES)})"
        return (
            f"the PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed: none in {PG_BIN_GLOB} "
            "or on PATH (Debian: apt-get install postgresql; or set SB3F_PG_BIN)"
        )
    if _running_as_root():
        try:
            pwd.getpwnam(_SERVICE_USER)
        except KeyError:
            return f"running as root, and there is no {_SERVICE_USER!r} system user to run PostgreSQL as"
        if not (shutil.which("runuser") or shutil.which("su")):
            return f"running as root, and neither runuser nor su is there to run PostgreSQL as {_SERVICE_USER!r}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A PostgreSQL server in a temporary folder, on ``127.0.0.1:<port>`` (see the module docstring).

    Args:
        bin_dir: the folder of the server binaries (default :func:`find_pg_bin`).
        start_timeout: seconds ``pg_ctl start`` may take.
    """

    def __init__(self, bin_dir: str | Path | None = None, start_timeout: float = 60.0) -> None:
        found = Path(bin_dir) if bin_dir is not None else find_pg_bin()
        if found is None:
            raise RuntimeError(unavailable_reason() or "no PostgreSQL server binaries")
        self.bin_dir = found
        self.start_timeout = float(start_timeout)
        self.as_service_user = _running_as_root()
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.user = _SERVICE_USER  # the superuser initdb creates
        self.root: Path | None = None
        self._running = False

    # ------------------------------------------------------------------ paths
    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """The SQLAlchemy URL of ``database`` on this server (no password: local trust)."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    # ------------------------------------------------------------------ processes
    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run a server binary, as the ``postgres`` user when we are root."""
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_service_user:
            if shutil.which("runuser"):
                cmd = ["runuser", "-u", _SERVICE_USER, "--", *cmd]
            else:
                cmd = ["su", _SERVICE_USER, "-s", "/bin/sh", "-c", shlex.join(cmd)]
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(self.root),  # a folder the postgres user may enter
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> PostgresServer:
        """initdb a fresh cluster and start it on a free port (retried on a port clash)."""
        if self._running:
            return self
        self.root = Path(tempfile.mkdtemp(prefix="sb3f-pg-"))
        try:
            if self.as_service_user:
                entry = pwd.getpwnam(_SERVICE_USER)
                os.chown(self.root, entry.pw_uid, entry.pw_gid)
            os.chmod(self.root, 0o700)
            init = self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
                timeout=120,
            )
            if init.returncode != 0:
                raise RuntimeError(f"initdb failed ({init.returncode}): {init.stderr.strip() or init.stdout.strip()}")
            last_error = ""
            for _ in range(3):
                self.port = _free_port()
                options = " ".join(
                    [
                        f"-h {self.host}",
                        f"-p {self.port}",
                        f"-k {self.root}",  # the unix socket goes to our folder, not /var/run/postgresql
                        "-c fsync=off",
                        "-c synchronous_commit=off",
                        "-c full_page_writes=off",
                        "-c max_connections=40",
                        "-c shared_buffers=16MB",
                    ]
                )
                proc = self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(self.start_timeout)),
                    "start",
                    timeout=self.start_timeout + 30,
                )
                if proc.returncode == 0:
                    self._running = True
                    atexit.register(self.stop)
                    return self
                last_error = (proc.stderr or proc.stdout).strip() + "\n" + self._log_tail()
            raise RuntimeError(f"pg_ctl start failed: {last_error}")
        except BaseException:
            self._cleanup()
            raise

    def _log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server (fast shutdown, immediate if that fails) and delete its folder."""
        if self._running:
            self._running = False
            with contextlib.suppress(Exception):
                atexit.unregister(self.stop)
            try:
                done = self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop", timeout=60)
                if done.returncode != 0:
                    self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", timeout=60)
            except subprocess.TimeoutExpired:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", timeout=60)
        self._cleanup()

    def _cleanup(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # ------------------------------------------------------------------ databases
    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the server accepts TCP connections."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.host, int(self.port or 0)), timeout=1.0):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name`` (empty) and return its SQLAlchemy URL (``postgresql+psycopg``)."""
        import psycopg

        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"a plain database name, please: {name!r}")
        self.wait_ready()
        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True, connect_timeout=10
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
