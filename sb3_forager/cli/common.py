"""Command-line pieces the commands share: argument types, the GAMA flags, errors, logging."""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from ..common import checks


class CliParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: ``<prog>: error: <what> (see --help)``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def fail(prog: str, message: str, code: int = 2) -> int:
    """Print one ``<prog>: error: ...`` line on stderr and return ``code`` (for ``return fail(...)``)."""
    text = " ".join(str(message).split("\n")[:1]) if code == 2 else str(message)
    print(f"{prog}: error: {text}", file=sys.stderr)
    return code


def dispatch(table: dict[str, tuple[str, str]], argv: list[str] | None, prog: str, what: str, usage: str) -> int:
    """Run ``main(rest, prog=...)`` of the module that ``table`` (name -> (module, summary)) gives
    for ``argv[0]``, one ``what`` (a command, a benchmark); none or ``--help``: ``usage`` and the table."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        width = max(len(name) for name in table)
        for name, (_, summary) in table.items():
            print(f"  {name:<{width}}  {summary}")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in table:
        print(f"{prog}: error: unknown {what} {name!r}; the {what}s are {', '.join(table)}", file=sys.stderr)
        return 2
    return int(importlib.import_module(table[name][0]).main(rest, prog=f"{prog} {name}"))


def run_on_gama(prog: str, run: Callable[[], int], failed: str, also: tuple[type[Exception], ...] = ()) -> int:
    """``run()``, a GAMA failure (or one of ``also``) as one error line and Ctrl-C as exit 130:
    exit 2 when no server could be reached, 1 when the work failed on the way (``<failed>: ...``)."""
    from ..gama import GamaConnectionError, GamaConnectionLostError, GamaError

    try:
        return run()
    except GamaConnectionError as exc:
        if not isinstance(exc, GamaConnectionLostError):  # nothing to run against
            return fail(prog, str(exc))
        return fail(prog, f"{failed}: {exc}", code=1)  # connected, then lost: it failed on the way
    except (GamaError, *also) as exc:
        return fail(prog, f"{failed}: {exc}", code=1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def _arg(convert: Callable[[str], Any], expected: str, check: Callable[..., Any], **bounds: Any) -> Any:
    """An argparse type: ``convert`` the text (else "<expected> expected"), then ``check`` of
    :mod:`sb3_forager.common.checks` with ``bounds``, its error as an argparse error (argparse names the flag)."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{expected} expected, got {text!r}") from None
        try:
            return check(value, "", **bounds)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).strip()) from None

    return parse


def int_arg(low: int | None = None, high: int | None = None, what: str = "an integer") -> Any:
    """An argparse type: an integer in ``[low, high]``."""
    return _arg(int, what, checks.integer, low=low, high=high)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"a finite number expected, got {text!r}")
    return value


def float_arg(low: float | None = None, low_open: bool = True) -> Any:
    """An argparse type: a finite float above ``low``."""
    return _arg(_finite, "a number", checks.number, low=low, low_open=low_open)


#: an argparse type: a seed (:func:`sb3_forager.common.checks.seed`)
seed_arg = _arg(int, "an integer seed", checks.seed)

positive_int = int_arg(1)
nonnegative_int = int_arg(0)


def env_arg(choices: tuple[str, ...]) -> Any:
    """An argparse type: a model name (or other word) of ``choices``; an old name fails naming today's."""
    from ..models import model

    def parse(text: str) -> str:
        try:
            return text if text in choices else model(text, choices).name
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix("env ")) from None

    return parse


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
        "--gama-port",
        type=int_arg(1, 65535, "a port number"),
        default=None,
        metavar="PORT",
        help="shorthand for --gama-servers 127.0.0.1:PORT",
    )
    gama.add_argument(
        "--gama-timeout",
        type=float_arg(0.0),
        default=None,
        metavar="SECONDS",
        help="timeout of each GAMA request (default 30)",
    )
    add_gama_launch_arguments(gama)
    add_worlds_per_sim_argument(gama)


#: the largest --gama-worlds-per-sim (sb3_forager.gama.batched.MAX_WORLDS_PER_SIM, kept here so that
#: parsing the flags imports nothing of the GAMA backend; a test checks they agree)
MAX_WORLDS_PER_SIM = 1024


def add_worlds_per_sim_argument(group: Any) -> None:
    """``--gama-worlds-per-sim W``: W worlds per GAMA simulation (one round trip per simulation and step)."""
    group.add_argument(
        "--gama-worlds-per-sim",
        type=int_arg(1, MAX_WORLDS_PER_SIM, "an integer"),
        default=None,
        metavar="W",
        help=f"run W worlds in each GAMA simulation (gaml/forager_*_worlds.gaml), one round trip per simulation "
        f"and step, W in [1, {MAX_WORLDS_PER_SIM}] (every step's answer carries all W worlds in one message); "
        "default: one experiment per world",
    )


def add_gama_launch_arguments(group: Any) -> None:
    """``--gama-launch [PATH]``, ``--gama-n-servers K``, ``--gama-start-timeout S``: managed GAMA servers."""
    group.add_argument(
        "--gama-launch",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="start the GAMA server(s) here: GAMA's headless/gama-headless.sh (or .bat); without PATH the "
        "GAMA_HEADLESS variable's; stopped at the end (implies --backend gama)",
    )
    group.add_argument(
        "--gama-n-servers",
        type=int_arg(1, 256, "an integer"),
        default=None,
        metavar="K",
        help="with --gama-launch: how many servers, each on a free loopback port (default 1)",
    )
    group.add_argument(
        "--gama-start-timeout",
        type=float_arg(0.0),
        default=120.0,
        metavar="SECONDS",
        help="with --gama-launch: how long a server may take to start (default 120)",
    )


def gama_launch_from_args(args: argparse.Namespace) -> tuple[Any, int] | None:
    """``(launch script, K)`` that ``--gama-launch`` / ``--gama-n-servers`` ask for, None without them;
    raises ValueError naming the value (nothing is started)."""
    launch, n_text = getattr(args, "gama_launch", None), getattr(args, "gama_n_servers", None)
    if launch is None:
        if n_text is not None:
            raise ValueError(f"--gama-n-servers {n_text} needs --gama-launch (the servers it starts)")
        return None
    given = [flag for flag, name in (("--gama-servers", "gama_servers"), ("--gama-port", "gama_port"))
             if getattr(args, name, None) is not None]  # fmt: skip
    if given:
        raise ValueError(f"give --gama-launch or {given[0]}, not both (--gama-launch starts its own servers)")
    n = 1 if n_text is None else int(n_text)
    from ..gama.launcher import resolve_launch

    try:
        path = resolve_launch(launch)
    except ValueError as exc:
        raise ValueError(f"argument --gama-launch: {exc}") from None
    return path, n


def gama_launcher(args: argparse.Namespace) -> Any:
    """The (not started) :class:`~sb3_forager.gama.GamaServers` the flags ask for, or None."""
    spec = gama_launch_from_args(args)
    if spec is None:
        return None
    from ..gama.launcher import GamaServers

    return GamaServers(spec[0], spec[1], start_timeout=args.gama_start_timeout)


def run_with_gama_launch(args: argparse.Namespace, prog: str, body: Any) -> int:
    """``body()`` for a command with the GAMA flags: with ``--gama-launch``, the servers are started
    when the command first asks for its servers (:func:`launched_gama_servers`, in a temporary folder
    removed afterwards: the command's own bad input starts nothing) and stopped however ``body``
    ends. A server that does not start: its error (with its log's last lines), exit 1."""
    try:
        servers = gama_launcher(args)
    except ValueError as exc:
        return fail(prog, str(exc))
    if servers is None:
        return body()
    from ..gama.launcher import GamaLaunchError

    args.gama_launched, args.backend = servers, "gama"
    try:
        return body()
    except GamaLaunchError as exc:
        return fail(prog, str(exc), code=1)
    finally:
        servers.close()


def launched_gama_servers(args: argparse.Namespace) -> list[str] | None:
    """The addresses of the ``--gama-launch`` servers (started now if they are not yet), or None."""
    servers = getattr(args, "gama_launched", None)
    if servers is None:
        return None
    if not servers.started:
        servers.start()
        print(f"started {servers.n_servers} GAMA server(s) at {', '.join(servers.addresses)}", flush=True)
    return servers.addresses


def gama_servers_from_args(args: argparse.Namespace) -> list[str] | None:
    """The server list the GAMA flags ask for (None: the config's default); both flags is an error.
    Under :func:`run_with_gama_launch`, the ``--gama-launch`` servers (started now)."""
    launched = launched_gama_servers(args)
    if launched is not None:
        return launched
    if args.gama_port is not None and args.gama_servers is not None:
        raise ValueError("give --gama-servers or --gama-port, not both")
    if args.gama_servers is not None:
        servers = [s.strip() for s in args.gama_servers.split(",") if s.strip()]
        if not servers:
            raise ValueError(f"--gama-servers lists no server: {args.gama_servers!r}")
        return servers
    if args.gama_port is not None:
        return [f"127.0.0.1:{args.gama_port}"]
    return None


class _StdoutHandler(logging.StreamHandler):
    """Plain messages (warnings prefixed) to whatever ``sys.stdout`` is at the time (the progress bar redirects it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        return f"warning: {text}" if record.levelno >= logging.WARNING else text


def setup_logging(level: int = logging.INFO) -> None:
    """The package's log lines on stdout, as plain messages (warnings prefixed)."""
    log = logging.getLogger("sb3_forager")
    log.handlers[:] = [h for h in log.handlers if not isinstance(h, _StdoutHandler)] + [_StdoutHandler()]
    log.setLevel(level)
    log.propagate = False
