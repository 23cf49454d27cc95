"""Throughput of the embedded simulation: prints agent-steps per second (a benchmark, not a test).

    python scripts/bench_env.py            # the table the README shows
    python scripts/bench_env.py --quick    # shorter runs

Targets on a 2-core machine: >= 1,000,000 agent-steps/s for the batched core at N = 4096, and
>= 30,000 steps/s for one ``sb3_forager/Forager-v0`` stepped through Gymnasium.
"""

from __future__ import annotations

import argparse
import platform
import time

import gymnasium as gym
import numpy as np

import sb3_forager  # noqa: F401  (registers the ids)
from sb3_forager.envs import ForagerVecEnv
from sb3_forager.sim import COOP_FORAGERS, SINGLE_FORAGER, ForagerSim


def bench_core(model, n: int, seconds: float) -> float:
    """Agent-steps/s of ForagerSim with n worlds (random actions, ended worlds reset)."""
    sim = ForagerSim(model, n)
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, (n, model.n_agents, 2)) for _ in range(64)]
    for a in actions[:5]:
        sim.step(a)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions[:8]:
            r = sim.step(a)
            sim.reset(r.episode_over)
        steps += 8
    return steps * n * model.n_agents / (time.perf_counter() - start)


def bench_sb3_vec(n: int, seconds: float) -> float:
    venv = ForagerVecEnv(n)
    venv.reset()
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, (n, 2)).astype(np.float32) for _ in range(8)]
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            venv.step(a)
        steps += len(actions)
    return steps * n / (time.perf_counter() - start)


def bench_gym_env(seconds: float) -> float:
    """Steps/s of one sb3_forager/Forager-v0 made with gym.make (all default wrappers)."""
    env = gym.make("sb3_forager/Forager-v0")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (256, 2)).astype(np.float32)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        steps += len(actions)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.5 s per measurement instead of 3 s")
    args = parser.parse_args()
    secs = 0.5 if args.quick else 3.0
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}")
    print("| what | N worlds | agent-steps/s |")
    print("|---|---:|---:|")
    for model, name in ((SINGLE_FORAGER, "core, single forager"), (COOP_FORAGERS, "core, cooperative pair")):
        for n in (1, 16, 256, 4096):
            print(f"| {name} | {n} | {bench_core(model, n, secs):,.0f} |", flush=True)
    for n in (16, 4096):
        print(f"| SB3 ForagerVecEnv (single) | {n} | {bench_sb3_vec(n, secs):,.0f} |", flush=True)
    print(f"| one Forager-v0 via gym.make | 1 | {bench_gym_env(secs):,.0f} |", flush=True)


if __name__ == "__main__":
    main()
