#!/usr/bin/env python
"""Run the documented training commands, time them whole, and measure what their models reach
against the targets (a benchmark, not a test).

    python scripts/bench_train.py                                   # every target, seed 0
    python scripts/bench_train.py --targets team --seeds 0 1 2
    python scripts/bench_train.py --targets coop --compare ../older-checkout

A thin shim over ``python -m sb3_forager bench train`` (:mod:`sb3_forager.benchmarks.train`).
"""

import sys

from sb3_forager.benchmarks.train import main

if __name__ == "__main__":
    sys.exit(main())
