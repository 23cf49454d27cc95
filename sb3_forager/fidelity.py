"""The fidelity check: do a GAMA server's models and the embedded simulation give the same episodes?

Identical action sequences run through an embedded env and a GAMA env of the same model and
scenario, both reset with the same seed (so random starts and layouts are drawn alike), and the
:class:`Report` keeps the largest difference per field (observation, reward, terminated,
truncated) for each group of cases. A group is a model of :mod:`sb3_forager.models`, its cases the
model's preset and variants of it (:data:`CASES` says which).

The envs are made through the package's public constructors (the Gymnasium ids and the PettingZoo
modules of the model table); the command line is :mod:`sb3_forager.cli.check_fidelity`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .models import MODELS, NAMES, Model
from .sim.world import FOOD, OBSTACLE_CENTRES

FIELDS = ("obs", "reward", "terminated", "truncated")
#: the groups of cases, in the order they run (and are printed): one per model
GROUPS: tuple[str, ...] = NAMES
#: the time limit of most random-scenario cases (some keep the tutorial's 300)
RANDOM_STEPS = 120
#: a route from the start area to the food that avoids the tutorial's obstacles
ROUTE = [(50.0, 10.0), (90.0, 30.0), (95.0, 95.0)]
#: constant pushes (steps, action): back left, up, along the top, the top corners, back left, down,
#: the bottom-left corner, along the bottom
WALLS = [(20, (-1, 0)), (20, (0, -1)), (45, (1, 0)), (10, (0, -1)), (10, (1, -1)),
         (60, (-1, 0)), (45, (0, 1)), (10, (-1, 1)), (30, (1, 0))]  # fmt: skip

#: what each group's cases do, for the command line's help
CASES: dict[str, str] = {
    "forager": "the tutorial's single forager from (5, 5): random actions, the Box's corners, walls and corners, "
    "into every obstacle, to the food",
    "forager-random": "the same GAML model from random starts, in random layouts, another food and no obstacles "
    "(the scenario sent as experiment parameters)",
    "coop": "the tutorial pair: as forager, plus one forager first at the food, both together, one that never comes",
    "team": "pairs and trios from random starts, in random layouts, both teammate rules",
    "stress": "the stress test's ten foragers: random actions, all to the food, half waiting, from random starts",
}

Policy = Callable[[np.ndarray, int], np.ndarray]  # (positions (K, 2), step) -> actions (K, 2)


# ------------------------------------------------------------------ action sequences
def random_policy(seed: int) -> Policy:
    """Uniform actions in the Box."""
    rng = np.random.default_rng(seed)
    return lambda pos, t: rng.uniform(-1.0, 1.0, (len(pos), 2))


def corners_policy(seed: int) -> Policy:
    """Actions at the Box's corners (the largest the models take)."""
    rng = np.random.default_rng(seed)
    return lambda pos, t: rng.choice([-1.0, 1.0], (len(pos), 2))


def segments_policy(segments: list[tuple[int, tuple[float, float]]], seed: int = 0) -> Policy:
    """Constant actions for given numbers of steps (all foragers alike), then random actions."""
    plan = [np.array(a, dtype=np.float64) for n, a in segments for _ in range(n)]
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


def greedy_policy(seed: int, noise: float = 0.5) -> Policy:
    """Straight for the tutorial's food with some noise (bumps into whatever lies in between)."""
    rng = np.random.default_rng(seed)
    food = np.asarray(FOOD)
    return lambda pos, t: np.clip(0.08 * (food - pos) + rng.uniform(-noise, noise, pos.shape), -1.0, 1.0)


# ------------------------------------------------------------------ the cases
@dataclass(frozen=True)
class Case:
    """One comparison: ``policy()`` (a fresh policy) in ``scenario`` for at most ``max_steps`` steps,
    both envs of model ``group`` reset with ``seed``."""

    group: str
    name: str
    scenario: Any
    policy: Callable[[], Policy]
    max_steps: int
    seed: int = 0

    @property
    def model(self) -> Model:
        return MODELS[self.group]


def _random_variants(group: str, variants: list[tuple[str, Any]], seed: int, episodes: int) -> Iterator[Case]:
    """Random actions and a greedy drive to the food, ``max(1, episodes)`` seeds per variant."""
    for j, (label, sc) in enumerate(variants):
        for i in range(max(1, episodes)):
            s = seed + 100 * j + i
            yield Case(group, f"{label} #{i}, random", sc, lambda s=s: random_policy(s), 600, s)
            yield Case(group, f"{label} #{i}, to the food", sc, lambda s=s: greedy_policy(s), 600, s)


def cases(groups: tuple[str, ...] = GROUPS, seed: int = 0, episodes: int = 3) -> Iterator[Case]:
    """The cases of ``groups``; ``episodes`` seeded random-action episodes per tutorial group."""
    full, n = 600, RANDOM_STEPS  # more than any episode: run to the end; shorter random episodes
    forager, forager_random, coop, team, stress = (MODELS[name].scenario for name in NAMES)
    for group in groups:
        if group in ("forager", "coop"):
            sc = MODELS[group].scenario
            k = sc.n_foragers
            for i in range(episodes):
                yield Case(group, f"random #{i}", sc, lambda i=i: random_policy(seed + i), full)
            yield Case(group, "the Box's corners", sc, lambda: corners_policy(seed + 1000), 120)
            yield Case(group, "walls and corners", sc, lambda: segments_policy(WALLS, seed), 260)
            for c in OBSTACLE_CENTRES:
                yield Case(group, f"into obstacle {c}", sc, lambda c=c, k=k: Steer([[c]] * k, reach=0.0), 80)
            if group == "forager":
                yield Case(group, "to the food", sc, lambda: Steer([ROUTE]), full)
            else:
                yield Case(group, "forager_0 to the food first", sc, lambda: Steer([ROUTE, ROUTE], [0, 60]), full)
                yield Case(group, "forager_1 to the food first", sc, lambda: Steer([ROUTE, ROUTE], [70, 0]), full)
                yield Case(group, "both to the food", sc, lambda: Steer([ROUTE, ROUTE]), full)
                yield Case(group, "one waits until time runs out", sc, lambda: Steer([ROUTE, [(5.0, 90.0)]]), full)
        elif group == "forager-random":  # shorter episodes than the tutorial's (a scenario parameter too)
            yield from _random_variants(group, [
                ("random starts", forager_random.replace(max_steps=n)),
                ("random starts, random layout", forager_random.replace(obstacles="random", n_obstacles=8)),
                ("fixed start, random layout", forager.replace(obstacles="random", n_obstacles=10, max_steps=n)),
                ("no obstacles, other food", forager_random.replace(obstacles=(), food=(30.0, 60.0), max_steps=n)),
            ], seed, episodes)  # fmt: skip
        elif group == "team":
            yield from _random_variants(group, [
                ("pair from random starts", team.replace(max_steps=n)),
                ("pair, random layout", team.replace(obstacles="random")),
                ("trio, random layout", team.replace(n_foragers=3, obstacles="random", n_obstacles=9, max_steps=n)),
                ("trio, first teammate", team.replace(n_foragers=3, teammate="first", max_steps=n)),
                ("tutorial pair, random layout", coop.replace(obstacles="random", max_steps=n)),
            ], seed, episodes)  # fmt: skip
        elif group == "stress":
            k = stress.n_foragers
            for i in range(max(1, episodes)):
                yield Case(group, f"random #{i}", stress, lambda i=i: random_policy(seed + i), 150)
            yield Case(group, "all ten to the food", stress, lambda k=k: Steer([ROUTE] * k), full)
            half = [ROUTE] * (k // 2) + [[]] * (k - k // 2)
            yield Case(group, "half wait until time runs out", stress, lambda half=half: Steer(half), full)
            sc = stress.replace(starts="random", max_steps=n)
            yield Case(group, "from random starts, to the food", sc, lambda: greedy_policy(seed), full, seed)
        else:
            raise ValueError(f"unknown group {group!r}; the groups are {list(GROUPS)}")


# ------------------------------------------------------------------ the report
@dataclass
class Report:
    """Largest differences per field, per group, where each happened, and the steps compared."""

    diffs: dict[str, dict[str, float]] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    worst: dict[str, str] = field(default_factory=dict)

    def note(self, group: str, fld: str, value: float, where: str) -> None:
        d = self.diffs.setdefault(group, dict.fromkeys(FIELDS, 0.0))
        if not value <= d[fld]:  # NaN counts as a difference
            d[fld] = float("inf") if math.isnan(value) else value
            self.worst[f"{group}/{fld}"] = where

    def largest(self) -> float:
        return max((v for d in self.diffs.values() for v in d.values()), default=0.0)

    def summary(self, where: str, tolerance: float) -> tuple[str, bool]:
        """The markdown table (and the failures) as text, and whether every difference is within ``tolerance``."""
        lines = [f"embedded simulation vs {where}: largest difference per field", ""]
        lines += ["| group | steps | " + " | ".join(FIELDS) + " |", "|---|---:|" + "---:|" * len(FIELDS)]
        for group, d in self.diffs.items():
            cells = [str(self.steps.get(group, 0))] + [f"{d[f]:.3g}" for f in FIELDS]
            lines.append(f"| {group} | " + " | ".join(cells) + " |")
        lines.append("")
        largest = self.largest()
        if largest <= tolerance:
            return "\n".join(lines + [f"OK: every difference is within {tolerance:g}"]), True
        lines.append(f"FAIL: a difference of {largest:.3g} exceeds the tolerance {tolerance:g}")
        for key, at in self.worst.items():
            group, fld = key.split("/")
            if self.diffs[group][fld] > tolerance:
                lines.append(f"  {key}: {self.diffs[group][fld]:.3g} at {at}")
        return "\n".join(lines), False


# ------------------------------------------------------------------ running both envs
def _positions(obs: np.ndarray) -> np.ndarray:
    return np.asarray(obs, dtype=np.float64)[:, :2] * 100.0


def compare(
    embedded: Any, gama: Any, policy: Policy, name: str, report: Report, max_steps: int = 400,
    group: str = "forager", seed: int = 0,
) -> None:  # fmt: skip
    """Run ``policy`` through both envs of model ``group`` (single-forager Gymnasium envs, or team
    PettingZoo parallel envs), both reset with ``seed``, and record the differences."""
    team = MODELS[group].is_team
    agents = list(embedded.possible_agents) if team else [None]

    def per_agent(value: Any) -> dict:  # a team's {agent: value}; a single forager's value as {None: value}
        return value if team else {None: value}

    e_obs, g_obs = per_agent(embedded.reset(seed=seed)[0]), per_agent(gama.reset(seed=seed)[0])
    report.note(group, "obs", max(float(np.abs(e_obs[a] - g_obs[a]).max()) for a in agents), f"{name}, reset")
    for t in range(max_steps):
        actions = policy(_positions(np.stack([e_obs[a] for a in agents])), t)
        act = {a: actions[k] for k, a in enumerate(agents) if a in embedded.agents} if team else actions[0]
        e, g = [[per_agent(value) for value in env.step(act)[:4]] for env in (embedded, gama)]
        where = f"{name}, step {t + 1}"
        if set(e[0]) != set(g[0]):
            report.note(group, "terminated", 1.0, f"{where}: agents {sorted(e[0])} vs {sorted(g[0])}")
            break
        for a in e[0]:
            at = f"{where}, {a}" if team else where
            report.note(group, "obs", float(np.abs(e[0][a] - g[0][a]).max()), at)
            report.note(group, "reward", abs(float(e[1][a]) - float(g[1][a])), at)
            report.note(group, "terminated", float(bool(e[2][a]) != bool(g[2][a])), at)
            report.note(group, "truncated", float(bool(e[3][a]) != bool(g[3][a])), at)
        report.steps[group] = report.steps.get(group, 0) + 1
        if not team:
            if e[2][None] or e[3][None] or g[2][None] or g[3][None]:
                break
        elif bool(embedded.agents) != bool(gama.agents):
            report.note(group, "terminated", 1.0, f"{where}: episode ended on one backend only")
            break
        elif not embedded.agents:
            break
        e_obs = e[0]


def make_env(model: Model, scenario: Any, gama: Mapping[str, Any] | None = None) -> Any:
    """The env of ``model`` running ``scenario``: embedded, or on GAMA with the connection keywords
    ``gama`` (``host``, ``port``, ``gaml_path``, ``timeout``, ...); a Gymnasium env (unwrapped) for a
    single forager, a PettingZoo ParallelEnv for a team."""
    if model.is_team:
        module = importlib.import_module(f"sb3_forager.{model.pettingzoo_module}")
        return module.parallel_env(backend="gama" if gama else "embedded", scenario=scenario, **(gama or {}))
    import gymnasium as gym

    # the single-forager ids that take any scenario: the tutorial model's
    row = next(m for m in MODELS.values() if m.gaml_file == model.gaml_file and m.gama_gym_id)
    env_id = row.gama_gym_id if gama else row.gym_id
    return gym.make(env_id, scenario=scenario, disable_env_checker=True, **(gama or {})).unwrapped


#: ``make_gama(model, scenario)`` -> a GAMA env of ``model`` running ``scenario``
GamaFactory = Callable[[Model, Any], Any]


def gama_factory(
    host: str, port: int, timeout: float = 30.0, gaml_paths: Mapping[str, str | None] | None = None,
    worlds_per_sim: int | None = None,
) -> GamaFactory:
    """GAMA envs on ``host:port``; ``gaml_paths`` maps a GAML file of :data:`sb3_forager.models.GAML_FILES`
    to its path as the server sees it (missing or None: the packaged file)."""
    paths = dict(gaml_paths or {})

    def make(model: Model, scenario: Any) -> Any:
        gama = dict(host=host, port=port, gaml_path=paths.get(model.gaml_file), timeout=timeout)
        if worlds_per_sim is not None:  # the env's one world in the W-world experiment (its own GAML file)
            gama.update(worlds_per_sim=worlds_per_sim, gaml_path=None)
        return make_env(model, scenario, gama)

    return make


def check(
    make_gama: GamaFactory,
    seed: int = 0,
    episodes: int = 3,
    groups: tuple[str, ...] = GROUPS,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Compare the backends on every case of ``groups``; returns the :class:`Report`.

    One GAMA env per model and scenario (its experiment reloaded per case), closed at the end.
    """
    report = Report()
    envs: dict[tuple[str, Any], Any] = {}
    try:
        for case in cases(tuple(groups), seed, episodes):
            key = (case.group, case.scenario)
            if key not in envs:
                envs[key] = make_gama(case.model, case.scenario)
            embedded = make_env(case.model, case.scenario)
            compare(embedded, envs[key], case.policy(), case.name, report, case.max_steps, case.group, case.seed)
            if progress is not None:
                progress(f"{case.group}: {case.name}")
    finally:
        for env in envs.values():
            env.close()
    return report
