"""Train PPO / RecurrentPPO on the forager envs: the library behind ``scripts/train_sb3.py``.

:func:`train` builds the envs, the model (or loads it to resume), the callbacks, runs ``learn``
and writes the run folder (``logs/<run>/``, RL Zoo layout; see :class:`RunPaths`). Ctrl-C saves
the current model and returns normally (``TrainResult.interrupted``); an exception during
``learn`` (a GAMA server that died, say) saves a checkpoint first and is re-raised as
:class:`TrainingError`.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.callbacks import (
    BaseCallback,
    CallbackList,
    ProgressBarCallback,
)

from .callbacks import (
    AtomicCheckpointCallback,
    EvalHook,
    HParamCallback,
    TeamEvalCallback,
    TeamMetricsCallback,
    save_checkpoint,
)
from .config import TrainConfig, algo_class, build_algo_kwargs
from .envs import check_backend, find_vec_normalize, make_vec_env
from .plotting import plot_training
from .run_dir import (
    RunPaths,
    atomic_save_model,
    atomic_save_pickle,
    atomic_save_yaml,
    atomic_write_bytes,
    create_run_dir,
    resolve_resume,
)

logger = logging.getLogger(__name__)

__all__ = ["TB_LOG_NAME", "TrainResult", "TrainingError", "train", "load_model"]

#: TensorBoard events go to ``<run>/tb_1/`` (the same folder again on ``--resume``).
TB_LOG_NAME = "tb"


class TrainingError(RuntimeError):
    """Training stopped on an exception; the message says where the model so far was saved."""

    def __init__(self, message: str, checkpoint: Path | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


@dataclass
class TrainResult:
    """What :func:`train` did."""

    run_dir: Path
    model_path: Path
    num_timesteps: int
    #: seconds spent in ``learn`` (training wall time, evaluations during training included)
    train_seconds: float
    interrupted: bool = False
    #: training was stopped early by ``on_eval`` returning False
    stopped_early: bool = False
    #: the final model's evaluation (deterministic, stochastic summaries) if evaluation is on
    final_eval: tuple[dict[str, float], dict[str, float] | None] | None = None
    #: the resolved config of the run
    config: dict[str, Any] = field(default_factory=dict)


def load_model(path: str | Path, algo: str | None = None, **kwargs: Any) -> Any:
    """``PPO.load`` / ``RecurrentPPO.load`` of ``path``; the algorithm is read from the zip if not given."""
    from .run_dir import detect_algo

    cls = algo_class(algo or detect_algo(path))
    return cls.load(str(path), **kwargs)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Ignore Ctrl-C while the final files are written (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def train(
    cfg: TrainConfig,
    *,
    logdir: str | Path = "logs",
    run_name: str | None = None,
    resume: str | Path | None = None,
    extra_callbacks: list[BaseCallback] | None = None,
    final_eval_episodes: int | None = None,
    on_eval: EvalHook | None = None,
) -> TrainResult:
    """Train according to ``cfg`` and write the run folder; see the module docstring.

    Args:
        cfg: the resolved config (:func:`~sb3_forager.training.config.resolve_config`).
        logdir: the parent folder of run folders.
        run_name: the run folder's name (default ``<env>_<algo>_<k>``).
        resume: a run folder or model zip to continue (``cfg.n_timesteps`` more timesteps, same
            TensorBoard curves, timestep count continued).
        extra_callbacks: more SB3 callbacks (appended after the pipeline's own).
        final_eval_episodes: episodes of the final evaluation (default ``cfg.eval_episodes``).
        on_eval: called after each periodic evaluation as ``on_eval(num_timesteps, det, stoch)``
            (the summaries of :meth:`EpisodeBatch.summary`); returning False stops training
            early (``TrainResult.stopped_early``), the run folder being written as usual.
    """
    cfg.validate()
    check_backend(cfg)  # before any folder is made
    torch.set_num_threads(int(cfg.torch_threads))
    if resume is not None:
        run_dir, resume_zip = resolve_resume(resume)
    else:
        run_dir, resume_zip = create_run_dir(logdir, f"{cfg.env}_{cfg.algo}", run_name), None
    paths = RunPaths(run_dir)
    config_before = paths.config.read_bytes() if paths.config.is_file() else None
    atomic_save_yaml(paths.config, cfg.to_dict())
    logger.info("run folder: %s", run_dir)

    env = eval_env = None
    try:
        try:
            env = make_vec_env(cfg, vecnormalize_path=_stats_for(paths, resume_zip))
            if cfg.eval_freq > 0 or final_eval_episodes:
                n_eval_worlds = 1 if cfg.backend == "gama" else min(cfg.eval_episodes, cfg.n_envs)
                eval_env = make_vec_env(cfg, n_worlds=n_eval_worlds, for_eval=True)
            model = _make_model(cfg, env, run_dir, resume_zip)
        except BaseException:
            # nothing was trained: leave the folder as it was (a new one is removed again)
            if resume_zip is None:
                shutil.rmtree(run_dir, ignore_errors=True)
            elif config_before is not None:
                atomic_write_bytes(paths.config, config_before)
            raise
        return _learn(
            cfg, model, env, eval_env, paths, resume_zip is not None, extra_callbacks, final_eval_episodes, on_eval
        )
    finally:
        for venv in (env, eval_env):
            if venv is not None:
                try:
                    venv.close()
                except Exception:  # closing must never hide the real outcome
                    logger.debug("closing an env raised", exc_info=True)


def _stats_for(paths: RunPaths, resume_zip: Path | None) -> Path | None:
    """The VecNormalize statistics that belong to the model resumed from (None: start fresh)."""
    if resume_zip is None:
        return None
    if resume_zip.parent == paths.checkpoints:
        steps = resume_zip.stem.removeprefix("model_").removesuffix("_steps")
        if steps.isdigit() and paths.checkpoint_vecnormalize(int(steps)).is_file():
            return paths.checkpoint_vecnormalize(int(steps))
    if resume_zip == paths.best_model and paths.best_vecnormalize.is_file():
        return paths.best_vecnormalize
    return paths.vecnormalize


def _make_model(cfg: TrainConfig, env: Any, run_dir: Path, resume_zip: Path | None) -> Any:
    cls = algo_class(cfg.algo)
    kwargs = build_algo_kwargs(cfg)
    if resume_zip is None:
        return cls(
            cfg.policy,
            env,
            seed=cfg.seed,
            device=cfg.device,
            tensorboard_log=str(run_dir),
            verbose=cfg.verbose,
            **kwargs,
        )
    kwargs.pop("policy_kwargs", None)  # the network is the saved one
    logger.info("resuming from %s", resume_zip)
    model = cls.load(
        str(resume_zip), env=env, device=cfg.device, tensorboard_log=str(run_dir), verbose=cfg.verbose, **kwargs
    )
    model.set_random_seed(cfg.seed + int(model.num_timesteps))
    return model


def _learn(
    cfg: TrainConfig,
    model: Any,
    env: Any,
    eval_env: Any,
    paths: RunPaths,
    resumed: bool,
    extra_callbacks: list[BaseCallback] | None,
    final_eval_episodes: int | None,
    on_eval: EvalHook | None = None,
) -> TrainResult:
    metrics = TeamMetricsCallback(cfg.n_agents, episodes_path=paths.episodes)
    callbacks: list[BaseCallback] = [HParamCallback(cfg.to_dict()), metrics]
    evaluator = None
    if eval_env is not None:
        evaluator = TeamEvalCallback(eval_env, cfg.n_agents, cfg.eval_freq, cfg.eval_episodes, paths, on_eval=on_eval)
        callbacks.append(evaluator)
    if cfg.checkpoint_freq > 0:
        callbacks.append(AtomicCheckpointCallback(cfg.checkpoint_freq, paths))
    progress = ProgressBarCallback() if cfg.progress_bar else None
    if progress is not None:
        callbacks.append(progress)
    callbacks.extend(extra_callbacks or [])

    interrupted = False
    t0 = time.perf_counter()
    try:
        model.learn(
            total_timesteps=int(cfg.n_timesteps),
            callback=CallbackList(callbacks),
            tb_log_name=TB_LOG_NAME,
            reset_num_timesteps=not resumed,
            progress_bar=False,
        )
    except KeyboardInterrupt:
        interrupted = True
        _close_progress(progress)
        logger.warning("interrupted at %d timesteps: saving the current model", model.num_timesteps)
    except Exception as exc:
        _close_progress(progress)
        with _sigint_deferred():
            try:
                ckpt = save_checkpoint(model, paths)
                metrics.flush()
            except Exception:  # the original error matters more
                logger.exception("could not save a checkpoint after the failure")
                ckpt = None
        where = (
            f"The model so far was saved to {ckpt}; continue with --resume {paths.root}"
            if ckpt
            else "No checkpoint could be saved."
        )
        raise TrainingError(
            f"training stopped at {model.num_timesteps:,} timesteps: {type(exc).__name__}: {exc}\n{where}",
            checkpoint=ckpt,
        ) from exc
    train_seconds = time.perf_counter() - t0

    with _sigint_deferred():
        atomic_save_model(model, paths.model)
        vn = find_vec_normalize(env)
        if vn is not None:
            atomic_save_pickle(vn, paths.vecnormalize)
        metrics.flush()
    final_eval = None
    if evaluator is not None and not interrupted:
        det, stoch = evaluator.run_evaluation(final_eval_episodes)
        final_eval = (det.summary(), stoch.summary() if stoch is not None else None)
    with _sigint_deferred():
        try:
            plot_training(paths.root, cfg.n_agents, title=f"{paths.root.name}: {cfg.algo} on {cfg.env} ({cfg.backend})")
        except Exception:  # a plot must never cost the run
            logger.exception("could not draw %s", paths.plot)
    logger.info("saved %s (%d timesteps, %.1f s of training)", paths.model, model.num_timesteps, train_seconds)
    return TrainResult(
        run_dir=paths.root,
        model_path=paths.model,
        num_timesteps=int(model.num_timesteps),
        train_seconds=train_seconds,
        interrupted=interrupted,
        stopped_early=bool(evaluator is not None and evaluator.stop_requested),
        final_eval=final_eval,
        config=cfg.to_dict(),
    )


def _close_progress(progress: ProgressBarCallback | None) -> None:
    bar = getattr(progress, "pbar", None)
    if bar is not None:
        try:
            bar.close()
        except Exception:
            pass
