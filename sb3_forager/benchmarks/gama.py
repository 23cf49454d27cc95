"""Env steps per second of the GAMA backend against the stock gama-gymnasium ``GamaEnv``.

Both run the single forager (``gaml/forager_gym.gaml``) for N = 1 and N = 8 experiments (``--n``),
by default against the GAMA stand-in of ``tests/gama_standin.py`` (a source checkout), started in
its own process as a real GAMA server would be; ``--latency`` adds that many seconds before every
answer of the stand-in, to emulate a real network / GAMA round trip. ``--server HOST:PORT``
measures a running GAMA server instead. Ours: ``GamaForagerEnv`` for N = 1 and
``make_gama_vec_env("forager", N)`` (the commands of all experiments in flight together) for N > 1.
Stock: N ``gama_gymnasium.GamaEnv`` stepped one after another (it has no way to overlap them).

    python -m sb3_forager bench gama --latency 0.002     (or scripts/bench_gama.py)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

from ..cli.common import CliParser, fail, float_arg, positive_int, seed_arg

PROG = "bench_gama.py"
WARMUP = 30  # steps before timing, per env

_SERVER = """
import sys
sys.path.insert(0, {tests!r})
from gama_standin import GamaStandIn
s = GamaStandIn().start()
s.faults.latency = {latency!r}
print(s.port, flush=True)
sys.stdin.read()  # until the parent closes our stdin
s.stop()
"""


class StandInProcess:
    """The GAMA stand-in in a child process (``with StandInProcess(latency) as port:``); needs a
    source checkout (raises ``StandInUnavailableError`` otherwise)."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = float(latency)
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> int:
        from ..gama.standin import SOURCE_ROOT, standin_path

        tests = str(standin_path().parent)
        code = _SERVER.format(tests=tests, latency=self.latency)
        env = dict(os.environ)
        # the child imports this very checkout's sb3_forager (the stand-in runs its simulation)
        env["PYTHONPATH"] = os.pathsep.join([str(SOURCE_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            self.__exit__()
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
            self.proc = None


def bench_ours(host: str, port: int, n: int, steps: int, seed: int, gaml: str | None = None) -> float:
    """Env steps/s of this package's backend with ``n`` experiments (``steps`` env steps in all)."""
    from ..gama import GamaForagerEnv, make_gama_vec_env

    rng = np.random.default_rng(seed)
    if n == 1:
        env = GamaForagerEnv(host=host, port=port, gaml_path=gaml)
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
    venv = make_gama_vec_env("forager", n, servers=[f"{host}:{port}"], gaml_path=gaml)
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


def bench_stock(host: str, port: int, n: int, steps: int, seed: int, gaml: str | None = None) -> float:
    """Env steps/s of ``n`` stock gama-gymnasium GamaEnvs stepped in turn."""
    from gama_gymnasium import GamaEnv  # applies nest_asyncio to the process on import

    from ..gama.paths import packaged_gaml

    path = gaml or packaged_gaml("forager_gym.gaml")
    loop = asyncio.new_event_loop()

    async def build() -> list[Any]:  # gama-client needs a running loop at construction
        return [
            GamaEnv(gaml_experiment_path=path, gaml_experiment_name="gym_env", gama_ip_address=host, gama_port=port)
            for _ in range(n)
        ]

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
    p.add_argument(
        "--latency",
        type=float_arg(0.0, low_open=False),
        default=None,
        metavar="SECONDS",
        help="seconds the stand-in waits before each answer (default 0; not with --server)",
    )
    p.add_argument(
        "--steps", type=positive_int, default=800, metavar="N", help="env steps per measurement (default 800)"
    )
    p.add_argument(
        "--n", type=positive_int, nargs="+", default=[1, 8], metavar="N", help="numbers of experiments (default 1 8)"
    )
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N", help="seed of the random actions (default 0)")
    p.add_argument(
        "--server",
        default=None,
        metavar="HOST:PORT",
        help="measure this running GAMA server instead of the stand-in (a source checkout's tests/gama_standin.py)",
    )
    p.add_argument(
        "--gaml", default=None, metavar="PATH", help="forager_gym.gaml as the server sees it (with --server)"
    )
    p.add_argument("--no-stock", action="store_true", help="skip the stock gama-gymnasium GamaEnv")
    return p


def run(host: str, port: int, args: argparse.Namespace) -> list[tuple[int, float, float | None]]:
    rows = []
    for n in args.n:
        ours = bench_ours(host, port, n, args.steps, args.seed, args.gaml)
        stock = None if args.no_stock else bench_stock(host, port, n, args.steps, args.seed, args.gaml)
        rows.append((n, ours, stock))
    return rows


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.server is not None and args.latency is not None:
        parser.error("--latency applies to the stand-in: give --server or --latency, not both")
    if args.gaml is not None and args.server is None:
        parser.error("--gaml needs --server (the stand-in runs the packaged model)")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    from ..gama import GamaConnectionError, GamaConnectionLostError, GamaError
    from ..gama.address import parse_server
    from ..gama.standin import StandInUnavailableError

    latency = args.latency or 0.0
    try:
        if args.server is not None:
            try:
                host, port = parse_server(args.server)
            except ValueError as exc:
                return fail(prog, str(exc))
            rows = run(host, port, args)
            where = f"GAMA server {host}:{port}"
        else:
            try:
                with StandInProcess(latency) as port:
                    rows = run("127.0.0.1", port, args)
            except StandInUnavailableError as exc:
                return fail(prog, f"without --server the benchmark needs a source checkout: {exc}")
            where = f"GAMA stand-in, latency {latency * 1000:g} ms per answer"
    except GamaConnectionLostError as exc:
        return fail(prog, f"the benchmark failed: {exc}", code=1)
    except GamaConnectionError as exc:
        return fail(prog, str(exc))
    except (GamaError, RuntimeError, OSError) as exc:
        return fail(prog, f"the benchmark failed: {exc}", code=1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    print(f"{where}, {args.steps} env steps per cell")
    print()
    print("| experiments | sb3_forager GAMA backend (steps/s) | stock gama_gymnasium GamaEnv (steps/s) | speed-up |")
    print("|---:|---:|---:|---:|")
    for n, ours, stock in rows:
        if stock is None:
            print(f"| {n} | {ours:,.0f} | - | - |")
        else:
            print(f"| {n} | {ours:,.0f} | {stock:,.0f} | {ours / stock:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
