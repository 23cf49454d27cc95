"""Finding the tests' GAMA server stand-in (``tests/gama_standin.py``) from the tools that offer it.

The stand-in is a test fixture: it lives in the source checkout's ``tests/`` folder, which a wheel
install does not include. ``check-fidelity --standin`` and the GAMA benchmark use it from a source
checkout (or an editable install) and say so clearly otherwise.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

#: the checkout holding this package (``sb3_forager/..``), when it is one
SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent
MODULE_NAME = "gama_standin"


class StandInUnavailableError(RuntimeError):
    """The stand-in is not there: this is not a source checkout."""


def standin_path() -> Path:
    """``tests/gama_standin.py`` of the source checkout; raises :class:`StandInUnavailableError`."""
    path = SOURCE_ROOT / "tests" / "gama_standin.py"
    if not path.is_file() or not (SOURCE_ROOT / "gaml" / "forager_gym.gaml").is_file():
        raise StandInUnavailableError(
            "the GAMA stand-in (tests/gama_standin.py) comes with a source checkout of sb3_forager, not "
            f"with an installed package (looked in {SOURCE_ROOT / 'tests'}); clone the repository and "
            "run from it (or pip install -e it), or give the address of a real GAMA server"
        )
    return path


def load_standin() -> ModuleType:
    """The stand-in module (the one already imported, e.g. by the tests, if any)."""
    module = sys.modules.get(MODULE_NAME)
    if module is not None and hasattr(module, "GamaStandIn"):
        return module
    path = standin_path()
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise StandInUnavailableError(f"cannot import the GAMA stand-in from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(MODULE_NAME, None)
        raise
    return module
