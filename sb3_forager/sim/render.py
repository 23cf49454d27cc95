"""Pictures of the forager world: obstacles, food, foragers and what their sensor rays see.

Used by the envs' ``render_mode="rgb_array"`` (and ``"human"``, a pygame window), the evaluation
GIFs and the README image. The world is drawn y-down as in GAMA; a caption bar under it carries
the step counter (and optionally a legend), so no label ever covers a forager.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .world import FOOD as FOOD_CENTRE
from .world import OBSTACLE_CENTRES, TO_RAD, WorldConfig

BACKGROUND = (240, 240, 240)
OBSTACLE = (80, 80, 80)
FOOD = (50, 180, 50)
AT_FOOD = (255, 140, 0)
CAPTION_BG = (255, 255, 255)
#: forager colours, as in the GAML aspect: blue, then teal, then more for larger teams
FORAGER_COLOURS = (
    (30, 60, 220),
    (0, 180, 180),
    (170, 60, 200),
    (200, 60, 60),
    (120, 120, 20),
    (230, 110, 170),
    (90, 90, 90),
    (20, 130, 60),
    (150, 90, 40),
    (60, 160, 230),
)
RAY_HIT = (255, 80, 80)
RAY_FREE = (170, 170, 200)
#: height of the caption bar under the world, in pixels
CAPTION = 22


def forager_colour(k: int) -> tuple[int, int, int]:
    return FORAGER_COLOURS[k % len(FORAGER_COLOURS)]


def render_world(
    world: WorldConfig,
    positions: Sequence[tuple[float, float]],
    sensors: Sequence[Sequence[float]],
    at_food: Sequence[bool],
    step: int,
    size: int = 400,
    trails: Sequence[Sequence[tuple[float, float]]] | None = None,
    obstacles: np.ndarray | None = None,
    food: tuple[float, float] = FOOD_CENTRE,
    starts: Sequence[tuple[float, float]] | None = None,
    caption: str | None = None,
    legend: bool = False,
) -> np.ndarray:
    """Draw one world as an RGB ``uint8`` array of shape (size + CAPTION, size, 3).

    Args:
        positions: each forager's (x, y).
        sensors: each forager's sensor readings in [0, 1]; a ray is drawn to where it reads.
        at_food: whether each forager is at the food (drawn orange, as GAMA does).
        step: the step counter, written in the caption bar.
        trails: optional past positions of each forager, drawn as thin lines.
        obstacles: (M, 4) ``lx, ly, hx, hy`` (default: the tutorial's six squares).
        food: the food centre.
        starts: optional start points, drawn as hollow circles.
        caption: extra text for the caption bar.
        legend: draw the colour legend (forager, at the food, start, ray) in the caption bar.
    """
    from PIL import Image, ImageDraw  # pictures only when asked for

    if obstacles is None:
        obstacles = world.obstacle_boxes(OBSTACLE_CENTRES)
    scale = size / world.world_size
    img = Image.new("RGB", (size, size + CAPTION), BACKGROUND)
    draw = ImageDraw.Draw(img)

    def px(x: float, y: float) -> tuple[float, float]:
        return (x * scale, y * scale)

    for lx, ly, hx, hy in np.asarray(obstacles, dtype=np.float64).reshape(-1, 4):
        draw.rectangle([px(lx, ly), px(hx, hy)], fill=OBSTACLE)
    fx, fy = food
    r = world.food_radius * scale
    draw.ellipse([fx * scale - r, fy * scale - r, fx * scale + r, fy * scale + r], fill=FOOD)

    body = max(3.0, 1.2 * scale)
    for k, start in enumerate(starts or ()):
        cx, cy = px(*start)
        draw.ellipse([cx - body, cy - body, cx + body, cy + body], outline=forager_colour(k), width=2)
    for k, (x, y) in enumerate(positions):
        colour = forager_colour(k)
        if trails is not None and len(trails[k]) > 1:
            draw.line([px(*p) for p in trails[k]], fill=colour, width=1)
        n_rays = len(sensors[k])
        for i, reading in enumerate(sensors[k]):
            angle = 360.0 / n_rays * i * TO_RAD
            reach = float(reading) * world.sensor_range
            end = (x + reach * np.cos(angle), y + reach * np.sin(angle))
            ray_colour = RAY_HIT if reading < 1.0 else RAY_FREE
            draw.line([px(x, y), px(*end)], fill=ray_colour, width=1)
            if reading < 1.0:
                ex, ey = px(*end)
                draw.ellipse([ex - 2, ey - 2, ex + 2, ey + 2], fill=ray_colour)
        cx, cy = px(x, y)
        fill = AT_FOOD if at_food[k] else colour
        draw.ellipse([cx - body, cy - body, cx + body, cy + body], fill=fill, outline=(0, 0, 0))

    # caption bar: the step, the caption, the legend; never over the world
    top = size
    draw.rectangle([0, top, size, top + CAPTION], fill=CAPTION_BG)
    draw.line([0, top, size, top], fill=(160, 160, 160))
    text = f"t = {step}" + (f"  {caption}" if caption else "")
    draw.text((5, top + 5), text, fill=(0, 0, 0))
    if legend:
        x0 = size - 5
        items = [("ray hit", RAY_HIT, "ray"), ("at food", AT_FOOD, "dot"), ("forager", forager_colour(0), "dot")]
        if starts:
            items.insert(0, ("start", forager_colour(0), "ring"))
        for label, colour, kind in items:
            width = int(draw.textlength(label)) + 16
            x0 -= width
            cy = top + CAPTION / 2
            if kind == "ray":
                draw.line([x0, cy, x0 + 10, cy], fill=colour, width=2)
            elif kind == "ring":
                draw.ellipse([x0 + 1, cy - 4, x0 + 9, cy + 4], outline=colour, width=2)
            else:
                draw.ellipse([x0 + 1, cy - 4, x0 + 9, cy + 4], fill=colour, outline=(0, 0, 0))
            draw.text((x0 + 13, top + 5), label, fill=(0, 0, 0))
    return np.asarray(img, dtype=np.uint8)


class HumanWindow:
    """A pygame window showing rendered frames at ``fps`` (``render_mode="human"``).

    pygame is an optional extra: ``pip install "sb3_forager[human]"``. Under a display-less
    machine set ``SDL_VIDEODRIVER=dummy``.
    """

    def __init__(self, title: str = "sb3_forager", fps: int = 10) -> None:
        try:
            import pygame
        except ImportError as exc:
            raise ImportError(
                'render_mode="human" needs pygame: pip install "sb3_forager[human]" (or pip install pygame)'
            ) from exc
        self._pg = pygame
        self.title = title
        self.fps = int(fps)
        self._screen: Any = None
        self._clock: Any = None

    def show(self, frame: np.ndarray) -> None:
        """Display one RGB frame (H, W, 3) and wait for the frame rate."""
        pg = self._pg
        h, w = frame.shape[:2]
        if self._screen is None:
            pg.display.init()
            pg.display.set_caption(self.title)
            self._screen = pg.display.set_mode((w, h))
            self._clock = pg.time.Clock()
        pg.event.pump()  # keep the window responsive
        surface = pg.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
        self._screen.blit(surface, (0, 0))
        pg.display.flip()
        self._clock.tick(self.fps)

    def close(self) -> None:
        if self._screen is not None:
            self._pg.display.quit()
            self._screen = None
