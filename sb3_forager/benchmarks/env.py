"""``python -m sb3_forager bench env`` (also ``scripts/bench_env.py``): the simulation's speed,
side by side with its yardsticks in one run, as ratios (the machine is shared and noisy: absolute
figures move by tens of percent, ratios measured together much less).

* one ``sb3_forager/Forager-v0`` through ``gym.make`` vs Gymnasium's pure-Python ``CartPole-v1``;
* the cooperative pair ``forager_coop_v0.parallel_env()`` vs MPE2's ``simple_spread_v3`` (N = 2,
  continuous actions; ``pip install "sb3_forager[bench]"``);
* the batched core (``ForagerSim``) at N = 1, 16, 256, 4096 worlds vs a naive numpy loop
  (:mod:`sb3_forager.benchmarks.naive`), the SB3 ``ForagerVecEnv`` and the Gymnasium VectorEnv
  of ``gym.make_vec("sb3_forager/Forager-v0", N, vectorization_mode="vector_entry_point")``.

Each pair is timed alternately, ``--repeats`` times, and the median of each side is reported.
``--training-before CHECKOUT`` then also times the default training command before (that older
checkout) and after (this one), alternately, at the same hyperparameters (``--training-args``, e.g.
the older defaults); that is ``bench_train.py --targets --compare``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..cli.common import CliParser, fail, float_arg, int_arg

PROG = "bench_env.py"


def _rate(run: Callable[[int], int], seconds: float) -> float:
    """Units per second of ``run(n)`` (which does n units and returns how many it did)."""
    run(8)  # warm up (compiles, caches)
    done, start = 0, time.perf_counter()
    while True:
        done += run(64)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def paired(a: Callable[[int], int], b: Callable[[int], int], seconds: float, repeats: int) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` timed alternately."""
    ra, rb = [], []
    for _ in range(repeats):
        ra.append(_rate(a, seconds))
        rb.append(_rate(b, seconds))
    return statistics.median(ra), statistics.median(rb)


# ---------------------------------------------------------------------- workloads
def _runner(step: Callable[[Any], Any], actions: list[Any], units: int = 1, per_call: int = 1) -> Callable[[int], int]:
    """``run(n)`` for :func:`_rate`: ``max(1, n // per_call)`` calls of ``step`` on the next of
    ``actions`` (cycled), returning the units done (``units`` per call)."""
    cycle = itertools.cycle(actions)

    def run(n: int) -> int:
        calls = max(1, n // max(1, per_call))
        for _ in range(calls):
            step(next(cycle))
        return calls * units

    return run


def gym_runner(env_id: str) -> Callable[[int], int]:
    import gymnasium as gym  # the ids are registered: this module is inside the package

    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)

    def step(action: Any) -> None:
        _, _, term, trunc, _ = env.step(action)
        if term or trunc:
            env.reset()

    return _runner(step, [env.action_space.sample() for _ in range(256)])


def parallel_runner(make: Callable[[], Any]) -> Callable[[int], int]:
    env = make()
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    spaces = {a: env.action_space(a) for a in env.possible_agents}

    def step(actions: dict) -> None:
        env.step(actions)
        if not env.agents:
            env.reset()

    actions = [{a: rng.uniform(s.low, s.high).astype(np.float32) for a, s in spaces.items()} for _ in range(64)]
    return _runner(step, actions)


def core_runner(n_worlds: int) -> Callable[[int], int]:
    from ..sim import FORAGER, ForagerSim

    sim = ForagerSim.for_scenario(FORAGER, n_worlds)
    k = FORAGER.n_foragers
    rng = np.random.default_rng(0)

    def step(actions: np.ndarray) -> None:
        r = sim.step(actions)
        if r.episode_over.any():
            sim.reset(r.episode_over)

    return _runner(step, [rng.uniform(-1, 1, (n_worlds, k, 2)) for _ in range(16)], n_worlds * k, n_worlds // 64)


def naive_runner(n_worlds: int) -> Callable[[int], int]:
    from .naive import NaiveWorlds

    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, (n_worlds, 2)) for _ in range(16)]
    return _runner(NaiveWorlds(n_worlds).step, actions, n_worlds, n_worlds // 4)


def vec_runner(n_worlds: int) -> Callable[[int], int]:
    from ..envs.vec_env import ForagerVecEnv

    venv = ForagerVecEnv(n_worlds)
    venv.reset()
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, (n_worlds, 2)).astype(np.float32) for _ in range(16)]
    return _runner(venv.step, actions, n_worlds, n_worlds // 64)


def vector_runner(n_worlds: int) -> Callable[[int], int]:
    """``gym.make_vec(..., vectorization_mode="vector_entry_point")`` as a user gets it (its
    next-step autoreset and the registration's time limit included)."""
    import gymnasium as gym

    venv = gym.make_vec("sb3_forager/Forager-v0", n_worlds, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, (n_worlds, 2)).astype(np.float32) for _ in range(16)]
    return _runner(venv.step, actions, n_worlds, n_worlds // 64)


def check_naive_agrees(n_steps: int = 200) -> float:
    """The largest difference between the naive loop's and the core's observations (one world)."""
    from ..sim import FORAGER, ForagerSim
    from .naive import NaiveWorlds

    sim = ForagerSim.for_scenario(FORAGER, 1)
    naive = NaiveWorlds(1)
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(n_steps):
        a = rng.uniform(-1, 1, (1, 2))
        r = sim.step(a.reshape(1, 1, 2))
        obs, _, dones = naive.step(a)
        worst = max(worst, float(np.abs(r.obs[0, 0] - obs[0]).max()))
        if r.episode_over[0]:
            sim.reset()
        assert bool(r.episode_over[0]) == dones[0]
    return worst


# ---------------------------------------------------------------------- the table
def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = CliParser(prog=prog, description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float_arg(0.0), default=1.5, help="seconds per measurement (1.5)")
    p.add_argument("--repeats", type=int_arg(1, 100), default=3, help="alternating repeats of each pair (3)")
    p.add_argument("--quick", action="store_true", help="0.3 s per measurement, 1 repeat")
    p.add_argument("--sizes", default="1,16,256,4096", help="worlds of the batched core rows (1,16,256,4096)")
    p.add_argument(
        "--training-before",
        metavar="CHECKOUT",
        default=None,
        help="an older checkout: also time the default training command there and here",
    )
    p.add_argument(
        "--training-args",
        metavar="ARGS",
        default="",
        help='arguments for both training commands, e.g. "--config old.yml"',
    )
    return p


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    seconds, repeats = (0.3, 1) if args.quick else (args.seconds, args.repeats)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        return fail(prog, f"--sizes takes worlds like 1,16,256, got {args.sizes!r}")
    training = None
    if args.training_before is not None:
        training = ["--targets", "--compare", args.training_before, "--compare-args", args.training_args]
        from . import train as bench_train

        if bench_train.check_compare_args(training, prog) != 0:  # refused before any measurement
            return 2
    import numba

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, numba {numba.__version__}; medians of {repeats} alternating runs of {seconds:g} s"
    )
    worst = check_naive_agrees()
    print(f"# the naive loop agrees with the core to {worst:.1e} (observations, 200 steps)")
    print("| what | this package | yardstick | yardstick figure | ratio |")
    print("|---|---:|---|---:|---:|")

    def row(what: str, ours: float, name: str, theirs: float, unit: str) -> None:
        print(f"| {what} | {ours:,.0f} {unit} | {name} | {theirs:,.0f} {unit} | {ours / theirs:.2f}x |", flush=True)

    ours, theirs = paired(gym_runner("sb3_forager/Forager-v0"), gym_runner("CartPole-v1"), seconds, repeats)
    row("one Forager-v0 via gym.make", ours, "CartPole-v1 via gym.make", theirs, "steps/s")
    try:
        from mpe2 import simple_spread_v3
    except ImportError:
        print(
            '| the pair\'s parallel_env | | MPE2 simple_spread_v3 | not installed: pip install "sb3_forager[bench]" | |'
        )
    else:
        from .. import forager_coop_v0

        ours, theirs = paired(
            parallel_runner(forager_coop_v0.parallel_env),
            parallel_runner(lambda: simple_spread_v3.parallel_env(N=2, continuous_actions=True)),
            seconds,
            repeats,
        )
        row("the pair's parallel_env", ours, "MPE2 simple_spread_v3 (N=2, continuous)", theirs, "steps/s")
    for n in sizes:
        ours, theirs = paired(core_runner(n), naive_runner(n), seconds, repeats)
        row(f"batched core, N = {n}", ours, f"naive numpy loop, N = {n}", theirs, "agent-steps/s")
    for n in (16, 4096):
        if n in sizes:
            ours, theirs = paired(vec_runner(n), naive_runner(n), seconds, repeats)
            row(f"SB3 ForagerVecEnv, N = {n}", ours, f"naive numpy loop, N = {n}", theirs, "agent-steps/s")
    for n in sizes:
        ours, theirs = paired(vector_runner(n), naive_runner(n), seconds, repeats)
        row(f"Gymnasium VectorEnv (make_vec), N = {n}", ours, f"naive numpy loop, N = {n}", theirs, "agent-steps/s")
    if training is not None:
        sys.stdout.flush()
        return bench_train.main(training, prog=prog)
    return 0

