"""Render the README picture of the world with the package's own renderer.

    python scripts/render_world.py [--out sb3_forager/assets/forager_world.png]

Left to right: the single forager after a few steps toward the food (rays drawn to what they read);
the cooperative pair; the stress test's ten foragers at their starts; a pair in a random layout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from sb3_forager.sim import COOP, FORAGER, STRESS, TEAM, ForagerSim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1] / "sb3_forager" / "assets" / "forager_world.png"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()

    single = ForagerSim.for_scenario(FORAGER)
    for _ in range(9):  # head right along the top, then down past the first obstacle cluster
        single.step(np.array([[[1.0, 0.25]]]))
    coop = ForagerSim.for_scenario(COOP)
    for _ in range(7):
        coop.step(np.array([[[1.0, 0.3], [0.3, 1.0]]]))
    stress = ForagerSim.for_scenario(STRESS)
    layout = TEAM.replace(obstacles="random")
    rand = ForagerSim.for_scenario(layout)
    rand.reset(None, [layout.draw(np.random.default_rng(3))])
    panels = [sim.render(0, 300) for sim in (single, coop, stress, rand)]
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    row = [panels[0]]
    for p in panels[1:]:
        row += [gap, p]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(row, axis=1)).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
