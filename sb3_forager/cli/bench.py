"""``python -m sb3_forager bench env|gama|train [options]``: the benchmarks (figures, not tests)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "env": ("sb3_forager.benchmarks.env", "the simulation vs CartPole-v1, MPE2 simple_spread, a naive numpy loop"),
    "gama": ("sb3_forager.benchmarks.gama", "the GAMA backend's steps/s against the stock bridge"),
    "train": ("sb3_forager.benchmarks.train", "the training commands' wall time and what their models reach"),
}


def main(argv: list[str] | None = None, prog: str = "bench") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {prog} {{{','.join(BENCHMARKS)}}} [options]   ({prog} <benchmark> --help)\n")
        for name, (_, summary) in BENCHMARKS.items():
            print(f"  {name:<6} {summary}")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in BENCHMARKS:
        print(f"{prog}: error: unknown benchmark {name!r}; the benchmarks are {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(BENCHMARKS[name][0])
    return int(module.main(rest, prog=f"{prog} {name}"))


if __name__ == "__main__":
    sys.exit(main())
