"""``python -m sb3_forager tune`` (also ``scripts/tune.py``, ``sb3-forager-tune``): an Optuna sweep
of the training hyperparameters; the logic is :mod:`sb3_forager.training.tune`."""

from __future__ import annotations

import argparse
import sys

PROG = "tune.py"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    from ..training.tune import build_parser as _build_parser

    return _build_parser(prog=prog)


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    from ..training.tune import cli_main

    return cli_main(argv, prog=prog)


if __name__ == "__main__":
    sys.exit(main())
