#!/usr/bin/env python
"""Measure the training targets on this machine and print them as a table.

Targets (embedded backend, shipped default hyperparameters):

* forager: stochastic success >= 95 % and a deterministic run reaching the food in <= 48 steps,
  within 30 s of training wall time;
* coop: team success >= 95 % stochastic and a deterministic run with both foragers at the food in
  <= 55 steps, within 3 min of training wall time;
* cli: ``python scripts/train_sb3.py`` with no flags reaches the coop target and finishes (the
  whole process) in < 5 min.

For forager and coop the run is made through :func:`sb3_forager.training.train` with the shipped
config; after every rollout a probe (excluded from the timing, and without touching the random
state, so the training is exactly the unprobed one) evaluates the policy: 100 stochastic episodes
and one deterministic episode (the model is deterministic: fixed starts). "reached" is the first
probe that meets the target; "final" is the model the run saves. The cli target runs the script
in a subprocess and evaluates its model.zip the same way.

    python scripts/bench_train.py                    # all targets, seed 0
    python scripts/bench_train.py --seeds 0 1 2 --targets forager coop
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {
    "forager": {"env": "forager", "budget_s": 30.0, "max_steps": 48},
    "coop": {"env": "coop", "budget_s": 180.0, "max_steps": 55},
    "cli": {"env": "coop", "budget_s": 300.0, "max_steps": 55},
}
MIN_SUCCESS = 0.95


@dataclass
class Probe:
    success: float
    det_success: bool
    det_steps: float

    def meets(self, max_steps: int) -> bool:
        return self.success >= MIN_SUCCESS and self.det_success and self.det_steps <= max_steps


def probe(model, env_name: str, n_stochastic: int, seed: int) -> Probe:
    """100 stochastic episodes (100 worlds at once) and one deterministic episode, no RNG side effects."""
    from sb3_forager.envs import make_forager_vec_env
    from sb3_forager.training.evaluation import evaluate_team, no_rng_side_effects

    kind = "coop" if env_name == "coop" else "single"
    k = 2 if env_name == "coop" else 1
    with no_rng_side_effects():
        import torch

        torch.manual_seed(seed)
        stoch = evaluate_team(model, make_forager_vec_env(n_stochastic, kind), n_stochastic, k, deterministic=False)
        det = evaluate_team(model, make_forager_vec_env(1, kind), 1, k, deterministic=True)
    return Probe(stoch.success_rate, bool(det.success[0]), float(det.steps[0]) if det.success[0] else math.nan)


def run_library_target(name: str, seed: int, logdir: Path, n_stochastic: int) -> dict:
    from stable_baselines3.common.callbacks import BaseCallback

    from sb3_forager.training import resolve_config, train

    spec = TARGETS[name]

    class ProbeCallback(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.probe_seconds = 0.0
            self.t_start = 0.0
            self.reached: tuple[float, int] | None = None

        def _on_training_start(self) -> None:
            self.t_start = time.perf_counter()

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            t = time.perf_counter()
            if self.reached is None:
                p = probe(self.model, spec["env"], n_stochastic, seed)
                if p.meets(spec["max_steps"]):
                    train_s = t - self.t_start - self.probe_seconds
                    self.reached = (train_s, int(self.num_timesteps))
            self.probe_seconds += time.perf_counter() - t

    cfg = resolve_config(spec["env"], "ppo", overrides={"seed": seed, "progress_bar": False})
    cb = ProbeCallback()
    result = train(cfg, logdir=logdir, run_name=f"{name}_seed{seed}", extra_callbacks=[cb])
    final = probe(result_model(result), spec["env"], n_stochastic, seed)
    return {
        "target": name,
        "seed": seed,
        "reached_s": cb.reached[0] if cb.reached else math.nan,
        "reached_ts": cb.reached[1] if cb.reached else -1,
        "train_s": result.train_seconds - cb.probe_seconds,
        "timesteps": result.num_timesteps,
        "final": final,
        "ok": final.meets(spec["max_steps"]) and result.train_seconds - cb.probe_seconds <= spec["budget_s"],
    }


def result_model(result):
    from sb3_forager.training import load_model

    return load_model(result.model_path, device="cpu")


def run_cli_target(seed: int, logdir: Path, n_stochastic: int) -> dict:
    spec = TARGETS["cli"]
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "train_sb3.py"),
        "--logdir",
        str(logdir),
        "--run-name",
        f"cli_seed{seed}",
        "--no-progress-bar",
    ]
    if seed != 0:
        cmd += ["--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    from sb3_forager.training import load_model

    model = load_model(logdir / f"cli_seed{seed}" / "model.zip", device="cpu")
    final = probe(model, spec["env"], n_stochastic, seed)
    return {
        "target": "cli",
        "seed": seed,
        "reached_s": math.nan,
        "reached_ts": -1,
        "train_s": wall,
        "timesteps": int(model.num_timesteps),
        "final": final,
        "ok": final.meets(spec["max_steps"]) and wall < spec["budget_s"],
    }


def fmt(x: float, spec: str = ".1f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="bench_train.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument(
        "--targets", nargs="+", choices=tuple(TARGETS), default=list(TARGETS), help="which targets (default: all)"
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="training seeds (default: 0)")
    p.add_argument(
        "--stochastic-episodes", type=int, default=100, help="episodes of each stochastic probe (default 100)"
    )
    p.add_argument("--logdir", default=None, help="where the runs go (default: a temporary folder, removed)")
    args = p.parse_args(argv)

    import logging

    import torch

    logging.getLogger("sb3_forager").setLevel(logging.WARNING)
    tmp = None
    if args.logdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_train_")
        logdir = Path(tmp.name)
    else:
        logdir = Path(args.logdir)
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start, torch {torch.__version__}, "
        f"python {sys.version.split()[0]}"
    )
    rows = []
    try:
        for name in args.targets:
            for seed in args.seeds:
                t0 = time.perf_counter()
                row = (
                    run_cli_target(seed, logdir, args.stochastic_episodes)
                    if name == "cli"
                    else run_library_target(name, seed, logdir, args.stochastic_episodes)
                )
                rows.append(row)
                f = row["final"]
                print(
                    f"  {name} seed {seed}: done in {time.perf_counter() - t0:.0f} s "
                    f"(stochastic success {100 * f.success:.0f}%, deterministic steps {fmt(f.det_steps, '.0f')})",
                    flush=True,
                )
    finally:
        if tmp is not None:
            tmp.cleanup()

    print()
    print(
        "| target | criterion | seed | reached (train s / timesteps) | final: time | timesteps | stochastic success | deterministic steps | pass |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        spec = TARGETS[row["target"]]
        crit = f">= 95 %, <= {spec['max_steps']} steps, {'< ' if row['target'] == 'cli' else '<= '}{spec['budget_s']:.0f} s"
        reached = "-" if row["reached_ts"] < 0 else f"{fmt(row['reached_s'])} s / {row['reached_ts']:,}"
        f = row["final"]
        time_label = f"{fmt(row['train_s'])} s" + (" (whole process)" if row["target"] == "cli" else "")
        print(
            f"| {row['target']} | {crit} | {row['seed']} | {reached} | {time_label} | {row['timesteps']:,} | "
            f"{100 * f.success:.0f} % | {fmt(f.det_steps, '.0f')} | {'yes' if row['ok'] else 'NO'} |"
        )
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
