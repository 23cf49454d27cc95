"""The GAML space maps (``["type"::"Box", "low"::..., ...]``) as Gymnasium spaces, by gama-gymnasium.

gama-gymnasium's ``SpaceConverter`` is the reference reading of these maps, so the backend uses it
rather than a twin of its own. It is loaded without ``gama_gymnasium/__init__.py``: that file
imports ``gama_client.sync_client``, which applies ``nest_asyncio`` to the whole process (patching
asyncio's tasks and loops for everyone, our backend's own I/O loop included). The converter module
itself needs only numpy, Gymnasium and its package's ``exceptions`` module.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from types import ModuleType
from typing import Any

from gymnasium import spaces

_PACKAGE = "_sb3_forager_gama_gymnasium"


@lru_cache(maxsize=1)
def _converter_module() -> ModuleType:
    spec = importlib.util.find_spec("gama_gymnasium")  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("gama-gymnasium is not installed (pip install gama-gymnasium)")
    package = ModuleType(_PACKAGE)
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules.setdefault(_PACKAGE, package)
    for name in ("exceptions", "space_converter"):
        full = f"{_PACKAGE}.{name}"
        if full in sys.modules:
            continue
        sub_spec = importlib.util.spec_from_file_location(full, f"{package.__path__[0]}/{name}.py")
        if sub_spec is None or sub_spec.loader is None:
            raise ImportError(f"gama-gymnasium has no {name}.py")
        module = importlib.util.module_from_spec(sub_spec)
        sys.modules[full] = module
        sub_spec.loader.exec_module(module)
    return sys.modules[f"{_PACKAGE}.space_converter"]


class SpaceMapError(ValueError):
    """A GAML space map gama-gymnasium cannot read."""


def space_from_map(space_map: Any) -> spaces.Space:
    """The Gymnasium space a GAML space map declares (gama-gymnasium's ``SpaceConverter``)."""
    module = _converter_module()
    if not isinstance(space_map, dict):
        raise SpaceMapError(f"a space must be a map, got {type(space_map).__name__}: {space_map!r:.200}")
    try:
        return module.SpaceConverter().map_to_space(space_map)
    except Exception as exc:  # SpaceConversionError and whatever a malformed map raises inside it
        raise SpaceMapError(f"cannot read the space {space_map!r:.200}: {exc}") from None
