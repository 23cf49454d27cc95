"""``python -m sb3_forager tune`` (also ``scripts/tune.py``, ``sb3-forager-tune``): an Optuna sweep
of the training hyperparameters, a thin CLI over :mod:`sb3_forager.training.sweep`."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from .common import CliParser, env_arg, fail, setup_logging

PROG = "tune.py"

EPILOG = """\
study folder (<logdir>/<study-name>/):
  trial_<k>/                 each trial's run folder (as train_sb3.py writes it); with
                             --trial-seeds M > 1, one run folder per seed: trial_<k>/seed_<s>/
  trials.csv                 every trial of the study (Optuna's trials_dataframe): state, value,
                             params_<name>, user_attrs_<evaluation, host, run_dir, error>
  best_hyperparameters.yml   the best trial, for: train_sb3.py --env ENV --config FILE
  study.db                   the study (default storage: sqlite:///<study folder>/study.db)

objective (maximised): success_rate - 0.001 * s / (s + 1000), s = mean steps to food, from the
final model's deterministic evaluation (--n-eval-episodes episodes); success dominates and fewer
steps breaks ties. A trial has --n-evaluations evaluations: the first n-1 at about k/n of its
timesteps, each reporting the same objective to the pruner, and the final one.

several workers: start the same command several times (--n-trials counts this worker's trials).
  one machine:      the default SQLite file, or --storage journal:<path>/journal.log
  several machines: --storage postgresql+psycopg://user:password@host:5432/db (pip install
                    'sb3_forager[tune]'); workers may start at the same moment on a fresh database;
                    the trial of a worker that dies is failed after 5 minutes and run again.
watch a study:      pip install optuna-dashboard; optuna-dashboard sqlite:///<study folder>/study.db

--sampler/--pruner take options: tpe:n_startup_trials=5, median:n_startup_trials=2,
threshold:lower=0.5, percentile:percentile=25. Exit codes: 0 done, 1 every trial failed or a
storage error, 2 bad arguments (nothing written), 130 interrupted.
"""


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line (sampler and pruner names from :mod:`sb3_forager.training.study`)."""
    from ..training.config import ALGOS, ENVS
    from ..training.study import PRUNERS, SAMPLERS

    p = CliParser(
        prog=prog,
        description="Sweep hyperparameters with Optuna: each trial trains with the package's training "
        "pipeline and is scored on team success, then fewer steps to food.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = p.add_argument
    add("--env", type=env_arg(ENVS), default="coop", metavar="{" + ",".join(ENVS) + "}", help="the env to tune (default: coop)")
    add("--algo", choices=ALGOS, default="ppo", help="the algorithm (default: ppo)")
    add("--n-trials", type=int, default=20, metavar="N", help="trials of this worker (default 20)")
    add("--trial-timesteps", type=int, default=None, metavar="N",
        help="timesteps per trial (default: the config's n_timesteps, e.g. coop 1000000, forager 60000)")
    add("--storage", default=None, metavar="URL",
        help="Optuna storage: an SQLAlchemy URL (sqlite:///f.db, postgresql+psycopg://user:pw@host/db) or "
        "journal:PATH; default sqlite:///<logdir>/<study-name>/study.db")
    add("--study-name", default=None, metavar="NAME", help="study name and folder (default tune_<env>_<algo>)")
    add("--logdir", default="logs", metavar="DIR", help="parent of the study folder (default: logs)")
    add("--sampler", default="tpe", metavar="NAME[:K=V,...]", help=f"Optuna sampler: {', '.join(SAMPLERS)} (default tpe)")
    add("--pruner", default="median", metavar="NAME[:K=V,...]",
        help=f"Optuna pruner: {', '.join(PRUNERS)} (default median)")
    add("--seed", type=int, default=0, metavar="N",
        help="trial k trains with seed N+k (default 0); with --trial-seeds M, seeds N+k*M .. N+k*M+M-1")
    add("--trial-seeds", type=int, default=1, metavar="M",
        help="training runs (seeds) per trial, in trial_<k>/seed_<s>/ (default 1): the trial's value is "
        "their mean (--trial-score worst: the lowest), since one seed's result is mostly noise")
    add("--trial-score", choices=("mean", "worst"), default="mean",
        help="how --trial-seeds runs make the trial's value (default mean)")
    add("--sampler-seed", type=int, default=None, metavar="N",
        help="seed of the sampler, for a reproducible single-worker sweep (default: none, so that "
        "parallel workers try different points)")
    add("--n-eval-episodes", type=int, default=10, metavar="N", help="episodes per evaluation (default 10)")
    add("--n-evaluations", type=int, default=4, metavar="N",
        help="evaluations per trial (default 4): n-1 during training, reported to the pruner (which may "
        "stop the trial), and the final one; 1: no pruning")
    add("--search-space", default=None, metavar="FILE",
        help="YAML search space (default: sb3_forager/configs/search_space.yml)")
    add("--config", default=None, metavar="FILE", help="hyperparameters of everything not searched (as train_sb3.py)")
    add("--n-worlds", type=int, default=None, metavar="N", help="parallel worlds per trial (default: config)")
    add("--timeout", type=float, default=None, metavar="SECONDS", help="start no trial after this long")
    add("--connect-timeout", type=float, default=10.0, metavar="SECONDS", help="database connection timeout (default 10)")
    add("--no-progress-bar", action="store_true", help="no overall progress bar")
    add("--verbose", action="store_true", help="also log each evaluation and Optuna's messages")
    return p


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Parse, check everything (exit 2, nothing written), sweep, report."""
    try:
        import optuna
    except ImportError:
        return fail(prog, "tuning needs Optuna, which is not installed: pip install 'sb3_forager[tune]'")
    from ..training.search_space import TuneError
    from ..training.sweep import OBJECTIVE, TuneSettings, prepare, run_sweep

    args = build_parser(prog).parse_args(argv)
    setup_logging(logging.INFO if args.verbose else logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.ERROR)
    settings = TuneSettings(
        **{k: v for k, v in vars(args).items() if k not in ("config", "no_progress_bar", "verbose")},
        config_file=args.config,
        progress_bar=not args.no_progress_bar,
    )
    try:
        p = prepare(settings)
    except TuneError as exc:
        return fail(prog, str(exc))
    print(
        f"study {settings.study_name}: {settings.n_trials} trial(s) of {p.trial_timesteps:,} timesteps on this worker, "
        f"{settings.algo} on {settings.env}; storage {p.storage.display}"
    )
    print(f"objective (maximised): {OBJECTIVE}")
    print("searching: " + "; ".join(param.describe() for param in p.space.params))
    try:
        result = run_sweep(p)
    except TuneError as exc:
        return fail(prog, str(exc))
    except Exception as exc:  # a storage that went away: one line, not a traceback
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError) or type(exc).__module__.startswith("optuna"):
            return fail(prog, " ".join(f"{type(exc).__name__}: {exc}".split()), code=1)
        raise
    counts = ", ".join(f"{n} {k.lower()}" for k, n in sorted(result.counts.items())) or "no trial"
    print(f"this worker: {counts}; the study has {len(result.study.trials)} trial(s)")
    best = result.best
    if best is not None:
        print(f"best: trial {best.number}, value {best.value:.6f} -> {result.best_file}")
        print(f"train it: python scripts/train_sb3.py --env {settings.env} --config {result.best_file}")
    else:
        print("no complete trial yet: no best_hyperparameters.yml")
    print(f"trials: {result.trials_csv}")
    print(f"watch: {p.storage.dashboard_command()}")
    if result.interrupted:
        print("interrupted: start the same command again to continue the study")
        return 130
    if result.counts and set(result.counts) == {"FAIL"}:
        return fail(prog, "every trial of this worker failed (see trials.csv, column user_attrs_error)", code=1)
    return 0

