"""The sweep's search space: ``configs/search_space.yml`` entries handed straight to Optuna.

An entry ``<name>: {type: float|int|categorical, **kwargs}`` is sampled as
``trial.suggest_<type>(name, **kwargs)``; a list ``[a, b]`` is ``{type: categorical, choices: [a, b]}``.
Two things are ours, as Optuna has no word for them: ``schedule: linear`` turns the sampled x into
RL Zoo's ``lin_<x>`` (decays to 0), and ``choices`` given as a mapping ``{small: [64, 64], ...}``
samples its names (Optuna's categorical choices are plain values) and the config gets the value.
Checks: Optuna's own, by building the distributions when the space is loaded (its warnings too,
e.g. a list as a choice), and the config's, by resolving each range end and choice (plus one
non-integral value of a float range) over the base config: that catches an unknown hyperparameter
and a value of the wrong type.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import optuna
import yaml

from .config import ALGOS, ENVS, ConfigError, TrainConfig, resolve_config

__all__ = ["Param", "SearchSpace", "TuneError", "load_search_space", "trial_config"]

#: run settings a search space may sample (everything else is an algorithm argument or policy_kwargs.<key>)
TUNABLE_RUN_KEYS = ("n_worlds", "normalize")
DISTRIBUTIONS = {
    "float": optuna.distributions.FloatDistribution,
    "int": optuna.distributions.IntDistribution,
    "categorical": optuna.distributions.CategoricalDistribution,
}


class TuneError(ValueError):
    """Bad input for a sweep: one line naming what is wrong (raised before anything is written)."""


@dataclass(frozen=True)
class Param:
    """One searched hyperparameter: ``trial.suggest_<kind>(name, **kwargs)``, then our two extras."""

    name: str
    kind: str  #: "float", "int" or "categorical"
    kwargs: Mapping[str, Any]
    #: named choices: label (what Optuna samples) -> the config's value
    values: Mapping[str, Any] | None = None
    linear_schedule: bool = False
    distribution: Any = field(default=None, compare=False)

    def suggest(self, trial: Any) -> Any:
        """Sample this parameter in an Optuna trial; returns the value the config gets."""
        return self.finish(getattr(trial, f"suggest_{self.kind}")(self.name, **self.kwargs))

    def finish(self, value: Any) -> Any:
        if self.values is not None:
            value = self.values[value]
        return f"lin_{float(value)!r}" if self.linear_schedule else value

    def probes(self) -> list[Any]:
        """The config values to check: the range ends (and a non-integral float), or every choice."""
        if self.kind == "categorical":
            return [self.finish(c) for c in self.distribution.choices]
        low, high = self.distribution.low, self.distribution.high
        probes = [low, high]
        if self.kind == "float" and self.distribution.step is None and low < high:
            probes.append(low + (high - low) * (math.sqrt(2) - 1))  # an integer-only argument rejects it
        return [self.finish(v) for v in probes]

    def describe(self) -> str:
        if self.kind == "categorical":
            return f"{self.name} in {list(self.distribution.choices)}"
        return f"{self.name} in [{self.kwargs['low']}, {self.kwargs['high']}]" + (" log" if self.kwargs.get("log") else "")


@dataclass(frozen=True)
class SearchSpace:
    """The parameters searched for one (algo, env); ``source`` is the file they came from."""

    algo: str
    env: str
    params: tuple[Param, ...]
    source: str

    def sample(self, trial: Any) -> dict[str, Any]:
        """name -> config value for each parameter (``policy_kwargs.<key>`` names kept dotted)."""
        return {p.name: p.suggest(trial) for p in self.params}

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]


def default_search_space_path() -> str:
    return str(resources.files("sb3_forager").joinpath("configs", "search_space.yml"))


def _param(name: str, raw: Any, where: str) -> Param:
    """One ``<name>: <spec>`` entry -> :class:`Param`, its distribution built (Optuna's checks)."""
    spec = {"type": "categorical", "choices": raw} if isinstance(raw, list) else raw
    if not isinstance(spec, dict):
        raise TuneError(
            f"{where}: {name}: expected {{type: float|int|categorical, ...}} (the keyword arguments of "
            f"trial.suggest_<type>) or a list of choices, got {raw!r}"
        )
    kwargs = dict(spec)
    kind = kwargs.pop("type", "categorical" if "choices" in kwargs else None)
    schedule = kwargs.pop("schedule", None)
    if kind not in DISTRIBUTIONS:
        raise TuneError(f"{where}: {name}: type must be float, int or categorical, got {kind!r}")
    if schedule not in (None, "linear"):
        raise TuneError(f"{where}: {name}: schedule must be linear, got {schedule!r}")
    choices = kwargs.get("choices")
    values = {str(k): v for k, v in choices.items()} if kind == "categorical" and isinstance(choices, dict) else None
    if values is not None:
        kwargs["choices"] = list(values)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Optuna's warnings (a list as a choice, a step that does not fit)
            distribution = DISTRIBUTIONS[kind](**kwargs)
    except (ValueError, TypeError, Warning) as exc:
        raise TuneError(f"{where}: {name} {spec}: {' '.join(str(exc).split())}") from exc
    return Param(name, kind, kwargs, values, schedule == "linear", distribution)


def _read(source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TuneError(f"cannot read the search space file {source}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise TuneError(f"{source} is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(data, dict):
        raise TuneError(f"{source}: expected a mapping of algorithm sections ({', '.join(ALGOS)}), got {data!r}")
    unknown = sorted(str(k) for k in data if k not in ALGOS)
    if unknown:
        raise TuneError(f"{source}: unknown algorithm section(s) {unknown} (known: {list(ALGOS)})")
    return data


def _check_against_config(params: list[Param], base: TrainConfig, where: str) -> None:
    fixed = {f.name for f in dataclasses.fields(TrainConfig)} - {"hyperparams", *TUNABLE_RUN_KEYS}
    for param in params:
        if param.name in fixed:  # the config takes it, but as a run setting (the sweep sets several itself)
            raise TuneError(
                f"{where}: {param.name} is a run setting, not searched (searched: the algorithm's arguments, "
                f"policy_kwargs.<key>, {', '.join(TUNABLE_RUN_KEYS)})"
            )
        for value in param.probes():
            try:
                trial_config(base, {param.name: value})
            except (ConfigError, ValueError, TypeError) as exc:
                raise TuneError(f"{where}: {param.name}: the value {value!r} is rejected: {exc}") from exc


def load_search_space(
    algo: str, env: str, path: str | Path | None = None, base: TrainConfig | None = None
) -> SearchSpace:
    """The search space of ``algo`` on ``env`` from ``path`` (default: the shipped one), checked.

    The algorithm's entries apply to every env; an env's section adds or replaces entries
    (``<name>: null`` drops one). Every section is checked, the other envs' over their shipped
    configs: a typo should not wait for the day they are tuned. Raises :class:`TuneError`.
    """
    source = str(path) if path is not None else default_search_space_path()
    section = _read(source).get(algo)
    if not section:
        raise TuneError(f"{source} has no search space for algo {algo!r}")
    if not isinstance(section, dict):
        raise TuneError(f"{source}: the {algo} section must be a mapping, got {section!r}")
    common = {str(k): v for k, v in section.items() if k not in ENVS}
    merged = dict(common)
    for env_name in ENVS:
        env_section = section.get(env_name) or {}
        if not isinstance(env_section, dict):
            raise TuneError(f"{source}: {algo}.{env_name} must be a mapping of hyperparameters, got {env_section!r}")
        if env_name == env:
            merged.update({str(k): v for k, v in env_section.items()})
        elif env_section:
            where = f"{source}: {algo}.{env_name}"
            own = [_param(str(name), raw, where) for name, raw in env_section.items() if raw is not None]
            _check_against_config(own, resolve_config(env_name, algo), where)
    where = f"{source}: {algo}" + (f" (with its {env} section)" if section.get(env) else "")
    params = [_param(name, raw, where) for name, raw in merged.items() if raw is not None]
    if not params:
        raise TuneError(f"{source}: the search space of {algo} on {env} is empty")
    _check_against_config(params, base if base is not None else resolve_config(env, algo), where)
    return SearchSpace(algo=algo, env=env, params=tuple(params), source=source)


def trial_config(base: TrainConfig, params: Mapping[str, Any], **run_overrides: Any) -> TrainConfig:
    """``base`` with the sampled ``params`` (run settings, ``policy_kwargs.<key>`` entries, algorithm
    arguments) and the given run settings (such as ``n_timesteps``) applied."""
    overrides: dict[str, Any] = {}
    hyper: dict[str, Any] = {}
    policy_kwargs = dict(base.policy_kwargs or {})
    for name, value in params.items():
        if name.startswith("policy_kwargs."):
            policy_kwargs[name.split(".", 1)[1]] = value
            overrides["policy_kwargs"] = policy_kwargs
        elif name in TUNABLE_RUN_KEYS:
            overrides[name] = value
        else:
            hyper[name] = value
    overrides.update({k: v for k, v in run_overrides.items() if v is not None})
    return resolve_config(base=base, overrides=overrides, hyperparam_overrides=hyper)
