"""Where a sweep's study lives, and its sampler and pruner.

A storage is an SQLite file, an Optuna journal file (``journal:PATH``) for several workers on one
machine, or PostgreSQL / MySQL for workers on several machines (:func:`parse_storage`). It is
checked before anything is written (:func:`check_storage`), then created once by
:func:`open_study`: ``optuna.create_study(load_if_exists=True)`` over an ``RDBStorage`` with a
heartbeat, so that the trial of a worker that died is failed after the grace period and run
again (``RetryHeartbeatStaleTrialCallback``, Optuna's new name of ``RetryFailedTrialCallback``).
"""

from __future__ import annotations

import logging
import math
import os
import random
import shlex
import time
import warnings
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import optuna
import yaml

from .search_space import TuneError

logger = logging.getLogger(__name__)

__all__ = ["PRUNERS", "SAMPLERS", "StorageSpec", "check_storage", "make_pruner", "make_sampler", "open_study"]

DEFAULT_DB = "study.db"
#: heartbeat of RDB storages: a running trial without a beat for the grace period is failed (and retried once)
HEARTBEAT_INTERVAL = 60
HEARTBEAT_GRACE = 300
#: sampler name -> optuna.samplers class; pruner name -> optuna.pruners class
SAMPLERS = {"tpe": "TPESampler", "random": "RandomSampler", "qmc": "QMCSampler", "cmaes": "CmaEsSampler", "gp": "GPSampler"}
PRUNERS = {
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "hyperband": "HyperbandPruner",
    "threshold": "ThresholdPruner",
    "none": "NopPruner",
}
_SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class StorageSpec:
    """Where the study lives: an SQLAlchemy URL (``kind="rdb"``) or an Optuna journal file."""

    kind: str  #: "rdb" or "journal"
    url: str  #: the SQLAlchemy URL, or the journal file's path
    display: str  #: for messages (password hidden)

    @property
    def dialect(self) -> str:
        return self.url.split(":", 1)[0].split("+", 1)[0] if self.kind == "rdb" else "journal"

    def dashboard_command(self) -> str:
        """The ``optuna-dashboard`` command that shows this storage."""
        return f"optuna-dashboard {shlex.quote(self.url if self.kind == 'journal' else self.display)}"


def parse_storage(text: str | None, study_dir: str | Path) -> StorageSpec:
    """``--storage`` -> :class:`StorageSpec` (nothing is opened).

    ``None``: ``sqlite:///<study_dir>/study.db``; ``journal:PATH``: an Optuna journal file; anything
    else an SQLAlchemy URL (``postgresql://`` uses psycopg (3) when psycopg2 is not installed).
    """
    if text is None:
        url = f"sqlite:///{(Path(study_dir) / DEFAULT_DB).absolute()}"
        return StorageSpec("rdb", url, url)
    text = text.strip()
    if not text:
        raise TuneError("--storage is empty")
    if text.startswith("journal:"):
        path = text[len("journal:") :].removeprefix("//")  # journal:///abs/path
        if not path:
            raise TuneError(f"malformed storage URL {text!r}: journal:PATH needs a file path")
        return StorageSpec("journal", str(Path(path)), f"journal:{path}")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise TuneError(
            f"malformed storage URL {text!r}: expected an SQLAlchemy URL such as sqlite:///path/study.db or "
            "postgresql+psycopg://user:password@host/db, or journal:PATH"
        ) from exc
    if url.drivername == "postgresql" and not find_spec("psycopg2") and find_spec("psycopg"):
        url = url.set(drivername="postgresql+psycopg")
    display = url.render_as_string(hide_password=True)
    if url.port is not None and not 0 < int(url.port) < 65536:
        raise TuneError(f"malformed storage URL {display!r}: port {url.port} out of range")
    return StorageSpec("rdb", url.render_as_string(hide_password=False), display)


def _check_file(path: Path, what: str, study_dir: Path | None, header: bool | None) -> None:
    """A file we may create or open: in an existing writable folder (or in the study folder, which
    the sweep creates); ``header``: it must (True) or must not (False) be an SQLite database."""
    if path.is_dir():
        raise TuneError(f"the {what} {path} is a folder, not a file")
    in_study_dir = study_dir is not None and path.absolute().parent == study_dir.absolute()
    if not path.parent.is_dir() and not in_study_dir:
        raise TuneError(f"the {what} {path} cannot be created: the folder {path.parent} does not exist")
    folder = path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise TuneError(f"the {what} {path} cannot be created: {folder} is not a writable folder")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise TuneError(f"the {what} {path} is not readable and writable")
    if path.is_file() and path.stat().st_size > 0 and header is not None:
        with path.open("rb") as fh:
            is_sqlite = fh.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
        if is_sqlite != header:
            hint = "is not an SQLite database" if header else f"is an SQLite database, not a journal file: use sqlite:///{path}"
            raise TuneError(f"{path} {hint}")


def _engine_kwargs(spec: StorageSpec, connect_timeout: float) -> dict[str, Any]:
    if spec.dialect == "sqlite":
        return {"connect_args": {"timeout": 60.0}}  # several local workers wait for each other's writes
    kwargs: dict[str, Any] = {"pool_pre_ping": True}  # long trials: the server may drop idle connections
    if spec.dialect in ("postgresql", "mysql", "mariadb"):
        kwargs["connect_args"] = {"connect_timeout": max(1, math.ceil(connect_timeout))}
    return kwargs


def check_storage(spec: StorageSpec, connect_timeout: float = 10.0, study_dir: str | Path | None = None) -> None:
    """Raise :class:`TuneError` unless the storage can be used; reaches a database server (with a
    timeout) but creates no file and no table."""
    study_dir = Path(study_dir) if study_dir is not None else None
    if spec.kind == "journal":
        return _check_file(Path(spec.url), "journal file", study_dir, header=False)
    from sqlalchemy import create_engine
    from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    connect_args = _engine_kwargs(spec, connect_timeout).get("connect_args", {})
    try:
        engine = create_engine(spec.url, poolclass=NullPool, connect_args=connect_args)
    except NoSuchModuleError as exc:
        raise TuneError(f"unknown database in the storage URL {spec.display!r}: {spec.url.split(':', 1)[0]}") from exc
    except ImportError as exc:
        hint = "pip install 'psycopg[binary]' and write postgresql+psycopg://..." if spec.dialect == "postgresql" else (
            "install it, or name an installed one in the URL (e.g. mysql+pymysql://...)"
        )
        raise TuneError(
            f"the storage URL {spec.display!r} needs the database driver {exc.name or exc}, not installed: {hint}"
        ) from exc
    try:
        if spec.dialect == "sqlite":
            database = engine.url.database
            if database and database != ":memory:":
                _check_file(Path(database), "SQLite database", study_dir, header=True)
            return None
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise TuneError(f"cannot reach the storage {spec.display}: {reason[:300]}") from exc
    finally:
        engine.dispose()
    return None


def _rdb_storage(spec: StorageSpec, connect_timeout: float, attempts: int = 8) -> Any:
    """``RDBStorage`` with a heartbeat. Retried: workers creating Optuna's tables on a fresh database
    at the same moment collide, and Optuna does not retry that (optuna/optuna#1092)."""
    from sqlalchemy.exc import DBAPIError

    delay = 0.2
    for attempt in range(1, attempts + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    spec.url,
                    engine_kwargs=_engine_kwargs(spec, connect_timeout),
                    heartbeat_interval=HEARTBEAT_INTERVAL,
                    grace_period=HEARTBEAT_GRACE,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
                )
        except DBAPIError as exc:
            if attempt == attempts:
                raise
            logger.info("creating the Optuna tables in %s: %s; retrying", spec.display, type(exc).__name__)
            time.sleep(delay * (1.0 + random.random()))
            delay = min(delay * 2, 3.0)
    raise AssertionError("unreachable")


def open_study(
    spec: StorageSpec, study_name: str, *, sampler: Any = None, pruner: Any = None, connect_timeout: float = 10.0
) -> optuna.Study:
    """Create the study ``study_name`` (direction maximize), or load it if it exists (also when
    other workers start at the same moment)."""
    if spec.kind == "journal":
        from optuna.storages.journal import JournalFileBackend

        Path(spec.url).parent.mkdir(parents=True, exist_ok=True)
        storage: Any = optuna.storages.JournalStorage(JournalFileBackend(spec.url))
    else:
        storage = _rdb_storage(spec, connect_timeout)
    return optuna.create_study(
        storage=storage, study_name=study_name, direction="maximize", sampler=sampler, pruner=pruner, load_if_exists=True
    )


def _build(text: str, what: str, table: dict[str, str], defaults: dict[str, dict[str, Any]]) -> Any:
    """``"name"`` or ``"name:key=value,key=value"`` (values read as YAML, over ``defaults[name]``) ->
    the Optuna sampler or pruner; Optuna checks the options."""
    name, _, rest = str(text).strip().partition(":")
    name = name.strip().lower().replace("-", "_")
    if name not in table:
        raise TuneError(f"unknown {what} {name!r} (choose from {', '.join(table)})")
    kwargs: dict[str, Any] = dict(defaults.get(name, {}))
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TuneError(
                f"--{what} options are KEY=VALUE pairs after a colon (e.g. {name}:n_startup_trials=5), got {item!r}"
            )
        try:
            kwargs[key.strip()] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError as exc:
            raise TuneError(f"--{what} {key.strip()}: cannot read the value {value!r}") from exc
    cls = getattr(optuna.samplers if what == "sampler" else optuna.pruners, table[name])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return cls(**kwargs)
    except ImportError as exc:  # Optuna's message names the package (scipy, cmaes, torch)
        raise TuneError(f"the {name} {what} needs a package that is not installed: {' '.join(str(exc).split())}") from exc
    except (TypeError, ValueError) as exc:
        raise TuneError(f"{what} {name!r}: {' '.join(str(exc).split())}") from exc


def make_sampler(text: str, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """``--sampler`` (``tpe``, ``random``, ``qmc``, ``cmaes``, ``gp``; options as ``tpe:n_startup_trials=5``);
    TPE with ``constant_liar`` (parallel workers count running trials as bad, so they spread out)."""
    seeded = {"seed": int(seed)} if seed is not None else {}
    return _build(text, "sampler", SAMPLERS, {k: seeded for k in SAMPLERS} | {"tpe": {**seeded, "constant_liar": True}})


def make_pruner(text: str, n_evaluations: int = 4) -> optuna.pruners.BasePruner:
    """``--pruner`` (``median`` by default: 5 startup trials, no pruning before evaluation
    ``n_evaluations // 3``; ``percentile:percentile=25``, ``successive_halving``, ``hyperband``,
    ``threshold:lower=0.5``, ``none``)."""
    median = {"n_startup_trials": 5, "n_warmup_steps": max(0, n_evaluations // 3)}
    return _build(text, "pruner", PRUNERS, {
        "median": median,
        "percentile": median,
        "hyperband": {"min_resource": 1, "max_resource": max(1, n_evaluations)},
        "successive_halving": {"min_resource": 1},
    })
