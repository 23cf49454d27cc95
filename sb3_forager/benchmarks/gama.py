"""Env steps per second of the GAMA backend against the stock gama-gymnasium ``GamaEnv``.

Both run the single forager (``gaml/forager_gym.gaml``) for N = 1 and N = 8 experiments (``--n``)
on the GAMA servers given (``--gama-servers``, default 127.0.0.1:1001), experiments spread
round-robin. Ours: the ``sb3_forager/GamaForager-v0`` env for N = 1 and
``make_gama_vec_env("forager", N)`` (the commands of all experiments in flight together) for N > 1.
Stock: N ``gama_gymnasium.GamaEnv`` stepped one after another (it has no way to overlap them).

    python -m sb3_forager bench gama --gama-servers 127.0.0.1:1001
    python scripts/bench_gama.py --standin --latency 0.002    # a source checkout: the tests' GAMA stand-in
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

import numpy as np

from ..cli.common import (
    CliParser,
    add_gama_launch_arguments,
    launched_gama_servers,
    positive_int,
    run_on_gama,
    run_with_gama_launch,
    seed_arg,
    int_arg,
    MAX_WORLDS_PER_SIM,
)
from ..common import checks
from ..models import MODELS

PROG = "bench_gama.py"
DEFAULT_SERVERS = "127.0.0.1:1001"
WARMUP = 30  # steps before timing, per env
MODEL = MODELS["forager"]
Server = tuple[str, int]


def _address(server: Server) -> str:
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bench_ours(servers: list[Server], n: int, steps: int, seed: int, gaml: str | None = None) -> float:
    """Env steps/s of this package's backend with ``n`` experiments (``steps`` env steps in all)."""
    import gymnasium as gym

    from ..make import make_gama_vec_env

    rng = np.random.default_rng(seed)
    if n == 1:
        (host, port), *_ = servers
        env = gym.make(MODEL.gama_gym_id, host=host, port=port, gaml_path=gaml, disable_env_checker=True).unwrapped
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
    venv = make_gama_vec_env(MODEL.name, n, servers=[_address(s) for s in servers], gaml_path=gaml)
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


def bench_worlds_per_sim(servers: list[Server], n: int, w: int | None, steps: int, seed: int) -> tuple[float, float]:
    """(agent-steps/s, round trips per agent-step) of a VecEnv of ``n`` single-forager worlds: ``w``
    worlds per GAMA simulation, or (None) today's one experiment per world, all in flight together
    (GamaWorld.step sends three commands per world: the action, the cycle, the read)."""
    from ..make import make_gama_vec_env

    rng = np.random.default_rng(seed)
    venv = make_gama_vec_env(MODEL.name, n, servers=[_address(s) for s in servers], worlds_per_sim=w)
    venv.reset()
    for _ in range(WARMUP):
        venv.step(rng.uniform(-1, 1, (n, 2)))
    rounds = max(1, steps // n)
    before = venv.backend.round_trips if w is not None else 0
    t0 = time.perf_counter()
    for _ in range(rounds):
        venv.step(rng.uniform(-1, 1, (n, 2)))
    elapsed = time.perf_counter() - t0
    trips = (venv.backend.round_trips - before) / (rounds * n) if w is not None else 3.0
    venv.close()
    return rounds * n / elapsed, trips


def print_worlds_table(servers: list[Server], n: int, ws: list[int], steps: int, seed: int, repeats: int = 1) -> None:
    """The table of W worlds per simulation against one experiment per world; with ``repeats`` > 1
    every row ``repeats`` times, round after round (a shared machine's load changes between rounds:
    each speed-up is taken within its round, then the median over rounds)."""
    cells: list[int | None] = [None, *ws]
    rates: dict[int | None, list[float]] = {c: [] for c in cells}
    trips: dict[int | None, float] = {}
    for _ in range(repeats):
        for c in cells:
            rate, trips[c] = bench_worlds_per_sim(servers, n, c, steps, seed)
            rates[c].append(rate)

    def spread(values: list[float], fmt: str) -> str:
        mid = fmt.format(statistics.median(values))
        return mid if len(values) == 1 else f"{mid} ({fmt.format(min(values))} - {fmt.format(max(values))})"

    rounds = f", median (min - max) of {repeats} rounds" if repeats > 1 else ""
    print()
    print(f"{n} worlds of the single forager, {steps} agent-steps per cell{rounds}")
    print()
    print("| worlds per GAMA simulation | round trips per agent-step | agent-steps/s | speed-up |")
    print("|---|---:|---:|---:|")
    for c in cells:
        label = "one experiment per world (today)" if c is None else str(c)
        ratios = [r / b for r, b in zip(rates[c], rates[None])]
        speedup = "1.0x" if c is None else spread(ratios, "{:.1f}x")
        print(f"| {label} | {trips[c]:.3f} | {spread(rates[c], '{:,.0f}')} | {speedup} |")


def bench_stock(servers: list[Server], n: int, steps: int, seed: int, gaml: str | None = None) -> float:
    """Env steps/s of ``n`` stock gama-gymnasium GamaEnvs stepped in turn (the ``bridges`` extra)."""
    from gama_gymnasium import GamaEnv  # applies nest_asyncio to the process on import

    from ..gama.paths import packaged_gaml

    path = gaml or packaged_gaml(MODEL.gaml_file)
    loop = asyncio.new_event_loop()

    async def build() -> list[Any]:  # gama-client needs a running loop at construction
        return [
            GamaEnv(gaml_experiment_path=path, gaml_experiment_name=MODEL.experiment, gama_ip_address=host,
                    gama_port=port)
            for host, port in (servers[i % len(servers)] for i in range(n))
        ]  # fmt: skip

    envs = loop.run_until_complete(build())
    rng = np.random.default_rng(seed)
    try:
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
    finally:
        for env in envs:
            env.close()
        loop.close()
    return rounds * n / elapsed


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = CliParser(
        prog=prog,
        description="Env steps per second of the sb3_forager GAMA backend against the stock gama-gymnasium "
        "GamaEnv, for N experiments of the single forager.",
        epilog="Exit codes: 0 done, 1 the benchmark failed, 2 bad arguments or nothing to benchmark against.",
    )
    p.add_argument("--gama-servers", default=None, metavar="HOST:PORT[,HOST:PORT...]",
                   help="the GAMA server(s) to measure, experiments spread round-robin (default 127.0.0.1:1001)")
    p.add_argument("--gaml", default=None, metavar="PATH", help="forager_gym.gaml as the servers see it "
                   "(default: the packaged file, for a server on this machine)")
    p.add_argument("--steps", type=positive_int, default=800, metavar="N",
                   help="env steps per measurement (default 800)")
    p.add_argument("--n", type=positive_int, nargs="+", default=[1, 8], metavar="N",
                   help="numbers of experiments (default 1 8)")
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N", help="seed of the random actions (default 0)")
    p.add_argument("--no-stock", action="store_true", help="skip the stock gama-gymnasium GamaEnv")
    p.add_argument("--gama-worlds-per-sim", type=int_arg(1, MAX_WORLDS_PER_SIM, "an integer"), nargs="+", default=None,
                   metavar="W", help="also measure W worlds per GAMA simulation (e.g. 1 8 32) against one experiment "
                   "per world, for the largest --n: agent-steps/s and round trips per agent-step")
    p.add_argument("--repeats", type=int_arg(1, 20, "an integer"), default=1, metavar="R",
                   help="with --gama-worlds-per-sim: measure its table R times, one round after the other, and print "
                   "the median (and range) of each row and of the speed-ups of the same round (default 1)")
    add_gama_launch_arguments(p)
    return p  # fmt: skip


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    # --gama-launch: the servers in a temporary folder, stopped however the benchmark ends
    return run_with_gama_launch(args, prog, lambda: _bench(parser, args, prog))


def _bench(parser: argparse.ArgumentParser, args: argparse.Namespace, prog: str) -> int:
    try:
        given = launched_gama_servers(args) or args.gama_servers
        servers = checks.servers(DEFAULT_SERVERS if given is None else given)
    except ValueError as exc:
        parser.error(f"argument --gama-servers: {exc}")
    if args.repeats > 1 and not args.gama_worlds_per_sim:
        parser.error(f"argument --repeats: {args.repeats} rounds of the --gama-worlds-per-sim table: give that option")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")

    def run() -> int:
        rows = []
        for n in args.n:  # measure everything, then print the table
            ours = bench_ours(servers, n, args.steps, args.seed, args.gaml)
            rows.append((n, ours, None if args.no_stock else bench_stock(servers, n, args.steps, args.seed, args.gaml)))
        print(f"GAMA server{'s' * (len(servers) > 1)} {', '.join(map(_address, servers))}, {args.steps} env steps per cell")
        print()
        print("| experiments | sb3_forager GAMA backend (steps/s) | stock gama_gymnasium GamaEnv (steps/s) | speed-up |")
        print("|---:|---:|---:|---:|")
        for n, ours, stock in rows:
            if stock is None:
                print(f"| {n} | {ours:,.0f} | - | - |")
            else:
                print(f"| {n} | {ours:,.0f} | {stock:,.0f} | {ours / stock:.1f}x |")
        if args.gama_worlds_per_sim:
            print_worlds_table(servers, max(args.n), args.gama_worlds_per_sim, args.steps, args.seed, args.repeats)
        return 0

    return run_on_gama(prog, run, "the benchmark failed", also=(RuntimeError, OSError))

