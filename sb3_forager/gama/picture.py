"""Pictures of a GAMA world, drawn here from what the model reported (GAMA headless draws none)."""

from __future__ import annotations

import numpy as np

from ..sim import ModelConfig
from .contracts import WorldStep


def render_report(model: ModelConfig, report: WorldStep, step: int, size: int = 400) -> np.ndarray:
    """An RGB picture (size, size, 3) of the world as ``report``'s observations describe it."""
    from ..render import render_world  # PIL only when pictures are asked for

    world = model.world
    n_s = world.n_sensors
    positions = [(float(o[0]) * world.world_size, float(o[1]) * world.world_size) for o in report.obs]
    fx, fy = world.food
    at_food = [bool(np.hypot(fx - x, fy - y) < world.food_radius) for x, y in positions]
    sensors = [list(map(float, o[5 : 5 + n_s])) for o in report.obs]
    return render_world(world, positions=positions, sensors=sensors, at_food=at_food, step=step, size=size)
