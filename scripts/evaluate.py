#!/usr/bin/env python
"""Evaluate a saved policy on the ForagerRL envs: success rate, steps to food, returns.

    python scripts/evaluate.py logs/coop_ppo_1                    # the run's final model.zip
    python scripts/evaluate.py logs/coop_ppo_1 --best --gif replay.gif --png path.png

A thin CLI over :mod:`sb3_forager.training.evaluation`; see ``--help``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from sb3_forager.cli import add_gama_arguments, gama_servers_from_args

EPILOG = """\
MODEL is a model zip (PPO or RecurrentPPO, detected from the zip) or a run folder (its model.zip,
or best_model.zip with --best). The env is read from the run's config.yml, else from the policy's
observation size (13: forager, 15: coop). vecnormalize.pkl next to the model is applied if present.

"steps to food" is the mean number of steps until every forager is at the food, over successful
episodes; per forager, until that forager reached it. "return" is the sum of rewards (per team:
the sum over both foragers). Exit code 0, or 2 on bad arguments.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Run a saved policy for N episodes, deterministic and stochastic, and print its "
        "success rate, mean steps to food and mean return (per forager and per team).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model zip or a run folder (logs/<run>)")
    p.add_argument("--best", action="store_true", help="with a run folder: use best_model.zip instead of model.zip")
    p.add_argument("--env", choices=("auto", "coop", "forager"), default="auto", help="which env (default: auto)")
    p.add_argument(
        "--backend",
        choices=("native", "gama"),
        default="native",
        help="native: the embedded simulation (default); gama: a GAMA server",
    )
    p.add_argument("--episodes", type=int, default=20, metavar="N", help="episodes per mode (default 20)")
    p.add_argument(
        "--mode",
        choices=("both", "deterministic", "stochastic"),
        default="both",
        help="which policy to run (default: both)",
    )
    p.add_argument(
        "--n-envs",
        type=int,
        default=None,
        metavar="N",
        help="worlds run in parallel (default: min(episodes, 10); 1 on GAMA)",
    )
    p.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of the stochastic policy and the envs (default 0)"
    )
    p.add_argument("--gif", default=None, metavar="PATH", help="write an animated replay of one deterministic episode")
    p.add_argument(
        "--png", default=None, metavar="PATH", help="write a plot of one deterministic episode's trajectories"
    )
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    add_gama_arguments(p)
    return p


def _fmt(x: float, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.0f}%" if pct else f"{x:.1f}"


def format_table(title: str, summary: dict[str, float], n_agents: int) -> list[str]:
    """The printed block of one evaluation mode."""
    lines = [
        f"{title} ({int(summary['episodes'])} episodes)",
        f"  {'':<11}{'success':>9}{'steps to food':>15}{'return':>10}",
    ]
    who = "team" if n_agents > 1 else "forager"
    lines.append(
        f"  {who:<11}{_fmt(summary['success_rate'], True):>9}{_fmt(summary['steps_to_food']):>15}{_fmt(summary['team_return']):>10}"
    )
    if n_agents > 1:
        for k in range(n_agents):
            lines.append(
                f"  {f'forager_{k}':<11}{_fmt(summary[f'forager_{k}/success_rate'], True):>9}"
                f"{_fmt(summary[f'forager_{k}/steps_to_food']):>15}{_fmt(summary[f'forager_{k}/return']):>10}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def fail(message: str) -> int:
        print(f"evaluate.py: error: {message}", file=sys.stderr)
        return 2

    import torch

    from sb3_forager.training import (
        BackendUnavailableError,
        ConfigError,
        TrainConfig,
        resolve_config,
    )
    from sb3_forager.training.config import load_yaml
    from sb3_forager.training.envs import make_vec_env
    from sb3_forager.training.evaluation import (
        evaluate_team,
        no_rng_side_effects,
        record_replay,
        save_gif,
        save_trajectory_png,
    )
    from sb3_forager.training.run_dir import RunPaths, detect_algo, detect_env
    from sb3_forager.training.train import load_model

    if args.episodes < 1:
        return fail("--episodes must be >= 1")
    target = Path(args.model)
    if target.is_dir():
        paths = RunPaths(target)
        zip_path = paths.best_model if args.best else paths.model
        vn_path = paths.best_vecnormalize if args.best else paths.vecnormalize
        run_config = paths.config
    elif target.is_file():
        zip_path = target
        vn_name = "best_vecnormalize.pkl" if target.name == "best_model.zip" else "vecnormalize.pkl"
        vn_path = target.parent / vn_name
        run_config = target.parent / "config.yml"
    else:
        return fail(f"{target} is neither a model zip nor a run folder")
    if not zip_path.is_file():
        return fail(f"{zip_path} does not exist")

    try:
        algo = detect_algo(zip_path)
        model = load_model(zip_path, algo=algo, device=args.device)
        env = args.env
        saved = TrainConfig.from_dict(load_yaml(run_config)) if run_config.is_file() else None
        if env == "auto":
            if saved is not None:
                env = saved.env
            else:
                env = detect_env(zip_path)
                if env is None:
                    return fail(
                        f"cannot tell the env from an observation of size {model.observation_space.shape}; give --env"
                    )
        servers = gama_servers_from_args(args)
        n_worlds = args.n_envs or (1 if args.backend == "gama" else min(args.episodes, 10))
        overrides = {
            "backend": args.backend,
            "n_envs": n_worlds,
            "vec_env": "batched",
            "seed": args.seed,
            "gama_servers": servers,
            "gama_timeout": args.gama_timeout,
            "normalize": saved.normalize if saved is not None else (True if vn_path.is_file() else False),
        }
        cfg = resolve_config(env, algo, overrides=overrides)
    except (ConfigError, ValueError) as exc:
        return fail(str(exc))

    try:
        venv = make_vec_env(cfg, for_eval=True, vecnormalize_path=vn_path if vn_path.is_file() else None)
    except BackendUnavailableError as exc:
        return fail(str(exc))
    print(
        f"model: {zip_path} ({type(model).__name__}, {env}, {int(model.num_timesteps):,} timesteps, {args.backend} backend)"
    )
    try:
        modes = ("deterministic", "stochastic") if args.mode == "both" else (args.mode,)
        torch.manual_seed(args.seed)
        for mode in modes:
            venv.seed(args.seed)
            batch = evaluate_team(model, venv, args.episodes, cfg.n_agents, deterministic=(mode == "deterministic"))
            print("\n".join(format_table(mode, batch.summary(), cfg.n_agents)))
        if args.gif or args.png:
            venv.seed(args.seed)
            with no_rng_side_effects():
                replay = record_replay(model, venv, cfg.n_agents, deterministic=True)
            outcome = "success" if replay.success else "no success"
            print(f"replay (deterministic): {outcome} in {replay.steps} steps")
            if args.gif:
                print(f"wrote {save_gif(replay, args.gif)}")
            if args.png:
                print(f"wrote {save_trajectory_png(replay, args.png)}")
    finally:
        venv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
