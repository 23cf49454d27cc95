"""Training configuration: shipped RL-Zoo-style YAML defaults, user files, CLI overrides, validation.

A hyperparameter file (``sb3_forager/configs/<algo>.yml``, or a user's ``--config FILE``) maps an
env to its settings, RL Zoo style: the single foragers are keyed by their Gymnasium id (RL Zoo
reads the same file; its ``n_envs`` is read as ``n_worlds`` there, one env being one world), the
teams by this package's env name (their sections may also hold pipeline settings such as
``vec_env`` and ``scenario_mix``); the pipeline settings of the Gymnasium-id sections sit under
``pipeline: {<env>: ...}``, which RL Zoo ignores. A user file may also be flat (no env key).

Merge order: shipped defaults, then the user file, then explicit CLI flags; then
:meth:`TrainConfig.validate` checks every value (names, types, ranges) and raises
:class:`ConfigError` naming the first bad one. The resolved :class:`TrainConfig` is what
``config.yml`` in the run folder holds, and what ``--resume`` starts from.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module, resources
from pathlib import Path
from typing import Any

import yaml

from .. import models
from ..common import checks
from ..common.checks import BACKENDS
from ..sim import Scenario

__all__ = [
    "ALGOS",
    "BACKENDS",
    "ENVS",
    "VEC_ENVS",
    "ConfigError",
    "TrainConfig",
    "algo_class",
    "build_algo_kwargs",
    "default_hyperparams",
    "load_yaml",
    "parse_hyperparam_overrides",
    "policies",
    "resolve_config",
    "section_key",
]


class ConfigError(ValueError):
    """A configuration value is unknown or invalid (the message says which and why)."""


#: the env names of the training pipeline: the trainable models of :data:`sb3_forager.models.MODELS`
ENVS: tuple[str, ...] = models.TRAINABLE
#: the algorithms: name -> (module, class), imported when first asked for
_ALGO_CLASSES = {"ppo": ("stable_baselines3", "PPO"), "recurrent_ppo": ("sb3_contrib", "RecurrentPPO")}
ALGOS = tuple(_ALGO_CLASSES)
VEC_ENVS = ("supersuit", "batched")
#: at most this many worlds (SuperSuit builds one Python env per copy: fewer there)
MAX_WORLDS = 65_536
MAX_SUPERSUIT_COPIES = 1024
#: Algorithm arguments the pipeline sets itself.
RESERVED_ALGO_KEYS = ("policy", "env", "seed", "device", "tensorboard_log", "verbose", "_init_setup_model")

ACTIVATIONS = ("Tanh", "ReLU", "ELU", "LeakyReLU", "SiLU", "GELU", "Sigmoid")


def section_key(env: str) -> str:
    """The key of ``env``'s section in the hyperparameter files: the Gymnasium id of a single
    forager (for RL Zoo's sake), else the env name."""
    m = models.MODELS.get(env)
    return (m.gym_id or m.name) if m is not None else env


#: the Gymnasium-id sections, where RL Zoo reads ``n_envs`` (one env there is one world)
_GYM_SECTIONS = {section_key(env) for env in ENVS} - set(ENVS)


# ---------------------------------------------------------------------- value checks
def _checked(check: Callable[..., Any]) -> Callable[..., Any]:
    """``check`` (one of :mod:`sb3_forager.common.checks`) raising :class:`ConfigError` instead."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    return run


_int = _checked(checks.integer)
_float = _checked(checks.number)
_model = _checked(lambda env: models.model(env, ENVS))


def _positive_schedule(value: Any, name: str) -> float:
    """A number > 0 or an RL Zoo ``lin_<number>`` schedule; returns its (start) value."""
    if not isinstance(value, str):
        x = _float(value, name)
    elif not value.startswith("lin_"):
        raise ConfigError(f"{name} must be a number or lin_<number>, got {value!r}")
    else:
        try:
            x = float(value[4:])
        except ValueError:
            raise ConfigError(f"{name}: cannot read a number from {value!r}") from None
    if not x > 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")
    return x


#: the algorithm arguments whose values the pipeline checks: name -> ``check(value, name)``
_HYPER_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "n_steps": lambda v, n: _int(v, n, 1, 1_000_000),
    "batch_size": lambda v, n: _int(v, n, 1, 10_000_000),
    "n_epochs": lambda v, n: _int(v, n, 1, 10_000),
    "gamma": lambda v, n: _float(v, n, 0.0, 1.0, low_open=True),
    "gae_lambda": lambda v, n: _float(v, n, 0.0, 1.0),
    "ent_coef": lambda v, n: _float(v, n, 0.0),
    "vf_coef": lambda v, n: _float(v, n, 0.0),
    "max_grad_norm": lambda v, n: _float(v, n, 0.0, low_open=True),
    "learning_rate": _positive_schedule,
    "clip_range": _positive_schedule,
    "clip_range_vf": lambda v, n: None if v is None else _positive_schedule(v, n),
    "target_kl": lambda v, n: None if v is None else _float(v, n, 0.0, low_open=True),
    "normalize_advantage": lambda v, n: _bool(v, n),
    "use_sde": lambda v, n: _bool(v, n),
    "sde_sample_freq": lambda v, n: _int(v, n, -1),
    "stats_window_size": lambda v, n: _int(v, n, 1),
}


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def _net_arch(value: Any, name: str) -> None:
    def layers(v: Any, what: str) -> None:
        if (
            not isinstance(v, list)
            or not v
            or not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 65536 for x in v)
        ):
            raise ConfigError(f"{what} must be a non-empty list of layer sizes (positive integers), got {v!r}")

    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"pi", "vf"})
        if unknown:
            raise ConfigError(f"{name} may only have the keys 'pi' and 'vf', got {unknown}")
        for key, v in value.items():
            layers(v, f"{name}.{key}")
    else:
        layers(value, name)


# ---------------------------------------------------------------------- the config
@dataclass
class TrainConfig:
    """Everything one training run needs; ``config.yml`` in the run folder is ``to_dict()``."""

    env: str = "coop"
    algo: str = "ppo"
    backend: str = "embedded"
    seed: int = 0
    n_timesteps: int = 150_000
    #: parallel worlds (copies of the team, or single foragers); SB3's ``num_envs`` counts slots (worlds x K)
    n_worlds: int = 8
    policy: str = "MlpPolicy"
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    #: VecNormalize: False, True (observations and rewards, as RL Zoo) or VecNormalize kwargs
    normalize: bool | dict[str, Any] = False
    #: teams on the embedded backend: "supersuit" (PettingZoo -> SuperSuit) or "batched" (ForagerVecEnv)
    vec_env: str = "supersuit"
    #: timesteps between evaluations (0: none)
    eval_freq: int = 10_000
    eval_episodes: int = 10
    #: timesteps between checkpoints (0: none)
    checkpoint_freq: int = 50_000
    torch_threads: int = 1
    device: str = "cpu"
    verbose: int = 0
    progress_bar: bool = True
    gama_servers: list[str] = field(default_factory=lambda: ["127.0.0.1:1001"])
    gama_timeout: float = 30.0
    #: worlds per GAMA simulation (None: one GAMA experiment per world)
    gama_worlds_per_sim: int | None = None
    #: scenario keyword arguments applied to the env's preset (e.g. ``{obstacles: random}``)
    scenario: dict[str, Any] = field(default_factory=dict)
    #: the training distribution: ``[{fraction: 0.5, obstacles: random}, ...]``: that fraction of
    #: the worlds takes the preset modified by those keyword arguments (the rest: ``scenario``)
    scenario_mix: list[dict[str, Any]] = field(default_factory=list)
    #: keyword arguments of the algorithm (PPO / RecurrentPPO), e.g. n_steps, batch_size, gamma
    hyperparams: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """A validated config from ``config.yml``; one written before 0.2 (``n_envs``, env
        ``coop-random``) is read with today's names (``n_worlds``, ``team``)."""
        data = dict(data)
        if "n_envs" in data and "n_worlds" not in data:
            data["n_worlds"] = data.pop("n_envs")
        if data.get("env") in models.RENAMED:
            data["env"] = models.RENAMED[data["env"]]
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown keys in the run config: {unknown}")
        cfg = cls(**data)
        cfg.validate()
        return cfg

    @property
    def model(self) -> models.Model:
        """The env's row of the model table."""
        return _model(self.env)

    @property
    def n_agents(self) -> int:
        return self.model.n_agents

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first value that is unknown, mistyped or out of range."""
        self.model  # noqa: B018 (checks env)
        for name, allowed in (("algo", ALGOS), ("vec_env", VEC_ENVS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        self.backend = _checked(checks.backend)(self.backend)
        self.seed = _checked(checks.seed)(self.seed)
        if self.seed is None:
            raise ConfigError("seed must be an integer in [0, 2**32), got None")
        self.n_timesteps = _int(self.n_timesteps, "n_timesteps", 1)
        limit = MAX_SUPERSUIT_COPIES if self.uses_supersuit else MAX_WORLDS
        self.n_worlds = _int(self.n_worlds, "n_worlds", 1, limit)
        self.eval_episodes = _int(self.eval_episodes, "eval_episodes", 1, 1_000_000)
        self.torch_threads = _int(self.torch_threads, "torch_threads", 1, 1024)
        self.eval_freq = _int(self.eval_freq, "eval_freq (0 disables it)", 0)
        self.checkpoint_freq = _int(self.checkpoint_freq, "checkpoint_freq (0 disables it)", 0)
        self.verbose = _int(self.verbose, "verbose", 0, 2)
        self.gama_timeout = _float(self.gama_timeout, "gama_timeout", 0.0, low_open=True)
        if self.gama_worlds_per_sim is not None:
            self.gama_worlds_per_sim = _int(self.gama_worlds_per_sim, "gama_worlds_per_sim", 1, 1024)
        if not isinstance(self.normalize, (bool, dict)):
            raise ConfigError(
                f"normalize must be true, false or a dict of VecNormalize arguments, got {self.normalize!r}"
            )
        if self.policy not in policies(self.algo):
            raise ConfigError(f"policy for {self.algo} must be one of {policies(self.algo)}, got {self.policy!r}")
        if not isinstance(self.gama_servers, list) or not self.gama_servers:
            raise ConfigError("gama_servers must list at least one host:port")
        for server in self.gama_servers:
            _checked(checks.server)(server)
        self.training_scenarios(1)  # checks scenario and scenario_mix
        build_algo_kwargs(self)  # checks the hyperparameters and policy_kwargs

    @property
    def uses_supersuit(self) -> bool:
        """Whether the training envs go through SuperSuit (teams on the embedded backend)."""
        return self.model.is_team and self.backend == "embedded" and self.vec_env == "supersuit" and not self.scenario_mix

    # ------------------------------------------------------------------ scenarios
    def base_scenario(self) -> Scenario:
        """The env's preset with ``scenario`` applied (what evaluations during training use)."""
        if not isinstance(self.scenario, Mapping):
            raise ConfigError(f"scenario must be a mapping of scenario arguments, got {self.scenario!r}")
        try:
            return Scenario.from_kwargs(self.model.scenario, **dict(self.scenario))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"scenario: {exc}") from None

    def training_scenarios(self, n_worlds: int) -> list[Scenario]:
        """One scenario per training world: ``scenario_mix`` fractions first, the base for the rest."""
        base = self.base_scenario()
        if not isinstance(self.scenario_mix, list):
            raise ConfigError(f"scenario_mix must be a list of {{fraction: f, ...}} entries, got {self.scenario_mix!r}")
        out: list[Scenario] = []
        total = 0.0
        for i, entry in enumerate(self.scenario_mix):
            if not isinstance(entry, Mapping) or "fraction" not in entry:
                raise ConfigError(f"scenario_mix[{i}] must be a mapping with a fraction, got {entry!r}")
            kwargs = dict(entry)
            fraction = _float(kwargs.pop("fraction"), f"scenario_mix[{i}].fraction", 0.0, 1.0)
            total += fraction
            try:
                sc = Scenario.from_kwargs(base, **kwargs)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"scenario_mix[{i}]: {exc}") from None
            if (sc.rules, sc.n_foragers, sc.teammate) != (base.rules, base.n_foragers, base.teammate):
                raise ConfigError(f"scenario_mix[{i}] must keep the team size and teammate rule of {self.env}")
            out.extend([sc] * int(round(fraction * n_worlds)))
        if total > 1.0 + 1e-9:
            raise ConfigError(f"the scenario_mix fractions add up to {total:g} > 1")
        out = out[:n_worlds]
        return out + [base] * (n_worlds - len(out))


# ---------------------------------------------------------------------- files
def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path`` (an empty file gives ``{}``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, got {type(data).__name__}")
    return data


def _shipped(algo: str) -> dict[str, Any]:
    if algo not in ALGOS:
        raise ConfigError(f"algo must be one of {list(ALGOS)}, got {algo!r}")
    text = resources.files("sb3_forager").joinpath("configs", f"{algo}.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def _read_section(section: Any, key: str) -> dict[str, Any]:
    """A section's settings; RL Zoo's ``n_envs`` is read as ``n_worlds`` in the Gymnasium-id sections only."""
    if not isinstance(section, dict):
        raise ConfigError(f"the {key!r} section of the config file must be a mapping")
    out = dict(section)
    if "n_envs" in out:
        if key not in _GYM_SECTIONS or "n_worlds" in out:
            raise ConfigError(
                f"{key}: n_envs is RL Zoo's key, read only in the Gymnasium-id sections "
                f"({', '.join(sorted(_GYM_SECTIONS))}); this package counts worlds as n_worlds"
            )
        out["n_worlds"] = out.pop("n_envs")
    return out


def default_hyperparams(env: str, algo: str) -> dict[str, Any]:
    """The shipped settings of ``env`` in ``sb3_forager/configs/<algo>.yml`` (as :func:`_section` reads them)."""
    _model(env)
    data = _shipped(algo)
    if section_key(env) not in data:
        raise ConfigError(f"sb3_forager/configs/{algo}.yml has no section for env {env!r} ({section_key(env)!r})")
    return _section(data, env)


def _section(data: Mapping[str, Any], env: str) -> dict[str, Any]:
    """A user file's settings for ``env``: its section (by env name or Gymnasium id) plus its
    ``pipeline`` entry if it has sections, else all of it (a flat file)."""
    keys = set(ENVS) | _GYM_SECTIONS | set(models.RENAMED) | {"pipeline"}
    if not any(key in keys for key in data):
        return _read_section(dict(data), "the config file")
    for old, new in models.RENAMED.items():
        if old in data:
            raise ConfigError(f"the config file's section {old!r} is now called {new!r}")
    out: dict[str, Any] = {}
    for key in dict.fromkeys((env, section_key(env))):
        if data.get(key) is not None:
            out.update(_read_section(data[key], key))
    pipeline = data.get("pipeline")
    if isinstance(pipeline, dict) and pipeline.get(env):
        out.update(_read_section(pipeline[env], f"pipeline.{env}"))
    return out


def _apply_section(cfg: dict[str, Any], section: Mapping[str, Any]) -> None:
    """Merge a hyperparameter section (run settings + algorithm kwargs) into a config dict."""
    hyper = dict(cfg.get("hyperparams") or {})
    run_fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"hyperparams"}
    for key, value in section.items():
        if key == "hyperparams" and isinstance(value, dict):
            hyper.update(value)
        elif key in run_fields:
            cfg[key] = value
        else:
            hyper[key] = value
    cfg["hyperparams"] = hyper


def resolve_config(
    env: str = "coop",
    algo: str = "ppo",
    config_file: str | Path | None = None,
    base: TrainConfig | None = None,
    overrides: Mapping[str, Any] | None = None,
    hyperparam_overrides: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """Merge shipped defaults (or ``base``, e.g. a resumed run's config), a user file and overrides.

    Args:
        env, algo: which shipped section to start from (ignored when ``base`` is given).
        config_file: a user YAML file (RL Zoo style, with env sections, or flat).
        base: a resolved config to start from instead of the shipped defaults.
        overrides: run settings (``TrainConfig`` field names) given explicitly, e.g. CLI flags.
        hyperparam_overrides: algorithm arguments given explicitly (``--hyperparams k=v``).
    """
    if base is not None:
        cfg = base.to_dict()
    else:
        cfg = TrainConfig(env=env, algo=algo).to_dict()
        _apply_section(cfg, default_hyperparams(env, algo))
    if config_file is not None:
        _apply_section(cfg, _section(load_yaml(config_file), cfg["env"]))
    for key, value in (overrides or {}).items():
        if value is not None:
            cfg[key] = value
    if hyperparam_overrides:
        _apply_section(cfg, _read_section(dict(hyperparam_overrides), "--hyperparams"))
    return TrainConfig.from_dict(cfg)


def parse_hyperparam_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["gamma=0.95", "n_steps=64"]`` -> ``{"gamma": 0.95, "n_steps": 64}`` (values read as YAML)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--hyperparams takes KEY=VALUE pairs, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"--hyperparams {item!r}: the value is not valid YAML ({first})") from None
    return out


# ---------------------------------------------------------------------- algorithm arguments
def algo_class(algo: str) -> type:
    """The SB3 / sb3-contrib class of ``algo``."""
    if algo not in _ALGO_CLASSES:
        raise ConfigError(f"algo must be one of {list(ALGOS)}, got {algo!r}")
    module, name = _ALGO_CLASSES[algo]
    return getattr(import_module(module), name)


def policies(algo: str) -> list[str]:
    """The policies of ``algo`` (its SB3 ``policy_aliases``) that fit these envs' flat Box observations."""
    return [name for name in algo_class(algo).policy_aliases if name.startswith("Mlp")]


def _policy_kwargs(raw: Mapping[str, Any], algo: str) -> dict[str, Any]:
    """YAML policy kwargs -> SB3's, checked: ``activation_fn`` by name, ``net_arch`` layer sizes,
    and only the keyword arguments the policy class takes."""
    from torch import nn

    if not isinstance(raw, Mapping):
        raise ConfigError(f"policy_kwargs must be a mapping, got {raw!r}")
    policy_cls = algo_class(algo).policy_aliases[policies(algo)[0]]
    set_by_sb3 = {"self", "observation_space", "action_space", "lr_schedule"}
    accepted = set(inspect.signature(policy_cls.__init__).parameters) - set_by_sb3
    unknown = sorted(set(raw) - accepted)
    if unknown:
        raise ConfigError(f"policy_kwargs: unknown argument(s) {unknown}; accepted: {sorted(accepted)}")
    out = dict(raw)
    if "net_arch" in out:
        _net_arch(out["net_arch"], "policy_kwargs.net_arch")
    for key in ("lstm_hidden_size", "n_lstm_layers"):
        if key in out:
            _int(out[key], f"policy_kwargs.{key}", 1, 65536)
    if "log_std_init" in out:
        _float(out["log_std_init"], "policy_kwargs.log_std_init")
    act = out.get("activation_fn")
    if act is not None:
        names = {a.lower(): a for a in ACTIVATIONS}
        key = str(act).lower().removeprefix("torch.nn.").removeprefix("nn.")
        if not isinstance(act, str) or key not in names:
            raise ConfigError(f"policy_kwargs.activation_fn must be one of {list(ACTIVATIONS)}, got {act!r}")
        out["activation_fn"] = getattr(nn, names[key])
    return out


def build_algo_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """The keyword arguments for the algorithm's constructor (minus env/policy/seed/device/logging);
    :class:`ConfigError` for a name the algorithm does not take, or a mistyped or out-of-range value."""
    from stable_baselines3.common.utils import LinearSchedule

    cls = algo_class(cfg.algo)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    if not isinstance(cfg.hyperparams, dict):
        raise ConfigError(f"hyperparams must be a mapping, got {cfg.hyperparams!r}")
    kwargs = dict(cfg.hyperparams)
    bad = sorted(k for k in kwargs if k not in accepted or k in RESERVED_ALGO_KEYS)
    if bad:
        raise ConfigError(
            f"{cls.__name__} does not take hyperparameter(s) {bad} (or they are set by the pipeline); "
            f"accepted: {sorted(accepted - set(RESERVED_ALGO_KEYS))}"
        )
    for key, value in kwargs.items():
        check = _HYPER_CHECKS.get(key)
        if check is not None:
            check(value, key)
    for key in ("learning_rate", "clip_range", "clip_range_vf"):
        if isinstance(kwargs.get(key), str):  # RL Zoo's lin_<x>: from x linearly to 0
            kwargs[key] = LinearSchedule(_positive_schedule(kwargs[key], key), 0.0, 1.0)
    if cfg.policy_kwargs:
        kwargs["policy_kwargs"] = _policy_kwargs(cfg.policy_kwargs, cfg.algo)
    return kwargs
