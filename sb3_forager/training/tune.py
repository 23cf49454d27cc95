"""Hyperparameter sweeps with Optuna: the library behind ``scripts/tune.py``.

Each Optuna trial samples hyperparameters from a search space (``sb3_forager/configs/search_space.yml``
or a user file, see :func:`load_search_space`), resolves them over the usual defaults
(:func:`~sb3_forager.training.config.resolve_config`), trains with
:func:`~sb3_forager.training.train.train` into ``<logdir>/<study>/trial_<number>/`` and returns
the final model's deterministic evaluation as one number (:func:`objective_value`)::

    objective = success_rate - 0.001 * s / (s + 1000)

where ``s`` is the mean number of steps to food over the successful episodes (no success: the
term is the full 0.001). Success dominates (distinct success rates of at most 1000 episodes differ
by at least 0.001) and fewer steps breaks ties; the value lies in [-0.001, 1), higher is better.
A trial has ``n_evaluations`` evaluations: ``n - 1`` periodic ones during training, at about
``k / n`` of its timesteps, each reporting the same objective to Optuna (``trial.report``, step =
the evaluation's index 1, 2, ...) so that a pruner can stop a poor trial early
(``optuna.TrialPruned``), then the final one (reported as step ``n`` too).

The study folder ``<logdir>/<study>/`` holds the trials' run folders, ``trials.csv`` (every trial
of the study, rewritten atomically after each trial), ``best_hyperparameters.yml`` (a section for
the env, as ``scripts/train_sb3.py --config FILE`` takes it) and, by default, the study's SQLite
database ``study.db``. Any Optuna storage works (:func:`parse_storage`): an SQLite file or an
Optuna journal file (``journal:PATH``) for several workers on one machine, PostgreSQL
(``postgresql+psycopg://user:password@host/db``) or MySQL for workers on several machines. Workers
started at the same moment on a fresh database all join one study (:func:`open_study` handles the
table-creation race of Optuna's ``RDBStorage``).

All inputs are checked by :func:`prepare` before anything is written: :class:`TuneError` says
what is wrong in one line.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import inspect
import io
import logging
import math
import os
import random
import socket
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .config import (
    ALGOS,
    ENVS,
    RESERVED_ALGO_KEYS,
    ConfigError,
    TrainConfig,
    algo_class,
    resolve_config,
)
from .run_dir import atomic_write_text

try:  # an optional extra: pip install 'sb3_forager[tune]'
    import optuna
except ImportError:  # pragma: no cover - exercised only without the extra
    optuna = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

__all__ = [
    "OBJECTIVE",
    "PRUNERS",
    "SAMPLERS",
    "ParamSpec",
    "PreparedSweep",
    "SearchSpace",
    "StorageSpec",
    "SweepResult",
    "TuneError",
    "TuneSettings",
    "best_section",
    "build_parser",
    "check_storage",
    "cli_main",
    "load_search_space",
    "make_pruner",
    "make_sampler",
    "objective_value",
    "open_study",
    "parse_storage",
    "prepare",
    "run_sweep",
    "write_best_hyperparameters",
    "write_trials_csv",
]

#: the documented objective, as printed and stored in the study's user attributes
OBJECTIVE = "success_rate - 0.001 * s / (s + 1000), s = mean steps to food (deterministic evaluation)"
#: the tie-break weight of the steps term; success levels of <= 1000 episodes differ by more
STEPS_WEIGHT = 0.001
STEPS_SCALE = 1000.0
MAX_EVAL_EPISODES = 1000

SEARCH_SPACE_FILE = "search_space.yml"
TRIALS_CSV = "trials.csv"
BEST_FILE = "best_hyperparameters.yml"
DEFAULT_DB = "study.db"

#: run settings a search space may sample (everything else is an algorithm argument or policy_kwargs.<key>)
TUNABLE_RUN_KEYS = ("n_envs", "normalize")
#: algorithm arguments that accept RL Zoo's ``lin_<x>`` schedule strings
SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf")
#: errors that fail one trial (recorded, the sweep goes on); anything else stops the worker
TRIAL_ERRORS: tuple[type[BaseException], ...] = (ValueError, AssertionError, FileExistsError, RuntimeError)

#: sampler name -> (optuna.samplers class name, packages it needs besides optuna)
SAMPLERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tpe": ("TPESampler", ()),
    "random": ("RandomSampler", ()),
    "qmc": ("QMCSampler", ("scipy",)),
    "cmaes": ("CmaEsSampler", ("cmaes",)),
    "gp": ("GPSampler", ("scipy", "torch")),
}
#: pruner name -> optuna.pruners class name
PRUNERS: dict[str, str] = {
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "hyperband": "HyperbandPruner",
    "threshold": "ThresholdPruner",
    "none": "NopPruner",
}


class TuneError(ValueError):
    """Bad input for a sweep: the message names what is wrong and why (raised by :func:`prepare`
    before anything is written)."""


def _require_optuna() -> None:
    if optuna is None:
        raise TuneError("tuning needs Optuna, which is not installed: pip install 'sb3_forager[tune]'")


# ====================================================================== objective
def objective_value(summary: Mapping[str, float]) -> float:
    """The sweep's objective of an evaluation summary (see the module docstring); higher is better."""
    success = summary.get("success_rate", float("nan"))
    success = 0.0 if success is None or math.isnan(float(success)) else float(success)
    steps = summary.get("steps_to_food", float("nan"))
    if steps is None or math.isnan(float(steps)) or float(steps) < 0:
        penalty = STEPS_WEIGHT
    else:
        penalty = STEPS_WEIGHT * float(steps) / (float(steps) + STEPS_SCALE)
    return success - penalty


# ====================================================================== search space
@dataclass(frozen=True)
class ParamSpec:
    """One searched hyperparameter: a float or int range, or a set of choices."""

    name: str
    kind: str  #: "float", "int" or "categorical"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    #: categorical: the labels Optuna samples (plain values, or the names of named values)
    choices: tuple[Any, ...] = ()
    #: categorical with named values: label -> value
    named: Mapping[str, Any] | None = None
    #: "linear": the sampled number x becomes RL Zoo's ``lin_<x>`` schedule
    schedule: str | None = None

    def suggest(self, trial: Any) -> Any:
        """Sample this parameter in an Optuna trial; returns the value the config gets."""
        if self.kind == "float":
            value: Any = trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log, step=self.step)
        elif self.kind == "int":
            value = trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        else:
            label = trial.suggest_categorical(self.name, list(self.choices))
            value = self.named[label] if self.named is not None else label
        return self.finish(value)

    def finish(self, value: Any) -> Any:
        """A sampled number -> the config value (``lin_<x>`` for a linear schedule)."""
        if self.schedule == "linear" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"lin_{float(value)!r}"
        return value

    def corners(self) -> list[Any]:
        """The extreme values (each choice of a categorical), to check them before any trial."""
        if self.kind in ("float", "int"):
            return [self.finish(self.low), self.finish(self.high)]
        return [self.finish(self.named[c] if self.named is not None else c) for c in self.choices]

    def describe(self) -> str:
        if self.kind == "categorical":
            return f"{self.name} in {list(self.choices)}"
        extra = " log" if self.log else ""
        return f"{self.name} in [{self.low}, {self.high}]{extra}"


@dataclass(frozen=True)
class SearchSpace:
    """The parameters searched for one (algo, env); ``source`` is the file they came from."""

    algo: str
    env: str
    params: tuple[ParamSpec, ...]
    source: str

    def sample(self, trial: Any) -> dict[str, Any]:
        """name -> config value for each parameter (``policy_kwargs.<key>`` names kept dotted)."""
        return {p.name: p.suggest(trial) for p in self.params}

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]


def default_search_space_path() -> str:
    return str(resources.files("sb3_forager").joinpath("configs", SEARCH_SPACE_FILE))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


_SPEC_KEYS = {
    "float": {"type", "low", "high", "log", "step", "schedule"},
    "int": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices", "schedule"},
}


def _parse_spec(name: str, raw: Any, where: str) -> ParamSpec:
    """One ``<name>: <spec>`` entry of the YAML -> :class:`ParamSpec` (TuneError if malformed)."""
    at = f"{where}: {name}"
    if isinstance(raw, list):
        raw = {"type": "categorical", "choices": raw}
    if not isinstance(raw, dict):
        raise TuneError(
            f"{at}: expected a mapping ({{type: float|int, low: ..., high: ...}} or {{type: categorical, "
            f"choices: [...]}}) or a list of choices, got {raw!r}"
        )
    kind = raw.get("type", "categorical" if "choices" in raw else None)
    if kind not in _SPEC_KEYS:
        raise TuneError(f"{at}: type must be float, int or categorical, got {kind!r}")
    unknown = sorted(set(raw) - _SPEC_KEYS[kind])
    if unknown:
        raise TuneError(f"{at}: unknown key(s) {unknown} for type {kind} (allowed: {sorted(_SPEC_KEYS[kind])})")
    schedule = raw.get("schedule")
    if schedule is not None and schedule not in ("linear", "constant"):
        raise TuneError(f"{at}: schedule must be linear or constant, got {schedule!r}")
    schedule = None if schedule == "constant" else schedule
    if kind == "categorical":
        choices = raw.get("choices")
        named: dict[str, Any] | None = None
        if isinstance(choices, dict):
            if not choices:
                raise TuneError(f"{at}: empty choices")
            named = {str(k): v for k, v in choices.items()}
            labels: tuple[Any, ...] = tuple(named)
        elif isinstance(choices, list):
            if not choices:
                raise TuneError(f"{at}: empty choices")
            bad = [c for c in choices if not (c is None or isinstance(c, (bool, int, float, str)))]
            if bad:
                raise TuneError(
                    f"{at}: choices must be numbers, strings, booleans or null, got {bad[0]!r}; "
                    "name list or mapping values instead: choices: {small: [64, 64], large: [256, 256]}"
                )
            if len({(type(c), c) for c in choices}) != len(choices):
                raise TuneError(f"{at}: repeated choices in {choices}")
            labels = tuple(choices)
        else:
            raise TuneError(f"{at}: choices must be a list (or a mapping of names to values), got {choices!r}")
        return ParamSpec(name, "categorical", choices=labels, named=named, schedule=schedule)

    for key in ("low", "high"):
        if key not in raw:
            raise TuneError(f"{at}: a {kind} range needs low and high")
    low, high, step, log = raw["low"], raw["high"], raw.get("step"), raw.get("log", False)
    check = _is_int if kind == "int" else _is_number
    for key, value in (("low", low), ("high", high)):
        if not check(value):
            raise TuneError(f"{at}: {key} must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}")
    if not isinstance(log, bool):
        raise TuneError(f"{at}: log must be true or false, got {log!r}")
    if not low < high:
        raise TuneError(
            f"{at}: empty range [{low}, {high}]: low must be below high (fix a constant in the hyperparameter "
            "config instead of searching it)"
        )
    if log and low <= 0:
        raise TuneError(f"{at}: a log range needs low > 0, got {low}")
    if step is not None:
        if not check(step) or step <= 0:
            raise TuneError(f"{at}: step must be a positive {'integer' if kind == 'int' else 'number'}, got {step!r}")
        if log and not (kind == "int" and step == 1):
            raise TuneError(f"{at}: step and log cannot be combined")
        if step > high - low:
            raise TuneError(f"{at}: step {step} is wider than the range [{low}, {high}]")
    if kind == "float":
        low, high = float(low), float(high)
    return ParamSpec(name, kind, low=low, high=high, log=log, step=step, schedule=schedule)


def _algo_defaults(algo: str) -> dict[str, Any]:
    """The algorithm's keyword arguments (minus those the pipeline sets) -> their default."""
    cls = algo_class(algo)
    params = inspect.signature(cls.__init__).parameters
    reserved = set(RESERVED_ALGO_KEYS) | {"self", "policy_kwargs"}
    return {k: p.default for k, p in params.items() if k not in reserved and p.kind is not p.VAR_KEYWORD}


def _policy_defaults(algo: str, policy: str) -> dict[str, Any] | None:
    """The policy class's keyword arguments -> default (None: the policy is not a known alias)."""
    cls = algo_class(algo)
    policy_cls = getattr(cls, "policy_aliases", {}).get(policy)
    if policy_cls is None:
        return None
    params = inspect.signature(policy_cls.__init__).parameters
    skip = {"self", "observation_space", "action_space", "lr_schedule"}
    return {k: p.default for k, p in params.items() if k not in skip and p.kind is not p.VAR_KEYWORD}


def _check_type(spec: ParamSpec, default: Any, at: str) -> None:
    """A searched value must fit the argument's type (read from its default)."""
    values = spec.corners() if spec.kind == "categorical" else [spec.low, spec.high]
    if spec.schedule == "linear":
        if spec.name not in SCHEDULE_KEYS:
            raise TuneError(f"{at}: schedule: linear is only for {list(SCHEDULE_KEYS)}")
        values = [spec.low, spec.high] if spec.kind != "categorical" else list(spec.choices)
        if not all(_is_number(v) for v in values):
            raise TuneError(f"{at}: schedule: linear needs numbers, got {values}")
        return
    if isinstance(default, bool):
        if not all(isinstance(v, bool) for v in values):
            raise TuneError(f"{at}: takes true or false (categorical choices), got {values}")
    elif _is_int(default):
        if spec.kind == "float" or not all(_is_int(v) for v in values):
            raise TuneError(f"{at}: takes an integer (an int range or integer choices), got {spec.describe()}")
    elif isinstance(default, float):
        if not all(_is_number(v) or (isinstance(v, str) and v.startswith("lin_")) for v in values):
            raise TuneError(f"{at}: takes a number, got {values}")


def load_search_space(
    algo: str, env: str, path: str | Path | None = None, base: TrainConfig | None = None
) -> SearchSpace:
    """The search space of ``algo`` on ``env`` from ``path`` (default: the shipped one), checked.

    Raises :class:`TuneError` for a malformed file, an unknown algorithm section or hyperparameter
    (not an argument of the algorithm, not ``n_envs``/``normalize``, not ``policy_kwargs.<key>`` of
    the policy), an empty or inverted range, a value of the wrong type, or a value the config
    rejects (each range end and each choice is resolved over ``base`` once).
    """
    source = str(path) if path is not None else default_search_space_path()
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise TuneError(f"cannot read the search space file {source}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TuneError(f"{source} is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(data, dict):
        raise TuneError(f"{source}: expected a mapping of algorithm sections ({', '.join(ALGOS)}), got {data!r}")
    unknown_algos = sorted(str(k) for k in data if k not in ALGOS)
    if unknown_algos:
        raise TuneError(f"{source}: unknown algorithm section(s) {unknown_algos} (known: {list(ALGOS)})")
    if algo not in data or not data[algo]:
        raise TuneError(f"{source} has no search space for algo {algo!r}")
    section = data[algo]
    if not isinstance(section, dict):
        raise TuneError(f"{source}: the {algo} section must be a mapping, got {section!r}")
    base = base if base is not None else resolve_config(env, algo)
    algo_args = _algo_defaults(algo)
    policy_args = _policy_defaults(algo, base.policy)

    def entries(sec: Mapping[str, Any], where: str, allow_envs: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, raw in sec.items():
            name = str(name)
            if allow_envs and name in ENVS:
                continue
            out[name] = raw
            if raw is None:
                continue
            if name.startswith("policy_kwargs."):
                key = name.split(".", 1)[1]
                if policy_args is not None and key not in policy_args:
                    raise TuneError(
                        f"{where}: unknown hyperparameter {name!r}: {base.policy} does not take {key!r} "
                        f"(accepted: {sorted(policy_args)})"
                    )
            elif name not in algo_args and name not in TUNABLE_RUN_KEYS:
                raise TuneError(
                    f"{where}: unknown hyperparameter {name!r}: not an argument of {algo_class(algo).__name__}, "
                    f"nor {'/'.join(TUNABLE_RUN_KEYS)} or policy_kwargs.<key>, nor an env name "
                    f"(envs: {list(ENVS)}; arguments: {sorted(algo_args)})"
                )
        return out

    merged = entries(section, f"{source}: {algo}", allow_envs=True)
    for env_name in ENVS:
        env_sec = section.get(env_name)
        if env_sec is None:
            continue
        if not isinstance(env_sec, dict):
            raise TuneError(f"{source}: {algo}.{env_name} must be a mapping of hyperparameters, got {env_sec!r}")
        found = entries(env_sec, f"{source}: {algo}.{env_name}", allow_envs=False)
        if env_name == env:
            merged.update(found)
        else:  # check the other envs' entries too: a typo should not wait for the day they are tuned
            for name, raw in found.items():
                if raw is not None:
                    _parse_spec(name, raw, f"{source}: {algo}.{env_name}")
    where = f"{source}: {algo}" + (f" (with its {env} section)" if isinstance(section.get(env), dict) else "")
    specs = [_parse_spec(name, raw, where) for name, raw in merged.items() if raw is not None]
    if not specs:
        raise TuneError(f"{source}: the search space of {algo} on {env} is empty")
    for spec in specs:
        at = f"{where}: {spec.name}"
        if spec.name.startswith("policy_kwargs."):
            default = (policy_args or {}).get(spec.name.split(".", 1)[1])
        else:
            default = {"n_envs": 1, "normalize": False}.get(spec.name, algo_args.get(spec.name))
        if not (spec.name == "normalize" and spec.named is not None):  # named values: VecNormalize kwargs
            _check_type(spec, default, at)
        for value in spec.corners():
            try:
                trial_config(base, {spec.name: value})
            except (ConfigError, ValueError, TypeError) as exc:
                raise TuneError(f"{at}: the value {value!r} is rejected: {exc}") from exc
    return SearchSpace(algo=algo, env=env, params=tuple(specs), source=source)


def split_params(params: Mapping[str, Any], base: TrainConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sampled ``name -> value`` -> (run-setting overrides, algorithm keyword overrides)."""
    overrides: dict[str, Any] = {}
    hyper: dict[str, Any] = {}
    policy_kwargs = dict(base.policy_kwargs or {})
    touched_policy = False
    for name, value in params.items():
        if name.startswith("policy_kwargs."):
            policy_kwargs[name.split(".", 1)[1]] = value
            touched_policy = True
        elif name in TUNABLE_RUN_KEYS:
            overrides[name] = value
        else:
            hyper[name] = value
    if touched_policy:
        overrides["policy_kwargs"] = policy_kwargs
    return overrides, hyper


def trial_config(base: TrainConfig, params: Mapping[str, Any], **run_overrides: Any) -> TrainConfig:
    """``base`` with the sampled ``params`` (and run settings such as ``n_timesteps``) applied."""
    overrides, hyper = split_params(params, base)
    overrides.update({k: v for k, v in run_overrides.items() if v is not None})
    return resolve_config(base=base, overrides=overrides, hyperparam_overrides=hyper)


def best_section(cfg: TrainConfig, base: TrainConfig) -> dict[str, Any]:
    """The env section of ``best_hyperparameters.yml`` for a trial's config: its sampled values over
    the base config's run settings (``n_timesteps``, evaluation and checkpoint frequencies of the
    full training, not of the short trial). A trial longer than the full training sets
    ``n_timesteps``: its score was measured after that many, not fewer."""
    section: dict[str, Any] = {
        "n_timesteps": max(int(base.n_timesteps), int(cfg.n_timesteps)),
        "n_envs": int(cfg.n_envs),
        "policy": cfg.policy,
    }
    if cfg.policy_kwargs:
        section["policy_kwargs"] = dict(cfg.policy_kwargs)
    section["normalize"] = cfg.normalize
    if cfg.vec_env != TrainConfig.vec_env:
        section["vec_env"] = cfg.vec_env
    section.update(
        eval_freq=int(base.eval_freq), eval_episodes=int(base.eval_episodes), checkpoint_freq=int(base.checkpoint_freq)
    )
    section.update(cfg.hyperparams)
    return section


# ====================================================================== storage
@dataclass(frozen=True)
class StorageSpec:
    """Where the study lives: an SQLAlchemy URL (``kind="rdb"``) or an Optuna journal file."""

    kind: str  #: "rdb" or "journal"
    url: str  #: the SQLAlchemy URL, or the journal file's path
    display: str  #: for messages (password hidden)
    #: the study folder's own SQLite file (created with the folder)
    is_default: bool = False

    @property
    def dialect(self) -> str:
        if self.kind != "rdb":
            return "journal"
        return self.url.split(":", 1)[0].split("+", 1)[0]

    def dashboard_command(self) -> str:
        """The ``optuna-dashboard`` command that shows this storage."""
        import shlex

        return f"optuna-dashboard {shlex.quote(self.url if self.kind == 'journal' else self.display)}"


def parse_storage(text: str | None, study_dir: str | Path) -> StorageSpec:
    """``--storage`` -> :class:`StorageSpec` (TuneError if malformed; nothing is opened).

    ``None``: ``sqlite:///<study_dir>/study.db``. ``journal:PATH``: an Optuna journal file (several
    workers on one machine, or on a shared file system). Anything else is an SQLAlchemy URL, e.g.
    ``sqlite:///sweeps.db``, ``postgresql+psycopg://user:password@host:5432/db``,
    ``mysql+pymysql://...``; ``postgresql://`` uses psycopg (3) when psycopg2 is not installed.
    """
    if text is None:
        path = (Path(study_dir) / DEFAULT_DB).absolute()
        url = f"sqlite:///{path}"
        return StorageSpec("rdb", url, url, is_default=True)
    text = text.strip()
    if not text:
        raise TuneError("--storage is empty")
    if text.startswith("journal:"):
        path_text = text[len("journal:") :]
        if path_text.startswith("//"):  # journal:///abs/path
            path_text = path_text[2:]
        if not path_text:
            raise TuneError(f"malformed storage URL {text!r}: journal:PATH needs a file path")
        return StorageSpec("journal", str(Path(path_text)), f"journal:{path_text}")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise TuneError(
            f"malformed storage URL {text!r}: expected an SQLAlchemy URL such as sqlite:///path/study.db or "
            "postgresql+psycopg://user:password@host/db, or journal:PATH"
        ) from exc
    if url.drivername == "postgresql" and not _importable("psycopg2") and _importable("psycopg"):
        url = url.set(drivername="postgresql+psycopg")
        logger.info("storage: using psycopg (3) for postgresql:// (psycopg2 is not installed)")
    display = url.render_as_string(hide_password=True)
    if url.port is not None and not 0 < int(url.port) < 65536:
        raise TuneError(f"malformed storage URL {display!r}: port {url.port} out of range")
    return StorageSpec("rdb", url.render_as_string(hide_password=False), display)


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_file_target(path: Path, what: str, study_dir: Path | None = None) -> None:
    """A file we may create (or open): not a folder, in an existing writable folder (or in the
    study folder, which the sweep creates)."""
    if path.is_dir():
        raise TuneError(f"the {what} {path} is a folder, not a file")
    in_study_dir = study_dir is not None and path.absolute().parent == study_dir.absolute()
    if not path.parent.is_dir() and not in_study_dir:
        raise TuneError(f"the {what} {path} cannot be created: the folder {path.parent} does not exist")
    folder = _nearest_existing(path.parent)
    if not folder.is_dir():
        raise TuneError(f"the {what} {path} cannot be created: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TuneError(f"the {what} {path} cannot be created: {folder} is not writable")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise TuneError(f"the {what} {path} is not readable and writable")


_SQLITE_HEADER = b"SQLite format 3\x00"


def _engine_kwargs(spec: StorageSpec, connect_timeout: float) -> dict[str, Any]:
    if spec.dialect == "sqlite":
        return {"connect_args": {"timeout": 60.0}}  # several local workers wait for each other's writes
    kwargs: dict[str, Any] = {"pool_pre_ping": True}  # long trials: the server may drop idle connections
    if spec.dialect in ("postgresql", "mysql", "mariadb"):
        kwargs["connect_args"] = {"connect_timeout": max(1, int(math.ceil(connect_timeout)))}
    return kwargs


def check_storage(spec: StorageSpec, connect_timeout: float = 10.0, study_dir: str | Path | None = None) -> None:
    """Raise :class:`TuneError` unless the storage can be used; opens a connection to a database
    server (with a timeout) but creates no file and no table. A storage file must be in an
    existing folder, or in ``study_dir`` (created by the sweep)."""
    study_dir = Path(study_dir) if study_dir is not None else None
    if spec.kind == "journal":
        path = Path(spec.url)
        _check_file_target(path, "journal file", study_dir)
        if path.is_file():
            with path.open("rb") as fh:
                if fh.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER:
                    raise TuneError(f"{path} is an SQLite database, not a journal file: use --storage sqlite:///{path}")
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    url = make_url(spec.url)
    try:
        dialect_cls = url.get_dialect()
        dialect_cls.import_dbapi()
    except NoSuchModuleError as exc:
        raise TuneError(f"unknown database in the storage URL {spec.display!r}: {url.drivername}") from exc
    except ImportError as exc:
        hint = (
            "pip install 'psycopg[binary]' and write postgresql+psycopg://..."
            if spec.dialect == "postgresql"
            else "install it, or name an installed one in the URL (e.g. mysql+pymysql://...)"
        )
        driver = exc.name or exc
        raise TuneError(
            f"the storage URL {spec.display!r} needs the database driver {driver}, not installed: {hint}"
        ) from exc
    if spec.dialect == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            return  # in memory: nothing to reach (and nothing shared)
        path = Path(database)
        _check_file_target(path, "SQLite database", study_dir)
        if path.is_file() and path.stat().st_size > 0:
            with path.open("rb") as fh:
                if fh.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                    raise TuneError(f"{path} is not an SQLite database (the storage URL {spec.display!r})")
        return
    connect_args = _engine_kwargs(spec, connect_timeout).get("connect_args", {})
    engine = create_engine(spec.url, poolclass=NullPool, connect_args=connect_args)
    try:
        t0 = time.monotonic()
        with engine.connect():
            pass
        logger.debug("storage %s reached in %.2f s", spec.display, time.monotonic() - t0)
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise TuneError(f"cannot reach the storage {spec.display}: {reason[:300]}") from exc
    finally:
        engine.dispose()


#: the PostgreSQL advisory lock key workers take while creating Optuna's tables ("optuna" in ASCII)
PG_INIT_LOCK_KEY = 0x6F7074756E61
#: Optuna heartbeat of RDB storages: a trial of a worker that died is marked failed after the grace period
HEARTBEAT_INTERVAL = 60
HEARTBEAT_GRACE = 300


@contextlib.contextmanager
def _pg_init_lock(url: str, connect_timeout: float) -> Iterator[None]:
    """Hold a PostgreSQL session advisory lock (serialises the table creation of several workers)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": max(1, int(math.ceil(connect_timeout)))}
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_INIT_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_INIT_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def _retry(what: str, func: Callable[[], Any], errors: tuple[type[BaseException], ...], attempts: int) -> Any:
    """``func()``, retried on ``errors`` with a short jittered backoff (another worker got there first)."""
    delay = 0.2
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except errors as exc:
            if attempt == attempts:
                raise
            first = " ".join(str(exc).split())[:200]
            logger.info("%s: %s: %s; retrying (%d/%d)", what, type(exc).__name__, first, attempt, attempts - 1)
            time.sleep(delay * (1.0 + random.random()))
            delay = min(delay * 2, 3.0)
    raise AssertionError("unreachable")


def make_storage(spec: StorageSpec, *, connect_timeout: float = 10.0, init_lock: bool = True, attempts: int = 8) -> Any:
    """The Optuna storage of ``spec``, its tables created if needed.

    Several workers creating Optuna's tables on a fresh database at the same moment collide
    (PostgreSQL: ``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``;
    SQLite: ``table ... already exists``; optuna/optuna#1092). On PostgreSQL the workers take an
    advisory lock around the creation (``init_lock``); on every database a failed creation is
    retried, by when the other worker's tables exist.
    """
    _require_optuna()
    from sqlalchemy.exc import DBAPIError

    if spec.kind == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        Path(spec.url).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(spec.url))
    if spec.dialect == "sqlite":
        from sqlalchemy.engine import make_url

        database = make_url(spec.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)

    def build() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                spec.url,
                engine_kwargs=_engine_kwargs(spec, connect_timeout),
                heartbeat_interval=HEARTBEAT_INTERVAL,
                grace_period=HEARTBEAT_GRACE,
            )

    errors = (DBAPIError, optuna.exceptions.StorageInternalError, AssertionError)
    lock = _pg_init_lock(spec.url, connect_timeout) if init_lock and spec.dialect == "postgresql" else None
    with lock if lock is not None else contextlib.nullcontext():
        return _retry(f"creating the Optuna tables in {spec.display}", build, errors, attempts)


def open_study(
    spec: StorageSpec,
    study_name: str,
    *,
    sampler: Any = None,
    pruner: Any = None,
    connect_timeout: float = 10.0,
    init_lock: bool = True,
    attempts: int = 8,
) -> Any:
    """Create the study ``study_name`` (direction maximize), or load it if it exists.

    Safe for workers that start at the same moment on a fresh database (see :func:`make_storage`);
    the study row itself is created by the first worker and loaded by the others
    (``create_study(load_if_exists=True)``), with a retry for the storage errors of that moment.
    """
    _require_optuna()
    from sqlalchemy.exc import DBAPIError

    storage = make_storage(spec, connect_timeout=connect_timeout, init_lock=init_lock, attempts=attempts)

    def create() -> Any:
        return optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction="maximize",
            sampler=sampler,
            pruner=pruner,
            load_if_exists=True,
        )

    errors = (DBAPIError, optuna.exceptions.StorageInternalError, optuna.exceptions.DuplicatedStudyError, KeyError)
    return _retry(f"opening the study {study_name}", create, errors, attempts)


# ====================================================================== samplers and pruners
def _parse_named_spec(text: str, what: str) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``"name:key=value,key=value"`` (values read as YAML)."""
    name, _, rest = str(text).strip().partition(":")
    name = name.strip().lower().replace("-", "_")
    kwargs: dict[str, Any] = {}
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
    return name, kwargs


def _construct(cls: type, kwargs: dict[str, Any], what: str, name: str) -> Any:
    params = inspect.signature(cls.__init__).parameters
    accepted = [
        k
        for k in params
        if k != "self" and params[k].kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]
    bad = sorted(k for k in kwargs if k not in accepted)
    if bad:
        raise TuneError(f"{what} {name!r} does not take option(s) {bad} (accepted: {accepted})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature warnings of Optuna
            return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise TuneError(f"{what} {name!r}: {' '.join(str(exc).split())}") from exc


def make_sampler(text: str, seed: int | None = None) -> Any:
    """``--sampler`` (``tpe``, ``random``, ``qmc``, ``cmaes``, ``gp``; options as ``tpe:n_startup_trials=5``)."""
    _require_optuna()
    name, kwargs = _parse_named_spec(text, "sampler")
    if name not in SAMPLERS:
        raise TuneError(f"unknown sampler {name!r} (choose from {', '.join(SAMPLERS)})")
    cls_name, needs = SAMPLERS[name]
    missing = [m for m in needs if not _importable(m)]
    if missing:
        raise TuneError(
            f"the {name} sampler needs {', '.join(missing)}, which is not installed: pip install {' '.join(missing)}"
        )
    cls = getattr(optuna.samplers, cls_name)
    if seed is not None and "seed" in inspect.signature(cls.__init__).parameters:
        kwargs.setdefault("seed", int(seed))
    if name == "tpe":  # parallel workers: treat running trials as bad so that workers spread out
        kwargs.setdefault("constant_liar", True)
    return _construct(cls, kwargs, "sampler", name)


def make_pruner(text: str, n_evaluations: int = 4) -> Any:
    """``--pruner`` (``median`` by default: 5 startup trials, no pruning before evaluation
    ``n_evaluations // 3``; ``percentile:percentile=25``, ``successive_halving``, ``hyperband``,
    ``threshold:lower=0.5``, ``none``)."""
    _require_optuna()
    name, kwargs = _parse_named_spec(text, "pruner")
    if name not in PRUNERS:
        raise TuneError(f"unknown pruner {name!r} (choose from {', '.join(PRUNERS)})")
    if name in ("median", "percentile"):
        kwargs.setdefault("n_startup_trials", 5)
        kwargs.setdefault("n_warmup_steps", max(0, int(n_evaluations) // 3))
    if name == "hyperband":
        kwargs.setdefault("min_resource", 1)
        kwargs.setdefault("max_resource", max(1, int(n_evaluations)))
    if name == "successive_halving":
        kwargs.setdefault("min_resource", 1)
    return _construct(getattr(optuna.pruners, PRUNERS[name]), kwargs, "pruner", name)


# ====================================================================== settings
@dataclass
class TuneSettings:
    """Everything a sweep worker needs (the CLI flags)."""

    env: str = "coop"
    algo: str = "ppo"
    n_trials: int = 20
    #: timesteps per trial (default: the config's n_timesteps)
    trial_timesteps: int | None = None
    storage: str | None = None
    study_name: str | None = None
    logdir: str | Path = "logs"
    sampler: str = "tpe"
    pruner: str = "median"
    #: trial k trains with seed + k
    seed: int = 0
    #: the sampler's seed (default: none, so that parallel workers explore different points)
    sampler_seed: int | None = None
    n_eval_episodes: int = 10
    #: evaluations per trial: n - 1 during training (reported to the pruner), then the final one
    n_evaluations: int = 4
    search_space: str | Path | None = None
    config_file: str | Path | None = None
    n_envs: int | None = None
    #: stop starting trials after this many seconds
    timeout: float | None = None
    connect_timeout: float = 10.0
    progress_bar: bool = True

    @property
    def resolved_study_name(self) -> str:
        return self.study_name or f"tune_{self.env}_{self.algo}"

    @property
    def study_dir(self) -> Path:
        return Path(self.logdir) / self.resolved_study_name


@dataclass
class PreparedSweep:
    """Checked inputs: nothing has been written yet."""

    settings: TuneSettings
    base: TrainConfig
    space: SearchSpace
    storage: StorageSpec
    sampler: Any
    pruner: Any
    trial_timesteps: int
    eval_freq: int

    @property
    def study_dir(self) -> Path:
        return self.settings.study_dir

    @property
    def study_name(self) -> str:
        return self.settings.resolved_study_name


def prepare(settings: TuneSettings) -> PreparedSweep:
    """Check every input (flags, config, search space, sampler, pruner, storage reachability)
    and return the sweep, writing nothing; :class:`TuneError` names the first problem."""
    _require_optuna()
    s = settings
    if s.env not in ENVS:
        raise TuneError(f"env must be one of {list(ENVS)}, got {s.env!r}")
    if s.algo not in ALGOS:
        raise TuneError(f"algo must be one of {list(ALGOS)}, got {s.algo!r}")
    for name, value, low in (("n-trials", s.n_trials, 1), ("n-evaluations", s.n_evaluations, 1)):
        if not _is_int(value) or value < low:
            raise TuneError(f"--{name} must be an integer >= {low}, got {value!r}")
    if not _is_int(s.n_eval_episodes) or not 1 <= s.n_eval_episodes <= MAX_EVAL_EPISODES:
        raise TuneError(f"--n-eval-episodes must be between 1 and {MAX_EVAL_EPISODES}, got {s.n_eval_episodes!r}")
    if s.trial_timesteps is not None and (not _is_int(s.trial_timesteps) or s.trial_timesteps < 1):
        raise TuneError(f"--trial-timesteps must be an integer >= 1, got {s.trial_timesteps!r}")
    if s.timeout is not None and not s.timeout > 0:
        raise TuneError(f"--timeout must be > 0 seconds, got {s.timeout!r}")
    if s.n_envs is not None and (not _is_int(s.n_envs) or s.n_envs < 1):
        raise TuneError(f"--n-envs must be an integer >= 1, got {s.n_envs!r}")
    name = s.resolved_study_name
    if not name or any(c in name for c in "/\\") or name in (".", "..") or name.strip() != name:
        raise TuneError(f"--study-name must be a plain folder name, got {name!r}")
    if s.study_dir.exists() and not s.study_dir.is_dir():
        raise TuneError(f"the study folder {s.study_dir} exists and is not a folder")
    if s.config_file is not None and not Path(s.config_file).is_file():
        raise TuneError(f"--config: no such file {s.config_file}")
    try:
        base = resolve_config(s.env, s.algo, config_file=s.config_file, overrides={"n_envs": s.n_envs})
    except (ConfigError, OSError) as exc:
        raise TuneError(str(exc)) from exc
    if base.backend != "embedded":
        logger.warning("trials train on the %s backend (from the config)", base.backend)
    space = load_search_space(s.algo, s.env, s.search_space, base)
    sampler = make_sampler(s.sampler, s.sampler_seed)
    pruner = make_pruner(s.pruner, s.n_evaluations)
    storage = parse_storage(s.storage, s.study_dir)
    check_storage(storage, s.connect_timeout, s.study_dir)
    trial_timesteps = int(s.trial_timesteps or base.n_timesteps)
    # evaluations k = 1 .. n-1 at about k/n of the trial; the n-th would coincide with the final one
    eval_freq = trial_timesteps // s.n_evaluations + 1
    return PreparedSweep(s, base, space, storage, sampler, pruner, trial_timesteps, eval_freq)


# ====================================================================== the sweep
@dataclass
class SweepResult:
    """What one worker's :func:`run_sweep` did (and the study as it stood at the end)."""

    study_name: str
    study_dir: Path
    storage: StorageSpec
    #: this worker's trials by state name (COMPLETE, PRUNED, FAIL)
    counts: dict[str, int] = field(default_factory=dict)
    n_study_trials: int = 0
    best_number: int | None = None
    best_value: float | None = None
    best_file: Path | None = None
    trials_csv: Path | None = None
    interrupted: bool = False


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _pct(x: Any) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * float(x):.0f}%"


def _steps(x: Any) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{float(x):.0f}"


def format_trial_line(trial: Any, is_best: bool = False) -> str:
    """One line for a finished trial: state, value, evaluation, time, sampled parameters."""
    state = trial.state.name
    attrs = trial.user_attrs
    secs = trial.duration.total_seconds() if trial.duration is not None else float("nan")
    params = " ".join(f"{k}={_fmt_value(v)}" for k, v in sorted(trial.params.items()))
    if state == "COMPLETE":
        head = (
            f"trial {trial.number} complete: value {trial.value:.6f} (success {_pct(attrs.get('success_rate'))}, "
            f"steps to food {_steps(attrs.get('steps_to_food'))})"
        )
    elif state == "PRUNED":
        last = trial.last_step
        value = trial.intermediate_values.get(last) if last is not None else None
        head = f"trial {trial.number} pruned at evaluation {last}" + (
            f" (value {value:.6f})" if value is not None else ""
        )
    else:
        head = f"trial {trial.number} {state.lower()}" + (f": {attrs['error']}" if attrs.get("error") else "")
    line = f"{head} in {secs:.1f} s | {params}"
    if is_best:
        line += " | best so far"
    return line


def _study_trials(study: Any) -> list[Any]:
    return sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)


def write_trials_csv(study: Any, path: str | Path) -> Path:
    """Every trial of the study as one CSV row (atomic write): number, state, value, the final
    evaluation, timing, host and run folder, then ``params_<name>`` columns."""
    trials = _study_trials(study)
    param_names = sorted({k for t in trials for k in t.params})
    header = [
        "number",
        "state",
        "value",
        "success_rate",
        "steps_to_food",
        "team_return",
        "num_timesteps",
        "last_evaluation",
        "duration_s",
        "datetime_start",
        "datetime_complete",
        "host",
        "run_dir",
        "error",
        *(f"params_{n}" for n in param_names),
    ]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)

    def cell(x: Any) -> Any:
        if x is None:
            return ""
        if isinstance(x, float):
            return "" if math.isnan(x) else repr(x)
        return x

    for t in trials:
        a = t.user_attrs
        writer.writerow(
            [
                t.number,
                t.state.name,
                cell(t.value),
                cell(a.get("success_rate")),
                cell(a.get("steps_to_food")),
                cell(a.get("team_return")),
                cell(a.get("num_timesteps")),
                cell(t.last_step),
                cell(round(t.duration.total_seconds(), 3) if t.duration is not None else None),
                t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else "",
                t.datetime_complete.isoformat(timespec="seconds") if t.datetime_complete else "",
                cell(a.get("host")),
                cell(a.get("run_dir")),
                cell(a.get("error")),
                *(cell(t.params.get(n)) for n in param_names),
            ]
        )
    return atomic_write_text(path, buf.getvalue())


def _best_trial(study: Any) -> Any | None:
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.value is not None]
    if not done:
        return None
    return max(done, key=lambda t: (t.value, -t.number))


def write_best_hyperparameters(study: Any, path: str | Path, env: str) -> Path | None:
    """``best_hyperparameters.yml`` of the study's best complete trial (None: no complete trial yet).

    The file is an env section as ``scripts/train_sb3.py --config FILE`` (and
    ``resolve_config(config_file=...)``) takes it, with the full training's ``n_timesteps``.
    """
    best = _best_trial(study)
    if best is None:
        return None
    section = best.user_attrs.get("section")
    if not isinstance(section, dict):
        return None
    a = best.user_attrs
    header = (
        f"# Best hyperparameters of the Optuna study {study.study_name}: trial {best.number},\n"
        f"# objective {best.value:.6f} (success {_pct(a.get('success_rate'))}, steps to food "
        f"{_steps(a.get('steps_to_food'))}) after {a.get('num_timesteps', '?')} timesteps of training.\n"
        f"# Objective: {OBJECTIVE}.\n"
        f"# Train with: python scripts/train_sb3.py --env {env} --config {path}\n"
    )
    text = header + yaml.safe_dump({env: section}, sort_keys=False, default_flow_style=None)
    return atomic_write_text(path, text)


def _write_outputs(study: Any, prepared: PreparedSweep) -> tuple[Path, Path | None]:
    csv_path = write_trials_csv(study, prepared.study_dir / TRIALS_CSV)
    best = write_best_hyperparameters(study, prepared.study_dir / BEST_FILE, prepared.settings.env)
    return csv_path, best


def _finite_or_none(x: Any) -> float | None:
    """A float for a user attribute (NaN -> None: JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _make_objective(prepared: PreparedSweep) -> Callable[[Any], float]:
    from .train import train

    s = prepared.settings
    base = prepared.base
    host = socket.gethostname()

    def objective(trial: Any) -> float:
        params = prepared.space.sample(trial)
        trial.set_user_attr("host", host)
        run_dir = prepared.study_dir / f"trial_{trial.number}"
        trial.set_user_attr("run_dir", str(run_dir.absolute()))
        state = {"evals": 0, "pruned": False}

        def record(det: Mapping[str, float], num_timesteps: int) -> None:
            for key in ("success_rate", "steps_to_food", "team_return"):
                trial.set_user_attr(key, _finite_or_none(det.get(key)))
            trial.set_user_attr("num_timesteps", int(num_timesteps))

        def on_eval(num_timesteps: int, det: Mapping[str, float], stoch: Mapping[str, float] | None) -> bool:
            state["evals"] += 1
            value = objective_value(det)
            trial.report(value, state["evals"])
            record(det, num_timesteps)
            if trial.should_prune():
                state["pruned"] = True
                return False
            return True

        try:
            cfg = trial_config(
                base,
                params,
                n_timesteps=prepared.trial_timesteps,
                seed=int(s.seed) + int(trial.number),
                eval_freq=prepared.eval_freq,
                eval_episodes=s.n_eval_episodes,
                checkpoint_freq=0,
                progress_bar=False,
                verbose=0,
            )
            trial.set_user_attr("section", best_section(cfg, base))
            result = train(
                cfg,
                logdir=prepared.study_dir,
                run_name=run_dir.name,
                final_eval_episodes=s.n_eval_episodes,
                on_eval=on_eval,
            )
        except TRIAL_ERRORS as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500])
            raise
        if result.interrupted or result.final_eval is None:
            trial.set_user_attr("error", "interrupted")
            raise KeyboardInterrupt
        trial.set_user_attr("train_seconds", round(float(result.train_seconds), 3))
        if state["pruned"]:
            raise optuna.TrialPruned(f"pruned at evaluation {state['evals']}")
        det = result.final_eval[0]
        record(det, result.num_timesteps)
        value = objective_value(det)
        trial.report(value, state["evals"] + 1)  # the final evaluation completes the curve
        return value

    return objective


def run_sweep(
    prepared: PreparedSweep,
    *,
    printer: Callable[[str], None] | None = None,
    init_lock: bool = True,
    objective: Callable[[Any], float] | None = None,
) -> SweepResult:
    """Run ``n_trials`` trials of this worker on the (shared) study; see the module docstring.

    Args:
        prepared: the checked sweep (:func:`prepare`).
        printer: gets one line per finished trial of this worker (default: ``print``); with the
            progress bar on, lines are written above the bar.
        init_lock: PostgreSQL: serialise the table creation with an advisory lock (the retry
            alone also copes; see :func:`make_storage`).
        objective: replaces the training objective (tests).
    """
    from tqdm.auto import tqdm

    s = prepared.settings
    study_dir = prepared.study_dir
    study_dir.mkdir(parents=True, exist_ok=True)
    study = open_study(
        prepared.storage,
        prepared.study_name,
        sampler=prepared.sampler,
        pruner=prepared.pruner,
        connect_timeout=s.connect_timeout,
        init_lock=init_lock,
    )
    attrs = study.user_attrs
    for key, value in (("env", s.env), ("algo", s.algo)):
        if key in attrs and attrs[key] != value:
            raise TuneError(
                f"the study {prepared.study_name} in {prepared.storage.display} tunes {key} {attrs[key]}, not {value}: "
                "pick another --study-name"
            )
    description = {
        "env": s.env,
        "algo": s.algo,
        "objective": OBJECTIVE,
        "trial_timesteps": prepared.trial_timesteps,
        "n_eval_episodes": s.n_eval_episodes,
        "n_evaluations": s.n_evaluations,
        "search_space": [p.describe() for p in prepared.space.params],
    }
    for key, value in description.items():
        if key not in attrs:
            study.set_user_attr(key, value)
        elif attrs[key] != value and key not in ("search_space",):
            logger.warning("the study was started with %s=%r; this worker uses %r", key, attrs[key], value)

    bar = tqdm(
        total=s.n_trials,
        desc=prepared.study_name,
        unit="trial",
        disable=None if s.progress_bar else True,  # None: off unless stderr is a terminal
        file=sys.stderr,
        dynamic_ncols=True,
    )
    out = printer or print
    emit = (lambda line: bar.write(line, file=sys.stdout)) if not bar.disable else out
    result = SweepResult(prepared.study_name, study_dir, prepared.storage)

    def after_trial(study: Any, trial: Any) -> None:
        result.counts[trial.state.name] = result.counts.get(trial.state.name, 0) + 1
        try:
            result.trials_csv, result.best_file = _write_outputs(study, prepared)
        except Exception:  # the outputs are rewritten after the next trial
            logger.exception("could not write the study outputs")
        best = _best_trial(study)
        emit(format_trial_line(trial, is_best=best is not None and best.number == trial.number))
        bar.update(1)
        if best is not None:
            bar.set_postfix_str(f"best {best.value:.4f} (trial {best.number})", refresh=True)

    try:
        study.optimize(
            objective or _make_objective(prepared),
            n_trials=s.n_trials,
            timeout=s.timeout,
            callbacks=[after_trial],
            catch=TRIAL_ERRORS,
            gc_after_trial=True,
        )
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        bar.close()
    result.trials_csv, result.best_file = _write_outputs(study, prepared)
    best = _best_trial(study)
    if best is not None:
        result.best_number, result.best_value = best.number, float(best.value)
    result.n_study_trials = len(study.get_trials(deepcopy=False))
    return result


# ====================================================================== command line
EPILOG = """\
study folder (<logdir>/<study-name>/):
  trial_<k>/                 each trial's run folder (as train_sb3.py writes it)
  trials.csv                 every trial of the study: state, value, evaluation, parameters
  best_hyperparameters.yml   the best trial, for: train_sb3.py --env ENV --config FILE
  study.db                   the study (default storage: sqlite:///<study folder>/study.db)

objective (maximised): success_rate - 0.001 * s / (s + 1000), s = mean steps to food, from the
final model's deterministic evaluation (--n-eval-episodes episodes); success dominates and fewer
steps breaks ties. A trial has --n-evaluations evaluations: the first n-1 at about k/n of its
timesteps, each reporting the same objective to the pruner, and the final one.

several workers: start the same command several times (--n-trials counts this worker's trials).
  one machine:      the default SQLite file, or --storage journal:<path>/journal.log
  several machines: --storage postgresql+psycopg://user:password@host:5432/db (pip install
                    'sb3_forager[tune]'); workers may start at the same moment on a fresh database.
watch a study:      pip install optuna-dashboard; optuna-dashboard sqlite:///<study folder>/study.db

--sampler/--pruner take options: tpe:n_startup_trials=5, median:n_startup_trials=2,
threshold:lower=0.5, percentile:percentile=25. Exit codes: 0 done, 1 every trial failed or a
storage error, 2 bad arguments (nothing written), 130 interrupted.
"""


def build_parser(prog: str = "tune.py") -> argparse.ArgumentParser:
    """The command line of ``scripts/tune.py`` (and ``python -m sb3_forager tune``)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Sweep hyperparameters with Optuna: each trial trains with the package's training "
        "pipeline and is scored on team success, then fewer steps to food.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", choices=ENVS, default="coop", help="the env to tune (default: coop)")
    p.add_argument("--algo", choices=ALGOS, default="ppo", help="the algorithm (default: ppo)")
    p.add_argument("--n-trials", type=int, default=20, metavar="N", help="trials of this worker (default 20)")
    p.add_argument(
        "--trial-timesteps",
        type=int,
        default=None,
        metavar="N",
        help="timesteps per trial (default: the config's n_timesteps, e.g. coop 1000000, forager 60000)",
    )
    p.add_argument(
        "--storage",
        default=None,
        metavar="URL",
        help="Optuna storage: an SQLAlchemy URL (sqlite:///f.db, postgresql+psycopg://user:pw@host/db) or "
        "journal:PATH; default sqlite:///<logdir>/<study-name>/study.db",
    )
    p.add_argument(
        "--study-name", default=None, metavar="NAME", help="study name and folder (default tune_<env>_<algo>)"
    )
    p.add_argument("--logdir", default="logs", metavar="DIR", help="parent of the study folder (default: logs)")
    p.add_argument(
        "--sampler",
        default="tpe",
        metavar="NAME[:K=V,...]",
        help=f"Optuna sampler: {', '.join(SAMPLERS)} (default tpe)",
    )
    p.add_argument(
        "--pruner",
        default="median",
        metavar="NAME[:K=V,...]",
        help=f"Optuna pruner: {', '.join(PRUNERS)} (default median)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="N", help="trial k trains with seed N+k (default 0)")
    p.add_argument(
        "--sampler-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the sampler, for a reproducible single-worker sweep (default: none, so that "
        "parallel workers try different points)",
    )
    p.add_argument("--n-eval-episodes", type=int, default=10, metavar="N", help="episodes per evaluation (default 10)")
    p.add_argument(
        "--n-evaluations",
        type=int,
        default=4,
        metavar="N",
        help="evaluations per trial (default 4): n-1 during training, reported to the pruner (which may "
        "stop the trial), and the final one; 1: no pruning",
    )
    p.add_argument(
        "--search-space",
        default=None,
        metavar="FILE",
        help="YAML search space (default: sb3_forager/configs/search_space.yml)",
    )
    p.add_argument(
        "--config", default=None, metavar="FILE", help="hyperparameters of everything not searched (as train_sb3.py)"
    )
    p.add_argument("--n-envs", type=int, default=None, metavar="N", help="parallel worlds per trial (default: config)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="start no trial after this long")
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="database connection timeout (default 10)",
    )
    p.add_argument("--no-progress-bar", action="store_true", help="no overall progress bar")
    p.add_argument("--verbose", action="store_true", help="also log each evaluation and Optuna's messages")
    return p


def settings_from_args(args: argparse.Namespace) -> TuneSettings:
    return TuneSettings(
        env=args.env,
        algo=args.algo,
        n_trials=args.n_trials,
        trial_timesteps=args.trial_timesteps,
        storage=args.storage,
        study_name=args.study_name,
        logdir=args.logdir,
        sampler=args.sampler,
        pruner=args.pruner,
        seed=args.seed,
        sampler_seed=args.sampler_seed,
        n_eval_episodes=args.n_eval_episodes,
        n_evaluations=args.n_evaluations,
        search_space=args.search_space,
        config_file=args.config,
        n_envs=args.n_envs,
        timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        progress_bar=not args.no_progress_bar,
    )


class _StderrHandler(logging.StreamHandler):
    """Log to whatever ``sys.stderr`` is at the time (tests and progress bars replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _setup_logging(verbose: bool) -> None:
    """The package's warnings (and with ``verbose`` its evaluations, Optuna's messages) on stderr."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("sb3_forager")
    log.handlers[:] = [h for h in log.handlers if not isinstance(h, _StderrHandler)] + [handler]
    log.setLevel(logging.INFO if verbose else logging.WARNING)
    if optuna is not None:  # our line per trial replaces Optuna's (its failure tracebacks: --verbose)
        optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.ERROR)


def cli_main(argv: Sequence[str] | None = None, prog: str = "tune.py") -> int:
    """The command line: parse, check everything (exit 2, nothing written), sweep, report."""
    args = build_parser(prog).parse_args(argv)
    _setup_logging(args.verbose)

    def fail(message: str, code: int = 2) -> int:
        print(f"{prog}: error: {' '.join(str(message).split())}", file=sys.stderr)
        return code

    try:
        prepared = prepare(settings_from_args(args))
    except TuneError as exc:
        return fail(str(exc))
    p = prepared
    print(
        f"study {p.study_name}: {p.settings.n_trials} trial(s) of {p.trial_timesteps:,} timesteps on this worker, "
        f"{p.settings.algo} on {p.settings.env}; storage {p.storage.display}"
    )
    print(f"objective (maximised): {OBJECTIVE}")
    print("searching: " + "; ".join(spec.describe() for spec in p.space.params))
    try:
        result = run_sweep(p)
    except TuneError as exc:
        return fail(str(exc))
    except Exception as exc:  # a storage that went away, a bug: one line, not a traceback
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError) or type(exc).__module__.startswith("optuna"):
            return fail(f"{type(exc).__name__}: {exc}", code=1)
        raise
    counts = ", ".join(f"{n} {k.lower()}" for k, n in sorted(result.counts.items())) or "no trial"
    print(f"this worker: {counts}; the study has {result.n_study_trials} trial(s)")
    if result.best_number is not None:
        print(f"best: trial {result.best_number}, value {result.best_value:.6f} -> {result.best_file}")
        print(f"train it: python scripts/train_sb3.py --env {p.settings.env} --config {result.best_file}")
    else:
        print("no complete trial yet: no best_hyperparameters.yml")
    print(f"trials: {result.trials_csv}")
    print(f"watch: {p.storage.dashboard_command()}")
    if result.interrupted:
        print("interrupted: start the same command again to continue the study")
        return 130
    if result.counts and set(result.counts) == {"FAIL"}:
        return fail("every trial of this worker failed (see trials.csv, column error)", code=1)
    return 0
