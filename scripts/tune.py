#!/usr/bin/env python
"""Sweep hyperparameters with Optuna on the ForagerRL envs and write logs/<study>/.

    python scripts/tune.py --env forager --n-trials 20 --trial-timesteps 20000
    python scripts/tune.py --env coop --storage postgresql+psycopg://user:pw@db-host/sweeps   # on each host
    optuna-dashboard sqlite:///logs/tune_forager_ppo/study.db                                # watch it

A thin shim over ``python -m sb3_forager tune`` (:mod:`sb3_forager.training.sweep`; needs the
``tune`` extra: ``pip install 'sb3_forager[tune]'``); see ``--help``.
"""

import sys

from sb3_forager.cli.tune import main

if __name__ == "__main__":
    sys.exit(main())
