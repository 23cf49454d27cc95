#!/usr/bin/env python
"""Env steps per second of the GAMA backend against the stock gama-gymnasium GamaEnv: a shim over
:mod:`sb3_forager.benchmarks.gama` (``python -m sb3_forager bench gama``); see ``--help``."""

import sys

from sb3_forager.benchmarks.gama import main

if __name__ == "__main__":
    sys.exit(main())
