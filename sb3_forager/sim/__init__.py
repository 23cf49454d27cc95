"""The simulation core of the ForagerRL models (no Gymnasium, no PettingZoo): scenarios, the backend
protocol, the compiled embedded backend, shortest paths and pictures (modules: README, "Layout")."""

from .backend import Backend, StepResult
from .core import ForagerSim, sensor_readings
from .scenario import (
    COOP,
    FORAGER,
    FORAGER_RANDOM,
    PAIR_STARTS,
    PRESETS,
    STRESS,
    STRESS_STARTS,
    TEAM,
    Episode,
    Scenario,
)
from .world import FOOD, OBSTACLE_CENTRES, WORLD, WorldConfig

__all__ = [
    "Backend",
    "COOP",
    "FOOD",
    "FORAGER",
    "FORAGER_RANDOM",
    "OBSTACLE_CENTRES",
    "PAIR_STARTS",
    "PRESETS",
    "STRESS",
    "STRESS_STARTS",
    "TEAM",
    "WORLD",
    "Episode",
    "ForagerSim",
    "Scenario",
    "StepResult",
    "WorldConfig",
    "sensor_readings",
]
