"""Which unseen random layouts a team policy fails, and why: ``python scripts/layout_failures.py MODEL``.

:func:`find_failures` plays episodes of pairs in random layouts of ``n_squares`` squares (seeded as
the training results' evaluations), keeps every failed one (starts, squares, where each forager
ended, whether it had a free path), and :func:`stuck_against_clusters` counts the stuck foragers
that ended against a square, and against one that touches or overlaps another (a pocket or notch).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..sim import PRESETS, Scenario
from ..sim.paths import has_free_path, shortest_path_length
from ..sim.world import WORLD

#: the seed of the training results' evaluations (``bench train``), never a training seed
EVAL_SEED = 987_654_321


@dataclass
class Failure:
    """One failed episode: each forager's start, arrival step (-1: never), end point, free path."""

    starts: list[tuple[float, float]]
    obstacles: list[tuple[float, float]]
    food: tuple[float, float]
    arrival: list[int]
    final: list[tuple[float, float]]
    free_path: list[bool]

    def stuck(self) -> list[int]:
        return [k for k, a in enumerate(self.arrival) if a < 0]


def find_failures(
    model: Any, n_squares: int = 6, episodes: int = 1000, seed: int = EVAL_SEED, n_worlds: int = 64
) -> tuple[int, list[Failure]]:
    """``(episodes played, the failed ones)`` of ``model`` (deterministic) on pairs from random
    starts in layouts of ``n_squares`` random squares."""
    import torch
    from stable_baselines3.common.vec_env import VecMonitor

    from ..envs.vec_env import ForagerVecEnv

    scenario = Scenario.from_kwargs(PRESETS["team"], obstacles="random", n_obstacles=n_squares)
    n_worlds = min(n_worlds, episodes)
    venv = VecMonitor(ForagerVecEnv(n_worlds, scenario))
    venv.seed(seed)
    torch.manual_seed(seed)
    k = scenario.n_foragers
    targets = np.array([(episodes + w) // n_worlds for w in range(n_worlds)])
    counts = np.zeros(n_worlds, dtype=np.int64)
    obs, failures = venv.reset(), []
    while not (counts >= targets).all():
        actions, _ = model.predict(obs, deterministic=True)
        obs, _, dones, infos = venv.step(actions)
        for w in np.flatnonzero(np.asarray(dones).reshape(n_worlds, k)[:, 0]).tolist():
            if counts[w] >= targets[w]:
                continue
            counts[w] += 1
            slot = infos[w * k : (w + 1) * k]
            if slot[0].get("is_success"):
                continue
            obstacles = [tuple(map(float, c)) for c in slot[0]["obstacles"]]
            food = tuple(map(float, slot[0]["food"]))
            starts = [tuple(map(float, i["start"])) for i in slot]
            failures.append(Failure(
                starts, obstacles, food, [int(i["arrival_step"]) for i in slot],  # type: ignore[arg-type]
                [tuple(float(v) * WORLD.world_size for v in i["terminal_observation"][:2]) for i in slot],
                [has_free_path(s, food, obstacles) for s in starts],
            ))  # fmt: skip
    venv.close()
    return int(counts.sum()), failures


def stuck_against_clusters(failures: list[Failure]) -> tuple[int, int, int]:
    """``(stuck foragers, of them ending against a square, against one touching or overlapping
    another)``; a forager is against a square when within 0.6 of its edge (the walls clamp at 0.5)."""
    half = WORLD.obstacle_side / 2.0
    stuck = against = clustered = 0
    for f in failures:
        for k in f.stuck():
            stuck += 1
            x, y = f.final[k]
            touching = [c for c in f.obstacles if max(abs(x - c[0]), abs(y - c[1])) <= half + 0.6]
            against += bool(touching)
            clustered += any(
                o != t and max(abs(o[0] - t[0]), abs(o[1] - t[1])) <= 2 * half for t in touching for o in f.obstacles
            )
    return stuck, against, clustered


def draw(model: Any, failure: Failure, path: str | Path, title: str = "") -> Path:
    """Replay ``failure``'s layout and starts with ``model`` (deterministic) and draw the trajectories."""
    from stable_baselines3.common.vec_env import VecMonitor

    from ..envs.vec_env import ForagerVecEnv
    from .evaluation import record_replay, save_trajectory_png

    fixed = Scenario.from_kwargs(PRESETS["team"], starts=failure.starts, obstacles=failure.obstacles)
    replay = record_replay(model, VecMonitor(ForagerVecEnv(1, fixed)), fixed.n_foragers)
    return save_trajectory_png(replay, path, title=title or f"success {replay.success}, {replay.steps} steps")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="layout_failures.py", description=__doc__.splitlines()[0])
    p.add_argument("model", help="a model zip of a team policy")
    p.add_argument("--squares", type=int, default=6, help="random squares per layout (6)")
    p.add_argument("--episodes", type=int, default=1000, help="episodes (1000)")
    p.add_argument("--draw", type=int, default=4, help="how many failures to draw (4)")
    p.add_argument("--out", default="layout_failures", help="folder of the drawings and failures.json")
    args = p.parse_args(argv)
    import json

    from .train import load_model

    model = load_model(args.model)
    played, failures = find_failures(model, args.squares, args.episodes)
    print(f"{args.squares} squares: {played} episodes, team success {100 * (1 - len(failures) / played):.1f} %, "
          f"{len(failures)} failed, {sum(not all(f.free_path) for f in failures)} with a forager that had no free path")  # fmt: skip
    stuck, against, clustered = stuck_against_clusters(failures)
    print(f"stuck foragers: {stuck}; ending against a square: {against}; "
          f"against a square that touches or overlaps another: {clustered}")  # fmt: skip
    for f in failures:
        for k in f.stuck():
            path = shortest_path_length(f.starts[k], f.food, f.obstacles)
            print(f"  forager_{k} from {tuple(round(v, 1) for v in f.starts[k])} ended at "
                  f"{tuple(round(v, 1) for v in f.final[k])}, {math.dist(f.final[k], f.food):.1f} from the food "
                  f"(shortest free path from its start {path:.1f})")  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "failures.json").write_text(json.dumps([asdict(f) for f in failures], indent=1))
    for j, f in enumerate(failures[: args.draw]):
        print("drew", draw(model, f, out / f"failure_{args.squares}_{j}.png", f"{args.squares} squares, failure {j}"))
    return 0
