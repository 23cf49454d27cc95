"""Training configuration: shipped RL-Zoo-style YAML defaults, user files, CLI overrides, validation.

A hyperparameter file (``sb3_forager/configs/<algo>.yml``, or a user's ``--config FILE``) maps an
env to its settings, RL Zoo style. The single-forager envs are keyed by their Gymnasium id, so RL
Zoo reads the same file (``python -m rl_zoo3.train --env sb3_forager/Forager-v0 -conf ...``); the
teams, which RL Zoo cannot train, by this package's env name::

    sb3_forager/ForagerRandom-v0:     # RL Zoo keys only: n_timesteps, n_envs, policy, normalize,
      n_timesteps: 1500000            # policy_kwargs, and the algorithm's own arguments
      n_envs: 32
      policy: MlpPolicy
      n_steps: 128
      learning_rate: lin_1e-3         # RL Zoo's linear schedule, to 0
    coop-random:                      # this package's sections may also hold pipeline settings
      n_timesteps: 3000000
      vec_env: batched
      scenario_mix: [{fraction: 0.5, obstacles: random}]
    pipeline:                         # pipeline settings of the Gymnasium-id sections (RL Zoo ignores this)
      forager-random: {eval_freq: 100000}

A user file may also be flat (the settings without an env key). Merge order: shipped defaults,
then the user file, then explicit CLI flags; then :meth:`TrainConfig.validate` checks every value
(names, types, ranges) and raises :class:`ConfigError` naming the first bad one. The resolved
:class:`TrainConfig` is what ``config.yml`` in the run folder holds, and what ``--resume`` starts from.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..sim import PRESETS, Scenario

__all__ = [
    "ALGOS",
    "BACKENDS",
    "ENVS",
    "ENV_SPECS",
    "VEC_ENVS",
    "ConfigError",
    "EnvSpec",
    "TrainConfig",
    "algo_class",
    "build_algo_kwargs",
    "canonical_backend",
    "default_hyperparams",
    "load_yaml",
    "parse_hyperparam_overrides",
    "parse_server",
    "resolve_config",
    "section_key",
]


class ConfigError(ValueError):
    """A configuration value is unknown or invalid (the message says which and why)."""


@dataclass(frozen=True)
class EnvSpec:
    """What an env name of the training pipeline means."""

    name: str
    #: the preset scenario (see :data:`sb3_forager.sim.scenario.PRESETS`) the worlds start from
    preset: str
    #: the section key of the hyperparameter files (the Gymnasium id for RL Zoo's sake)
    section: str
    #: the GAMA model it runs on with ``--backend gama`` (see :func:`sb3_forager.gama.make_gama_vec_env`)
    gama_env: str

    @property
    def scenario(self) -> Scenario:
        return PRESETS[self.preset]

    @property
    def n_agents(self) -> int:
        return self.scenario.n_foragers


ENV_SPECS: dict[str, EnvSpec] = {
    "coop": EnvSpec("coop", "coop", "coop", "coop"),
    "coop-random": EnvSpec("coop-random", "team", "coop-random", "coop"),
    "forager": EnvSpec("forager", "forager", "sb3_forager/Forager-v0", "forager"),
    "forager-random": EnvSpec("forager-random", "forager-random", "sb3_forager/ForagerRandom-v0", "forager"),
}
ENVS = tuple(ENV_SPECS)
ALGOS = ("ppo", "recurrent_ppo")
BACKENDS = ("embedded", "gama")
#: accepted spellings of the backends
BACKEND_ALIASES = {"native": "embedded"}
VEC_ENVS = ("supersuit", "batched")
#: the policies that fit these envs' flat Box observations, per algorithm
POLICIES = {"ppo": ("MlpPolicy",), "recurrent_ppo": ("MlpLstmPolicy",)}
#: at most this many worlds (SuperSuit builds one Python env per copy: fewer there)
MAX_WORLDS = 65_536
MAX_SUPERSUIT_COPIES = 1024
SEED_LIMIT = 2**32

#: Keys of a hyperparameter section that are run settings, not algorithm arguments.
RUN_KEYS = (
    "n_timesteps",
    "n_envs",
    "policy",
    "policy_kwargs",
    "normalize",
    "vec_env",
    "eval_freq",
    "eval_episodes",
    "checkpoint_freq",
    "torch_threads",
    "scenario",
    "scenario_mix",
)
#: Algorithm arguments the pipeline sets itself.
RESERVED_ALGO_KEYS = ("policy", "env", "seed", "device", "tensorboard_log", "verbose", "_init_setup_model")

ACTIVATIONS = ("Tanh", "ReLU", "ELU", "LeakyReLU", "SiLU", "GELU", "Sigmoid")


def canonical_backend(name: str) -> str:
    """``embedded`` or ``gama`` (``native`` is accepted for ``embedded``)."""
    name = BACKEND_ALIASES.get(name, name)
    if name not in BACKENDS:
        raise ConfigError(f"backend must be one of {list(BACKENDS)} (or 'native' for 'embedded'), got {name!r}")
    return name


def section_key(env: str) -> str:
    """The key of ``env``'s section in the hyperparameter files."""
    return ENV_SPECS[env].section if env in ENV_SPECS else env


# ---------------------------------------------------------------------- value checks
def _int(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{name} must be an integer, got {value!r}")
    n = int(value)
    if (low is not None and n < low) or (high is not None and n > high):
        if high is None:
            raise ConfigError(f"{name} must be >= {low}, got {n}")
        raise ConfigError(f"{name} must be in [{low}, {high}], got {n}")
    return n


def _float(value: Any, name: str, low: float | None = None, high: float | None = None, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ConfigError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {x:g}")
    if high is not None and x > high:
        raise ConfigError(f"{name} must be <= {high:g}, got {x:g}")
    return x


def _schedule_value(value: Any, name: str) -> float:
    """A number or an RL Zoo ``lin_<number>`` schedule; returns its (start) value."""
    if isinstance(value, str):
        if not value.startswith("lin_"):
            raise ConfigError(f"{name} must be a number or lin_<number>, got {value!r}")
        try:
            return float(value[4:])
        except ValueError:
            raise ConfigError(f"{name}: cannot read a number from {value!r}") from None
    return _float(value, name)


#: (check, description) of the algorithm arguments whose values the pipeline checks
_HYPER_CHECKS: dict[str, Any] = {
    "n_steps": lambda v, n: _int(v, n, 1, 1_000_000),
    "batch_size": lambda v, n: _int(v, n, 1, 10_000_000),
    "n_epochs": lambda v, n: _int(v, n, 1, 10_000),
    "gamma": lambda v, n: _float(v, n, 0.0, 1.0, low_open=True),
    "gae_lambda": lambda v, n: _float(v, n, 0.0, 1.0),
    "ent_coef": lambda v, n: _float(v, n, 0.0),
    "vf_coef": lambda v, n: _float(v, n, 0.0),
    "max_grad_norm": lambda v, n: _float(v, n, 0.0, low_open=True),
    "learning_rate": lambda v, n: _positive_schedule(v, n),
    "clip_range": lambda v, n: _positive_schedule(v, n),
    "clip_range_vf": lambda v, n: None if v is None else _positive_schedule(v, n),
    "target_kl": lambda v, n: None if v is None else _float(v, n, 0.0, low_open=True),
    "normalize_advantage": lambda v, n: _bool(v, n),
    "use_sde": lambda v, n: _bool(v, n),
    "sde_sample_freq": lambda v, n: _int(v, n, -1),
    "stats_window_size": lambda v, n: _int(v, n, 1),
}


def _positive_schedule(value: Any, name: str) -> float:
    x = _schedule_value(value, name)
    if not x > 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")
    return x


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
    n_envs: int = 8
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
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown keys in the run config: {unknown}")
        cfg = cls(**dict(data))
        cfg.validate()
        return cfg

    @property
    def spec(self) -> EnvSpec:
        return ENV_SPECS[self.env]

    @property
    def n_agents(self) -> int:
        return self.spec.n_agents

    @property
    def is_team(self) -> bool:
        return self.spec.scenario.rules == "team"

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first value that is unknown, mistyped or out of range."""
        for name, allowed in (("env", ENVS), ("algo", ALGOS), ("vec_env", VEC_ENVS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        self.backend = canonical_backend(self.backend)
        self.seed = _int(self.seed, "seed", 0, SEED_LIMIT - 1)
        self.n_timesteps = _int(self.n_timesteps, "n_timesteps", 1)
        limit = MAX_SUPERSUIT_COPIES if self.uses_supersuit else MAX_WORLDS
        self.n_envs = _int(self.n_envs, "n_envs", 1, limit)
        self.eval_episodes = _int(self.eval_episodes, "eval_episodes", 1, 1_000_000)
        self.torch_threads = _int(self.torch_threads, "torch_threads", 1, 1024)
        self.eval_freq = _int(self.eval_freq, "eval_freq (0 disables it)", 0)
        self.checkpoint_freq = _int(self.checkpoint_freq, "checkpoint_freq (0 disables it)", 0)
        self.verbose = _int(self.verbose, "verbose", 0, 2)
        self.gama_timeout = _float(self.gama_timeout, "gama_timeout", 0.0, low_open=True)
        if not isinstance(self.normalize, (bool, dict)):
            raise ConfigError(
                f"normalize must be true, false or a dict of VecNormalize arguments, got {self.normalize!r}"
            )
        if self.policy not in POLICIES[self.algo]:
            raise ConfigError(f"policy for {self.algo} must be one of {list(POLICIES[self.algo])}, got {self.policy!r}")
        if not isinstance(self.gama_servers, list) or not self.gama_servers:
            raise ConfigError("gama_servers must list at least one host:port")
        for server in self.gama_servers:
            parse_server(server)
        self.training_scenarios(1)  # checks scenario and scenario_mix
        build_algo_kwargs(self)  # checks the hyperparameters and policy_kwargs

    @property
    def uses_supersuit(self) -> bool:
        """Whether the training envs go through SuperSuit (teams on the embedded backend)."""
        return self.is_team and self.backend == "embedded" and self.vec_env == "supersuit" and not self.scenario_mix

    # ------------------------------------------------------------------ scenarios
    def base_scenario(self) -> Scenario:
        """The env's preset with ``scenario`` applied (what evaluations during training use)."""
        if not isinstance(self.scenario, Mapping):
            raise ConfigError(f"scenario must be a mapping of scenario arguments, got {self.scenario!r}")
        try:
            return Scenario.from_kwargs(self.spec.scenario, **dict(self.scenario))
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


def parse_server(text: str) -> tuple[str, int]:
    """``"host:port"`` -> ``(host, port)``; raises :class:`ConfigError` when malformed."""
    host, sep, port = str(text).strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"a GAMA server must be written host:port (e.g. 127.0.0.1:1001), got {text!r}")
    return host, int(port)


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


def default_hyperparams(env: str, algo: str) -> dict[str, Any]:
    """The shipped settings of ``env`` in ``sb3_forager/configs/<algo>.yml`` (its section, plus its
    ``pipeline`` entry for the Gymnasium-id sections)."""
    if env not in ENV_SPECS:
        raise ConfigError(f"env must be one of {list(ENVS)}, got {env!r}")
    data = _shipped(algo)
    key = section_key(env)
    if key not in data:
        raise ConfigError(f"sb3_forager/configs/{algo}.yml has no section for env {env!r} ({key!r})")
    out = dict(data[key])
    out.update((data.get("pipeline") or {}).get(env) or {})
    return out


def _section(data: Mapping[str, Any], env: str) -> dict[str, Any]:
    """A user file's settings for ``env``: its section (by env name or Gymnasium id) plus its
    ``pipeline`` entry if it has sections, else all of it (a flat file)."""
    keys = set(ENVS) | {spec.section for spec in ENV_SPECS.values()} | {"pipeline"}
    if any(key in keys for key in data):
        out: dict[str, Any] = {}
        for key in (env, section_key(env)):
            section = data.get(key)
            if section is None:
                continue
            if not isinstance(section, dict):
                raise ConfigError(f"the {key!r} section of the config file must be a mapping")
            out.update(section)
        pipeline = (data.get("pipeline") or {}).get(env) if isinstance(data.get("pipeline"), dict) else None
        if pipeline:
            out.update(pipeline)
        return out
    return dict(data)


def _apply_section(cfg: dict[str, Any], section: Mapping[str, Any]) -> None:
    """Merge a hyperparameter section (run keys + algorithm kwargs) into a config dict."""
    hyper = dict(cfg.get("hyperparams") or {})
    run_fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"hyperparams"}
    for key, value in section.items():
        if key == "hyperparams" and isinstance(value, dict):
            hyper.update(value)
        elif key in RUN_KEYS or key in run_fields:
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
        if env not in ENV_SPECS:
            raise ConfigError(f"env must be one of {list(ENVS)}, got {env!r}")
        cfg = TrainConfig(env=env, algo=algo).to_dict()
        cfg["hyperparams"] = {}
        _apply_section(cfg, default_hyperparams(env, algo))
    if config_file is not None:
        _apply_section(cfg, _section(load_yaml(config_file), cfg["env"]))
    for key, value in (overrides or {}).items():
        if value is not None:
            cfg[key] = value
    if hyperparam_overrides:
        _apply_section(cfg, hyperparam_overrides)
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
    if algo == "ppo":
        from stable_baselines3 import PPO

        return PPO
    if algo == "recurrent_ppo":
        from sb3_contrib import RecurrentPPO

        return RecurrentPPO
    raise ConfigError(f"algo must be one of {list(ALGOS)}, got {algo!r}")


def _schedule(name: str, value: Any) -> Any:
    """RL Zoo schedule strings: ``lin_<x>`` decays linearly from x to 0 (SB3's LinearSchedule)."""
    if isinstance(value, str):
        start = _schedule_value(value, name)
        from stable_baselines3.common.utils import LinearSchedule

        return LinearSchedule(start, 0.0, 1.0)
    return value


def _policy_kwargs(raw: Mapping[str, Any], algo: str) -> dict[str, Any]:
    """YAML policy kwargs -> SB3's, checked: ``activation_fn`` by name, ``net_arch`` layer sizes,
    and only the keyword arguments the policy class takes."""
    from torch import nn

    if not isinstance(raw, Mapping):
        raise ConfigError(f"policy_kwargs must be a mapping, got {raw!r}")
    if algo == "ppo":
        from stable_baselines3.common.policies import ActorCriticPolicy as policy_cls
    else:
        from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy as policy_cls
    accepted = set(inspect.signature(policy_cls.__init__).parameters) - {
        "self",
        "observation_space",
        "action_space",
        "lr_schedule",
    }
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
    """The keyword arguments for the algorithm's constructor (minus env/policy/seed/device/logging).

    Raises :class:`ConfigError` for a name the algorithm does not take (typos fail loudly) and
    for a value of the wrong type or out of range.
    """
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
        if key in kwargs and kwargs[key] is not None:
            kwargs[key] = _schedule(key, kwargs[key])
    if cfg.policy_kwargs:
        kwargs["policy_kwargs"] = _policy_kwargs(cfg.policy_kwargs, cfg.algo)
    return kwargs
