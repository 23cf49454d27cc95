"""The simulation core of the ForagerRL models (no Gymnasium, no PettingZoo).

* :mod:`~sb3_forager.sim.scenario`: which world an episode runs in (:class:`Scenario`, :class:`Episode`, presets);
* :mod:`~sb3_forager.sim.backend`: the backend protocol every env adapter runs on, and :class:`StepResult`;
* :mod:`~sb3_forager.sim.core`: :class:`ForagerSim`, N worlds of K foragers stepped in one call (the embedded backend);
* :mod:`~sb3_forager.sim.kernels`: the model's semantics, once (compiled by numba when installed);
* :mod:`~sb3_forager.sim.exact`: exact orientation predicates (JTS's touch/miss decisions);
* :mod:`~sb3_forager.sim.paths`: shortest paths, free-path tests and the steps lower bound;
* :mod:`~sb3_forager.sim.render`: pictures of a world (PIL) and the pygame window.
"""

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
