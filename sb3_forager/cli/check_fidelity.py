"""``python -m sb3_forager check-fidelity`` (also ``scripts/check_fidelity.py``): check that a GAMA
server runs the same models as the embedded simulation.

Runs identical action sequences through the embedded env and the GAMA env and prints the largest
difference per field (observation, reward, terminated, truncated) for each group of cases:

* ``single``: ``gaml/forager_gym.gaml`` from the tutorial's start: seeded random actions, the Box's
  corners, pushes into each wall and corner, drives into every obstacle, a controller reaching the food;
* ``single-random``: the same model from random starts, in random layouts, and with another food
  and no obstacles (the scenario sent as experiment parameters);
* ``coop``: ``gaml/forager_petz.gaml``, the tutorial pair: the same sequences, one forager at the
  food first, the other later, both together, and one that never comes;
* ``team-random``: the team model with pairs and trios from random starts, in random layouts, with
  either teammate rule;
* ``stress``: ``gaml/forager_petz_stress.gaml``, the ten foragers of the tutorial's stress test:
  random actions, all ten to the food, and from random starts.

Every reset is seeded, so the random draws (starts, layouts) are the same on both backends. Exit
codes: 0 every difference within the tolerance (default 1e-4: GAMA's JSON rounds floats to 8
decimals), 1 a difference above it (the field and where are printed) or a GAMA failure during the
check, 2 bad arguments or no GAMA server to check.

    python -m sb3_forager check-fidelity --port 1001    # a GAMA server on this machine
    python -m sb3_forager check-fidelity --standin      # the tests' GAMA stand-in (source checkout)
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import CliParser, fail, float_arg, int_arg, nonnegative_int, seed_arg, setup_logging

PROG = "check_fidelity.py"
FIELDS = ("obs", "reward", "terminated", "truncated")
#: the groups of cases, in the order they run (and are printed)
GROUPS = ("single", "single-random", "coop", "team-random", "stress")
#: which GAML model each group runs on: gym (forager_gym.gaml), petz (forager_petz.gaml), stress
MODEL_OF = {"single": "gym", "single-random": "gym", "coop": "petz", "team-random": "petz", "stress": "stress"}
FOOD = np.array([95.0, 95.0])
OBSTACLES = [(25.0, 25.0), (35.0, 25.0), (25.0, 35.0), (65.0, 45.0), (75.0, 45.0), (75.0, 55.0)]
#: the time limit of most random-scenario cases (some keep the tutorial's 300)
RANDOM_STEPS = 120
#: a route from the start area to the food that avoids the tutorial's obstacles
ROUTE = [(50.0, 10.0), (90.0, 30.0), (95.0, 95.0)]

Policy = Callable[[np.ndarray, int], np.ndarray]  # (positions (K, 2), step) -> actions (K, 2)

EPILOG = """\
groups of cases (every reset seeded: random starts and layouts are drawn alike on both backends):
  single         forager_gym.gaml from (5, 5): random actions, the Box's corners, walls and corners,
                 into every obstacle, to the food
  single-random  forager_gym.gaml from random starts, in random layouts, another food and no obstacles
  coop           forager_petz.gaml, the tutorial pair: as single, plus one forager first at the food,
                 both together, one that never comes
  team-random    forager_petz.gaml with pairs and trios from random starts, random layouts, both teammate rules
  stress         forager_petz_stress.gaml, the ten foragers: random actions, all to the food, half waiting,
                 from random starts

exit codes: 0 every difference within --tolerance, 1 a difference above it (printed with where it
happened) or a GAMA failure during the check, 2 bad arguments or no GAMA server to check.
"""


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
    """Straight for the food with some noise (bumps into whatever lies in between)."""
    rng = np.random.default_rng(seed)
    return lambda pos, t: np.clip(0.08 * (FOOD - pos) + rng.uniform(-noise, noise, pos.shape), -1.0, 1.0)


# ------------------------------------------------------------------ the cases
@dataclass(frozen=True)
class Case:
    """One comparison: ``policy()`` (a fresh policy) in ``scenario`` for at most ``max_steps`` steps,
    both envs reset with ``seed``."""

    group: str
    name: str
    scenario: Any
    policy: Callable[[], Policy]
    max_steps: int
    seed: int = 0


WALLS = [
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


def cases(groups: tuple[str, ...] = GROUPS, seed: int = 0, episodes: int = 3) -> Iterator[Case]:
    """The cases of ``groups``; ``episodes`` seeded random-action episodes per group."""
    from ..sim import COOP, FORAGER, FORAGER_RANDOM, STRESS, TEAM

    full = 600  # more than any episode: run to the end
    for group in groups:
        if group in ("single", "coop"):
            sc = FORAGER if group == "single" else COOP
            k = sc.n_foragers
            for i in range(episodes):
                yield Case(group, f"random #{i}", sc, lambda i=i: random_policy(seed + i), full)
            yield Case(group, "the Box's corners", sc, lambda: corners_policy(seed + 1000), 120)
            yield Case(group, "walls and corners", sc, lambda: segments_policy(WALLS, seed), 260)
            for c in OBSTACLES:
                yield Case(group, f"into obstacle {c}", sc, lambda c=c, k=k: Steer([[c]] * k, reach=0.0), 80)
            if group == "single":
                yield Case(group, "to the food", sc, lambda: Steer([ROUTE]), full)
            else:
                yield Case(group, "forager_0 to the food first", sc, lambda: Steer([ROUTE, ROUTE], [0, 60]), full)
                yield Case(group, "forager_1 to the food first", sc, lambda: Steer([ROUTE, ROUTE], [70, 0]), full)
                yield Case(group, "both to the food", sc, lambda: Steer([ROUTE, ROUTE]), full)
                yield Case(group, "one waits until time runs out", sc, lambda: Steer([ROUTE, [(5.0, 90.0)]]), full)
        elif group == "single-random":
            # shorter episodes than the tutorial's (the time limit is a scenario parameter too)
            variants = [
                ("random starts", FORAGER_RANDOM.replace(max_steps=RANDOM_STEPS)),
                ("random starts, random layout", FORAGER_RANDOM.replace(obstacles="random", n_obstacles=8)),
                (
                    "fixed start, random layout",
                    FORAGER.replace(obstacles="random", n_obstacles=10, max_steps=RANDOM_STEPS),
                ),
                (
                    "no obstacles, other food",
                    FORAGER_RANDOM.replace(obstacles=(), food=(30.0, 60.0), max_steps=RANDOM_STEPS),
                ),
            ]
            for j, (label, sc) in enumerate(variants):
                for i in range(max(1, episodes)):
                    s = seed + 100 * j + i
                    yield Case(group, f"{label} #{i}, random", sc, lambda s=s: random_policy(s), full, s)
                    yield Case(group, f"{label} #{i}, to the food", sc, lambda s=s: greedy_policy(s), full, s)
        elif group == "team-random":
            variants = [
                ("pair from random starts", TEAM.replace(max_steps=RANDOM_STEPS)),
                ("pair, random layout", TEAM.replace(obstacles="random")),
                (
                    "trio, random layout",
                    TEAM.replace(n_foragers=3, obstacles="random", n_obstacles=9, max_steps=RANDOM_STEPS),
                ),
                ("trio, first teammate", TEAM.replace(n_foragers=3, teammate="first", max_steps=RANDOM_STEPS)),
                ("tutorial pair, random layout", COOP.replace(obstacles="random", max_steps=RANDOM_STEPS)),
            ]
            for j, (label, sc) in enumerate(variants):
                for i in range(max(1, episodes)):
                    s = seed + 100 * j + i
                    yield Case(group, f"{label} #{i}, random", sc, lambda s=s: random_policy(s), full, s)
                    yield Case(group, f"{label} #{i}, to the food", sc, lambda s=s: greedy_policy(s), full, s)
        elif group == "stress":
            k = STRESS.n_foragers
            for i in range(max(1, episodes)):
                yield Case(group, f"random #{i}", STRESS, lambda i=i: random_policy(seed + i), 150)
            yield Case(group, "all ten to the food", STRESS, lambda k=k: Steer([ROUTE] * k), full)
            half = [ROUTE] * (k // 2) + [[]] * (k - k // 2)
            yield Case(group, "half wait until time runs out", STRESS, lambda half=half: Steer(half), full)
            sc = STRESS.replace(starts="random", max_steps=RANDOM_STEPS)
            yield Case(group, "from random starts, to the food", sc, lambda: greedy_policy(seed), full, seed)
        else:
            raise ValueError(f"unknown group {group!r}; the groups are {list(GROUPS)}")


# ------------------------------------------------------------------ running both envs
@dataclass
class Report:
    """Largest differences per field, per group, and the steps compared."""

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


def _positions(obs: np.ndarray) -> np.ndarray:
    return np.asarray(obs, dtype=np.float64)[:, :2] * 100.0


def compare_single(
    embedded: Any,
    gama: Any,
    policy: Policy,
    name: str,
    report: Report,
    max_steps: int = 400,
    group: str = "single",
    seed: int = 0,
) -> None:
    """Run ``policy`` through both single-forager envs (reset with ``seed``) and record the differences."""
    e_obs, _ = embedded.reset(seed=seed)
    g_obs, _ = gama.reset(seed=seed)
    report.note(group, "obs", float(np.abs(e_obs - g_obs).max()), f"{name}, reset")
    for t in range(max_steps):
        action = policy(_positions(e_obs[None, :]), t)[0]
        e = embedded.step(action)
        g = gama.step(action)
        where = f"{name}, step {t + 1}"
        report.note(group, "obs", float(np.abs(e[0] - g[0]).max()), where)
        report.note(group, "reward", abs(float(e[1]) - float(g[1])), where)
        report.note(group, "terminated", float(bool(e[2]) != bool(g[2])), where)
        report.note(group, "truncated", float(bool(e[3]) != bool(g[3])), where)
        report.steps[group] = report.steps.get(group, 0) + 1
        e_obs = e[0]
        if e[2] or e[3] or g[2] or g[3]:
            break


def compare_team(
    embedded: Any,
    gama: Any,
    policy: Policy,
    name: str,
    report: Report,
    max_steps: int = 400,
    group: str = "coop",
    seed: int = 0,
) -> None:
    """Run ``policy`` through both team envs (reset with ``seed``) and record the differences."""
    agents = list(embedded.possible_agents)
    e_obs, _ = embedded.reset(seed=seed)
    g_obs, _ = gama.reset(seed=seed)
    report.note(group, "obs", max(float(np.abs(e_obs[a] - g_obs[a]).max()) for a in agents), f"{name}, reset")
    for t in range(max_steps):
        actions = policy(_positions(np.stack([e_obs[a] for a in agents])), t)
        act = {a: actions[k] for k, a in enumerate(agents) if a in embedded.agents}
        e = embedded.step(act)
        g = gama.step(act)
        where = f"{name}, step {t + 1}"
        if set(e[0]) != set(g[0]):
            report.note(group, "terminated", 1.0, f"{where}: agents {sorted(e[0])} vs {sorted(g[0])}")
            break
        for a in e[0]:
            report.note(group, "obs", float(np.abs(e[0][a] - g[0][a]).max()), f"{where}, {a}")
            report.note(group, "reward", abs(float(e[1][a]) - float(g[1][a])), f"{where}, {a}")
            report.note(group, "terminated", float(bool(e[2][a]) != bool(g[2][a])), f"{where}, {a}")
            report.note(group, "truncated", float(bool(e[3][a]) != bool(g[3][a])), f"{where}, {a}")
        report.steps[group] = report.steps.get(group, 0) + 1
        if bool(embedded.agents) != bool(gama.agents):
            report.note(group, "terminated", 1.0, f"{where}: episode ended on one backend only")
            break
        if not embedded.agents:
            break
        e_obs = e[0]


# kept for callers of the previous script
compare_coop = compare_team

#: ``make_gama(model, scenario)`` -> a GAMA env of ``model`` ("gym", "petz" or "stress") running ``scenario``
GamaFactory = Callable[[str, Any], Any]


def embedded_env(scenario: Any) -> Any:
    """The embedded env of ``scenario`` (Gymnasium for the single forager, else the team env)."""
    from ..envs import ForagerEnv, ForagerTeamEnv

    return ForagerEnv(scenario=scenario) if scenario.rules == "single" else ForagerTeamEnv(scenario=scenario)


def check(
    make_gama: GamaFactory,
    seed: int = 0,
    episodes: int = 3,
    groups: tuple[str, ...] = GROUPS,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Compare the backends on every case of ``groups``; returns the :class:`Report`.

    One GAMA env per scenario (its experiment reloaded per case), closed at the end.
    """
    report = Report()
    envs: dict[tuple[str, Any], Any] = {}
    try:
        for case in cases(tuple(groups), seed, episodes):
            model = MODEL_OF[case.group]
            key = (model, case.scenario)
            if key not in envs:
                envs[key] = make_gama(model, case.scenario)
            compare = compare_single if case.scenario.rules == "single" else compare_team
            compare(
                embedded_env(case.scenario),
                envs[key],
                case.policy(),
                case.name,
                report,
                case.max_steps,
                group=case.group,
                seed=case.seed,
            )
            if progress is not None:
                progress(f"{case.group}: {case.name}")
    finally:
        for env in envs.values():
            env.close()
    return report


def gama_factory(host: str, port: int, timeout: float, gaml: dict[str, str | None]) -> GamaFactory:
    """GAMA envs on ``host:port``; ``gaml`` maps a model to its file as the server sees it (None: packaged)."""
    from ..gama import GamaForagerEnv, GamaTeamEnv

    def make(model: str, scenario: Any) -> Any:
        if model == "gym":
            return GamaForagerEnv(host=host, port=port, gaml_path=gaml.get("gym"), timeout=timeout, scenario=scenario)
        if model == "petz":
            return GamaTeamEnv(host=host, port=port, gaml_path=gaml.get("petz"), timeout=timeout, scenario=scenario)
        return GamaTeamEnv(
            host=host,
            port=port,
            gaml_path=gaml.get("stress"),
            experiment="petz_stress_env",
            gaml_file="forager_petz_stress.gaml",
            timeout=timeout,
            scenario=scenario,
        )

    return make


@contextmanager
def standin() -> Iterator[tuple[str, int]]:
    """The tests' GAMA stand-in, in this process (raises ``StandInUnavailableError`` from a wheel install)."""
    from ..gama.standin import load_standin

    with load_standin().GamaStandIn() as server:
        yield server.host, server.port


# ------------------------------------------------------------------ command line
def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = CliParser(
        prog=prog,
        description="Check that a GAMA server runs the same forager models as the embedded simulation: the "
        "same action sequences through both backends, the largest difference per field.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = p.add_argument_group("the GAMA server")
    where.add_argument("--host", default=None, help="GAMA server host (default 127.0.0.1)")
    where.add_argument(
        "--port", type=int_arg(1, 65535, "a port number"), default=None, help="GAMA server port (default 1001)"
    )
    where.add_argument(
        "--standin",
        action="store_true",
        help="start the tests' GAMA stand-in (tests/gama_standin.py; needs a source checkout) and check against it",
    )
    where.add_argument("--timeout", type=float_arg(0.0), default=30.0, help="command timeout in seconds (default 30)")
    models = p.add_argument_group("the models, as the server sees them (default: the packaged files)")
    models.add_argument("--gym-gaml", default=None, metavar="PATH", help="forager_gym.gaml")
    models.add_argument("--petz-gaml", default=None, metavar="PATH", help="forager_petz.gaml")
    models.add_argument("--stress-gaml", default=None, metavar="PATH", help="forager_petz_stress.gaml")
    p.add_argument(
        "--groups",
        nargs="+",
        choices=GROUPS,
        default=list(GROUPS),
        metavar="GROUP",
        help=f"which groups of cases (default: all of {', '.join(GROUPS)})",
    )
    p.add_argument(
        "--episodes",
        type=nonnegative_int,
        default=3,
        metavar="N",
        help="seeded random-action episodes of the tutorial groups (default 3; the random groups run each variant "
        "max(1, N) times)",
    )
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N", help="seed of the random sequences (default 0)")
    p.add_argument(
        "--tolerance",
        type=float_arg(0.0, low_open=False),
        default=1e-4,
        help="largest allowed difference (default 1e-4)",
    )
    p.add_argument("--verbose", action="store_true", help="print each case as it is done")
    return p


def print_report(report: Report, where: str, tolerance: float) -> bool:
    """Print the table (and the failures); returns whether every difference is within ``tolerance``."""
    print(f"embedded simulation vs {where}: largest difference per field")
    print()
    print("| group | steps | " + " | ".join(FIELDS) + " |")
    print("|---|---:|" + "---:|" * len(FIELDS))
    for group, d in report.diffs.items():
        print(f"| {group} | {report.steps.get(group, 0)} | " + " | ".join(f"{d[f]:.3g}" for f in FIELDS) + " |")
    largest = report.largest()
    print()
    if largest > tolerance:
        print(f"FAIL: a difference of {largest:.3g} exceeds the tolerance {tolerance:g}")
        for key, where_ in report.worst.items():
            group, fld = key.split("/")
            if report.diffs[group][fld] > tolerance:
                print(f"  {key}: {report.diffs[group][fld]:.3g} at {where_}")
        return False
    print(f"OK: every difference is within {tolerance:g}")
    return True


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.standin and (args.host is not None or args.port is not None):
        parser.error("give --standin or --host/--port, not both")
    setup_logging(logging.WARNING)
    from ..gama import GamaConnectionError, GamaConnectionLostError, GamaError
    from ..gama.address import parse_server
    from ..gama.standin import StandInUnavailableError

    gaml = {"gym": args.gym_gaml, "petz": args.petz_gaml, "stress": args.stress_gaml}
    groups = tuple(dict.fromkeys(args.groups))
    progress = (lambda text: print(f"  done: {text}", flush=True)) if args.verbose else None

    def run(host: str, port: int) -> Report:
        return check(gama_factory(host, port, args.timeout, gaml), args.seed, args.episodes, groups, progress)

    try:
        if args.standin:
            try:
                with standin() as (host, port):
                    report = run(host, port)
            except StandInUnavailableError as exc:
                return fail(prog, f"--standin needs a source checkout: {exc}")
            where = "the GAMA stand-in"
        else:
            try:
                host, port = parse_server(f"{args.host or '127.0.0.1'}:{args.port or 1001}")
            except ValueError as exc:
                return fail(prog, str(exc))
            report = run(host, port)
            where = f"the GAMA server at {host}:{port}"
    except GamaConnectionLostError as exc:  # connected, then lost: the check failed on the way
        return fail(prog, f"the check failed: {exc}", code=1)
    except GamaConnectionError as exc:  # nothing to check against
        return fail(prog, str(exc))
    except GamaError as exc:
        return fail(prog, f"the check failed: {exc}", code=1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return 0 if print_report(report, where, args.tolerance) else 1


if __name__ == "__main__":
    sys.exit(main())
