"""``python -m sb3_forager <command> [args]``: the commands of :data:`sb3_forager.cli.COMMANDS`."""

from __future__ import annotations

import sys

from .cli import COMMANDS
from .cli.common import dispatch

USAGE = "usage: python -m sb3_forager <command> [options]   (python -m sb3_forager <command> --help)\n\ncommands:"


def main(argv: list[str] | None = None) -> int:
    return dispatch(COMMANDS, argv, "sb3_forager", "command", USAGE)


if __name__ == "__main__":
    sys.exit(main())
