"""Where the packaged GAML models are (paths for a GAMA server running on this machine)."""

from __future__ import annotations

from pathlib import Path

#: ``sb3_forager/gaml`` (a link to the repository's ``gaml/`` in a source checkout)
GAML_DIR = Path(__file__).resolve().parent.parent / "gaml"


def packaged_gaml(name: str) -> str:
    """Absolute, symlink-free path of a packaged model, e.g. ``packaged_gaml("forager_gym.gaml")``."""
    return str((GAML_DIR / name).resolve())
