"""Which unseen random layouts a team policy fails, and why: every failure listed, a few drawn.

python scripts/layout_failures.py MODEL.zip [--squares 6] [--episodes 1000] [--draw N] [--out DIR]
"""
import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecMonitor

from sb3_forager.envs.vec_env import ForagerVecEnv
from sb3_forager.sim import PRESETS, Scenario
from sb3_forager.sim.paths import has_free_path, min_steps_lower_bound, shortest_path_length
from sb3_forager.training.evaluation import record_replay, save_trajectory_png
from sb3_forager.training.train import load_model

from sb3_forager.benchmarks.train import EVAL_SEED  # the training results' evaluation seed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--squares", type=int, default=6)
    p.add_argument("--episodes", type=int, default=1000)
    p.add_argument("--draw", type=int, default=6)
    p.add_argument("--out", default="layout_failures")
    p.add_argument("--seed", type=int, default=EVAL_SEED)
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(a.model)
    sc = Scenario.from_kwargs(PRESETS["team"], obstacles="random", n_obstacles=a.squares)
    n_worlds = 64
    venv = VecMonitor(ForagerVecEnv(n_worlds, sc))
    venv.seed(a.seed)
    torch.manual_seed(a.seed)
    k = sc.n_foragers
    targets = np.array([(a.episodes + w) // n_worlds for w in range(n_worlds)])
    counts = np.zeros(n_worlds, dtype=int)
    obs = venv.reset()
    records = []
    for _ in range(10**6):
        if (counts >= targets).all():
            break
        act, _ = model.predict(obs, deterministic=True)
        obs, rew, dones, infos = venv.step(act)
        for w in np.flatnonzero(np.asarray(dones).reshape(n_worlds, k)[:, 0]):
            if counts[w] >= targets[w]:
                continue
            counts[w] += 1
            si = infos[w * k:(w + 1) * k]
            i0 = si[0]
            starts = [tuple(i["start"]) for i in si]
            obstacles = [tuple(o) for o in i0["obstacles"]]
            food = tuple(i0.get("food", (50.0, 50.0)))
            free = [has_free_path(s, food, obstacles) for s in starts]
            final = [np.asarray(i["terminal_observation"])[:2] * 100 for i in si]
            records.append(dict(
                success=bool(i0.get("is_success")), steps=int(i0.get("episode_steps", -1)),
                arrival=[int(i.get("arrival_step", -1)) for i in si], starts=starts, obstacles=obstacles,
                food=food, free=free, final=[tuple(map(float, f)) for f in final],
                bound=[min_steps_lower_bound(s, food, obstacles) if f else None for s, f in zip(starts, free)],
            ))
    fails = [r for r in records if not r["success"]]
    print(f"{a.squares} squares: {len(records)} episodes, success {100 * (1 - len(fails) / len(records)):.1f} %")
    unsolv = [r for r in fails if not all(r["free"])]
    print(f"  failures: {len(fails)}; with a forager that has no free path: {len(unsolv)}")
    against = cluster = 0
    for r in fails:
        for k2 in (k2 for k2 in range(k) if r["arrival"][k2] < 0):
            x, y = r["final"][k2]
            touching = [c for c in r["obstacles"] if max(abs(x - c[0]), abs(y - c[1])) <= 5.6]
            against += bool(touching)
            cluster += any(o != t and max(abs(o[0] - t[0]), abs(o[1] - t[1])) <= 10.0
                           for t in touching for o in r["obstacles"])  # fmt: skip
    print(f"  stuck foragers ending against a square: {against}; a square that touches or overlaps another: {cluster}")
    solvable = [r for r in records if all(r["free"])]
    sf = [r for r in solvable if not r["success"]]
    print(f"  solvable episodes {len(solvable)}: success {100 * (1 - len(sf) / max(1, len(solvable))):.2f} %")
    for r in sf:
        stuck = [k2 for k2 in range(k) if r["arrival"][k2] < 0]
        d = [math.dist(r["final"][k2], r["food"]) for k2 in stuck]
        sp = [shortest_path_length(r["starts"][k2], r["food"], r["obstacles"]) for k2 in stuck]
        print(f"  fail: stuck {stuck} final {[tuple(round(c, 1) for c in r['final'][k2]) for k2 in stuck]} "
              f"dist to food {[round(x, 1) for x in d]} path {[round(x, 1) for x in sp]} starts {r['starts']}")
    (out / f"failures_{a.squares}.json").write_text(json.dumps(fails, indent=1))
    # draw a few failures: replay each as a fixed scenario
    for j, r in enumerate(sf[: a.draw]):
        fixed = Scenario.from_kwargs(PRESETS["team"], starts=r["starts"], obstacles=r["obstacles"])
        v = VecMonitor(ForagerVecEnv(1, fixed))
        rep = record_replay(model, v, k)
        path = save_trajectory_png(rep, out / f"fail_{a.squares}_{j}.png",
                                   title=f"{a.squares} squares, failure {j}: success {rep.success}, {rep.steps} steps")
        print("  drew", path)


if __name__ == "__main__":
    sys.exit(main())
