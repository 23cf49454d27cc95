"""Numpy simulation core of the ForagerRL models (no Gymnasium, no PettingZoo)."""

from .core import ForagerSim, StepResult
from .world import COOP_FORAGERS, SINGLE_FORAGER, ModelConfig, WorldConfig

__all__ = ["ForagerSim", "StepResult", "ModelConfig", "WorldConfig", "SINGLE_FORAGER", "COOP_FORAGERS"]
