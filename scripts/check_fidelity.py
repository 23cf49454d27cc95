#!/usr/bin/env python
"""Check that a GAMA server runs the same model as the embedded simulation.

Runs identical action sequences through the embedded env and the GAMA env, for the single forager
(``gaml/forager_gym.gaml``) and the cooperative pair (``gaml/forager_petz.gaml``), and prints the
largest difference per field (observation, reward, terminated, truncated). Sequences: seeded random
actions (some beyond [-1, 1], which the models use unclipped), pushes into each wall and corner,
drives into every obstacle, and a controller that reaches the food (for the pair: one forager
first, the other later, and one that never comes). Exits with status 1 when a difference is above
the tolerance (default 1e-4: GAMA's JSON rounds floats to 8 decimals).

    python scripts/check_fidelity.py --port 1001        # a GAMA server on this machine
    python scripts/check_fidelity.py --standin          # the tests' GAMA stand-in
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("obs", "reward", "terminated", "truncated")
FOOD = np.array([95.0, 95.0])
OBSTACLES = [(25.0, 25.0), (35.0, 25.0), (25.0, 35.0), (65.0, 45.0), (75.0, 45.0), (75.0, 55.0)]
#: a route from the start area to the food that avoids the obstacles
ROUTE = [(50.0, 10.0), (90.0, 30.0), (95.0, 95.0)]

Policy = Callable[[np.ndarray, int], np.ndarray]  # (positions (K, 2), step) -> actions (K, 2)


# ------------------------------------------------------------------ action sequences
def random_policy(seed: int, scale: float = 1.0) -> Policy:
    rng = np.random.default_rng(seed)
    return lambda pos, t: rng.uniform(-scale, scale, (len(pos), 2))


def segments_policy(segments: list[tuple[int, tuple[float, float]]], seed: int = 0) -> Policy:
    """Constant actions for given numbers of steps (all foragers alike), then random actions."""
    plan = [np.array(a) for n, a in segments for _ in range(n)]
    rng = np.random.default_rng(seed)
    return lambda pos, t: np.tile(plan[t], (len(pos), 1)) if t < len(plan) else rng.uniform(-1, 1, (len(pos), 2))


class Steer:
    """Drive each forager through waypoints with a damped controller (velocity from positions)."""

    def __init__(
        self, routes: list[list[tuple[float, float]]], start_at: list[int] | None = None, reach: float = 3.0
    ) -> None:
        self.routes = [[np.array(p) for p in r] for r in routes]
        self.start_at = start_at or [0] * len(routes)
        self.reach = reach
        self.leg = [0] * len(routes)
        self.prev: np.ndarray | None = None

    def __call__(self, pos: np.ndarray, t: int) -> np.ndarray:
        vel = np.zeros_like(pos) if self.prev is None else pos - self.prev
        self.prev = pos.copy()
        out = np.zeros((len(pos), 2))
        for k, route in enumerate(self.routes):
            if t < self.start_at[k] or not route:
                continue
            while self.leg[k] < len(route) - 1 and np.linalg.norm(route[self.leg[k]] - pos[k]) < self.reach:
                self.leg[k] += 1
            out[k] = np.clip(0.15 * (route[self.leg[k]] - pos[k]) - 0.6 * vel[k], -1.0, 1.0)
        return out


def scenarios(model: str, seed: int, episodes: int) -> Iterator[tuple[str, Policy, int]]:
    """(name, policy, max steps) for ``model`` ("single" or "coop"); policies are fresh per call."""
    full = 400  # more than an episode: run to the end
    for i in range(episodes):
        yield f"random #{i}", random_policy(seed + i), full
    yield "random, actions up to 1.5", random_policy(seed + 1000, scale=1.5), 120
    walls = [
        (20, (-1, 0)),
        (20, (0, -1)),
        (45, (1, 0)),
        (10, (0, -1)),
        (10, (1, -1)),  # top-left, top-right
        (60, (-1, 0)),
        (45, (0, 1)),
        (10, (-1, 1)),
        (30, (1, 0)),
    ]  # back left, bottom-left, along the bottom
    yield "walls and corners", segments_policy(walls, seed), 260
    k = 1 if model == "single" else 2
    for c in OBSTACLES:
        yield f"into obstacle {c}", Steer([[c]] * k, reach=0.0), 80
    if model == "single":
        yield "to the food", Steer([ROUTE]), full
    else:
        yield "forager_0 to the food first", Steer([ROUTE, ROUTE], start_at=[0, 60]), full
        yield "forager_1 to the food first", Steer([ROUTE, ROUTE], start_at=[70, 0]), full
        yield "both to the food", Steer([ROUTE, ROUTE]), full
        yield "one waits until time runs out", Steer([ROUTE, [(5.0, 90.0)]]), full


# ------------------------------------------------------------------ running both envs
@dataclass
class Report:
    """Largest differences per field, per model, and the steps compared."""

    diffs: dict[str, dict[str, float]] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    worst: dict[str, str] = field(default_factory=dict)

    def note(self, model: str, fld: str, value: float, where: str) -> None:
        d = self.diffs.setdefault(model, dict.fromkeys(FIELDS, 0.0))
        if value > d[fld]:
            d[fld] = value
            self.worst[f"{model}/{fld}"] = where

    def largest(self) -> float:
        return max((v for d in self.diffs.values() for v in d.values()), default=0.0)


def _positions(obs: np.ndarray) -> np.ndarray:
    return np.asarray(obs, dtype=np.float64)[:, :2] * 100.0


def compare_single(embedded: Any, gama: Any, policy: Policy, name: str, report: Report, max_steps: int = 400) -> None:
    """Run ``policy`` through both single-forager envs and record the differences."""
    e_obs, _ = embedded.reset(seed=0)
    g_obs, _ = gama.reset(seed=0)
    report.note("single", "obs", float(np.abs(e_obs - g_obs).max()), f"{name}, reset")
    for t in range(max_steps):
        action = policy(_positions(e_obs[None, :]), t)[0]
        e = embedded.step(action)
        g = gama.step(action)
        where = f"{name}, step {t + 1}"
        report.note("single", "obs", float(np.abs(e[0] - g[0]).max()), where)
        report.note("single", "reward", abs(float(e[1]) - float(g[1])), where)
        report.note("single", "terminated", float(bool(e[2]) != bool(g[2])), where)
        report.note("single", "truncated", float(bool(e[3]) != bool(g[3])), where)
        report.steps["single"] = report.steps.get("single", 0) + 1
        e_obs = e[0]
        if e[2] or e[3] or g[2] or g[3]:
            break


def compare_coop(embedded: Any, gama: Any, policy: Policy, name: str, report: Report, max_steps: int = 400) -> None:
    """Run ``policy`` through both cooperative envs and record the differences."""
    agents = list(embedded.possible_agents)
    e_obs, _ = embedded.reset(seed=0)
    g_obs, _ = gama.reset(seed=0)
    report.note("coop", "obs", max(float(np.abs(e_obs[a] - g_obs[a]).max()) for a in agents), f"{name}, reset")
    for t in range(max_steps):
        actions = policy(_positions(np.stack([e_obs[a] for a in agents])), t)
        act = {a: actions[k] for k, a in enumerate(agents) if a in embedded.agents}
        e = embedded.step(act)
        g = gama.step(act)
        where = f"{name}, step {t + 1}"
        if set(e[0]) != set(g[0]):
            report.note("coop", "terminated", 1.0, f"{where}: agents {sorted(e[0])} vs {sorted(g[0])}")
            break
        for a in e[0]:
            report.note("coop", "obs", float(np.abs(e[0][a] - g[0][a]).max()), f"{where}, {a}")
            report.note("coop", "reward", abs(float(e[1][a]) - float(g[1][a])), f"{where}, {a}")
            report.note("coop", "terminated", float(bool(e[2][a]) != bool(g[2][a])), f"{where}, {a}")
            report.note("coop", "truncated", float(bool(e[3][a]) != bool(g[3][a])), f"{where}, {a}")
        report.steps["coop"] = report.steps.get("coop", 0) + 1
        if bool(embedded.agents) != bool(gama.agents):
            report.note("coop", "terminated", 1.0, f"{where}: episode ended on one backend only")
            break
        if not embedded.agents:
            break
        e_obs = e[0]


def check(
    make_gama_single: Callable[[], Any], make_gama_coop: Callable[[], Any], seed: int = 0, episodes: int = 3
) -> Report:
    """Compare both models on every scenario; returns the :class:`Report`."""
    from sb3_forager.envs import ForagerCoopEnv, ForagerEnv

    report = Report()
    gama = make_gama_single()
    try:
        for name, policy, steps in scenarios("single", seed, episodes):
            compare_single(ForagerEnv(), gama, policy, name, report, steps)
    finally:
        gama.close()
    gama = make_gama_coop()
    try:
        for name, policy, steps in scenarios("coop", seed, episodes):
            compare_coop(ForagerCoopEnv(), gama, policy, name, report, steps)
    finally:
        gama.close()
    return report


@contextmanager
def standin() -> Iterator[tuple[str, int]]:
    """The tests' GAMA stand-in, in this process."""
    sys.path.insert(0, str(ROOT / "tests"))
    from gama_standin import GamaStandIn

    with GamaStandIn() as server:
        yield server.host, server.port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="GAMA server host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=1001, help="GAMA server port (default 1001)")
    parser.add_argument("--standin", action="store_true", help="start the tests' GAMA stand-in and check against it")
    parser.add_argument("--gym-gaml", default=None, help="forager_gym.gaml as the server sees it (default: packaged)")
    parser.add_argument("--petz-gaml", default=None, help="forager_petz.gaml as the server sees it (default: packaged)")
    parser.add_argument("--timeout", type=float, default=30.0, help="command timeout in seconds")
    parser.add_argument("--episodes", type=int, default=3, help="random-action episodes per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed difference (default 1e-4)")
    args = parser.parse_args(argv)

    from sb3_forager.gama import GamaForagerCoopEnv, GamaForagerEnv

    def run(host: str, port: int) -> Report:
        return check(
            lambda: GamaForagerEnv(host=host, port=port, gaml_path=args.gym_gaml, timeout=args.timeout),
            lambda: GamaForagerCoopEnv(host=host, port=port, gaml_path=args.petz_gaml, timeout=args.timeout),
            seed=args.seed,
            episodes=args.episodes,
        )

    if args.standin:
        with standin() as (host, port):
            report = run(host, port)
        where = "the GAMA stand-in"
    else:
        report = run(args.host, args.port)
        where = f"the GAMA server at {args.host}:{args.port}"

    print(f"embedded simulation vs {where}: largest difference per field")
    print()
    print("| model | steps | " + " | ".join(FIELDS) + " |")
    print("|---|---:|" + "---:|" * len(FIELDS))
    for model, d in report.diffs.items():
        print(f"| {model} | {report.steps.get(model, 0)} | " + " | ".join(f"{d[f]:.3g}" for f in FIELDS) + " |")
    largest = report.largest()
    print()
    if largest > args.tolerance:
        print(f"FAIL: a difference of {largest:.3g} exceeds the tolerance {args.tolerance:g}")
        for key, where_ in report.worst.items():
            model, fld = key.split("/")
            if report.diffs[model][fld] > args.tolerance:
                print(f"  {key}: {report.diffs[model][fld]:.3g} at {where_}")
        return 1
    print(f"OK: every difference is within {args.tolerance:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
