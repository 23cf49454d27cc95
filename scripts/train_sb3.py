#!/usr/bin/env python
"""Train a Stable-Baselines3 policy on the ForagerRL envs and write logs/<run>/.

    python scripts/train_sb3.py                      # the cooperative pair, PPO, embedded simulation
    python scripts/train_sb3.py --env forager        # the single forager
    tensorboard --logdir logs                        # watch the curves

A thin CLI over :func:`sb3_forager.training.train`; see ``--help``.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

from sb3_forager.cli import add_gama_arguments, gama_servers_from_args

EPILOG = """\
run folder (logs/<run>/):
  model.zip            final model (also written on Ctrl-C); PPO.load("logs/<run>/model.zip")
  best_model.zip       best model of the periodic evaluations
  checkpoints/         model_<timesteps>_steps.zip every --checkpoint-freq timesteps
  config.yml           the resolved configuration (what --resume starts from)
  evaluations.npz      evaluation results (RL Zoo keys: timesteps, results, ep_lengths, successes)
  episodes.csv         one row per training (team) episode
  training_rewards.png return, success rate and steps to food over training
  tb_1/                TensorBoard events (tensorboard --logdir logs)
  vecnormalize.pkl     normalisation statistics (only with normalize: true)

Timesteps count agent steps: one step of the pair is 2 timesteps. Hyperparameter defaults are in
sb3_forager/configs/<algo>.yml (RL Zoo style, one section per env); --config FILE overrides them
and --hyperparams KEY=VALUE overrides both. Ctrl-C saves the current model and exits (code 130).
Exit codes: 0 done, 1 training failed (a checkpoint was saved), 2 bad arguments or backend missing.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train_sb3.py",
        description="Train PPO (or sb3-contrib RecurrentPPO) on the ForagerRL envs: the cooperative "
        "pair (one policy shared by both foragers) or the single forager.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--env",
        choices=("coop", "forager"),
        default=None,
        help="coop: the cooperative pair (default); forager: the single forager",
    )
    p.add_argument(
        "--backend",
        choices=("native", "gama"),
        default=None,
        help="native: the embedded numpy simulation (default); gama: GAML models on GAMA server(s)",
    )
    p.add_argument(
        "--algo",
        choices=("ppo", "recurrent_ppo"),
        default=None,
        help="ppo (default) or recurrent_ppo (sb3-contrib RecurrentPPO, LSTM policy)",
    )
    p.add_argument(
        "--timesteps",
        type=int,
        default=None,
        metavar="N",
        help="timesteps to train (agent steps; with --resume: additional timesteps); "
        "default from the config (coop 150000, forager 60000)",
    )
    p.add_argument(
        "--n-envs",
        type=int,
        default=None,
        metavar="N",
        help="parallel worlds (copies of the pair, or single foragers); default from the config",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="random seed (default 0); the same seed and flags give the same learning curve on CPU",
    )
    p.add_argument("--logdir", default="logs", metavar="DIR", help="parent folder of the run folders (default: logs)")
    p.add_argument(
        "--run-name",
        default=None,
        metavar="NAME",
        help="run folder name under --logdir (default: <env>_<algo>_<k>, the next free k)",
    )
    p.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="YAML hyperparameters, RL Zoo style: sections per env (coop:, forager:) or flat",
    )
    p.add_argument(
        "--hyperparams",
        nargs="+",
        default=None,
        metavar="KEY=VALUE",
        help="override single hyperparameters, e.g. --hyperparams gamma=0.99 n_steps=256",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR_OR_ZIP",
        help="continue a run (its latest model.zip or checkpoint, or the given zip): the timestep "
        "count and the TensorBoard curves go on",
    )
    p.add_argument(
        "--eval-freq",
        type=int,
        default=None,
        metavar="N",
        help="evaluate every N timesteps (0: never); default from the config",
    )
    p.add_argument(
        "--eval-episodes",
        type=int,
        default=None,
        metavar="N",
        help="episodes per evaluation, deterministic and stochastic each (default 10)",
    )
    p.add_argument(
        "--checkpoint-freq",
        type=int,
        default=None,
        metavar="N",
        help="save checkpoints/model_<t>_steps.zip every N timesteps (0: never); default 50000",
    )
    p.add_argument(
        "--vec-env",
        choices=("supersuit", "batched"),
        default=None,
        help="coop on the native backend: supersuit (PettingZoo -> SuperSuit, default) or batched "
        "(the numpy-batched ForagerVecEnv, faster)",
    )
    p.add_argument("--device", default=None, help="torch device (default: cpu)")
    p.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        metavar="N",
        help="torch CPU threads (default 1: best on a small, shared CPU)",
    )
    p.add_argument("--no-progress-bar", action="store_true", help="hide SB3's progress bar")
    p.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="SB3 verbosity: 1 prints SB3's table after every rollout (default 0)",
    )
    add_gama_arguments(p)
    return p


class _StdoutHandler(logging.StreamHandler):
    """Log to whatever ``sys.stdout`` is at the time (the progress bar redirects it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def setup_logging(level: int = logging.INFO) -> None:
    handler = _StdoutHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("sb3_forager")
    log.handlers[:] = [h for h in log.handlers if not isinstance(h, _StdoutHandler)] + [handler]
    log.setLevel(level)


def _fmt(x: float, pct: bool = False) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return f"{100 * x:.0f}%" if pct else f"{x:.1f}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    from sb3_forager.training import (
        BackendUnavailableError,
        ConfigError,
        TrainConfig,
        TrainingError,
        resolve_config,
        train,
    )
    from sb3_forager.training.config import load_yaml, parse_hyperparam_overrides
    from sb3_forager.training.run_dir import (
        RunPaths,
        detect_algo,
        detect_env,
        resolve_resume,
    )

    def fail(message: str, code: int = 2) -> int:
        print(f"train_sb3.py: error: {message}", file=sys.stderr)
        return code

    try:
        servers = gama_servers_from_args(args)
    except ValueError as exc:
        return fail(str(exc))
    overrides = {
        "backend": args.backend,
        "seed": args.seed,
        "n_timesteps": args.timesteps,
        "n_envs": args.n_envs,
        "eval_freq": args.eval_freq,
        "eval_episodes": args.eval_episodes,
        "checkpoint_freq": args.checkpoint_freq,
        "vec_env": args.vec_env,
        "device": args.device,
        "torch_threads": args.torch_threads,
        "verbose": args.verbose,
        "progress_bar": False if args.no_progress_bar else None,
        "gama_servers": servers,
        "gama_timeout": args.gama_timeout,
    }
    try:
        hyper = parse_hyperparam_overrides(args.hyperparams)
        base = None
        if args.resume is not None:
            run_dir, zip_path = resolve_resume(args.resume)
            cfg_file = RunPaths(run_dir).config
            if cfg_file.is_file():
                base = TrainConfig.from_dict(load_yaml(cfg_file))
            else:  # a bare zip: start from the shipped defaults of its env and algorithm
                base = resolve_config(args.env or detect_env(zip_path) or "coop", args.algo or detect_algo(zip_path))
            for name in ("env", "algo"):
                given = getattr(args, name)
                if given is not None and given != getattr(base, name):
                    return fail(f"--{name} {given} does not match the resumed run ({getattr(base, name)})")
        cfg = resolve_config(
            args.env or "coop",
            args.algo or "ppo",
            config_file=args.config,
            base=base,
            overrides=overrides,
            hyperparam_overrides=hyper,
        )
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        return fail(str(exc))

    try:
        result = train(cfg, logdir=args.logdir, run_name=args.run_name, resume=args.resume)
    except (BackendUnavailableError, ConfigError, FileExistsError, FileNotFoundError) as exc:
        return fail(str(exc))
    except TrainingError as exc:
        return fail(str(exc), code=1)

    print(f"run folder: {result.run_dir}")
    print(f"model: {result.model_path} ({result.num_timesteps:,} timesteps, {result.train_seconds:.1f} s of training)")
    if result.final_eval is not None:
        det, stoch = result.final_eval
        who = "team" if cfg.n_agents > 1 else "forager"
        line = (
            f"final model: {who} success {_fmt(det['success_rate'], True)} deterministic"
            f", steps to food {_fmt(det['steps_to_food'])}"
        )
        if stoch is not None:
            line += f"; stochastic success {_fmt(stoch['success_rate'], True)}, steps to food {_fmt(stoch['steps_to_food'])}"
        print(line)
    print(f"TensorBoard: tensorboard --logdir {Path(result.run_dir).parent}")
    if result.interrupted:
        print("interrupted: the current model was saved; continue with --resume " + str(result.run_dir))
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
