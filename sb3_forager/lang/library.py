"""Run the checker over GAMA's own model library (``gama.library/`` of gama-platform/gama).

:func:`extract_library` copies the library's ``.gaml`` and ``.experiment`` files out of a git
repository of GAMA (a bare mirror is enough: ``git ls-tree`` / ``git cat-file``) into a folder;
:func:`check_library` checks every ``.gaml`` file under a folder and returns the accepted share and,
for each refused file, its first problem.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .checker import Catalogue, Problem, check_file, load_catalogue

__all__ = ["LibraryReport", "extract_library", "check_library", "LIBRARY_DIR"]

log = logging.getLogger(__name__)

#: the model library's folder in gama-platform/gama
LIBRARY_DIR = "gama.library"
_GIT_TIMEOUT = 300  # seconds, for each git call


def extract_library(repo: str | Path, dest: str | Path, rev: str = "HEAD", under: str = LIBRARY_DIR) -> tuple[str, int]:
    """Write ``under``'s .gaml / .experiment files of ``repo`` at ``rev`` into ``dest``; returns
    (the commit, the number of files). Raises ``ValueError`` if ``repo`` is not a git repository."""
    repo, dest = Path(repo), Path(dest)
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", rev], capture_output=True, text=True,
                                check=True, timeout=_GIT_TIMEOUT).stdout.strip()
        listing = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "-z", commit, "--", under],
                                 capture_output=True, check=True, timeout=_GIT_TIMEOUT).stdout.decode()
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        raise ValueError(f"{repo} is not a git repository of GAMA with {rev} ({exc})") from None
    entries = []
    for line in listing.split("\0"):
        if not line or not line.endswith((".gaml", ".experiment")):
            continue
        meta, path = line.split("\t", 1)
        entries.append((meta.split()[2], path))
    if not entries:
        raise ValueError(f"{repo} has no .gaml files under {under}/ at {commit[:9]}")
    batch = "".join(sha + "\n" for sha, _ in entries).encode()
    out = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch"], input=batch, capture_output=True,
                         check=True, timeout=_GIT_TIMEOUT).stdout
    pos = 0
    for _sha, path in entries:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        data = out[header_end + 1: header_end + 1 + size]
        pos = header_end + 1 + size + 1
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return commit, len(entries)


@dataclass
class LibraryReport:
    """The accepted files and the refused ones with their problems."""

    accepted: list[Path] = field(default_factory=list)
    refused: dict[Path, list[Problem]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.accepted) + len(self.refused)

    @property
    def share(self) -> float:
        return len(self.accepted) / self.total if self.total else 0.0


def check_library(folder: str | Path, catalogue: Catalogue | None = None) -> LibraryReport:
    """Check every ``.gaml`` file under ``folder``."""
    cat = catalogue or load_catalogue()
    report = LibraryReport()
    for path in sorted(Path(folder).rglob("*.gaml")):
        problems = check_file(path, cat)
        if problems:
            report.refused[path] = problems
        else:
            report.accepted.append(path)
    return report
