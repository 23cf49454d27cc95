"""``python -m sb3_forager evaluate`` (also ``scripts/evaluate.py``): run a saved policy on a
scenario and print team success (with a 95 % Wilson interval), per-forager success, steps, path
efficiency and return, beside two baselines (uniform random actions, a greedy push at the food)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from ..common.checks import BACKENDS
from ..models import MODELS, NAMES
from .common import (
    CliParser,
    add_gama_arguments,
    env_arg,
    fail,
    gama_servers_from_args,
    run_with_gama_launch,
    int_arg,
    positive_int,
    seed_arg,
)

PROG = "evaluate.py"

EVAL_ENVS = ("auto", *NAMES)
TEAMS = tuple(name for name in NAMES if MODELS[name].is_team)

EPILOG = """\
MODEL is a model zip (PPO or RecurrentPPO, detected from the zip) or a run folder (its model.zip,
or best_model.zip with --best). A checkpoint zip is evaluated with that checkpoint's own
normalisation statistics (checkpoints/vecnormalize_<n>_steps.pkl); a run trained with normalize
and no statistics found is refused. --env auto takes the run's env from its config.yml (else:
13 observations: forager, 15: coop).

Scenarios: coop (the tutorial pair), team (pairs from random starts), stress (the tutorial's
step-16 stress test: ten foragers, 500 steps), forager, forager-random. --n-foragers N makes a team
of N from random starts, --random-obstacles K draws K random squares per episode, --max-steps sets
the episode length. The same --seed gives the same episodes.

Columns: team success = all foragers at the food (95 % Wilson interval); forager success = each
forager's own; steps = mean steps until all are at the food, over successful episodes; efficiency =
mean over the foragers that reached the food of (lower bound on its steps) / (its steps), the bound
being the obstacle-avoiding shortest path minus the food radius at the fastest speed profile from
rest (1.0 = the physical optimum); return = the team's summed rewards. Exit code 0, or 2.
"""


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = CliParser(
        prog=prog,
        description="Evaluate a saved policy on a scenario, beside two baselines.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", nargs="?", help="a model zip or a run folder (logs/<run>)")
    p.add_argument(
        "--onnx", metavar="POLICY.onnx", default=None,
        help="evaluate a policy exported by `python -m sb3_forager export` instead of MODEL (deterministic)",
    )  # fmt: skip
    p.add_argument("--best", action="store_true", help="with a run folder: use best_model.zip instead of model.zip")
    p.add_argument(
        "--env", type=env_arg(EVAL_ENVS), default="auto", metavar="{" + ",".join(EVAL_ENVS) + "}",
        help="the scenario (default: the run's env)",
    )  # fmt: skip
    p.add_argument("--n-foragers", type=int_arg(2, 1024), default=None, metavar="N", help="a team of N (random starts)")
    p.add_argument("--random-obstacles", type=int_arg(0, 256), default=None, metavar="K", help="K random squares")
    p.add_argument("--max-steps", type=positive_int, default=None, metavar="N", help="episode length")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="embedded",
        help="embedded: the compiled simulation (default); gama: a GAMA server",
    )
    p.add_argument("--episodes", type=int_arg(1, 1_000_000), default=100, metavar="N", help="episodes per row (100)")
    p.add_argument(
        "--mode",
        choices=("both", "deterministic", "stochastic"),
        default="both",
        help="which policy rows (default: both)",
    )
    p.add_argument("--no-baselines", action="store_true", help="skip the random and greedy rows")
    p.add_argument("--per-forager", action="store_true", help="also print each forager's success and steps")
    p.add_argument(
        "--n-worlds",
        type=int_arg(1, 4096),
        default=None,
        metavar="N",
        help="worlds run in parallel (min(episodes, 64); 1 on GAMA)",
    )
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N", help="seed of the episodes and the policies (0)")
    p.add_argument("--gif", default=None, metavar="PATH", help="write an animated replay of one deterministic episode")
    p.add_argument("--png", default=None, metavar="PATH", help="write a plot of one deterministic episode's paths")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    add_gama_arguments(p)
    return p


def _check_writable(path: str, flag: str) -> None:
    target = Path(path)
    folder = target.parent  # Path("x").parent is Path(".")
    if target.is_dir():
        raise ValueError(f"{flag} {path} is a folder, not a file")
    if not folder.is_dir():
        raise ValueError(f"{flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ValueError(f"{flag} {path} cannot be written (permission denied)")


def _fmt(x: float, pct: bool = False, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.{digits}f}%" if pct else f"{x:.{digits}f}"


def format_rows(rows: list[tuple[str, dict[str, float]]], n_agents: int, per_forager: bool = False) -> list[str]:
    """The printed table (fits 100 columns)."""
    head = f"{'':<24}{'team success (95% CI)':>25}{'forager succ.':>14}{'steps':>8}{'efficiency':>12}{'return':>10}"
    lines = [head]
    for name, s in rows:
        ci = f"[{_fmt(s['success_low'], True, 0)}, {_fmt(s['success_high'], True, 0)}]"
        team = f"{_fmt(s['success_rate'], True)} {ci}"
        lines.append(
            f"{name:<24}{team:>25}{_fmt(s['forager_success_rate'], True):>14}{_fmt(s['steps_to_food']):>8}"
            f"{_fmt(s['path_efficiency'], digits=3):>12}{_fmt(s['team_return']):>10}"
        )
        if per_forager and n_agents > 1:
            for k in range(n_agents):
                lines.append(
                    f"{'  forager_' + str(k):<24}{'':>25}{_fmt(s[f'forager_{k}/success_rate'], True):>14}"
                    f"{_fmt(s[f'forager_{k}/steps_to_food']):>8}{'':>12}{_fmt(s[f'forager_{k}/return']):>10}"
                )
    return lines


def eval_scenario(args: argparse.Namespace, env: str) -> Any:
    """The scenario the flags describe (raises ValueError)."""
    from ..sim import PRESETS, Scenario

    base = PRESETS[env]
    kwargs: dict[str, Any] = {}
    if args.n_foragers is not None:
        if base.rules != "team":
            raise ValueError(f"--n-foragers needs a team scenario ({', '.join(TEAMS)}), not {env}")
        if args.n_foragers != base.n_foragers:
            kwargs.update(n_foragers=args.n_foragers, starts="random")
    if args.random_obstacles is not None:
        kwargs.update(obstacles="random", n_obstacles=args.random_obstacles)
    if args.max_steps is not None:
        kwargs["max_steps"] = args.max_steps
    return Scenario.from_kwargs(base, **kwargs)


def describe_scenario(env: str, sc: Any) -> str:
    starts = "random starts" if sc.random_starts else "fixed starts"
    layout = (
        f"{sc.n_obstacles} random squares"
        if sc.random_obstacles
        else ("tutorial layout" if len(sc.obstacles) == 6 else f"{len(sc.obstacles)} squares")
    )
    who = "1 forager" if sc.n_foragers == 1 else f"{sc.n_foragers} foragers"
    return f"{env}: {who}, {starts}, {layout}, {sc.max_steps} steps"


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    try:  # --gama-launch: the servers in a temporary folder, stopped however evaluation ends
        return run_with_gama_launch(args, prog, lambda: _main(args, prog))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def _main(args: argparse.Namespace, prog: str) -> int:
    from ..training import ConfigError, TrainConfig
    from ..training.config import load_yaml
    from ..training.envs import BackendUnavailableError
    from ..training.envs import probe_backend
    from ..training.evaluation import (
        GreedyPolicy,
        RandomPolicy,
        evaluate_team,
        no_rng_side_effects,
        record_replay,
        save_gif,
        save_trajectory_png,
    )
    from ..training.run_dir import RunPaths, check_model_zip, detect_algo, detect_env
    from ..training.train import load_model

    try:
        for flag, path in (("--gif", args.gif), ("--png", args.png)):
            if path:
                _check_writable(path, flag)
        if (args.model is None) == (args.onnx is None):
            return fail(prog, "give a MODEL (a zip or a run folder) or --onnx POLICY.onnx, one of them")
        if args.onnx is not None:
            from ..training.export import load_onnx_policy

            if not Path(args.onnx).is_file():
                return fail(prog, f"{args.onnx} does not exist")
            model = load_onnx_policy(args.onnx)
            zip_path, saved, vn_path, algo = Path(args.onnx), None, None, "ppo"
            env = args.env if args.env != "auto" else model.metadata.get("env")
            if env not in NAMES:
                return fail(prog, f"cannot tell the env of {args.onnx}; give --env")
            scenario = eval_scenario(args, env)
        else:
            target = Path(args.model)
            if target.is_dir():
                paths = RunPaths(target)
                zip_path = paths.best_model if args.best else paths.model
            elif target.is_file():
                zip_path = target
                parent = target.parent
                paths = RunPaths(parent.parent if parent.name == "checkpoints" else parent)
            elif not target.exists():
                return fail(prog, f"{target} does not exist")
            else:
                return fail(prog, f"{target} is neither a model zip nor a run folder")
            if not zip_path.is_file():
                return fail(prog, f"{zip_path} does not exist")
            check_model_zip(zip_path)
            saved = TrainConfig.from_dict(load_yaml(paths.config)) if paths.config.is_file() else None
            vn_path = paths.vecnormalize_for(zip_path)
            if saved is not None and saved.normalize and not vn_path.is_file():
                return fail(
                    prog,
                    f"the run was trained with normalize: {saved.normalize} but {vn_path} is missing: the policy "
                    "cannot be evaluated without its normalisation statistics",
                )
            algo = detect_algo(zip_path)
            env = args.env
            if env == "auto":
                env = saved.env if saved is not None else detect_env(zip_path)
                if env is None:
                    return fail(prog, f"cannot tell the env of {zip_path}; give --env")
            scenario = eval_scenario(args, env)
            model = load_model(zip_path, algo=algo, device=args.device)
        if model.observation_space.shape != (scenario.obs_dim,):
            return fail(
                prog,
                f"the policy takes {model.observation_space.shape[0]} observations but --env {env} gives "
                f"{scenario.obs_dim} ({'a team' if scenario.rules == 'team' else 'the single forager'}); "
                f"evaluate a single-forager policy on {'/'.join(n for n in NAMES if n not in TEAMS)} and a team "
                f"policy on {'/'.join(TEAMS)}",
            )
        backend = args.backend
        servers = gama_servers_from_args(args)
        cfg = TrainConfig(env="coop" if scenario.rules == "team" else "forager", algo=algo, backend=backend)
        if servers:
            cfg.gama_servers = servers
        if args.gama_timeout is not None:
            cfg.gama_timeout = args.gama_timeout
        if args.gama_worlds_per_sim is not None:
            cfg.gama_worlds_per_sim = args.gama_worlds_per_sim
        if saved is not None:
            cfg.normalize = saved.normalize
        probe_backend(cfg)
    except (ConfigError, ValueError, BackendUnavailableError) as exc:
        return fail(prog, str(exc))

    n_worlds = args.n_worlds or (1 if backend == "gama" else min(args.episodes, 64))
    venv = _make_env(cfg, scenario, env, n_worlds, vn_path)
    k = scenario.n_foragers
    print(
        f"model: {zip_path} ({type(model).__name__}, trained on {saved.env if saved else 'unknown'}, "
        f"{int(model.num_timesteps):,} timesteps)"
    )
    print(
        f"scenario: {describe_scenario(env, scenario)}; {backend} backend, {args.episodes} episodes, seed {args.seed}"
    )
    rows: list[tuple[str, dict[str, float]]] = []
    try:
        modes = ("deterministic", "stochastic") if args.mode == "both" else (args.mode,)
        if args.onnx is not None:
            modes = ("deterministic",)  # the exported graph is the deterministic action
        import torch

        players: list[tuple[str, Any, bool]] = [(f"policy ({m})", model, m == "deterministic") for m in modes]
        if not args.no_baselines:
            players += [(RandomPolicy.name, RandomPolicy(args.seed), True), (GreedyPolicy.name, GreedyPolicy(), True)]
        for name, player, deterministic in players:
            torch.manual_seed(args.seed)
            venv.seed(args.seed)  # every row plays the same episodes
            batch = evaluate_team(player, venv, args.episodes, k, deterministic=deterministic)
            rows.append((name, batch.summary()))
        print("\n".join(format_rows(rows, k, args.per_forager)))
        if args.gif or args.png:
            venv.seed(args.seed)
            with no_rng_side_effects():
                replay = record_replay(model, venv, k, deterministic=True)
            outcome = "success" if replay.success else "no success"
            print(f"replay (deterministic): {outcome} in {replay.steps} steps")
            if args.gif:
                print(f"wrote {save_gif(replay, args.gif)}")
            if args.png:
                print(f"wrote {save_trajectory_png(replay, args.png)}")
    finally:
        venv.close()
    return 0


def _make_env(cfg: Any, scenario: Any, env: str, n_worlds: int, vn_path: Path) -> Any:
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    from ..make import make_vec_env

    # on GAMA the scenario is sent as experiment parameters to the GAML model of env
    base = make_vec_env(env, n_worlds, cfg.backend, scenario, servers=cfg.gama_servers, timeout=cfg.gama_timeout,
                        worlds_per_sim=cfg.gama_worlds_per_sim)  # fmt: skip
    venv = VecMonitor(base)
    if cfg.normalize and vn_path.is_file():
        venv = VecNormalize.load(str(vn_path), venv)
        venv.training = False
        venv.norm_reward = False
    return venv

