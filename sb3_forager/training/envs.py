"""Vectorised environments for training and evaluation.

* a team on the embedded backend (``coop``): ``forager_coop_v0.parallel_env()`` -> SuperSuit ->
  :class:`~sb3_forager.training.supersuit_vec.SuperSuitVecEnv` (or, with ``vec_env: batched`` or
  a ``scenario_mix``, the batched :class:`~sb3_forager.envs.ForagerVecEnv`); one shared policy;
* otherwise the batched :class:`~sb3_forager.envs.ForagerVecEnv` on the backend
  (:func:`sb3_forager.make.make_vec_env`; on GAMA one experiment per world).

Every VecEnv is world-major (world ``w`` owns slots ``w*K .. w*K+K-1``) and emits
``is_success``/``episode_steps`` in the infos of an episode's last step. Training envs are then
wrapped in ``VecMonitor`` (and ``VecNormalize`` when configured).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

from .config import TrainConfig

logger = logging.getLogger(__name__)

__all__ = [
    "BackendUnavailableError",
    "make_base_vec_env",
    "make_vec_env",
    "probe_backend",
]


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot be used here (e.g. ``sb3_forager.gama`` is not available)."""


def probe_backend(cfg: TrainConfig) -> None:
    """Raise :class:`BackendUnavailableError` now if ``cfg.backend`` cannot be used here (for
    GAMA: the bridge is missing, or a server does not answer)."""
    if cfg.backend == "gama":
        try:
            from ..gama import errors, probe  # the package first: a missing bridge fails here
        except ImportError as exc:
            raise BackendUnavailableError(
                f"--backend gama needs the GAMA bridge (sb3_forager.gama), which is not available in this "
                f"installation ({exc}). Train on the embedded simulation with --backend embedded."
            ) from exc
        try:
            probe.probe_servers(cfg.gama_servers, connect_timeout=min(5.0, float(cfg.gama_timeout)))
        except errors.GamaConnectionError as exc:
            raise BackendUnavailableError(str(exc)) from None


def make_base_vec_env(cfg: TrainConfig, n_worlds: int, for_eval: bool = False) -> VecEnv:
    """The bare SB3 VecEnv of ``n_worlds`` worlds of ``cfg.env`` on ``cfg.backend`` (no wrappers).

    Training worlds follow the training distribution (:meth:`TrainConfig.training_scenarios`);
    evaluation worlds (``for_eval``) the env's base scenario.
    """
    n = int(n_worlds)
    scenarios = [cfg.base_scenario()] * n if for_eval else cfg.training_scenarios(n)
    if cfg.backend == "gama":
        from ..make import make_gama_vec_env

        # W worlds per GAMA simulation only when asked for (without it: one experiment per world, as before)
        extra = {} if cfg.gama_worlds_per_sim is None else {"worlds_per_sim": cfg.gama_worlds_per_sim}
        return make_gama_vec_env(cfg.model.name, n, servers=cfg.gama_servers, timeout=float(cfg.gama_timeout),
                                 scenario=scenarios, **extra)  # fmt: skip
    from ..envs.vec_env import ForagerVecEnv

    if cfg.uses_supersuit and not for_eval:
        from .supersuit_vec import make_team_supersuit_vec_env

        return make_team_supersuit_vec_env(n, scenario=scenarios[0], num_cpus=0)
    return ForagerVecEnv(n, scenarios)


def make_vec_env(
    cfg: TrainConfig,
    n_worlds: int | None = None,
    *,
    for_eval: bool = False,
    vecnormalize_path: str | Path | None = None,
) -> VecEnv:
    """A monitored (and, with ``cfg.normalize``, normalised) VecEnv for training or evaluation.

    ``n_worlds`` defaults to ``cfg.n_worlds``; an evaluation env (``for_eval``) has its ``VecNormalize``
    (if any) frozen and rewards left raw; ``vecnormalize_path``: a ``vecnormalize.pkl`` to load.
    """
    venv: VecEnv = VecMonitor(make_base_vec_env(cfg, cfg.n_worlds if n_worlds is None else n_worlds, for_eval=for_eval))
    if cfg.normalize is False:
        return venv
    if vecnormalize_path is not None and Path(vecnormalize_path).is_file():
        venv = VecNormalize.load(str(vecnormalize_path), venv)
    else:
        kwargs: dict[str, Any] = {} if cfg.normalize is True else dict(cfg.normalize)
        kwargs.setdefault("gamma", float(cfg.hyperparams.get("gamma", 0.99)))
        venv = VecNormalize(venv, **kwargs)
    if for_eval:
        venv.training = False
        venv.norm_reward = False
    return venv
