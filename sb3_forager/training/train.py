"""Train PPO / RecurrentPPO on the forager envs: the library behind ``python -m sb3_forager train``.

:func:`train` builds the envs, the model (or loads it to resume), the callbacks, runs ``learn``
and writes the run folder (``logs/<run>/``, RL Zoo layout; see :class:`RunPaths`). Ctrl-C and
SIGTERM save the current model and return normally (``TrainResult.interrupted``); an exception
during ``learn`` saves a checkpoint when the model can be trusted and becomes a
:class:`TrainingError` saying what was saved. A resume trains what remains of ``cfg.n_timesteps``
(nothing if the run is complete), cuts the run's history (evaluations, episodes, best model) back
to the resumed timestep, and changes nothing if it fails before training.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ProgressBarCallback

from .callbacks import (
    AtomicCheckpointCallback,
    HParamCallback,
    TeamEvalCallback,
    TeamMetricsCallback,
    save_checkpoint,
)
from .evaluation import fmt_num, fmt_pct
from .config import ConfigError, TrainConfig, algo_class, build_algo_kwargs
from .envs import make_vec_env, probe_backend
from .plotting import plot_training
from .run_dir import (
    RunPaths,
    atomic_save_model,
    atomic_write_text,
    check_logdir,
    create_run_dir,
    detect_algo,
    newest_model,
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
    #: a resume of a run that had already trained ``n_timesteps``: nothing was trained or written
    already_complete: bool = False


def load_model(path: str | Path, algo: str | None = None, **kwargs: Any) -> Any:
    """``PPO.load`` / ``RecurrentPPO.load`` of ``path``; the algorithm is read from the zip if not given.

    Raises ``ValueError`` (naming the file) when it is not a loadable SB3 model (truncated zip,
    corrupt ``policy.pth``, policy of another algorithm).
    """
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


def check_device(device: str) -> None:
    """Raise :class:`ConfigError` unless torch can train on ``device`` here: SB3 would train on the
    CPU without a word when a CUDA device is asked for and CUDA is not available."""
    try:
        dev = torch.device("cpu" if device == "auto" else device)  # SB3's "auto": CUDA if available
    except (RuntimeError, TypeError):
        raise ConfigError(f"device {device!r} is not a torch device (e.g. cpu, cuda, cuda:1, mps)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {device}: CUDA is not available here (torch.cuda.is_available() is False); "
            "train on the CPU with --device cpu"
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during training (``signal_name`` says which)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def _raise_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted("SIGTERM")


@contextlib.contextmanager
def _signals(on_int: Any, on_term: Any) -> Iterator[None]:
    """These SIGINT and SIGTERM handlers (None: left as is) for the block, in the main thread only.
    Training: SIGTERM raises :class:`Interrupted` like Ctrl-C does; the final writes ignore both."""
    wanted = ((signal.SIGINT, on_int), (signal.SIGTERM, on_term))
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, handler) for sig, handler in wanted if handler is not None and main}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_signals_interrupt = functools.partial(_signals, None, _raise_sigterm)
_signals_deferred = functools.partial(_signals, signal.SIG_IGN, signal.SIG_IGN)


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
    progress_every: int | None = None,
    gama: Any = None,
) -> TrainResult:
    """Train according to ``cfg`` and write the run folder; see the module docstring.

    Args:
        cfg: the resolved config (:func:`~sb3_forager.training.config.resolve_config`).
        logdir: the parent folder of run folders.
        run_name: the run folder's name (default ``<env>_<algo>_<k>``).
        resume: a run folder or model zip to continue: the timestep count goes on up to
            ``cfg.n_timesteps`` (nothing is trained if it is reached), the history is cut back to
            the resumed timestep.
        extra_callbacks: more SB3 callbacks (appended after the pipeline's own).
        final_eval_episodes: episodes of the final evaluation (default ``cfg.eval_episodes``).
        callback_after_eval: an SB3 callback run after each periodic evaluation, as in SB3's
            ``EvalCallback`` (its ``parent`` is the :class:`TeamEvalCallback`), e.g. SB3's
            ``StopTrainingOnNoModelImprovement``; returning False stops training early
            (``TrainResult.stopped_early``), the run folder being written as usual.
        callback_on_new_best: an SB3 callback run when an evaluation gives a new best model
            (e.g. SB3's ``StopTrainingOnRewardThreshold``), likewise.
        progress_every: timesteps between progress lines (logged when SB3's progress bar is off or
            stderr is not a terminal); default a twentieth of ``cfg.n_timesteps``, 0 for none.
        gama: managed GAMA servers (a :class:`~sb3_forager.gama.GamaServers`, not started) to train
            on: started in ``<run>/gama/`` once the run folder exists (``cfg.gama_servers`` set to
            them), stopped when training ends however it ends.

    Raises:
        ConfigError, BackendUnavailableError, FileExistsError, FileNotFoundError, ValueError:
            before anything is written (a new run folder is removed again; a resumed one is unchanged).
        TrainingError: training started and then failed.
    """
    cfg.validate()
    check_device(cfg.device)
    resume_zip: Path | None = None
    if resume is not None:
        run_dir, resume_zip = resolve_resume(resume)
        done, total = int(zip_metadata(resume_zip).get("num_timesteps", 0)), int(cfg.n_timesteps)
        if done >= total:
            logger.info(
                "the run is already complete: %s has trained %s of its %s timesteps, nothing to train "
                "(a larger --timesteps trains more)", resume_zip, f"{done:,}", f"{total:,}",
            )  # fmt: skip
            return TrainResult(run_dir, resume_zip, done, 0.0, config=cfg.to_dict(), already_complete=True)
        logger.info("resuming from %s at %s of %s timesteps: %s remain", resume_zip, f"{done:,}", f"{total:,}",
                    f"{total - done:,}")  # fmt: skip
    if gama is None:
        probe_backend(cfg)  # e.g. no GAMA server listening: before any folder is made
    else:
        cfg.backend = "gama"
    torch.set_num_threads(int(cfg.torch_threads))
    if resume_zip is None:
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
        atomic_write_text(paths.config, yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        children = (callback_after_eval, callback_on_new_best)
        return _learn(
            cfg, model, env, eval_env, paths, resumed_at, extra_callbacks, final_eval_episodes, children, progress_every
        )
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
    kwargs = {**build_algo_kwargs(cfg), "device": cfg.device, "tensorboard_log": str(run_dir), "verbose": cfg.verbose}
    if resume_zip is None:
        return algo_class(cfg.algo)(cfg.policy, env, seed=cfg.seed, **kwargs)
    kwargs.pop("policy_kwargs", None)  # the network is the saved one
    model = load_model(resume_zip, cfg.algo, env=env, **kwargs)
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
    progress_every: int | None = None,
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
    progress: BaseCallback | None = None
    if cfg.progress_bar and sys.stderr.isatty():
        progress = ProgressBarCallback()
    elif progress_every != 0:  # SB3's bar shows nothing useful off a terminal: lines instead
        progress = ProgressLines(cfg.n_timesteps, progress_every or max(1, cfg.n_timesteps // 20), evaluator)
    if progress is not None:
        callbacks.append(progress)
    callbacks.extend(extra_callbacks or [])

    interrupted: str | None = None
    tb_name = TB_LOG_NAME if resumed_at is None else _resume_tb_name(paths, resumed_at)
    t0 = time.perf_counter()
    try:
        with _signals_interrupt():
            model.learn(  # a resume trains what remains of the budget (SB3 adds the timesteps done)
                total_timesteps=int(cfg.n_timesteps) - (resumed_at or 0),
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
        atomic_save_model(model, paths.model, paths.vecnormalize)
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


class ProgressLines(BaseCallback):
    """Progress as log lines, for output that is not a terminal: every ``every`` timesteps (at the
    end of a rollout), the timesteps done of the budget, the speed and the latest evaluation."""

    def __init__(self, total: int, every: int, evaluator: TeamEvalCallback | None = None) -> None:
        super().__init__()
        self.total, self.every, self.evaluator = int(total), max(1, int(every)), evaluator

    def _on_training_start(self) -> None:
        self._t0, self._start = time.perf_counter(), int(self.num_timesteps)
        self._last = self._start

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.num_timesteps - self._last < self.every:
            return
        self._last = n = int(self.num_timesteps)
        fps = (n - self._start) / max(time.perf_counter() - self._t0, 1e-9)
        line = f"progress: {n:,} / {self.total:,} timesteps ({n / self.total:.0%}), {fps:,.0f} fps"
        summary = self.evaluator.last_summary if self.evaluator is not None else None
        if summary is not None:
            line += f", last eval: success {fmt_pct(summary['success_rate'])}"
            line += f", steps {fmt_num(summary['steps_to_food'])}"
        logger.info(line)


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
            last = newest_model(paths, with_final=False)
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


def _close_progress(progress: ProgressBarCallback | None) -> None:
    with contextlib.suppress(Exception):  # no progress bar (None, or not started yet), or a broken one
        progress.pbar.close()
