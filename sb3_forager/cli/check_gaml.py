"""``python -m sb3_forager check-gaml [FILE ...]`` (also ``sb3-forager-check-gaml``): check GAML
without GAMA, with a parser ported from GAMA's grammar and a name checker built from GAMA's sources.

A thin CLI over :mod:`sb3_forager.lang`; see ``--help``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import CliParser, fail

PROG = "sb3-forager-check-gaml"

EPILOG = """\
With FILEs: parse and check each one (its imports are read relative to it). Without: check every GAML
file this package ships (sb3_forager/gaml) and their contract with the Python side: every model of
the model table (sb3_forager/models.py) has its file and experiment, every scenario parameter the
backend sends is declared with its type, and every expression the bridges evaluate (GymAgent /
PetzAgent fields, sb3_forager/gama/contracts.py) checks in that experiment.

Checked as GAMA's validator checks them: the syntax (GAMA's Xtext grammar), statement keywords, their
facets and where each may appear, built-in operators and their arity, types, skills and their
attributes and actions, #constants and units, and every name in scope. The catalogue of GAMA's
language (sb3_forager/lang/catalogue.json) is extracted from GAMA's sources by
scripts/extract_gaml_catalogue.py and names the GAMA commit. Not checked: the types of expressions
(beyond the declared species of an agent), which only a GAMA compilation tells.

Output: one "path:line:col: message" line per problem on stdout.
Exit codes: 0 no problem, 1 problems, 2 bad usage (a missing file, not a .gaml).
"""


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = CliParser(
        prog=prog,
        description="Check GAML files (default: the shipped ones and their contract with the Python side).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="a .gaml file (default: the packaged models)")
    p.add_argument("--catalogue", metavar="JSON", help="another catalogue of GAMA's language (default: the shipped one)")
    return p


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    paths = [Path(f) for f in args.files]
    for path in paths:
        if not path.exists():
            return fail(prog, f"no such file: {path}")
        if path.is_dir() or path.suffix != ".gaml":
            return fail(prog, f"not a .gaml file: {path}")
    if args.catalogue and not Path(args.catalogue).is_file():
        return fail(prog, f"no such catalogue: {args.catalogue}")
    from ..lang.checker import check_file, load_catalogue
    from ..lang.contract import check_shipped, shipped_files

    start = time.perf_counter()
    try:
        cat = load_catalogue(args.catalogue)
        if paths:
            lines = [p.format(str(path)) for path in paths for p in check_file(path, cat)]
            n_files = len(paths)
        else:
            lines = [fp.format() for fp in check_shipped(catalogue=cat)]
            n_files = len(shipped_files())
    except (OSError, ValueError) as exc:  # an unreadable file or catalogue
        return fail(prog, str(exc))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    for line in lines:
        print(line)
    what = "the shipped files and their contract" if not paths else f"{n_files} file(s)"
    print(f"{prog}: {what}: {len(lines)} problem(s) in {time.perf_counter() - start:.2f} s "
          f"(GAMA {cat.gama_commit[:9]})", file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
