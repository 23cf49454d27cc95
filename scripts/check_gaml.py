#!/usr/bin/env python
"""Check GAML without GAMA: a shim over ``python -m sb3_forager check-gaml``
(:mod:`sb3_forager.cli.check_gaml`); see ``--help``."""

import sys

from sb3_forager.cli.check_gaml import main

if __name__ == "__main__":
    sys.exit(main())
