"""``python -m sb3_forager train|evaluate|tune|check-fidelity|bench [args]``."""

from __future__ import annotations

import importlib
import sys

from .cli import COMMANDS


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        width = max(len(c) for c in COMMANDS)
        print("usage: python -m sb3_forager <command> [options]   (python -m sb3_forager <command> --help)\n")
        print("commands:")
        for name, (_, summary) in COMMANDS.items():
            print(f"  {name:<{width}}  {summary}")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(
            f"sb3_forager: error: unknown command {command!r}; the commands are {', '.join(COMMANDS)}", file=sys.stderr
        )
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest, prog=f"sb3_forager {command}"))


if __name__ == "__main__":
    sys.exit(main())
