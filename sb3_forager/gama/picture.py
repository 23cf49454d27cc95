"""Pictures of a GAMA world, drawn here from what the model reported (GAMA headless draws none)."""

from __future__ import annotations

import numpy as np

from ..sim import Episode
from ..sim.world import FOOD, WORLD
from ..sim import StepResult


def render_report(report: StepResult | None, episode: Episode | None, step: int, size: int = 400) -> np.ndarray:
    """An RGB picture of the world as ``report``'s observations describe it, in ``episode``'s layout."""
    from ..sim.render import render_world  # PIL only when pictures are asked for

    if report is None:
        raise ValueError("nothing to draw before the first reset()")
    n_s = WORLD.n_sensors
    positions = [(float(o[0]) * WORLD.world_size, float(o[1]) * WORLD.world_size) for o in report.obs[0]]
    sensors = [list(map(float, o[5 : 5 + n_s])) for o in report.obs[0]]
    obstacles = WORLD.obstacle_boxes(episode.obstacles) if episode is not None and episode.obstacles else None
    if episode is not None and not episode.obstacles:
        obstacles = np.zeros((0, 4))
    food = episode.food if episode is not None else FOOD
    return render_world(
        WORLD,
        positions=positions,
        sensors=sensors,
        at_food=[bool(b) for b in report.at_food[0]],
        step=step,
        size=size,
        obstacles=obstacles,
        food=food,
    )
