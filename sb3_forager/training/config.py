"""Training configuration: shipped RL-Zoo-style YAML defaults, user files, CLI overrides.

A hyperparameter file (``sb3_forager/configs/<algo>.yml``, or a user's ``--config FILE``) maps an
env name (``coop``, ``forager``) to its settings, RL Zoo style::

    coop:
      n_timesteps: 150000
      n_envs: 8
      policy: MlpPolicy
      n_steps: 128          # everything that is not a run setting goes to the algorithm
      batch_size: 256
      learning_rate: lin_1e-3   # RL Zoo's linear schedule, to 0

A user file may also be flat (the settings without the env key). Merge order: shipped defaults,
then the user file, then explicit CLI flags. The resolved :class:`TrainConfig` is what
``config.yml`` in the run folder holds, and what ``--resume`` starts from.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ENVS",
    "ALGOS",
    "BACKENDS",
    "VEC_ENVS",
    "ConfigError",
    "TrainConfig",
    "load_yaml",
    "default_hyperparams",
    "resolve_config",
    "algo_class",
    "build_algo_kwargs",
    "parse_hyperparam_overrides",
]

ENVS = ("coop", "forager")
ALGOS = ("ppo", "recurrent_ppo")
BACKENDS = ("native", "gama")
VEC_ENVS = ("supersuit", "batched")
#: env name -> agents per world
N_AGENTS = {"coop": 2, "forager": 1}
#: env name -> the ``kind`` the VecEnv factories take
ENV_KIND = {"coop": "coop", "forager": "single"}

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
)
#: Algorithm arguments the pipeline sets itself.
RESERVED_ALGO_KEYS = ("policy", "env", "seed", "device", "tensorboard_log", "verbose", "_init_setup_model")

ACTIVATIONS = ("Tanh", "ReLU", "ELU", "LeakyReLU", "SiLU", "GELU", "Sigmoid")


class ConfigError(ValueError):
    """A configuration value is unknown or invalid (the message says which and why)."""


@dataclass
class TrainConfig:
    """Everything one training run needs; ``config.yml`` in the run folder is ``to_dict()``."""

    env: str = "coop"
    algo: str = "ppo"
    backend: str = "native"
    seed: int = 0
    n_timesteps: int = 150_000
    n_envs: int = 8
    policy: str = "MlpPolicy"
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    #: VecNormalize: False, True (observations and rewards, as RL Zoo) or VecNormalize kwargs
    normalize: bool | dict[str, Any] = False
    #: coop on the native backend: "supersuit" (PettingZoo -> SuperSuit) or "batched" (ForagerVecEnv)
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
    def n_agents(self) -> int:
        return N_AGENTS[self.env]

    @property
    def kind(self) -> str:
        return ENV_KIND[self.env]

    def validate(self) -> None:
        """Raise :class:`ConfigError` for any value out of range."""
        for name, allowed in (("env", ENVS), ("algo", ALGOS), ("backend", BACKENDS), ("vec_env", VEC_ENVS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        for name in ("n_timesteps", "n_envs", "eval_episodes", "torch_threads"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("eval_freq", "checkpoint_freq"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must be >= 0 (0 disables it), got {getattr(self, name)!r}")
        if not isinstance(self.normalize, (bool, dict)):
            raise ConfigError(
                f"normalize must be true, false or a dict of VecNormalize arguments, got {self.normalize!r}"
            )
        if not self.gama_servers:
            raise ConfigError("gama_servers must list at least one host:port")
        for server in self.gama_servers:
            parse_server(server)
        build_algo_kwargs(self)  # checks the hyperparameter names and policy_kwargs


def parse_server(text: str) -> tuple[str, int]:
    """``"host:port"`` -> ``(host, port)``; raises :class:`ConfigError` when malformed."""
    host, sep, port = str(text).strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"a GAMA server must be written host:port (e.g. 127.0.0.1:1001), got {text!r}")
    return host, int(port)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path`` (an empty file gives ``{}``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
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


def default_hyperparams(env: str, algo: str) -> dict[str, Any]:
    """The shipped section for ``env`` of ``sb3_forager/configs/<algo>.yml``."""
    if algo not in ALGOS:
        raise ConfigError(f"algo must be one of {list(ALGOS)}, got {algo!r}")
    text = resources.files("sb3_forager").joinpath("configs", f"{algo}.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if env not in data:
        raise ConfigError(f"sb3_forager/configs/{algo}.yml has no section for env {env!r}")
    return dict(data[env])


def _section(data: Mapping[str, Any], env: str) -> dict[str, Any]:
    """A user file's settings for ``env``: its ``env`` section if it has env sections, else all of it."""
    if any(key in ENVS for key in data):
        section = data.get(env) or {}
        if not isinstance(section, dict):
            raise ConfigError(f"the {env!r} section of the config file must be a mapping")
        return dict(section)
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
        out[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return out


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
        if value.startswith("lin_"):
            from stable_baselines3.common.utils import LinearSchedule

            try:
                start = float(value[4:])
            except ValueError as exc:
                raise ConfigError(f"{name}: cannot read a number from {value!r}") from exc
            return LinearSchedule(start, 0.0, 1.0)
        try:
            return float(value)
        except ValueError as exc:
            raise ConfigError(f"{name} must be a number or lin_<number>, got {value!r}") from exc
    return value


def _policy_kwargs(raw: Mapping[str, Any]) -> dict[str, Any]:
    """YAML policy kwargs -> SB3's: ``activation_fn`` by name (``tanh``, ``relu``, ...)."""
    import torch.nn as nn

    out = dict(raw)
    act = out.get("activation_fn")
    if isinstance(act, str):
        names = {a.lower(): a for a in ACTIVATIONS}
        key = act.lower().removeprefix("nn.").removeprefix("torch.nn.")
        if key not in names:
            raise ConfigError(f"policy_kwargs.activation_fn must be one of {list(ACTIVATIONS)}, got {act!r}")
        out["activation_fn"] = getattr(nn, names[key])
    return out


def build_algo_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """The keyword arguments for the algorithm's constructor (minus env/policy/seed/device/logging).

    Raises :class:`ConfigError` for a name the algorithm does not take, so typos fail loudly.
    """
    cls = algo_class(cfg.algo)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    kwargs = dict(cfg.hyperparams)
    bad = sorted(k for k in kwargs if k not in accepted or k in RESERVED_ALGO_KEYS)
    if bad:
        raise ConfigError(
            f"{cls.__name__} does not take hyperparameter(s) {bad} (or they are set by the pipeline); "
            f"accepted: {sorted(accepted - set(RESERVED_ALGO_KEYS))}"
        )
    for key in ("learning_rate", "clip_range", "clip_range_vf"):
        if key in kwargs:
            kwargs[key] = _schedule(key, kwargs[key])
    if cfg.policy_kwargs:
        if not isinstance(cfg.policy_kwargs, dict):
            raise ConfigError(f"policy_kwargs must be a mapping, got {cfg.policy_kwargs!r}")
        kwargs["policy_kwargs"] = _policy_kwargs(cfg.policy_kwargs)
    return kwargs
