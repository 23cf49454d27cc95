"""Pictures of the forager world: obstacles, food, foragers and what their sensor rays see.

Used by the envs' ``render_mode="rgb_array"``, the evaluation script's GIFs and the README image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .sim.world import TO_RAD, WorldConfig

BACKGROUND = (240, 240, 240)
OBSTACLE = (80, 80, 80)
FOOD = (50, 180, 50)
AT_FOOD = (255, 140, 0)
#: forager colours, as in the GAML aspect: blue, then teal, then a few more for larger teams
FORAGER_COLOURS = ((30, 60, 220), (0, 180, 180), (170, 60, 200), (200, 60, 60), (120, 120, 20))


def render_world(
    world: WorldConfig,
    positions: Sequence[tuple[float, float]],
    sensors: Sequence[Sequence[float]],
    at_food: Sequence[bool],
    step: int,
    size: int = 400,
    trails: Sequence[Sequence[tuple[float, float]]] | None = None,
) -> np.ndarray:
    """Draw one world as an RGB ``uint8`` array of shape (size, size, 3), y axis down as in GAMA.

    Args:
        positions: each forager's (x, y).
        sensors: each forager's 8 sensor readings in [0, 1]; a ray is drawn to where it reads.
        at_food: whether each forager is at the food (drawn orange, as GAMA does).
        step: the step counter, written in a corner.
        trails: optional past positions of each forager, drawn as thin lines.
    """
    scale = size / world.world_size
    img = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(img)

    def px(x: float, y: float) -> tuple[float, float]:
        return (x * scale, y * scale)

    for (lx, ly), (hx, hy) in zip(world.obstacle_lo, world.obstacle_hi):
        draw.rectangle([px(lx, ly), px(hx, hy)], fill=OBSTACLE)
    fx, fy = world.food
    r = world.food_radius * scale
    draw.ellipse([fx * scale - r, fy * scale - r, fx * scale + r, fy * scale + r], fill=FOOD)

    for k, (x, y) in enumerate(positions):
        colour = FORAGER_COLOURS[k % len(FORAGER_COLOURS)]
        if trails is not None and len(trails[k]) > 1:
            draw.line([px(*p) for p in trails[k]], fill=colour, width=1)
        for i, reading in enumerate(sensors[k]):
            angle = 360.0 / len(sensors[k]) * i * TO_RAD
            reach = float(reading) * world.sensor_range
            end = (x + reach * np.cos(angle), y + reach * np.sin(angle))
            ray_colour = (255, 80, 80) if reading < 1.0 else (170, 170, 200)
            draw.line([px(x, y), px(*end)], fill=ray_colour, width=1)
            if reading < 1.0:
                ex, ey = px(*end)
                draw.ellipse([ex - 2, ey - 2, ex + 2, ey + 2], fill=ray_colour)
        body = max(3.0, 1.2 * scale)
        cx, cy = px(x, y)
        fill = AT_FOOD if at_food[k] else colour
        draw.ellipse([cx - body, cy - body, cx + body, cy + body], fill=fill, outline=(0, 0, 0))
    draw.text((5, 5), f"step {step}", fill=(0, 0, 0))
    return np.asarray(img, dtype=np.uint8)
