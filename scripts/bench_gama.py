#!/usr/bin/env python
"""Env steps per second of the GAMA backend against the stock gama-gymnasium GamaEnv.

Both run the single forager (``gaml/forager_gym.gaml``) against the GAMA stand-in of
``tests/gama_standin.py``, started by this script in its own process (as a real GAMA server would
be), for N = 1 and N = 8 experiments. ``--latency`` adds that many seconds before every answer of
the server, to emulate a real network / GAMA round trip. Ours: ``GamaForagerEnv`` for N = 1 and
``make_gama_vec_env("single", N)`` (commands of all experiments in flight together) for N > 1.
Stock: N ``gama_gymnasium.GamaEnv`` stepped one after another (it has no way to overlap them).

    python scripts/bench_gama.py --latency 0.002
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 30  # steps before timing, per env
GYM_GAML = str((ROOT / "gaml" / "forager_gym.gaml").resolve())

_SERVER = """
import sys, time
sys.path.insert(0, {tests!r})
from gama_standin import GamaStandIn
s = GamaStandIn().start()
s.faults.latency = {latency!r}
print(s.port, flush=True)
sys.stdin.read()  # until the parent closes our stdin
s.stop()
"""


class StandInProcess:
    """The GAMA stand-in in a child process (``with StandInProcess(latency) as port:``)."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = float(latency)
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> int:
        code = _SERVER.format(tests=str(ROOT / "tests"), latency=self.latency)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT)
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            raise RuntimeError("the GAMA stand-in did not start")
        return int(line)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bench_ours(port: int, n: int, steps: int, seed: int) -> float:
    """Env steps/s of this package's backend with ``n`` experiments (``steps`` env steps in all)."""
    from sb3_forager.gama import GamaForagerEnv, make_gama_vec_env

    rng = np.random.default_rng(seed)
    if n == 1:
        env = GamaForagerEnv(port=port)
        env.reset()
        for _ in range(WARMUP):
            env.step(rng.uniform(-1, 1, 2))
        env.reset()
        t0 = time.perf_counter()
        for _ in range(steps):
            _, _, term, trunc, _ = env.step(rng.uniform(-1, 1, 2))
            if term or trunc:
                env.reset()
        elapsed = time.perf_counter() - t0
        env.close()
        return steps / elapsed
    venv = make_gama_vec_env("single", n, servers=[f"127.0.0.1:{port}"])
    venv.reset()
    for _ in range(WARMUP):
        venv.step(rng.uniform(-1, 1, (n, 2)))
    rounds = max(1, steps // n)
    t0 = time.perf_counter()
    for _ in range(rounds):
        venv.step(rng.uniform(-1, 1, (n, 2)))
    elapsed = time.perf_counter() - t0
    venv.close()
    return rounds * n / elapsed


def bench_stock(port: int, n: int, steps: int, seed: int) -> float:
    """Env steps/s of ``n`` stock gama-gymnasium GamaEnvs stepped in turn."""
    from gama_gymnasium import GamaEnv  # applies nest_asyncio to the process on import

    loop = asyncio.new_event_loop()

    async def build() -> list[GamaEnv]:  # gama-client needs a running loop at construction
        return [
            GamaEnv(
                gaml_experiment_path=GYM_GAML,
                gaml_experiment_name="gym_env",
                gama_ip_address="127.0.0.1",
                gama_port=port,
            )
            for _ in range(n)
        ]

    envs = loop.run_until_complete(build())
    rng = np.random.default_rng(seed)
    for env in envs:
        env.gama_client.client.default_timeout = 30
        env.reset()
        for _ in range(WARMUP):
            env.step(rng.uniform(-1, 1, 2).astype(np.float32))
        env.reset()
    rounds = max(1, steps // n)
    t0 = time.perf_counter()
    for _ in range(rounds):
        for env in envs:
            _, _, term, trunc, _ = env.step(rng.uniform(-1, 1, 2).astype(np.float32))
            if term or trunc:
                env.reset()
    elapsed = time.perf_counter() - t0
    for env in envs:
        env.close()
    loop.close()
    return rounds * n / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the stand-in waits before each answer")
    parser.add_argument("--steps", type=int, default=800, help="env steps per measurement")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 8], help="numbers of experiments")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    rows = []
    with StandInProcess(args.latency) as port:
        for n in args.n:
            ours = bench_ours(port, n, args.steps, args.seed)
            stock = bench_stock(port, n, args.steps, args.seed)
            rows.append((n, ours, stock))
    print(f"GAMA stand-in, latency {args.latency * 1000:g} ms per answer, {args.steps} env steps per cell")
    print()
    print("| experiments | sb3_forager GAMA backend (steps/s) | stock gama_gymnasium GamaEnv (steps/s) | speed-up |")
    print("|---:|---:|---:|---:|")
    for n, ours, stock in rows:
        print(f"| {n} | {ours:,.0f} | {stock:,.0f} | {ours / stock:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
