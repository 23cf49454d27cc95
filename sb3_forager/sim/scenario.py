"""Scenarios: which world an episode runs in (starts, obstacles, food, length, team), in one place.

A :class:`Scenario` is validated once, when it is made; :meth:`Scenario.draw` turns it into the
concrete :class:`Episode` of one reset (drawing random starts or layouts from the env's generator,
applying ``reset(options=...)``), validated again where the draw or the options could make it
invalid. The core, every env adapter and the GAMA bridge take their worlds from here, so the same
seed gives the same episode everywhere. The random draws, in their order and with their calls:
``docs/model.md``, section "Scenario family".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..common.checks import Point, integer, point, points
from .paths import has_free_path, square_containing
from .world import FOOD, OBSTACLE_CENTRES, WORLD

Rules = Literal["single", "team"]

RANDOM = "random"
RULES: tuple[str, ...] = ("single", "team")
TEAMMATES: tuple[str, ...] = ("first", "nearest")
#: the keys ``reset(options=...)`` understands
OPTION_KEYS: tuple[str, ...] = ("starts", "obstacles")
#: keys accepted and ignored: PettingZoo's ``api_test``/``parallel_api_test`` check that reset takes
#: options by passing ``options={"options": 1}``; any other unknown key is an error
IGNORED_OPTION_KEYS: tuple[str, ...] = ("options",)

SINGLE_START: tuple[Point, ...] = ((5.0, 5.0),)
PAIR_STARTS: tuple[Point, ...] = ((15.0, 5.0), (5.0, 15.0))
#: the tutorial's step-16 stress test, forager_0 .. forager_9
STRESS_STARTS: tuple[Point, ...] = (
    (5.0, 5.0),
    (15.0, 5.0),
    (5.0, 15.0),
    (50.0, 5.0),
    (5.0, 50.0),
    (50.0, 50.0),
    (5.0, 85.0),
    (50.0, 85.0),
    (85.0, 5.0),
    (85.0, 50.0),
)
MAX_STEPS = 300
STRESS_MAX_STEPS = 500

#: random obstacle centres are drawn in this square, at least this far from the food centre
OBSTACLE_AREA = (10.0, 90.0)
OBSTACLE_FOOD_CLEARANCE = 15.0
#: random starts are drawn in the walls' square, at least this far from the food centre
START_AREA = (WORLD.wall_lo, WORLD.wall_hi)
START_FOOD_CLEARANCE = 10.0
#: draws give up after this many rejections (a scenario that can never be satisfied)
MAX_DRAWS = 10_000
#: at most this many obstacles (the kernels' arrays grow with the largest layout)
MAX_OBSTACLES = 256
MAX_FORAGERS = 1024


@dataclass(frozen=True)
class Episode:
    """One reset's concrete world: every value explicit."""

    starts: tuple[Point, ...]
    obstacles: tuple[Point, ...]
    food: Point
    max_steps: int

    @property
    def n_foragers(self) -> int:
        return len(self.starts)


def start_problem(p: Point, obstacles: Sequence[Point], food: Point) -> str | None:
    """Why ``p`` cannot be a start among ``obstacles`` (None: it can)."""
    lo, hi = START_AREA
    if not (lo <= p[0] <= hi and lo <= p[1] <= hi):
        return f"is outside the world's free square [{lo:g}, {hi:g}]^2"
    b = square_containing(p, obstacles)
    if b >= 0:
        return f"is inside (or on the edge of) the obstacle centred at {tuple(obstacles[b])}"
    if not has_free_path(p, food, obstacles):
        return f"has no obstacle-free path to the food at {tuple(food)}"
    return None


# ---------------------------------------------------------------------- scenario
@dataclass(frozen=True)
class Scenario:
    """A family of episodes (the random draws: ``docs/model.md``, section "Scenario family").

    Args:
        rules: ``"single"`` (forager_gym.gaml: one forager, Gymnasium) or ``"team"``
            (forager_petz.gaml: N >= 2 foragers acting in turn, PettingZoo).
        n_foragers: 1 for ``"single"``; N >= 2 for ``"team"``.
        starts: one ``(x, y)`` per forager, or ``"random"``.
        obstacles: centres of the closed 10 x 10 squares, or ``"random"`` (``n_obstacles`` of them).
        n_obstacles: how many random obstacles.
        food: the food centre (radius 5).
        max_steps: the episode length (the GAML ``max_steps``).
        teammate: ``"first"`` (the tutorial pair's rule) or ``"nearest"``; team rules only.
    """

    rules: Rules = "single"
    n_foragers: int = 1
    starts: tuple[Point, ...] | str = SINGLE_START
    obstacles: tuple[Point, ...] | str = OBSTACLE_CENTRES
    n_obstacles: int = len(OBSTACLE_CENTRES)
    food: Point = FOOD
    max_steps: int = MAX_STEPS
    teammate: str = "first"

    def __post_init__(self) -> None:
        if self.rules not in RULES:
            raise ValueError(f"rules must be one of {list(RULES)}, got {self.rules!r}")
        set_ = object.__setattr__
        n = integer(self.n_foragers, "n_foragers", 1, MAX_FORAGERS)
        if self.rules == "single" and n != 1:
            raise ValueError(f"the single-forager model has exactly one forager, got n_foragers={n}")
        if self.rules == "team" and n < 2:
            raise ValueError(f"a team needs n_foragers >= 2, got {n}")
        set_(self, "n_foragers", n)
        if self.teammate not in TEAMMATES:
            raise ValueError(f"teammate must be one of {list(TEAMMATES)}, got {self.teammate!r}")
        set_(self, "food", point(self.food, "food"))
        lo, hi = START_AREA
        if not (lo <= self.food[0] <= hi and lo <= self.food[1] <= hi):
            raise ValueError(f"food must lie in [{lo:g}, {hi:g}]^2, got {self.food}")
        set_(self, "max_steps", integer(self.max_steps, "max_steps", 1))
        set_(self, "n_obstacles", integer(self.n_obstacles, "n_obstacles", 0, MAX_OBSTACLES))
        if isinstance(self.obstacles, str):
            if self.obstacles != RANDOM:
                raise ValueError(f"obstacles must be a list of [x, y] centres or {RANDOM!r}, got {self.obstacles!r}")
        else:
            set_(self, "obstacles", points(self.obstacles, "obstacles", MAX_OBSTACLES))
            b = square_containing(self.food, self.obstacles)
            if b >= 0:
                raise ValueError(f"the food at {self.food} is inside the obstacle centred at {self.obstacles[b]}")
        if isinstance(self.starts, str):
            if self.starts != RANDOM:
                raise ValueError(f"starts must be a list of [x, y] points or {RANDOM!r}, got {self.starts!r}")
        else:
            starts = points(self.starts, "starts", MAX_FORAGERS)
            if len(starts) != n:
                raise ValueError(f"starts: expected {n} point(s), one per forager, got {len(starts)}")
            set_(self, "starts", starts)
            if not isinstance(self.obstacles, str):
                self._check_starts(starts, self.obstacles, "starts")
        fixed = None if self.is_random else Episode(self.starts, self.obstacles, self.food, self.max_steps)  # type: ignore[arg-type]
        set_(self, "_cache", fixed)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_kwargs(cls, base: Scenario, **kwargs: Any) -> Scenario:
        """``base`` with the scenario keyword arguments of an env replaced (None: keep ``base``'s).

        An unknown name raises ``TypeError`` in Python's own wording ("... got an unexpected keyword
        argument 'x'"), which wrappers such as TorchRL's ``GymEnv`` recognise to drop what they tried."""
        names = {f.name for f in dataclasses.fields(cls)} - {"rules"}
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            raise TypeError(
                f"{cls.__name__}() got an unexpected keyword argument {unknown[0]!r}"
                f" (the scenario arguments are {', '.join(sorted(names))})"
            )
        given = {k: v for k, v in kwargs.items() if v is not None}
        if "n_foragers" in given and "starts" not in given and not isinstance(base.starts, str):
            if integer(given["n_foragers"], "n_foragers", 1) != base.n_foragers:
                raise ValueError(
                    f"n_foragers={given['n_foragers']} needs starts too (the default starts are for "
                    f"{base.n_foragers} foragers), e.g. starts='random'"
                )
        if (
            "starts" in given
            and "n_foragers" not in given
            and not isinstance(given["starts"], str)
            and base.rules == "team"
        ):
            try:
                given["n_foragers"] = len(given["starts"])
            except TypeError:
                pass  # rejected with a clear message by the validation
        return dataclasses.replace(base, **given)

    def replace(self, **kwargs: Any) -> Scenario:
        return dataclasses.replace(self, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (YAML/JSON friendly); ``Scenario(**d)`` gives it back."""
        d = dataclasses.asdict(self)
        for key in ("starts", "obstacles"):
            if not isinstance(d[key], str):
                d[key] = [list(p) for p in d[key]]
        d["food"] = list(d["food"])
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown scenario key(s) {unknown}; expected some of {sorted(names)}")
        return cls(**dict(data))

    # ------------------------------------------------------------------ properties
    @property
    def random_starts(self) -> bool:
        return isinstance(self.starts, str)

    @property
    def random_obstacles(self) -> bool:
        return isinstance(self.obstacles, str)

    @property
    def is_random(self) -> bool:
        return self.random_starts or self.random_obstacles

    @property
    def agent_ids(self) -> tuple[str, ...]:
        return tuple(f"forager_{k}" for k in range(self.n_foragers))

    @property
    def obs_dim(self) -> int:
        return WORLD.obs_dim_single if self.rules == "single" else WORLD.obs_dim_team

    # ------------------------------------------------------------------ episodes
    def draw(self, rng: np.random.Generator | None = None, options: Mapping[str, Any] | None = None) -> Episode:
        """The episode of one reset: this scenario's values, random parts drawn from ``rng``,
        ``options`` (``{"starts": [[x, y], ...], "obstacles": [[cx, cy], ...]}``) applied.

        Raises ``ValueError`` naming the problem (unknown option, wrong count, a start inside an
        obstacle or outside [1, 99]^2, a non-finite number) before anything is drawn.
        """
        starts_opt, obstacles_opt = self._parse_options(options)
        if starts_opt is None and obstacles_opt is None and self._cache is not None:
            return self._cache
        draws = (starts_opt is None and self.random_starts) or (obstacles_opt is None and self.random_obstacles)
        if draws and rng is None:
            raise ValueError("this scenario draws random values: give it a numpy Generator")
        obstacles: tuple[Point, ...] | None = obstacles_opt
        if obstacles is None and not self.random_obstacles:
            obstacles = self.obstacles  # type: ignore[assignment]
        starts = starts_opt if starts_opt is not None else (None if self.random_starts else self.starts)
        if obstacles is not None:
            if starts is not None:
                self._check_starts(starts, obstacles, "options['starts']" if starts_opt else "starts")  # type: ignore[arg-type]
            else:
                starts = self._draw_starts(rng, obstacles)  # type: ignore[arg-type]
        elif starts is not None:  # fixed starts, random layout: redraw the layout until they fit
            for _ in range(MAX_DRAWS):
                obstacles = self._draw_obstacles(rng)  # type: ignore[arg-type]
                if all(start_problem(p, obstacles, self.food) is None for p in starts):  # type: ignore[union-attr]
                    break
            else:
                raise ValueError(f"no random layout of {self.n_obstacles} obstacles leaves the starts {starts} free")
        else:
            obstacles = self._draw_obstacles(rng)  # type: ignore[arg-type]
            starts = self._draw_starts(rng, obstacles)  # type: ignore[arg-type]
        return Episode(tuple(starts), tuple(obstacles), self.food, self.max_steps)  # type: ignore[arg-type]

    def _parse_options(self, options: Mapping[str, Any] | None) -> tuple[tuple[Point, ...] | None, ...]:
        if options is None:
            return None, None
        if not isinstance(options, Mapping):
            raise ValueError(f"options must be a dict, got {type(options).__name__}: {options!r}")
        unknown = sorted(str(k) for k in options if k not in OPTION_KEYS and k not in IGNORED_OPTION_KEYS)
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; the options are {list(OPTION_KEYS)}")
        starts = options.get("starts")
        obstacles = options.get("obstacles")
        if starts is not None:
            starts = points(starts, "options['starts']", MAX_FORAGERS)
            if len(starts) != self.n_foragers:
                raise ValueError(
                    f"options['starts']: expected {self.n_foragers} point(s), one per forager, got {len(starts)}"
                )
        if obstacles is not None:
            obstacles = points(obstacles, "options['obstacles']", MAX_OBSTACLES)
            b = square_containing(self.food, obstacles)
            if b >= 0:
                raise ValueError(f"options['obstacles'][{b}] covers the food at {self.food}")
        return starts, obstacles

    def _check_starts(self, starts: Sequence[Point], obstacles: Sequence[Point], name: str) -> None:
        for k, p in enumerate(starts):
            why = start_problem(p, obstacles, self.food)
            if why is not None:
                raise ValueError(f"{name}[{k}] = {tuple(p)} {why}")

    def _draw_obstacles(self, rng: np.random.Generator) -> tuple[Point, ...]:
        lo, hi = OBSTACLE_AREA
        fx, fy = self.food
        out: list[Point] = []
        for _ in range(self.n_obstacles):
            for _ in range(MAX_DRAWS):
                c = rng.uniform(lo, hi, size=2)
                if math.hypot(c[0] - fx, c[1] - fy) >= OBSTACLE_FOOD_CLEARANCE:
                    out.append((float(c[0]), float(c[1])))
                    break
            else:
                raise ValueError(f"cannot place an obstacle at least {OBSTACLE_FOOD_CLEARANCE:g} from the food")
        return tuple(out)

    def _draw_starts(self, rng: np.random.Generator, obstacles: Sequence[Point]) -> tuple[Point, ...]:
        lo, hi = START_AREA
        fx, fy = self.food
        out: list[Point] = []
        for k in range(self.n_foragers):
            for _ in range(MAX_DRAWS):
                p = rng.uniform(lo, hi, size=2)
                start = (float(p[0]), float(p[1]))
                near = math.hypot(start[0] - fx, start[1] - fy) < START_FOOD_CLEARANCE
                if not near and start_problem(start, obstacles, self.food) is None:
                    out.append(start)
                    break
            else:
                raise ValueError(f"cannot draw a free start for forager_{k} among the obstacles {list(obstacles)}")
        return tuple(out)


# ---------------------------------------------------------------------- presets
#: ``sb3_forager/Forager-v0``: the tutorial's single forager (forager_gym.gaml)
FORAGER = Scenario()
#: ``sb3_forager/ForagerRandom-v0``: the single forager from random starts
FORAGER_RANDOM = Scenario(starts=RANDOM)
#: ``forager_coop_v0``: the tutorial's cooperative pair (forager_petz.gaml)
COOP = Scenario(rules="team", n_foragers=2, starts=PAIR_STARTS, teammate="first")
#: ``forager_team_v0`` defaults: a pair from random starts, nearest teammate
TEAM = Scenario(rules="team", n_foragers=2, starts=RANDOM, teammate="nearest")
#: ``forager_stress_v0``: the tutorial's step-16 stress test
STRESS = Scenario(rules="team", n_foragers=10, starts=STRESS_STARTS, max_steps=STRESS_MAX_STEPS, teammate="nearest")

PRESETS: dict[str, Scenario] = {
    "forager": FORAGER,
    "forager-random": FORAGER_RANDOM,
    "coop": COOP,
    "team": TEAM,
    "stress": STRESS,
}
