#!/usr/bin/env python
"""The simulation's speed beside its yardsticks (CartPole-v1, MPE2 simple_spread, a naive numpy
loop), as ratios measured in one run: a benchmark, not a test.

    python scripts/bench_env.py            # the table the README shows
    python scripts/bench_env.py --quick    # shorter runs

A thin shim over ``python -m sb3_forager bench env`` (:mod:`sb3_forager.benchmarks.env`).
"""

import sys

from sb3_forager.benchmarks.env import main

if __name__ == "__main__":
    sys.exit(main())
