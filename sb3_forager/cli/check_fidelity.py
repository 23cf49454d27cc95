"""``python -m sb3_forager check-fidelity`` (also ``scripts/check_fidelity.py``): check that GAMA
servers run the same models as the embedded simulation (the engine: :mod:`sb3_forager.fidelity`),
printing per server the largest difference per field for each group of cases (exit codes: EPILOG).

    python -m sb3_forager check-fidelity --gama-port 1001              # a GAMA server on this machine
    python -m sb3_forager check-fidelity --gama-servers host-a:1001,host-b:1001 --gaml-dir /srv/gaml
"""

from __future__ import annotations

import argparse
import logging
import textwrap

from .. import fidelity
from ..common import checks
from ..lang.interp import fidelity as gaml_engine
from ..models import GAML_FILES
from .common import CliParser, float_arg, gama_servers_from_args, int_arg, nonnegative_int, run_on_gama
from .common import add_gama_launch_arguments, add_worlds_per_sim_argument, run_with_gama_launch, seed_arg, setup_logging

PROG = "check_fidelity.py"
EPILOG = """\
exit codes: 0 every difference within --tolerance, 1 a difference above it (printed with where it
happened) or a GAMA failure during the check, 2 bad arguments or no GAMA server to check.

groups of cases, one per model (every reset seeded: random starts and layouts are drawn alike on both backends):
""" + "".join(textwrap.fill(text, 100, initial_indent=f"  {name:<15} ", subsequent_indent=" " * 18) + "\n"
              for name, text in fidelity.CASES.items())  # fmt: skip


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = CliParser(
        prog=prog,
        description="Check that GAMA servers run the same forager models as the embedded simulation: the "
        "same action sequences through both backends, the largest difference per field.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gama = p.add_argument_group("the GAMA servers")
    gama.add_argument("--gama-servers", default=None, metavar="HOST:PORT[,HOST:PORT...]",
                      help="the GAMA server(s) to check, each in turn (default 127.0.0.1:1001)")  # fmt: skip
    gama.add_argument("--gama-port", type=int_arg(1, 65535, "a port number"), default=None, metavar="PORT",
                      help="shorthand for --gama-servers 127.0.0.1:PORT")  # fmt: skip
    gama.add_argument("--gama-timeout", type=float_arg(0.0), default=30.0, metavar="SECONDS",
                      help="timeout of each GAMA request (default 30)")  # fmt: skip
    gama.add_argument("--gaml-dir", default=None, metavar="DIR",
                      help=f"the folder holding {', '.join(GAML_FILES)} as the servers see it "
                      "(default: the packaged files, for a server on this machine)")  # fmt: skip
    add_gama_launch_arguments(gama)
    add_worlds_per_sim_argument(gama)
    p.add_argument("--groups", nargs="+", choices=fidelity.GROUPS, default=list(fidelity.GROUPS), metavar="GROUP",
                   help=f"which groups of cases (default: all of {', '.join(fidelity.GROUPS)})")  # fmt: skip
    p.add_argument("--episodes", type=nonnegative_int, default=3, metavar="N",
                   help="seeded random-action episodes of the tutorial groups (default 3; the random groups run "
                   "each variant max(1, N) times)")  # fmt: skip
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N", help="seed of the random sequences (default 0)")
    p.add_argument("--tolerance", type=float_arg(0.0, low_open=False), default=None,
                   help="largest allowed difference (default 1e-4; --engine gaml: 1e-5)")  # fmt: skip
    gaml_engine.add_arguments(p)
    p.add_argument("--verbose", action="store_true", help="print each case as it is done")
    return p


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.engine == "gaml":
        return gaml_engine.run_check(args)
    args.tolerance = 1e-4 if args.tolerance is None else args.tolerance
    # --gama-launch: the servers in a temporary folder, stopped however the check ends
    return run_with_gama_launch(args, prog, lambda: _check(parser, args, prog))


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace, prog: str) -> int:
    try:
        servers = checks.servers(gama_servers_from_args(args) or ["127.0.0.1:1001"])
    except ValueError as exc:
        parser.error(str(exc))
    setup_logging(logging.WARNING)
    gaml = {f: f"{args.gaml_dir.rstrip('/')}/{f}" for f in GAML_FILES} if args.gaml_dir else {}
    progress = (lambda text: print(f"  done: {text}", flush=True)) if args.verbose else None

    def run() -> int:
        ok = True
        for host, port in servers:
            make_gama = fidelity.gama_factory(host, port, args.gama_timeout, gaml, args.gama_worlds_per_sim)
            report = fidelity.check(make_gama, args.seed, args.episodes, tuple(dict.fromkeys(args.groups)), progress)
            text, passed = report.summary(f"the GAMA server at {host}:{port}", args.tolerance)
            print(text, flush=True)
            ok = ok and passed
        return 0 if ok else 1

    return run_on_gama(prog, run, "the check failed")

