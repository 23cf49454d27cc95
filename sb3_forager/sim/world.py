"""Constants of the ForagerRL world and of its two models (single forager, cooperative pair).

Every number here is the GAML model's (``gaml/forager_gym.gaml``, ``gaml/forager_petz.gaml``); see
the README section "The MDP" and the normative spec. Nothing here knows about Gymnasium or PettingZoo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

ModelKind = Literal["single", "coop"]

OBSTACLE_CENTRES: tuple[tuple[float, float], ...] = (
    (25.0, 25.0),
    (35.0, 25.0),
    (25.0, 35.0),
    (65.0, 45.0),
    (75.0, 45.0),
    (75.0, 55.0),
)

#: GAMA evaluates ``cos``/``sin`` of degrees as ``Math.cos(deg * toRad)`` with this constant.
TO_RAD = math.pi / 180.0


@dataclass(frozen=True)
class WorldConfig:
    """Physical and reward constants shared by both models (GAML globals and forager attributes)."""

    world_size: float = 100.0
    food: tuple[float, float] = (95.0, 95.0)
    food_radius: float = 5.0
    obstacle_centres: tuple[tuple[float, float], ...] = OBSTACLE_CENTRES
    obstacle_side: float = 10.0
    wall_margin: float = 1.0
    friction: float = 0.8
    accel_force: float = 1.5
    max_speed: float = 3.0
    sensor_range: float = 30.0
    n_sensors: int = 8
    max_steps: int = 300
    success_reward: float = 100.0
    wait_reward: float = 0.5
    timeout_reward: float = -1.0
    step_cost: float = 0.01
    shaping_scale: float = 2.0
    bump_penalty: float = 1.0
    #: the literal the GAML model divides the distance by (``world_size * 1.414``, not sqrt(2))
    dist_norm_factor: float = 1.414

    # derived, filled in __post_init__
    obstacle_lo: np.ndarray = field(init=False, repr=False, compare=False)
    obstacle_hi: np.ndarray = field(init=False, repr=False, compare=False)
    ray_offsets: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        centres = np.asarray(self.obstacle_centres, dtype=np.float64).reshape(-1, 2)
        half = self.obstacle_side / 2.0
        object.__setattr__(self, "obstacle_lo", centres - half)
        object.__setattr__(self, "obstacle_hi", centres + half)
        angles = [45.0 * i * (8 / self.n_sensors) for i in range(self.n_sensors)]
        offsets = [(self.sensor_range * math.cos(a * TO_RAD), self.sensor_range * math.sin(a * TO_RAD)) for a in angles]
        object.__setattr__(self, "ray_offsets", np.asarray(offsets, dtype=np.float64))

    @property
    def obs_dim_single(self) -> int:
        return 5 + self.n_sensors

    @property
    def max_distance(self) -> float:
        return self.world_size * self.dist_norm_factor


@dataclass(frozen=True)
class ModelConfig:
    """Which GAML model to simulate: its kind, its foragers' start points and its world."""

    kind: ModelKind
    starts: tuple[tuple[float, float], ...]
    world: WorldConfig = field(default_factory=WorldConfig)

    def __post_init__(self) -> None:
        if self.kind not in ("single", "coop"):
            raise ValueError(f"unknown model kind {self.kind!r}; expected 'single' or 'coop'")
        if self.kind == "single" and len(self.starts) != 1:
            raise ValueError(f"the single-forager model has exactly one start, got {len(self.starts)}")
        if self.kind == "coop" and len(self.starts) < 2:
            raise ValueError(f"the cooperative model needs at least two foragers, got {len(self.starts)}")

    @property
    def n_agents(self) -> int:
        return len(self.starts)

    @property
    def obs_dim(self) -> int:
        return self.world.obs_dim_single + (2 if self.kind == "coop" else 0)

    @property
    def agent_ids(self) -> tuple[str, ...]:
        return tuple(f"forager_{k}" for k in range(self.n_agents))


#: forager_gym.gaml, experiment ``gym_env``: one forager starting at (5, 5).
SINGLE_FORAGER = ModelConfig(kind="single", starts=((5.0, 5.0),))
#: forager_petz.gaml, experiment ``petz_env``: forager_0 at (15, 5), forager_1 at (5, 15).
COOP_FORAGERS = ModelConfig(kind="coop", starts=((15.0, 5.0), (5.0, 15.0)))
