#!/usr/bin/env python
"""Run check-gaml over GAMA's own model library and print the share of files it accepts.

    scripts/check_gaml_library.py FOLDER              # a folder holding gama.library's .gaml files
    scripts/check_gaml_library.py --mirror REPO       # a (bare) git repository of gama-platform/gama
    scripts/check_gaml_library.py --mirror REPO --extensions   # and the extensions' models

Prints the accepted share, then one line per refused file with its first problem (and how many
more). Exit codes: 0 share >= --min-share (default 0.95), 1 below, 2 bad usage.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sb3_forager.cli.common import CliParser, fail
from sb3_forager.lang.checker import load_catalogue
from sb3_forager.lang.library import LIBRARY_DIR, check_library, extract_library

PROG = "check_gaml_library.py"


def extension_folders(repo: str, commit: str) -> list[str]:
    """The gama.extension.* folders of ``repo`` that hold models."""
    out = subprocess.run(["git", "-C", repo, "ls-tree", "-d", "--name-only", commit], capture_output=True,
                         text=True, check=True, timeout=120).stdout.split()
    folders = []
    for name in out:
        if name.startswith("gama.extension."):
            sub = subprocess.run(["git", "-C", repo, "ls-tree", "-d", "--name-only", commit, f"{name}/models"],
                                 capture_output=True, text=True, timeout=120).stdout.strip()
            if sub:
                folders.append(name)
    return folders


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("folder", nargs="?", metavar="FOLDER", help="a folder with the library's .gaml files")
    src.add_argument("--mirror", metavar="REPO", help="a git repository (bare is enough) of gama-platform/gama")
    p.add_argument("--rev", default="HEAD", help="the revision of --mirror (default HEAD)")
    p.add_argument("--extensions", action="store_true",
                   help="with --mirror: also the models of GAMA's extensions (gama.extension.*/models)")
    p.add_argument("--min-share", type=float, default=0.95, help="the share to reach for exit 0 (default 0.95)")
    args = p.parse_args(argv)
    cat = load_catalogue()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gama_library_") as tmp:
        if args.mirror:
            try:
                commit, n = extract_library(args.mirror, tmp, args.rev)
                for ext in (extension_folders(args.mirror, commit) if args.extensions else []):
                    n += extract_library(args.mirror, tmp, commit, under=f"{ext}/models")[1]
            except ValueError as exc:
                return fail(PROG, str(exc))
            folder = Path(tmp) if args.extensions else Path(tmp) / LIBRARY_DIR
            print(f"gama.library of {args.mirror} at {commit[:9]}: {n} files extracted"
                  + ("" if commit == cat.gama_commit else f" (the catalogue is from {cat.gama_commit[:9]})"))
        else:
            folder = Path(args.folder)
            if not folder.is_dir():
                return fail(PROG, f"not a folder: {folder}")
        report = check_library(folder, cat)
        if report.total == 0:
            return fail(PROG, f"no .gaml file under {folder}")
        for path, problems in sorted(report.refused.items()):
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            print(f"refused: {problems[0].format(str(path.relative_to(folder)))}{more}")
    print(f"accepted {len(report.accepted)}/{report.total} files = {100 * report.share:.1f} % "
          f"in {time.perf_counter() - start:.1f} s")
    return 0 if report.share >= args.min_share else 1


if __name__ == "__main__":
    sys.exit(main())
