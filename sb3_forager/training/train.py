"""Train PPO / RecurrentPPO on the forager envs: the library behind ``python -m sb3_forager train``.

:func:`train` builds the envs, the model (or loads it to resume), the callbacks, runs ``learn``
and writes the run folder (``logs/<run>/``, RL Zoo layout; see :class:`RunPaths`).

* Ctrl-C and SIGTERM (what ``timeout``, ``docker stop`` and SLURM send) save the current model and
  return normally (``TrainResult.interrupted`` names the signal).
* An exception during ``learn`` (a GAMA server that died, a model sending NaN) saves a checkpoint
  first, unless the model's parameters are no longer finite or nothing was trained, and is
  re-raised as :class:`TrainingError` saying what was saved and how to go on.
* ``episodes.csv`` and ``evaluations.npz`` are made durable at every checkpoint, so a SIGKILL or
  an out-of-memory kill loses at most the work since the last checkpoint.
* Resuming (from a run folder's newest valid model, or an explicit older checkpoint) cuts the run's
  history back to the resumed timestep: evaluations, episodes, the best score and
  ``best_model.zip`` then describe one timeline, and TensorBoard writes a new event folder. A
  resume that fails before training starts changes nothing in the run folder.
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
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ProgressBarCallback
from stable_baselines3.common.vec_env import unwrap_vec_normalize

from .callbacks import (
    AtomicCheckpointCallback,
    HParamCallback,
    TeamEvalCallback,
    TeamMetricsCallback,
    save_checkpoint,
)
from .config import TrainConfig, algo_class, build_algo_kwargs
from .envs import make_vec_env, probe_backend
from .plotting import plot_training
from .run_dir import (
    RunPaths,
    atomic_save_model,
    atomic_save_pickle,
    atomic_save_yaml,
    check_logdir,
    create_run_dir,
    resolve_resume,
    zip_metadata,
)

logger = logging.getLogger(__name__)

__all__ = ["TB_LOG_NAME", "TrainResult", "TrainingError", "load_model", "model_is_finite", "train"]

#: TensorBoard events go to ``<run>/tb_1/``; a resume from timestep T writes ``<run>/tb_from_T_0/``
TB_LOG_NAME = "tb"


class TrainingError(RuntimeError):
    """Training stopped on an exception; the message says what was saved (if anything)."""

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
    #: the signal that interrupted training ("SIGINT", "SIGTERM"), or None
    interrupted: str | None = None
    #: training was stopped early by ``callback_after_eval`` or ``callback_on_new_best`` returning False
    stopped_early: bool = False
    #: the final model's evaluation (deterministic, stochastic summaries) if evaluation is on
    final_eval: tuple[dict[str, float], dict[str, float] | None] | None = None
    #: the resolved config of the run
    config: dict[str, Any] = field(default_factory=dict)


def load_model(path: str | Path, algo: str | None = None, **kwargs: Any) -> Any:
    """``PPO.load`` / ``RecurrentPPO.load`` of ``path``; the algorithm is read from the zip if not given.

    Raises ``ValueError`` (naming the file) when it is not a loadable SB3 model (truncated zip,
    corrupt ``policy.pth``, policy of another algorithm).
    """
    from .run_dir import detect_algo

    cls = algo_class(algo or detect_algo(path))
    try:
        return cls.load(str(path), **kwargs)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:
        raise ValueError(f"{path} cannot be loaded as a {cls.__name__} model: {type(exc).__name__}: {exc}") from exc


def model_is_finite(model: Any) -> bool:
    """Whether every parameter of the model's policy is finite (no NaN, no infinity)."""
    with torch.no_grad():
        return all(bool(torch.isfinite(p).all()) for p in model.policy.parameters())


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during training (``signal_name`` says which)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM raises :class:`Interrupted` like Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        raise Interrupted("SIGTERM")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while the final files are written (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    prev_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    prev_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, prev_int)
        signal.signal(signal.SIGTERM, prev_term)


def train(
    cfg: TrainConfig,
    *,
    logdir: str | Path = "logs",
    run_name: str | None = None,
    resume: str | Path | None = None,
    extra_callbacks: list[BaseCallback] | None = None,
    final_eval_episodes: int | None = None,
    callback_after_eval: BaseCallback | None = None,
    callback_on_new_best: BaseCallback | None = None,
    gama: Any = None,
) -> TrainResult:
    """Train according to ``cfg`` and write the run folder; see the module docstring.

    Args:
        cfg: the resolved config (:func:`~sb3_forager.training.config.resolve_config`).
        logdir: the parent folder of run folders.
        run_name: the run folder's name (default ``<env>_<algo>_<k>``).
        resume: a run folder or model zip to continue (``cfg.n_timesteps`` more timesteps, the
            timestep count continued, the history cut back to the resumed timestep).
        extra_callbacks: more SB3 callbacks (appended after the pipeline's own).
        final_eval_episodes: episodes of the final evaluation (default ``cfg.eval_episodes``).
        callback_after_eval: an SB3 callback run after each periodic evaluation, as in SB3's
            ``EvalCallback`` (its ``parent`` is the :class:`TeamEvalCallback`, whose
            ``last_summary`` / ``last_stochastic_summary`` hold the :meth:`EpisodeBatch.summary`
            dicts and ``last_mean_reward`` / ``best_mean_reward`` the team success rates), e.g.
            SB3's ``StopTrainingOnNoModelImprovement``; returning False stops training early
            (``TrainResult.stopped_early``), the run folder being written as usual.
        callback_on_new_best: an SB3 callback run when an evaluation gives a new best model
            (e.g. SB3's ``StopTrainingOnRewardThreshold``), likewise.
        gama: managed GAMA servers (a :class:`~sb3_forager.gama.GamaServers`, not started) to train
            on: started in ``<run>/gama/`` once the run folder exists (``cfg.gama_servers`` set to
            them), stopped when training ends however it ends.

    Raises:
        ConfigError, BackendUnavailableError, FileExistsError, FileNotFoundError, ValueError:
            before anything is written (a new run folder is removed again; a resumed one is unchanged).
        TrainingError: training started and then failed.
    """
    cfg.validate()
    if gama is None:
        probe_backend(cfg)  # e.g. no GAMA server listening: before any folder is made
    else:
        cfg.backend = "gama"
    torch.set_num_threads(int(cfg.torch_threads))
    resume_zip: Path | None = None
    if resume is not None:
        run_dir, resume_zip = resolve_resume(resume)
    else:
        check_logdir(logdir)
        run_dir = create_run_dir(logdir, f"{cfg.env}_{cfg.algo}", run_name)
    paths = RunPaths(run_dir)
    logger.info("run folder: %s", run_dir)

    env = eval_env = None
    try:
        try:
            # the VecNormalize statistics of the model resumed from (None: start fresh)
            if gama is not None:  # the servers' folders and logs in the run folder
                cfg.gama_servers = gama.start(paths.root / "gama").addresses
            stats = paths.vecnormalize_for(resume_zip) if resume_zip is not None else None
            env = make_vec_env(cfg, vecnormalize_path=stats)
            if cfg.eval_freq > 0 or final_eval_episodes:
                n_eval_worlds = 1 if cfg.backend == "gama" else min(cfg.eval_episodes, 64)
                eval_env = make_vec_env(cfg, n_worlds=n_eval_worlds, for_eval=True)
            model = _make_model(cfg, env, run_dir, resume_zip)
        except BaseException:
            # nothing was trained: leave the folder as it was (a new one is removed again)
            if resume_zip is None:
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        resumed_at = int(model.num_timesteps) if resume_zip is not None else None
        atomic_save_yaml(paths.config, cfg.to_dict())
        children = (callback_after_eval, callback_on_new_best)
        return _learn(cfg, model, env, eval_env, paths, resumed_at, extra_callbacks, final_eval_episodes, children)
    finally:
        for venv in (env, eval_env):
            if venv is not None:
                try:
                    venv.close()
                except Exception:  # closing must never hide the real outcome
                    logger.debug("closing an env raised", exc_info=True)
        if gama is not None:
            gama.close()


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
    model = load_model(
        resume_zip, cfg.algo, env=env, device=cfg.device, tensorboard_log=str(run_dir), verbose=cfg.verbose, **kwargs
    )
    model.set_random_seed(cfg.seed + int(model.num_timesteps))
    return model


def _learn(
    cfg: TrainConfig,
    model: Any,
    env: Any,
    eval_env: Any,
    paths: RunPaths,
    resumed_at: int | None,
    extra_callbacks: list[BaseCallback] | None,
    final_eval_episodes: int | None,
    children: tuple[BaseCallback | None, BaseCallback | None] = (None, None),
) -> TrainResult:
    metrics = TeamMetricsCallback(cfg.n_agents, episodes_path=paths.episodes, resume_timesteps=resumed_at)
    callbacks: list[BaseCallback] = [HParamCallback(cfg.to_dict()), metrics]
    evaluator = None
    if eval_env is not None:
        evaluator = TeamEvalCallback(
            eval_env,
            cfg.n_agents,
            cfg.eval_freq,
            cfg.eval_episodes,
            paths,
            callback_after_eval=children[0],
            callback_on_new_best=children[1],
            resume_timesteps=resumed_at,
        )
        evaluator.write_history()  # a resume's cut-back history, on disk from the start
        callbacks.append(evaluator)
    metrics.flush()
    if cfg.checkpoint_freq > 0:
        callbacks.append(AtomicCheckpointCallback(cfg.checkpoint_freq, paths, on_save=[metrics.flush]))
    progress = ProgressBarCallback() if cfg.progress_bar else None
    if progress is not None:
        callbacks.append(progress)
    callbacks.extend(extra_callbacks or [])

    interrupted: str | None = None
    tb_name = TB_LOG_NAME if resumed_at is None else _resume_tb_name(paths, resumed_at)
    t0 = time.perf_counter()
    try:
        with _signals_interrupt():
            model.learn(
                total_timesteps=int(cfg.n_timesteps),
                callback=CallbackList(callbacks),
                tb_log_name=tb_name,
                reset_num_timesteps=resumed_at is None,
                progress_bar=False,
            )
    except KeyboardInterrupt as exc:
        interrupted = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
        _close_progress(progress)
        logger.warning("interrupted (%s) at %d timesteps: saving the current model", interrupted, model.num_timesteps)
    except Exception as exc:
        _close_progress(progress)
        raise _failure(model, paths, metrics, exc) from exc
    train_seconds = time.perf_counter() - t0

    with _signals_deferred():
        if not model_is_finite(model):
            raise TrainingError(
                f"training ended at {model.num_timesteps:,} timesteps with non-finite (NaN or infinite) network "
                f"parameters: nothing was saved as model.zip; the checkpoints in {paths.checkpoints} are from "
                "before (lower the learning rate, or check what the env sent)"
            )
        atomic_save_model(model, paths.model)
        vn = unwrap_vec_normalize(env)
        if vn is not None:
            atomic_save_pickle(vn, paths.vecnormalize)
        metrics.flush()
    final_eval = None
    if evaluator is not None and interrupted is None:
        try:
            det, stoch = evaluator.run_evaluation(final_eval_episodes)
            final_eval = (det.summary(), stoch.summary() if stoch is not None else None)
        except KeyboardInterrupt:
            interrupted = "SIGINT"
            logger.warning("the final evaluation was interrupted (the model was saved)")
    with _signals_deferred():
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
        stopped_early=bool(evaluator is not None and evaluator.stopped_early),
        final_eval=final_eval,
        config=cfg.to_dict(),
    )


def _resume_tb_name(paths: RunPaths, resumed_at: int) -> str:
    """A TensorBoard run name of its own for a resume from ``resumed_at`` (SB3 writes ``<name>_0``):
    ``tb_from_<T>``, or ``tb_from_<T>_<k>`` when that timestep was resumed from before."""
    name, k = f"{TB_LOG_NAME}_from_{resumed_at}", 1
    while (paths.root / f"{name}_0").exists():
        k += 1
        name = f"{TB_LOG_NAME}_from_{resumed_at}_{k}"
    return name


def _failure(model: Any, paths: RunPaths, metrics: TeamMetricsCallback, exc: Exception) -> TrainingError:
    """The error for a failure during ``learn``, after saving what can be trusted."""
    what = f"training stopped at {model.num_timesteps:,} timesteps: {type(exc).__name__}: {exc}"
    with _signals_deferred():
        try:
            metrics.flush()
        except Exception:
            logger.exception("could not write %s after the failure", paths.episodes)
        if model.num_timesteps <= 0:
            return TrainingError(f"{what}\nNothing was trained, so nothing was saved.")
        if not model_is_finite(model):
            last = _newest_checkpoint(paths)
            where = f"; the newest earlier checkpoint is {last}" if last else ""
            return TrainingError(
                f"{what}\nThe network's parameters are no longer finite (NaN or infinite), so no checkpoint "
                f"was saved{where}."
            )
        try:
            ckpt = save_checkpoint(model, paths)
        except Exception:  # the original error matters more
            logger.exception("could not save a checkpoint after the failure")
            return TrainingError(f"{what}\nNo checkpoint could be saved.")
    return TrainingError(f"{what}\nThe model so far was saved to {ckpt}; continue with --resume {paths.root}", ckpt)


def _newest_checkpoint(paths: RunPaths) -> Path | None:
    found = []
    for path in paths.checkpoints.glob("model_*_steps.zip"):
        with contextlib.suppress(ValueError):  # unreadable: not a checkpoint to offer
            found.append((int(zip_metadata(path).get("num_timesteps", -1)), path))
    return max(found)[1] if found else None


def _close_progress(progress: ProgressBarCallback | None) -> None:
    bar = getattr(progress, "pbar", None)
    if bar is not None:
        try:
            bar.close()
        except Exception:
            pass
