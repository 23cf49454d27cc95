#!/usr/bin/env python
"""Evaluate a saved policy: team success (95 % interval), steps, path efficiency, return, baselines.

    python scripts/evaluate.py logs/coop_ppo_1
    python scripts/evaluate.py logs/team_ppo_1 --env stress --gif stress.gif

A thin shim over ``python -m sb3_forager evaluate`` (:mod:`sb3_forager.cli.evaluate`); see ``--help``.
"""

import sys

from sb3_forager.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
