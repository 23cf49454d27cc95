"""Benchmarks (``python -m sb3_forager bench env|gama|train``): speed figures, printed, never timed tests."""

from __future__ import annotations

from ..cli.common import dispatch

BENCHMARKS = {
    "env": ("sb3_forager.benchmarks.env", "the simulation vs CartPole-v1, MPE2 simple_spread, a naive numpy loop"),
    "gama": ("sb3_forager.benchmarks.gama", "the GAMA backend's steps/s against the stock bridge"),
    "train": ("sb3_forager.benchmarks.train", "the training commands' wall time and what their models reach"),
}


def main(argv: list[str] | None = None, prog: str = "bench") -> int:
    """``bench env|gama|train [options]``: the benchmark's own ``main``."""
    usage = f"usage: {prog} {{{','.join(BENCHMARKS)}}} [options]   ({prog} <benchmark> --help)\n"
    return dispatch(BENCHMARKS, argv, prog, "benchmark", usage)
