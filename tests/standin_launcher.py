"""The GAMA stand-in (``gama_standin.py``) in its own process, as a real GAMA server runs, for the
repository's tools: ``scripts/check_fidelity.py --standin`` and ``scripts/bench_gama.py --standin
[--latency S]`` run the package's command against it. It lives beside the stand-in because the
installed package has neither (the package's commands take real servers: ``--gama-servers``)."""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sb3_forager.cli.common import CliParser

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

_SERVER = """
import sys
sys.path.insert(0, {tests!r})
from gama_standin import GamaStandIn
s = GamaStandIn().start()
s.faults.latency = {latency!r}
print(s.port, flush=True)
sys.stdin.read()  # until the parent closes our stdin
s.stop()
"""


class StandInProcess:
    """The stand-in in a child process: ``with StandInProcess(latency) as port:`` (127.0.0.1).
    ``latency``: seconds the stand-in waits before each answer (a network / GAMA round trip)."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = float(latency)
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> int:
        code = _SERVER.format(tests=str(TESTS), latency=self.latency)
        # the child imports this very checkout's sb3_forager (the stand-in runs its simulation)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            self.__exit__()
            raise RuntimeError("the GAMA stand-in did not start")
        return int(line)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def _latency(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number expected, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def main_with_standin(main: Callable[[list[str]], int], argv: list[str] | None = None) -> int:
    """``main(argv)``; with ``--standin`` (and ``--latency S``) in ``argv``, against a stand-in started
    here for the call (``--gama-servers 127.0.0.1:<its port>`` added)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = os.path.basename(sys.argv[0]) or "script"
    parser = CliParser(prog=prog, add_help=False, allow_abbrev=False)
    parser.add_argument("--standin", action="store_true")
    parser.add_argument("--latency", type=_latency, default=None)
    ours, rest = parser.parse_known_args(argv)
    if not ours.standin and ours.latency is not None:
        parser.error("--latency sets the stand-in's answer delay: it needs --standin")
    if ours.standin and any(a.split("=")[0] in ("--gama-servers", "--gama-port") for a in rest):
        parser.error("give --standin or --gama-servers/--gama-port, not both")
    if not ours.standin:
        return main(rest)
    try:
        with StandInProcess(ours.latency or 0.0) as port:
            print(f"the GAMA stand-in (tests/gama_standin.py) at 127.0.0.1:{port}, "
                  f"{(ours.latency or 0.0) * 1000:g} ms per answer", flush=True)  # fmt: skip
            return main([*rest, "--gama-servers", f"127.0.0.1:{port}"])
    except RuntimeError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
