"""Command-line pieces the scripts share (``train_sb3.py``, ``evaluate.py``)."""

from __future__ import annotations

import argparse


def add_gama_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--gama-servers`` / ``--gama-port`` / ``--gama-timeout`` group of ``--backend gama``."""
    gama = parser.add_argument_group("GAMA backend (--backend gama)")
    gama.add_argument(
        "--gama-servers",
        default=None,
        metavar="HOST:PORT[,HOST:PORT...]",
        help="GAMA server(s) to run the worlds on, spread round-robin (default 127.0.0.1:1001)",
    )
    gama.add_argument(
        "--gama-port", type=int, default=None, metavar="PORT", help="shorthand for --gama-servers 127.0.0.1:PORT"
    )
    gama.add_argument(
        "--gama-timeout", type=float, default=None, metavar="SECONDS", help="timeout of each GAMA request (default 30)"
    )


def gama_servers_from_args(args: argparse.Namespace) -> list[str] | None:
    """The server list the GAMA flags ask for (None: the config's default); both flags is an error."""
    if args.gama_port is not None and args.gama_servers is not None:
        raise ValueError("give --gama-servers or --gama-port, not both")
    if args.gama_servers is not None:
        return [s.strip() for s in args.gama_servers.split(",") if s.strip()]
    if args.gama_port is not None:
        return [f"127.0.0.1:{args.gama_port}"]
    return None
