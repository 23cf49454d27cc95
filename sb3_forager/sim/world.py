"""Constants of the ForagerRL world: physics, sensors and rewards of both GAML models.

Every number here is the GAML models' (``gaml/forager_gym.gaml``, ``gaml/forager_petz.gaml``); see
the README's MDP page and ``docs/model.md``. What varies between episodes (starts, obstacles,
food, episode length, team size) is a :class:`~sb3_forager.sim.scenario.Scenario`, not this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .kernels import CONST_FIELDS, TO_RAD

#: the tutorial's six obstacles (closed 10 x 10 squares), by centre, in the GAML creation order
OBSTACLE_CENTRES: tuple[tuple[float, float], ...] = (
    (25.0, 25.0),
    (35.0, 25.0),
    (25.0, 35.0),
    (65.0, 45.0),
    (75.0, 45.0),
    (75.0, 55.0),
)
#: the tutorial's food centre
FOOD: tuple[float, float] = (95.0, 95.0)


@dataclass(frozen=True)
class WorldConfig:
    """Physical, sensor and reward constants (GAML globals and forager attributes)."""

    world_size: float = 100.0
    food_radius: float = 5.0
    obstacle_side: float = 10.0
    wall_margin: float = 1.0
    friction: float = 0.8
    accel_force: float = 1.5
    max_speed: float = 3.0
    sensor_range: float = 30.0
    n_sensors: int = 8
    success_reward: float = 100.0
    wait_reward: float = 0.5
    timeout_reward: float = -1.0
    step_cost: float = 0.01
    shaping_scale: float = 2.0
    bump_penalty: float = 1.0
    #: the literal the GAML model divides the distance by (``world_size * 1.414``, not sqrt(2))
    dist_norm_factor: float = 1.414
    #: the single model's ``atan2`` guard: the heading is 0 within this distance of the food
    angle_guard: float = 0.001

    # derived, filled in __post_init__
    ray_offsets: np.ndarray = field(init=False, repr=False, compare=False)
    consts: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        angles = [45.0 * i * (8 / self.n_sensors) for i in range(self.n_sensors)]
        # ``sensor_range * cos(ray_angle)``, rounded as GAMA computes it (degrees times toRad)
        offsets = [(self.sensor_range * math.cos(a * TO_RAD), self.sensor_range * math.sin(a * TO_RAD)) for a in angles]
        object.__setattr__(self, "ray_offsets", np.ascontiguousarray(offsets, dtype=np.float64))
        consts = np.array([getattr(self, name) for name in CONST_FIELDS], dtype=np.float64)
        object.__setattr__(self, "consts", consts)

    @property
    def obs_dim_single(self) -> int:
        """The single forager's observation size (position, distance, heading, sensors)."""
        return 5 + self.n_sensors

    @property
    def obs_dim_team(self) -> int:
        """A team forager's observation size (the single's plus the teammate's position)."""
        return 7 + self.n_sensors

    @property
    def max_distance(self) -> float:
        return self.world_size * self.dist_norm_factor

    @property
    def wall_lo(self) -> float:
        return self.wall_margin

    @property
    def wall_hi(self) -> float:
        return self.world_size - self.wall_margin

    def obstacle_boxes(self, centres) -> np.ndarray:
        """(M, 4) ``lx, ly, hx, hy`` of the closed squares centred at ``centres``: ``[c - 5, c + 5]``
        per axis (GAML ``square(10) at_location c``)."""
        c = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
        half = self.obstacle_side / 2.0
        return np.concatenate([c - half, c + half], axis=1)


#: the constants of both tutorial models
WORLD = WorldConfig()
