"""Vectorised environments for training and evaluation.

* ``coop`` on the native backend: ``forager_coop_v0.parallel_env()`` -> SuperSuit ->
  :class:`~sb3_forager.training.supersuit_vec.SuperSuitVecEnv` (or, with ``vec_env: batched``,
  the numpy-batched :class:`~sb3_forager.envs.ForagerVecEnv`); one shared policy for both foragers.
* ``forager`` on the native backend: the batched :class:`~sb3_forager.envs.ForagerVecEnv`.
* ``--backend gama``: ``sb3_forager.gama.make_gama_vec_env`` (one GAMA experiment per world).

Every VecEnv is world-major (world ``w`` owns slots ``w*K .. w*K+K-1``) and emits
``is_success``/``episode_steps`` in the infos of an episode's last step. Training envs are then
wrapped in ``VecMonitor`` (and ``VecNormalize`` when configured).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

from .config import ConfigError, TrainConfig, parse_server

logger = logging.getLogger(__name__)

__all__ = [
    "BackendUnavailableError",
    "check_backend",
    "make_base_vec_env",
    "make_vec_env",
    "normalize_kwargs",
    "find_vec_normalize",
]


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot be used here (e.g. ``sb3_forager.gama`` is not available)."""


def _gama_factory() -> Any:
    try:
        from ..gama import make_gama_vec_env
    except ImportError as exc:
        raise BackendUnavailableError(
            "--backend gama needs the GAMA bridge (sb3_forager.gama.make_gama_vec_env), which is not "
            f"available in this installation ({exc}). Train on the embedded simulation with --backend native."
        ) from exc
    return make_gama_vec_env


def check_backend(cfg: TrainConfig) -> None:
    """Raise :class:`BackendUnavailableError` now if ``cfg.backend`` cannot be used here."""
    if cfg.backend == "gama":
        _gama_factory()


def make_base_vec_env(cfg: TrainConfig, n_worlds: int, render_mode: str | None = None) -> VecEnv:
    """The bare SB3 VecEnv of ``n_worlds`` worlds of ``cfg.env`` on ``cfg.backend`` (no wrappers)."""
    if cfg.backend == "gama":
        factory = _gama_factory()
        servers = [parse_server(s) for s in cfg.gama_servers]
        return factory(
            cfg.kind,
            n_envs=int(n_worlds),
            servers=[f"{host}:{port}" for host, port in servers],
            gaml_path=None,
            timeout=float(cfg.gama_timeout),
        )
    if cfg.backend != "native":
        raise ConfigError(f"backend must be 'native' or 'gama', got {cfg.backend!r}")
    from ..envs import make_forager_vec_env

    if cfg.env == "coop" and cfg.vec_env == "supersuit" and render_mode is None:
        from .supersuit_vec import make_coop_supersuit_vec_env

        return make_coop_supersuit_vec_env(int(n_worlds), num_cpus=0)
    return make_forager_vec_env(int(n_worlds), cfg.kind, render_mode=render_mode)


def normalize_kwargs(cfg: TrainConfig) -> dict[str, Any] | None:
    """``VecNormalize`` keyword arguments from ``cfg.normalize`` (None: no normalisation)."""
    if cfg.normalize is False:
        return None
    kwargs: dict[str, Any] = {} if cfg.normalize is True else dict(cfg.normalize)
    kwargs.setdefault("gamma", float(cfg.hyperparams.get("gamma", 0.99)))
    return kwargs


def make_vec_env(
    cfg: TrainConfig,
    n_worlds: int | None = None,
    *,
    for_eval: bool = False,
    vecnormalize_path: str | Path | None = None,
) -> VecEnv:
    """A monitored (and possibly normalised) VecEnv for training or evaluation.

    Args:
        cfg: the run config.
        n_worlds: worlds (copies); default ``cfg.n_envs``.
        for_eval: an evaluation env: ``VecNormalize`` (if any) frozen and rewards left raw.
        vecnormalize_path: load the normalisation statistics from this ``vecnormalize.pkl``.
    """
    venv: VecEnv = VecMonitor(make_base_vec_env(cfg, cfg.n_envs if n_worlds is None else n_worlds))
    kwargs = normalize_kwargs(cfg)
    if kwargs is None:
        return venv
    if vecnormalize_path is not None and Path(vecnormalize_path).is_file():
        venv = VecNormalize.load(str(vecnormalize_path), venv)
    else:
        venv = VecNormalize(venv, **kwargs)
    if for_eval:
        venv.training = False
        venv.norm_reward = False
    return venv


def find_vec_normalize(venv: VecEnv) -> VecNormalize | None:
    """The ``VecNormalize`` in a wrapper chain, if any."""
    while True:
        if isinstance(venv, VecNormalize):
            return venv
        inner = getattr(venv, "venv", None)
        if inner is None or not isinstance(inner, VecEnv):
            return None
        venv = inner
