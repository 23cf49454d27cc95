"""An interpreter of the GAML the forager models use (issue 15, part 2): :class:`Model`."""

from .runtime import Model
from .values import GamaPoint, GamlError

__all__ = ["Model", "GamaPoint", "GamlError"]
