#!/usr/bin/env python
"""Check that a GAMA server runs the same models as the embedded simulation: a shim over
``python -m sb3_forager check-fidelity`` (:mod:`sb3_forager.cli.check_fidelity`); see ``--help``."""

import sys

from sb3_forager.cli.check_fidelity import main

if __name__ == "__main__":
    sys.exit(main())
