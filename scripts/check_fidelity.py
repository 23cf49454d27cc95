#!/usr/bin/env python
"""Check that a GAMA server runs the same models as the embedded simulation: a shim over
``python -m sb3_forager check-fidelity`` (:mod:`sb3_forager.cli.check_fidelity`); see ``--help``.
In this repository ``--standin`` checks the tests' GAMA stand-in (tests/standin_launcher.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the stand-in: a repository tool
from standin_launcher import main_with_standin  # noqa: E402

from sb3_forager.cli.check_fidelity import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main_with_standin(main))
