#!/usr/bin/env python
"""Which unseen random layouts a team policy fails, and why: every failure listed, a few drawn.

    python scripts/layout_failures.py logs/team_ppo_1/model.zip --squares 6

A thin shim over :mod:`sb3_forager.training.failures`; see ``--help``.
"""

import sys

from sb3_forager.training.failures import main

if __name__ == "__main__":
    sys.exit(main())
