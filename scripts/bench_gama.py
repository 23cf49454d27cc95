#!/usr/bin/env python
"""Env steps per second of the GAMA backend against the stock gama-gymnasium GamaEnv: a shim over
:mod:`sb3_forager.benchmarks.gama` (``python -m sb3_forager bench gama``); see ``--help``. In this
repository ``--standin [--latency S]`` measures the tests' GAMA stand-in (tests/standin_launcher.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the stand-in: a repository tool
from standin_launcher import main_with_standin  # noqa: E402

from sb3_forager.benchmarks.gama import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main_with_standin(main))
