"""``python -m sb3_forager train`` (also ``scripts/train_sb3.py``, ``sb3-forager-train``): train a
Stable-Baselines3 policy on the ForagerRL envs and write ``logs/<run>/``.

A thin CLI over :func:`sb3_forager.training.train`; see ``--help``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from .common import (
    CliParser,
    add_gama_arguments,
    env_arg,
    fail,
    gama_launcher,
    gama_servers_from_args,
    nonnegative_int,
    positive_int,
    seed_arg,
    setup_logging,
)

PROG = "train_sb3.py"

EPILOG = """\
envs:
  coop            the tutorial's cooperative pair (default), PettingZoo -> SuperSuit -> one shared policy
  team            pairs from random starts, {team_mix} (configs/ppo.yml)
  forager         the tutorial's single forager, from (5, 5)
  forager-random  the single forager from random starts

run folder (logs/<run>/):
  model.zip            final model (also written on Ctrl-C or SIGTERM); PPO.load("logs/<run>/model.zip")
  best_model.zip       best model of the periodic evaluations (best_model.json: its timestep, score)
  checkpoints/         model_<timesteps>_steps.zip every --checkpoint-freq timesteps
  config.yml           the resolved configuration (what --resume starts from)
  evaluations.npz      evaluation results (RL Zoo keys: timesteps, results, ep_lengths, successes)
  episodes.csv         one row per training (team) episode
  training_rewards.png return, success rate and steps to food over training
  tb_1/                TensorBoard events (tensorboard --logdir logs)
  vecnormalize.pkl     normalisation statistics (only with normalize: true)

Timesteps count agent steps: one step of the pair is 2 timesteps. Hyperparameter defaults are in
sb3_forager/configs/<algo>.yml (RL Zoo style, one section per env); --config FILE overrides them
and --hyperparams KEY=VALUE overrides both. Ctrl-C or SIGTERM saves the current model and exits
(code 130 / 143); --resume goes on from the newest valid model, cutting the run's history back to
it, and trains what remains of the budget (--timesteps sets the total; a complete run exits 0).
Off a terminal (or with --no-progress-bar) progress lines replace the progress bar.
episodes.csv and evaluations.npz are made durable at every checkpoint.
Exit codes: 0 done, 1 training failed (what was saved is said), 2 bad arguments or backend missing.
"""


def _team_mix() -> str:
    """What the shipped PPO distribution of ``team`` is, read from configs/ppo.yml."""
    from ..training.config import default_hyperparams

    share = sum(float(e.get("fraction", 0)) for e in default_hyperparams("team", "ppo").get("scenario_mix", []))
    return f"{share:.0%} of the worlds in random layouts"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    from ..common.checks import BACKENDS
    from ..training.config import ENVS

    p = CliParser(
        prog=prog,
        description="Train PPO (or sb3-contrib RecurrentPPO) on the ForagerRL envs: a team of foragers "
        "(one policy shared by all) or the single forager, from the tutorial's starts or random ones.",
        epilog=EPILOG.format(team_mix=_team_mix()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--env", type=env_arg(ENVS), default=None, metavar="{" + ",".join(ENVS) + "}",
        help="which env (default: coop); see below",
    )  # fmt: skip
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="embedded: the compiled simulation (default); gama: GAML models on GAMA server(s)",
    )
    p.add_argument(
        "--algo",
        choices=("ppo", "recurrent_ppo"),
        default=None,
        help="ppo (default) or recurrent_ppo (sb3-contrib RecurrentPPO, LSTM policy)",
    )
    p.add_argument(
        "--timesteps",
        type=positive_int,
        default=None,
        metavar="N",
        help="the run's budget in timesteps (agent steps; with --resume: the total, of which what remains is "
        "trained); default from the config",
    )
    p.add_argument(
        "--n-worlds",
        type=positive_int,
        default=None,
        metavar="N",
        help="parallel worlds (copies of the team, or single foragers; SB3's num_envs counts their agent "
        "slots); default from the config",
    )
    p.add_argument(
        "--seed",
        type=seed_arg,
        default=None,
        metavar="N",
        help="random seed in [0, 2**32) (default 0); the same seed and flags give the same learning curve on CPU",
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
        help="YAML hyperparameters, RL Zoo style: sections per env (coop:, sb3_forager/Forager-v0:, ...) or flat",
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
        help="continue a run (its newest valid model.zip or checkpoint, or the given zip): the timestep "
        "count goes on up to the budget and the run's history is cut back to the resumed timestep",
    )
    p.add_argument(
        "--eval-freq",
        type=nonnegative_int,
        default=None,
        metavar="N",
        help="evaluate every N timesteps (0: never); default from the config",
    )
    p.add_argument(
        "--eval-episodes",
        type=positive_int,
        default=None,
        metavar="N",
        help="episodes per evaluation, deterministic and stochastic each; default from the config",
    )
    p.add_argument(
        "--checkpoint-freq",
        type=nonnegative_int,
        default=None,
        metavar="N",
        help="save checkpoints/model_<t>_steps.zip every N timesteps (0: never); default from the config",
    )
    p.add_argument(
        "--vec-env",
        choices=("supersuit", "batched"),
        default=None,
        help="teams on the embedded backend: supersuit (PettingZoo -> SuperSuit, coop's default) or batched "
        "(the compiled ForagerVecEnv, faster)",
    )
    p.add_argument("--device", default=None, help="torch device (default: cpu); cuda is refused where CUDA is missing")
    p.add_argument(
        "--torch-threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="torch CPU threads (default 1: best on a small, shared CPU)",
    )
    p.add_argument("--no-progress-bar", action="store_true", help="hide SB3's progress bar (progress lines instead)")
    p.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="SB3 verbosity: 1 prints SB3's table after every rollout (default 0)",
    )
    add_gama_arguments(p)
    return p


def resolve_from_args(args: argparse.Namespace, resumed: tuple[Path, Path] | None = None):
    """The :class:`TrainConfig` the flags ask for (raises ConfigError / ValueError / FileNotFoundError);
    ``resumed``: ``resolve_resume(args.resume)``, resolved once by the caller (it warns about what it skips)."""
    from ..training import TrainConfig, resolve_config
    from ..training.config import ConfigError, load_yaml, parse_hyperparam_overrides
    from ..training.run_dir import RunPaths, detect_algo, detect_env, resolve_resume

    servers = gama_servers_from_args(args)
    overrides = {
        "backend": "gama" if args.gama_launch is not None else args.backend,
        "seed": args.seed,
        "n_timesteps": args.timesteps,
        "n_worlds": args.n_worlds,
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
        "gama_worlds_per_sim": args.gama_worlds_per_sim,
    }
    hyper = parse_hyperparam_overrides(args.hyperparams)
    base = None
    if args.resume is not None:
        run_dir, zip_path = resumed or resolve_resume(args.resume)
        cfg_file = RunPaths(run_dir).config
        if cfg_file.is_file():
            base = TrainConfig.from_dict(load_yaml(cfg_file))
        else:  # a bare zip: start from the shipped defaults of its env and algorithm
            env = args.env or detect_env(zip_path) or "coop"
            base = resolve_config(env, args.algo or detect_algo(zip_path))
        for name in ("env", "algo"):
            given = getattr(args, name)
            if given is not None and given != getattr(base, name):
                raise ConfigError(f"--{name} {given} does not match the resumed run ({getattr(base, name)})")
    return resolve_config(
        args.env or "coop",
        args.algo or "ppo",
        config_file=args.config,
        base=base,
        overrides=overrides,
        hyperparam_overrides=hyper,
    )


def describe_result(result: Any, n_agents: int) -> list[str]:
    """The lines the CLI prints after training."""

    def fmt(x: float | None, pct: bool = False) -> str:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return "n/a"
        return f"{100 * x:.0f}%" if pct else f"{x:.1f}"

    lines = [
        f"model: {result.model_path} ({result.num_timesteps:,} timesteps, {result.train_seconds:.1f} s of training)",
    ]
    if result.final_eval is not None:
        det, stoch = result.final_eval
        who = "team" if n_agents > 1 else "forager"
        line = (
            f"final model: {who} success {fmt(det['success_rate'], True)} deterministic"
            f", steps to food {fmt(det['steps_to_food'])}"
        )
        if not math.isnan(det.get("path_efficiency", math.nan)):
            line += f", path efficiency {det['path_efficiency']:.3f}"
        if stoch is not None:
            line += f"; stochastic success {fmt(stoch['success_rate'], True)}"
        lines.append(line)
    lines.append(f"TensorBoard: tensorboard --logdir {Path(result.run_dir).parent}")
    return lines


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    setup_logging()
    try:
        from ..training import BackendUnavailableError, ConfigError, TrainingError, train
        from ..training.run_dir import resolve_resume

        try:
            gama = gama_launcher(args)  # --gama-launch: started in <run>/gama/ by train()
            resumed = resolve_resume(args.resume) if args.resume is not None else None
            cfg = resolve_from_args(args, resumed)
        except (ConfigError, FileNotFoundError, ValueError) as exc:
            return fail(prog, str(exc))
        launch_errors: tuple[type[Exception], ...] = ()
        if gama is not None:
            from ..gama.launcher import GamaLaunchError

            launch_errors = (GamaLaunchError,)
        try:  # the resolved zip: train() resolves it again, quietly
            resume = resumed[1] if resumed is not None else None
            result = train(cfg, logdir=args.logdir, run_name=args.run_name, resume=resume, gama=gama)
        except (BackendUnavailableError, ConfigError, FileExistsError, FileNotFoundError, ValueError) as exc:
            return fail(prog, str(exc))
        except launch_errors as exc:  # a server did not start: nothing was trained
            return fail(prog, str(exc), code=1)
        except TrainingError as exc:
            return fail(prog, str(exc), code=1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted before training started; nothing was trained", file=sys.stderr)
        return 130
    if result.already_complete:  # said by the library's log line
        return 0
    for line in describe_result(result, cfg.n_agents):
        print(line)
    if result.interrupted:
        print(
            f"interrupted ({result.interrupted}): the current model was saved; continue with --resume {result.run_dir}"
        )
        return 143 if result.interrupted == "SIGTERM" else 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
