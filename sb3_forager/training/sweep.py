"""Hyperparameter sweeps with Optuna: settings, the trial objective, the loop and its outputs.

Each trial samples its hyperparameters (:mod:`.search_space`), trains with
:func:`~sb3_forager.training.train.train` into ``<logdir>/<study>/trial_<number>/`` and returns the
final model's deterministic evaluation as ``success_rate - 0.001 * s / (s + 1000)`` (``s``: mean steps
to food of the successful episodes; none: the full 0.001): success dominates (rates of at most 1000
episodes differ by at least 0.001), fewer steps break ties; the value lies in [-0.001, 1). Of a
trial's ``n_evaluations`` evaluations, the ``n - 1`` periodic ones are reported to the pruner by
:class:`PruningCallback` (step k = the k-th evaluation), the final one as step ``n``.

With ``trial_seeds`` N > 1 a trial trains N times, seeds ``seed + k*N .. seed + k*N + N - 1``, into
``trial_<k>/seed_<s>/``, and its value is the mean (``trial_score: worst``: the minimum) of the N
runs' values (one seed's value is mostly noise); run j's evaluations are steps ``j*n + 1 .. j*n + n``. Outputs in the
study folder: ``trials.csv`` (``study.trials_dataframe()``) and ``best_hyperparameters.yml``
(``study.best_trial``, an env section for ``train --config FILE``), rewritten after each trial.
"""

from __future__ import annotations

import logging
import math
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import yaml
from stable_baselines3.common.callbacks import BaseCallback

from ..common import checks
from .config import ALGOS, ENVS, ConfigError, TrainConfig, resolve_config
from .evaluation import fmt_num, fmt_pct
from .run_dir import atomic_write_text
from .search_space import SearchSpace, TuneError, load_search_space, trial_config
from .study import StorageSpec, check_storage, make_pruner, make_sampler, open_study, parse_storage

logger = logging.getLogger(__name__)

__all__ = ["OBJECTIVE", "PreparedSweep", "PruningCallback", "SweepResult", "TuneSettings", "best_section"]
__all__ += ["make_objective", "objective_value", "prepare", "run_sweep", "write_best_hyperparameters", "write_trials_csv"]

#: the documented objective, as printed and stored in the study's user attributes
OBJECTIVE = "success_rate - 0.001 * s / (s + 1000), s = mean steps to food (deterministic evaluation)"
#: how a trial's seeds' values make its value (``trial_score``)
TRIAL_SCORES: dict[str, Callable[[list[float]], float]] = {"mean": lambda v: sum(v) / len(v), "worst": min}
STEPS_WEIGHT = 0.001
STEPS_SCALE = 1000.0
MAX_EVAL_EPISODES = 1000
TRIALS_CSV = "trials.csv"
BEST_FILE = "best_hyperparameters.yml"
#: errors that fail one trial (recorded, the sweep goes on); anything else stops the worker
TRIAL_ERRORS: tuple[type[BaseException], ...] = (ValueError, AssertionError, FileExistsError, RuntimeError)
#: the evaluation results kept as user attributes of a trial (columns user_attrs_<key> of trials.csv)
EVAL_ATTRS = ("success_rate", "steps_to_food", "team_return")


def objective_value(summary: Mapping[str, float]) -> float:
    """The sweep's objective of an evaluation summary (see the module docstring); higher is better."""
    success = summary.get("success_rate", float("nan"))
    success = 0.0 if success is None or math.isnan(float(success)) else float(success)
    steps = summary.get("steps_to_food", float("nan"))
    if steps is None or math.isnan(float(steps)) or float(steps) < 0:
        return success - STEPS_WEIGHT
    return success - STEPS_WEIGHT * float(steps) / (float(steps) + STEPS_SCALE)


def _record(trial: optuna.Trial, summary: Mapping[str, float], num_timesteps: int) -> None:
    """The evaluation as user attributes (NaN -> None: JSON has no NaN)."""
    for key in EVAL_ATTRS:
        x = summary.get(key)
        trial.set_user_attr(key, float(x) if x is not None and math.isfinite(float(x)) else None)
    trial.set_user_attr("num_timesteps", int(num_timesteps))


class PruningCallback(BaseCallback):
    """``train(callback_after_eval=...)``: after each periodic evaluation, report the objective of
    the evaluation callback's (``self.parent``) deterministic summary to the trial; when the pruner
    says so, mark the trial pruned and stop training (the objective then raises ``TrialPruned``)."""

    def __init__(self, trial: optuna.Trial, step_offset: int = 0) -> None:
        super().__init__()
        self.trial = trial
        #: reported steps are ``step_offset + k`` (a trial's later seeds come after the earlier ones')
        self.step_offset = int(step_offset)
        self.evaluations = 0
        self.pruned = False

    def _on_step(self) -> bool:
        summary = self.parent.last_summary
        self.evaluations += 1
        _record(self.trial, summary, self.num_timesteps)
        self.trial.report(objective_value(summary), self.step_offset + self.evaluations)
        self.pruned = self.trial.should_prune()
        return not self.pruned


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
    #: trial k trains with seed + k (with trial_seeds N: seeds seed + k*N .. seed + k*N + N - 1)
    seed: int = 0
    #: training runs (seeds) per trial; its value is their mean (trial_score "worst": the minimum)
    trial_seeds: int = 1
    trial_score: str = "mean"
    #: the sampler's seed (default: none, so that parallel workers explore different points)
    sampler_seed: int | None = None
    n_eval_episodes: int = 10
    #: evaluations per trial: n - 1 during training (reported to the pruner), then the final one
    n_evaluations: int = 4
    search_space: str | Path | None = None
    config_file: str | Path | None = None
    n_worlds: int | None = None
    #: stop starting trials after this many seconds
    timeout: float | None = None
    connect_timeout: float = 10.0
    progress_bar: bool = True

    def __post_init__(self) -> None:
        if self.study_name is None:
            self.study_name = f"tune_{self.env}_{self.algo}"

    @property
    def study_dir(self) -> Path:
        return Path(self.logdir) / str(self.study_name)


@dataclass
class PreparedSweep:
    """Checked inputs: nothing has been written yet."""

    settings: TuneSettings
    base: TrainConfig
    space: SearchSpace
    storage: StorageSpec
    sampler: optuna.samplers.BaseSampler
    pruner: optuna.pruners.BasePruner
    trial_timesteps: int
    eval_freq: int


def _check_numbers(s: TuneSettings) -> None:
    checks.integer(s.n_trials, "--n-trials", 1)
    checks.integer(s.trial_seeds, "--trial-seeds", 1)
    if s.trial_score not in TRIAL_SCORES:
        raise ValueError(f"--trial-score must be one of {list(TRIAL_SCORES)}, got {s.trial_score!r}")
    checks.integer(s.n_evaluations, "--n-evaluations", 1)
    checks.integer(s.n_eval_episodes, "--n-eval-episodes", 1, MAX_EVAL_EPISODES)
    checks.seed(s.seed, "--seed")
    checks.seed(s.sampler_seed, "--sampler-seed")
    checks.number(s.connect_timeout, "--connect-timeout", 0, low_open=True)
    for name, value in (("--trial-timesteps", s.trial_timesteps), ("--n-worlds", s.n_worlds)):
        if value is not None:
            checks.integer(value, name, 1)
    if s.timeout is not None:
        checks.number(s.timeout, "--timeout", 0, low_open=True)


def prepare(settings: TuneSettings) -> PreparedSweep:
    """Check every input (flags, config, search space, sampler, pruner, storage reachability)
    and return the sweep, writing nothing; :class:`TuneError` names the first problem."""
    s = settings
    if s.env not in ENVS:
        raise TuneError(f"env must be one of {list(ENVS)}, got {s.env!r}")
    if s.algo not in ALGOS:
        raise TuneError(f"algo must be one of {list(ALGOS)}, got {s.algo!r}")
    try:
        _check_numbers(s)
    except ValueError as exc:
        raise TuneError(str(exc)) from exc
    name = s.study_name
    if not name or any(c in name for c in "/\\") or name in (".", "..") or name.strip() != name:
        raise TuneError(f"--study-name must be a plain folder name, got {name!r}")
    if s.study_dir.exists() and not s.study_dir.is_dir():
        raise TuneError(f"the study folder {s.study_dir} exists and is not a folder")
    if s.config_file is not None and not Path(s.config_file).is_file():
        raise TuneError(f"--config: no such file {s.config_file}")
    try:
        base = resolve_config(s.env, s.algo, config_file=s.config_file, overrides={"n_worlds": s.n_worlds})
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


def best_section(cfg: TrainConfig, base: TrainConfig) -> dict[str, Any]:
    """The env section of ``best_hyperparameters.yml`` for a trial's config: its sampled values over
    the base config's run settings (evaluation and checkpoint frequencies of the full training).
    A trial longer than the full training sets ``n_timesteps``: its score was measured after that many."""
    section: dict[str, Any] = {
        "n_timesteps": max(int(base.n_timesteps), int(cfg.n_timesteps)),
        "n_worlds": int(cfg.n_worlds),
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


def make_objective(prepared: PreparedSweep) -> Callable[[optuna.Trial], float]:
    """The trial objective: sample, train (pruned by :class:`PruningCallback`), score the final model
    (of each of ``trial_seeds`` runs: their mean or worst value)."""
    s, host = prepared.settings, socket.gethostname()

    def objective(trial: optuna.Trial) -> float:
        params = prepared.space.sample(trial)
        n_seeds, n_evals = int(s.trial_seeds), int(s.n_evaluations)
        trial_dir = s.study_dir / f"trial_{trial.number}"
        trial.set_user_attr("host", host)
        trial.set_user_attr("run_dir", str(trial_dir.absolute()))
        seeds = [int(s.seed) + int(trial.number) * n_seeds + j for j in range(n_seeds)]
        values: list[float] = []
        summaries: list[Mapping[str, float]] = []
        seconds = timesteps = 0
        for j, seed in enumerate(seeds):
            pruning = PruningCallback(trial, step_offset=j * n_evals)
            det, result = _train_trial(prepared, trial, params, seed, trial_dir, n_seeds, pruning)
            seconds += float(result.train_seconds)
            trial.set_user_attr("train_seconds", round(seconds, 3))
            if pruning.pruned:
                raise optuna.TrialPruned(f"pruned at evaluation {j * n_evals + pruning.evaluations}")
            values.append(objective_value(det))
            summaries.append(det)
            timesteps += int(result.num_timesteps)
            trial.report(values[-1], j * n_evals + pruning.evaluations + 1)  # the final evaluation of this seed
        _record(trial, _mean_summary(summaries), timesteps // n_seeds)
        if n_seeds > 1:
            trial.set_user_attr("seeds", seeds)
            trial.set_user_attr("seed_values", [round(v, 6) for v in values])
        return TRIAL_SCORES[s.trial_score](values)

    return objective


def _train_trial(
    prepared: PreparedSweep, trial: optuna.Trial, params: dict[str, Any], seed: int, trial_dir: Path, n_seeds: int,
    pruning: PruningCallback,
) -> tuple[Mapping[str, float], Any]:
    """One training run of a trial (``trial_<k>/``, or ``trial_<k>/seed_<s>/`` of several seeds):
    its final deterministic summary and :class:`TrainResult`."""
    from .train import train

    s, base = prepared.settings, prepared.base
    logdir, run_name = (s.study_dir, trial_dir.name) if n_seeds == 1 else (trial_dir, f"seed_{seed}")
    try:
        cfg = trial_config(
            base,
            params,
            n_timesteps=prepared.trial_timesteps,
            seed=seed,
            eval_freq=prepared.eval_freq,
            eval_episodes=s.n_eval_episodes,
            checkpoint_freq=0,
            progress_bar=False,
            verbose=0,
        )
        trial.set_user_attr("section", best_section(cfg, base))
        result = train(
            cfg,
            logdir=logdir,
            run_name=run_name,
            final_eval_episodes=s.n_eval_episodes,
            callback_after_eval=pruning,
            progress_every=0,  # the sweep prints one line per trial
        )
    except TRIAL_ERRORS as exc:
        trial.set_user_attr("error", f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500])
        raise
    if result.interrupted or result.final_eval is None:
        trial.set_user_attr("error", "interrupted")
        raise KeyboardInterrupt
    return result.final_eval[0], result


def _mean_summary(summaries: list[Mapping[str, float]]) -> dict[str, float]:
    """The mean of each :data:`EVAL_ATTRS` figure over a trial's seeds (NaN ones left out)."""
    out: dict[str, float] = {}
    for key in EVAL_ATTRS:
        xs = [float(x) for x in (d.get(key) for d in summaries) if x is not None and math.isfinite(float(x))]
        out[key] = sum(xs) / len(xs) if xs else float("nan")
    return out


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None


def write_trials_csv(study: optuna.Study, path: str | Path) -> Path:
    """Every trial of the study as one CSV row (``study.trials_dataframe()``, atomic write)."""
    frame = study.trials_dataframe().drop(columns=["user_attrs_section"], errors="ignore")
    return atomic_write_text(path, frame.to_csv(index=False))


def write_best_hyperparameters(study: optuna.Study, path: str | Path, env: str) -> Path | None:
    """``best_hyperparameters.yml`` of ``study.best_trial`` (None: no complete trial yet), an env
    section as ``train --config FILE`` takes it, with the full training's ``n_timesteps``."""
    best = _best(study)
    if best is None or not isinstance(best.user_attrs.get("section"), dict):
        return None
    a = best.user_attrs
    header = (
        f"# Best hyperparameters of the Optuna study {study.study_name}: trial {best.number},\n"
        f"# objective {best.value:.6f} (success {fmt_pct(a.get('success_rate'))}, steps to food "
        f"{fmt_num(a.get('steps_to_food'), '.0f')}) after {a.get('num_timesteps', '?')} timesteps of training.\n"
        f"# Objective: {OBJECTIVE}.\n"
        f"# Train with: python scripts/train_sb3.py --env {env} --config {path}\n"
    )
    return atomic_write_text(path, header + yaml.safe_dump({env: a["section"]}, sort_keys=False, default_flow_style=None))


def format_trial_line(trial: optuna.trial.FrozenTrial, is_best: bool = False) -> str:
    """One line for a finished trial: state, value, evaluation, time, sampled parameters."""
    state, attrs = trial.state.name, trial.user_attrs
    secs = trial.duration.total_seconds() if trial.duration is not None else float("nan")
    params = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(trial.params.items()))
    if state == "COMPLETE":
        head = (
            f"trial {trial.number} complete: value {trial.value:.6f} (success {fmt_pct(attrs.get('success_rate'))}, "
            f"steps to food {fmt_num(attrs.get('steps_to_food'), '.0f')})"
        )
    elif state == "PRUNED":
        last = trial.last_step
        value = trial.intermediate_values.get(last) if last is not None else None
        head = f"trial {trial.number} pruned at evaluation {last}" + (f" (value {value:.6f})" if value is not None else "")
    else:
        head = f"trial {trial.number} {state.lower()}" + (f": {attrs['error']}" if attrs.get("error") else "")
    return f"{head} in {secs:.1f} s | {params}" + (" | best so far" if is_best else "")


@dataclass
class SweepResult:
    """What one worker's :func:`run_sweep` did (and the study as it stood at the end)."""

    study: optuna.Study
    #: this worker's trials by state name (COMPLETE, PRUNED, FAIL)
    counts: dict[str, int] = field(default_factory=dict)
    best_file: Path | None = None
    trials_csv: Path | None = None
    interrupted: bool = False

    @property
    def best(self) -> optuna.trial.FrozenTrial | None:
        return _best(self.study)

    def write_outputs(self, study_dir: Path, env: str) -> None:
        self.trials_csv = write_trials_csv(self.study, study_dir / TRIALS_CSV)
        self.best_file = write_best_hyperparameters(self.study, study_dir / BEST_FILE, env)


def _describe_study(study: optuna.Study, prepared: PreparedSweep) -> None:
    """Record what the study tunes; refuse a study of another env or algorithm."""
    s, attrs = prepared.settings, study.user_attrs
    for key, value in (("env", s.env), ("algo", s.algo)):
        if key in attrs and attrs[key] != value:
            raise TuneError(
                f"the study {s.study_name} in {prepared.storage.display} tunes {key} {attrs[key]}, not {value}: "
                "pick another --study-name"
            )
    description = {
        "env": s.env,
        "algo": s.algo,
        "objective": OBJECTIVE,
        "trial_timesteps": prepared.trial_timesteps,
        "n_eval_episodes": s.n_eval_episodes,
        "n_evaluations": s.n_evaluations,
        "trial_seeds": s.trial_seeds,
        "trial_score": s.trial_score,
        "search_space": [p.describe() for p in prepared.space.params],
    }
    for key, value in description.items():
        if key not in attrs:
            study.set_user_attr(key, value)
        elif attrs[key] != value and key != "search_space":
            logger.warning("the study was started with %s=%r; this worker uses %r", key, attrs[key], value)


def run_sweep(
    prepared: PreparedSweep,
    *,
    printer: Callable[[str], None] | None = None,
    objective: Callable[[optuna.Trial], float] | None = None,
) -> SweepResult:
    """Run ``n_trials`` trials of this worker on the (shared) study.

    ``printer`` gets one line per finished trial of this worker (default ``print``; above the
    progress bar when it is on); ``objective`` replaces the training objective (tests).
    """
    from tqdm.auto import tqdm

    s = prepared.settings
    s.study_dir.mkdir(parents=True, exist_ok=True)
    study = open_study(
        prepared.storage,
        s.study_name,
        sampler=prepared.sampler,
        pruner=prepared.pruner,
        connect_timeout=s.connect_timeout,
    )
    _describe_study(study, prepared)
    bar = tqdm(
        total=s.n_trials,
        desc=s.study_name,
        unit="trial",
        disable=None if s.progress_bar else True,  # None: off unless stderr is a terminal
        file=sys.stderr,
        dynamic_ncols=True,
    )
    emit = (lambda line: bar.write(line, file=sys.stdout)) if not bar.disable else (printer or print)
    result = SweepResult(study)

    def after_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        result.counts[trial.state.name] = result.counts.get(trial.state.name, 0) + 1
        try:
            result.write_outputs(s.study_dir, s.env)
        except Exception:  # the outputs are rewritten after the next trial
            logger.exception("could not write the study outputs")
        best = _best(study)
        emit(format_trial_line(trial, is_best=best is not None and best.number == trial.number))
        bar.update(1)
        if best is not None:
            bar.set_postfix_str(f"best {best.value:.4f} (trial {best.number})", refresh=True)

    try:
        study.optimize(
            objective or make_objective(prepared),
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
    result.write_outputs(s.study_dir, s.env)
    return result
