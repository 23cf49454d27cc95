"""``python -m sb3_forager bench train`` (also ``scripts/bench_train.py``): run the documented
training commands as a user does, time them whole, and measure what their models reach.

Each target runs ``scripts/train_sb3.py --env <env> --seed <s>`` (the shipped defaults; the
default command for ``coop``) in a subprocess, times the whole process, then evaluates the saved
``model.zip`` on fresh seeded episodes (not timed), against :data:`TARGETS` (wall-time budgets and
what the models must reach).

``--training-args "..."`` adds arguments to every target's training command (a candidate recipe,
``--config candidate.yml``, measured against the same targets).

``--compare PATH`` also runs the same default command from another checkout of this repository
(e.g. a clone of an older commit), alternately, for a wall-time ratio at equal final quality;
``--compare-args "..."`` adds the same arguments to both sides' commands (for example the old
checkout's config, ``--config old_coop.yml``, to compare the code at equal hyperparameters).
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cli.common import CliParser, int_arg, seed_arg

PROG = "bench_train.py"
#: the source checkout this module is in (the benchmark runs its scripts/train_sb3.py)
HERE = Path(__file__).resolve().parents[2]


@dataclass
class Check:
    """One measured figure and its target."""

    name: str
    value: float
    target: float
    higher_is_better: bool = True
    fmt: str = "pct"

    @property
    def ok(self) -> bool:  # a NaN value compares False: missed
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def text(self) -> str:
        def show(x: float) -> str:
            if math.isnan(x):
                return "n/a"
            return f"{100 * x:.1f}%" if self.fmt == "pct" else (f"{x:.3f}" if self.fmt == "ratio" else f"{x:.1f}")

        op = ">=" if self.higher_is_better else "<="
        return f"{self.name} {show(self.value)} ({op} {show(self.target)}) {'ok' if self.ok else 'MISSED'}"


@dataclass
class Target:
    budget_s: float
    evaluations: list[tuple[str, dict[str, Any], int, list[tuple[str, str, float, bool, str]]]]


#: env -> budget and evaluations: (label, scenario kwargs on the eval preset, episodes, checks)
#: a check is (name, summary key, target, higher is better, format)
TARGETS: dict[str, Target] = {
    "coop": Target(
        60.0,  # issue 18: the default pair run in at most a minute on 2 cores
        [("tutorial pair (deterministic)", {"preset": "coop"}, 1,
          [("team success", "success_rate", 1.0, True, "pct"), ("steps to food", "steps_to_food", 42.0, False, "num")])],
    ),
    "team": Target(
        300.0,
        [
            ("pairs, random starts", {"preset": "team"}, 1000,
             [("team success", "success_rate", 0.99, True, "pct"), ("path efficiency", "path_efficiency", 0.975, True, "ratio")]),
            ("stress test (deterministic)", {"preset": "stress"}, 1, [("team success", "success_rate", 0.95, True, "pct")]),
            ("stress test (stochastic)", {"preset": "stress", "stochastic": True}, 100,
             [("team success", "success_rate", 0.95, True, "pct")]),
            ("ten foragers, random starts, 500 steps", {"preset": "team", "n_foragers": 10, "max_steps": 500}, 200,
             [("team success", "success_rate", 0.95, True, "pct")]),
            ("pairs, unseen random layouts of six squares", {"preset": "team", "obstacles": "random", "n_obstacles": 6},
             1000, [("team success", "success_rate", 0.99, True, "pct")]),  # issue 18
            ("pairs, unseen random layouts of ten squares (zero-shot)",
             {"preset": "team", "obstacles": "random", "n_obstacles": 10}, 1000,
             [("team success", "success_rate", 0.95, True, "pct")]),  # issue 18
        ],
    ),
    "forager-random": Target(
        180.0,
        [("random starts", {"preset": "forager-random"}, 1000,
          [("success", "success_rate", 0.99, True, "pct"), ("path efficiency", "path_efficiency", 0.96, True, "ratio")])],
    ),
}  # fmt: skip
#: the evaluation episodes' seed (never a training seed)
EVAL_SEED = 987_654_321


def run_command(checkout: Path, env: str, seed: int, logdir: Path, extra: list[str]) -> tuple[float, Path, str]:
    """Run the training CLI of ``checkout`` as a user does; (wall seconds, run folder, its output)."""
    cmd = [sys.executable, str(checkout / "scripts" / "train_sb3.py"), "--seed", str(seed), "--logdir", str(logdir)]
    if env != "coop":
        cmd += ["--env", env]
    cmd += ["--no-progress-bar", "--run-name", f"{env}_s{seed}", *extra]
    environ = dict(os.environ, PYTHONPATH=str(checkout))
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=checkout, env=environ)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, logdir / f"{env}_s{seed}", proc.stdout


def evaluate_run(model_zip: Path, target: Target) -> list[tuple[str, dict[str, float], list[Check]]]:
    from stable_baselines3.common.vec_env import VecMonitor

    from ..envs.vec_env import ForagerVecEnv
    from ..sim import PRESETS, Scenario
    from ..training.evaluation import evaluate_team
    from ..training.train import load_model

    model = load_model(model_zip)
    out = []
    for label, spec, episodes, checks in target.evaluations:
        spec = dict(spec)
        preset = spec.pop("preset")
        stochastic = spec.pop("stochastic", False)
        scenario = Scenario.from_kwargs(PRESETS[preset], **spec)
        venv = VecMonitor(ForagerVecEnv(min(episodes, 64), scenario))
        venv.seed(EVAL_SEED)
        import torch

        torch.manual_seed(EVAL_SEED)
        summary = evaluate_team(model, venv, episodes, scenario.n_foragers, deterministic=not stochastic).summary()
        out.append((label, summary, [Check(n, summary[key], t, hi, f) for n, key, t, hi, f in checks]))
    return out


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = CliParser(prog=prog, description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--targets",
        nargs="*",
        choices=sorted(TARGETS),
        default=list(TARGETS),
        help="what to run (all by default; none: only --compare)",
    )
    p.add_argument("--seeds", nargs="+", type=seed_arg, default=[0], help="training seeds (0)")
    p.add_argument("--compare", default=None, metavar="CHECKOUT", help="another checkout: its default command too")
    p.add_argument("--repeats", type=int_arg(1, 10), default=1, help="alternating runs per side with --compare (1)")
    p.add_argument(
        "--compare-args",
        default="",
        metavar="ARGS",
        help='arguments added to both commands of --compare, e.g. "--config old.yml"',
    )
    p.add_argument(
        "--training-args",
        default="",
        metavar="ARGS",
        help='arguments added to every target\'s training command, e.g. "--config candidate.yml"',
    )
    p.add_argument("--logdir", default=None, help="where the runs go (default: a temporary folder)")
    return p


def _checked(args: argparse.Namespace, prog: str) -> tuple[list[str], list[str]] | None:
    """The extra arguments of the targets' commands and of --compare, or None after printing the one
    error line."""
    if not (HERE / "scripts" / "train_sb3.py").is_file():
        print(f"{prog}: error: the benchmark runs scripts/train_sb3.py: use a source checkout", file=sys.stderr)
        return None
    if args.compare and not (Path(args.compare) / "scripts" / "train_sb3.py").is_file():
        print(f"{prog}: error: --compare {args.compare}: not a checkout (no scripts/train_sb3.py)", file=sys.stderr)
        return None
    split: list[list[str]] = []
    for flag, text in (("--training-args", args.training_args), ("--compare-args", args.compare_args)):
        try:
            split.append(shlex.split(text))
        except ValueError as exc:
            print(f"{prog}: error: {flag} {text!r}: {exc}", file=sys.stderr)
            return None
    if args.training_args and not args.targets:
        print(f"{prog}: error: --training-args {args.training_args!r} is for the targets' runs: give --targets", file=sys.stderr)
        return None
    return split[0], split[1]


def check_compare_args(argv: list[str], prog: str = PROG) -> int:
    """0 if ``main(argv)`` would start, else 2 (after its one error line): nothing is run."""
    return 0 if _checked(build_parser(prog).parse_args(argv), prog) is not None else 2


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    checked = _checked(args, prog)
    if checked is None:
        return 2
    train_extra, extra = checked
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        logdir = Path(args.logdir) if args.logdir else Path(tmp)
        logdir.mkdir(parents=True, exist_ok=True)
        missed = 0
        for env in args.targets:
            target = TARGETS[env]
            for seed in args.seeds:
                wall, run, _ = run_command(HERE, env, seed, logdir, train_extra)
                results = evaluate_run(run / "model.zip", target)
                budget = Check("wall time (s)", wall, target.budget_s, False, "num")
                print(f"## {env}, seed {seed}{' with ' + args.training_args if train_extra else ''}: {budget.text()}",
                      flush=True)  # fmt: skip
                missed += not budget.ok
                for label, summary, checks in results:
                    print(f"  {label}: " + "; ".join(c.text() for c in checks), flush=True)
                    missed += sum(not c.ok for c in checks)
        if args.compare:
            other = Path(args.compare).resolve()
            times: dict[str, list[float]] = {"this checkout": [], str(other): []}
            quality: dict[str, list[float]] = {"this checkout": [], str(other): []}
            for r in range(args.repeats):
                for side, (name, checkout) in enumerate((("this checkout", HERE), (str(other), other))):
                    wall, run, _ = run_command(checkout, "coop", 0, logdir / f"compare_{r}_{side}", extra)
                    times[name].append(wall)
                    (summary,) = [s for _, s, _ in evaluate_run(run / "model.zip", TARGETS["coop"])]
                    quality[name].append(summary["steps_to_food"] if summary["success_rate"] == 1.0 else math.nan)
            print("## the default command, this checkout vs", other, *(["with", args.compare_args] if extra else []))
            for name in times:
                print(f"  {name}: wall {min(times[name]):.1f} s (min of {len(times[name])}), "
                      f"deterministic steps to food {quality[name]}")  # fmt: skip
            print(f"  speed-up: {min(times[str(other)]) / min(times['this checkout']):.2f}x")
    return 1 if missed else 0

