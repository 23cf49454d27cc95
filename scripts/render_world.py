"""Render the README picture of the world with the package's own renderer.

    python scripts/render_world.py [--out sb3_forager/assets/forager_world.png]

Left: the single forager after a few steps toward the food (rays drawn to what they read);
right: the cooperative pair at their starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from sb3_forager.sim import COOP_FORAGERS, SINGLE_FORAGER, ForagerSim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1] / "sb3_forager" / "assets" / "forager_world.png"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()

    single = ForagerSim(SINGLE_FORAGER, 1)
    for _ in range(9):  # head right along the top, then down past the first obstacle cluster
        single.step(np.array([[[1.0, 0.25]]]))
    coop = ForagerSim(COOP_FORAGERS, 1)
    for _ in range(7):
        coop.step(np.array([[[1.0, 0.3], [0.3, 1.0]]]))
    left, right = single.render(0, 400), coop.render(0, 400)
    gap = np.full((400, 8, 3), 255, np.uint8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([left, gap, right], axis=1)).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
