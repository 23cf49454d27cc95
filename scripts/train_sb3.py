#!/usr/bin/env python
"""Train a Stable-Baselines3 policy on the ForagerRL envs and write logs/<run>/.

    python scripts/train_sb3.py                      # the cooperative pair, PPO, embedded simulation
    python scripts/train_sb3.py --env team    # pairs from random starts and layouts
    tensorboard --logdir logs                        # watch the curves

A thin shim over ``python -m sb3_forager train`` (:mod:`sb3_forager.cli.train`); see ``--help``.
"""

import sys

from sb3_forager.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
