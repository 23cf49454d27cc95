"""Plain-Python reference port of the two ForagerRL GAML models (test oracle).

This module is a deliberately slow, statement-by-statement transcription of the GAML text of
the tutorial's models, one forager at a time, with ``math`` for arithmetic and ``shapely`` for the
geometry.  It does NOT import ``sb3_forager``: it exists so that the fast batched core of the
package can be compared against an independent port.

Sources mirrored (see ``docs/model.md``, which defines the models, and its sections "Single
forager", "Cooperative foragers" and "GAML semantics reproduced"):

* ``forager_petz.gaml`` (model ``SmartForagerPetz``, experiment ``petz_env``), printed in full on
  tutorial steps 12/13  ->  :class:`ReferenceCoop`;
* ``forager_gym.gaml`` (model ``SmartForagerGym``, experiment ``gym_env``), step 9, which has the
  same physics and sensors  ->  :class:`ReferenceSingle`, with the decision (``docs/model.md``,
  "Decisions") that the start location (5, 5) is set *before* the species ``init`` (so the first
  observation and ``previous_distance`` are measured at (5, 5)).

GAML operator semantics used (GAMA Java source; ``docs/model.md``, "GAML semantics reproduced"):

* ``cos``/``sin`` of a float: ``Math.cos(deg * toRad)``, degrees, no rounding or int cast;
* ``a towards b``: ``checkHeading(atan2(b.y - a.y, b.x - a.x) * 180 / pi)``, i.e. degrees in
  [0, 360), measured from +x towards +y (y points down on screen);
* ``distance_to`` between points: ``sqrt(dx*dx + dy*dy)``;
* ``square(10) at_location {cx, cy}``: the closed box [cx-5, cx+5] x [cy-5, cy+5];
* ``intersects``: boundary inclusive (JTS/GEOS ``intersects``);
* ``inter``: JTS/GEOS ``intersection``, ``nil`` when empty;
* ``location`` of a geometry: arithmetic mean of its vertices (a ring's repeated closing vertex
  excluded); for a multi-part geometry the mean of its convex hull's vertices.

Scenario family (``docs/model.md``, "Scenario family"): the tutorial constants below are the defaults.
Both reference classes also take a world of their own, used everywhere the GAML reads the global:

* ``obstacles``: any list of square centres (``obstacles << square(10) at_location {cx, cy};``
  for each, in the given order; squares may overlap; 0 squares allowed);
* ``food``: any ``food_location`` point (``food_radius`` stays 5);
* ``max_steps``: any ``max_steps``;
* team model: any number N of foragers ``forager_0 .. forager_{N-1}`` (one start each) and the
  teammate slot rule ``"first"`` (the tutorial pair's ``first_with``) or ``"nearest"`` (step 16's
  ``closest_to``, ties to the lowest index, ``docs/model.md``, "Decisions");
* :data:`STRESS_STARTS` / :data:`STRESS_MAX_STEPS` / :class:`ReferenceStress`: the step-16 stress
  model ``forager_petz_stress.gaml`` (10 foragers, 500 steps, nearest teammate).

Random starts/layouts are drawn by the envs, not here: the reference always takes explicit values.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

# ---------------------------------------------------------------------------------------------
# global { ... } constants (identical in forager_gym.gaml and forager_petz.gaml)
# ---------------------------------------------------------------------------------------------

WORLD_SIZE = 100.0  # float world_size <- 100.0;
FOOD = (95.0, 95.0)  # point food_location <- {95.0, 95.0};
FOOD_RADIUS = 5.0  # float food_radius <- 5.0;
MAX_STEPS = 300  # int max_steps <- 300;

# obstacles << square(10) at_location {cx, cy};  (in this order)
OBSTACLE_CENTRES = ((25.0, 25.0), (35.0, 25.0), (25.0, 35.0), (65.0, 45.0), (75.0, 45.0), (75.0, 55.0))
OBSTACLE_SIDE = 10.0

# forager species attributes
SENSOR_RANGE = 30.0  # float sensor_range <- 30.0;
FRICTION = 0.8  # float friction <- 0.8;
ACCEL_FORCE = 1.5  # float accel_force <- 1.5;
MAX_SPEED = 3.0  # float max_speed <- 3.0;

# literal used in the observation: min([1.0, dist / (world_size * 1.414)])
DIAG_LITERAL = 1.414

# GAMA's Maths.toRad
TO_RAD = math.pi / 180


def square_at(cx: float, cy: float, side: float = OBSTACLE_SIDE) -> Polygon:
    """``square(side) at_location {cx, cy}``: the closed axis-aligned box centred on (cx, cy)."""
    h = side / 2.0
    return Polygon([(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)])


_square_at = square_at  # the former private name, kept for old callers


def obstacles_from_centres(centres: Iterable[Sequence[float]]) -> tuple[Polygon, ...]:
    """The global ``init``'s layout, in the given order::

    loop c over: centres { obstacles << square(10) at_location c; }
    """
    return tuple(square_at(cx, cy) for cx, cy in _as_points("obstacles", centres))


def _as_point(name: str, value) -> tuple[float, float]:
    """One ``{x, y}`` point as two finite floats (``ValueError`` naming ``name`` otherwise)."""
    try:
        x, y = value
        x = float(x)
        y = float(y)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an (x, y) pair of numbers, got {value!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"{name}: non-finite point {value!r}")
    return (x, y)


def _as_points(name: str, values) -> tuple[tuple[float, float], ...]:
    """A list of ``{x, y}`` points (``ValueError`` naming ``name`` for a string or a bad entry)."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name}: expected a list of (x, y) points, got {values!r}")
    try:
        items = list(values)
    except TypeError:
        raise ValueError(f"{name}: expected a list of (x, y) points, got {values!r}") from None
    return tuple(_as_point(f"{name}[{i}]", v) for i, v in enumerate(items))


OBSTACLES = obstacles_from_centres(OBSTACLE_CENTRES)

# geometry border <- polyline([{0,0}, {world_size,0}, {world_size,world_size}, {0,world_size}, {0,0}]);
BORDER = LineString([(0.0, 0.0), (WORLD_SIZE, 0.0), (WORLD_SIZE, WORLD_SIZE), (0.0, WORLD_SIZE), (0.0, 0.0)])


# ---------------------------------------------------------------------------------------------
# GAML operators
# ---------------------------------------------------------------------------------------------


def cos_deg(a: float) -> float:
    """GAML ``cos(a)`` for a float argument in degrees: ``Math.cos(a * toRad)``."""
    return math.cos(a * TO_RAD)


def sin_deg(a: float) -> float:
    """GAML ``sin(a)`` for a float argument in degrees: ``Math.sin(a * toRad)``."""
    return math.sin(a * TO_RAD)


def towards(ax: float, ay: float, bx: float, by: float) -> float:
    """GAML ``a towards b``: heading in degrees in [0, 360) from +x towards +y (screen down)."""
    heading = math.atan2(by - ay, bx - ax) * 180 / math.pi
    # Maths.checkHeading: while (result < 0) result += 360; while (result > 360) result -= 360;
    while heading < 0:
        heading += 360.0
    while heading > 360:
        heading -= 360.0
    return heading


def distance_to(ax: float, ay: float, bx: float, by: float) -> float:
    """GAML ``a distance_to b`` for two points in a continuous (non-torus) topology."""
    dx = bx - ax
    dy = by - ay
    return math.sqrt(dx * dx + dy * dy)


def gama_location(geom: BaseGeometry) -> tuple[float, float]:
    """GAMA ``geometry.location``: the arithmetic mean of the geometry's vertices.

    * a point: the point itself;
    * a line: the mean of all its vertices (for a 2-vertex segment: its midpoint);
    * a ring / polygon: the mean of the ring's vertices without the repeated closing vertex;
    * a multi-part geometry: the location of its convex hull.
    """
    kind = geom.geom_type
    if kind == "Point":
        return (geom.x, geom.y)
    if kind == "LineString":
        coords = list(geom.coords)
    elif kind == "LinearRing":
        coords = list(geom.coords)[:-1]
    elif kind == "Polygon":
        coords = list(geom.exterior.coords)[:-1]
    else:  # MultiPoint, MultiLineString, MultiPolygon, GeometryCollection
        return gama_location(geom.convex_hull)
    n = len(coords)
    sx = 0.0
    sy = 0.0
    for c in coords:
        sx += c[0]
        sy += c[1]
    return (sx / n, sy / n)


def point_in_any_obstacle(x: float, y: float, obstacles: Sequence[BaseGeometry] = OBSTACLES) -> bool:
    """``loop obs over: obstacles { if (p intersects obs) { ...; break; } }`` (boundary inclusive).

    ``obstacles``: the shapely squares of the world (default: the tutorial's six).
    """
    p = Point(x, y)
    for obs in obstacles:
        if p.intersects(obs):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# compute_observation (sensors + the 13 values)
# ---------------------------------------------------------------------------------------------


def sensor_readings(x: float, y: float, obstacles: Sequence[BaseGeometry] = OBSTACLES) -> list[float]:
    """The 8 ray sensors of ``compute_observation`` for a forager at (x, y).

    ``obstacles``: the shapely squares of the world (default: the tutorial's six); the border is
    always the world's. Every ``intersects`` is shapely's exact predicate on the given doubles (no
    tolerance), like JTS in GAMA.

    Mirrors::

        loop i from: 0 to: 7 {
          float ray_angle <- float(i) * 45.0;
          point ray_end <- {location.x + sensor_range * cos(ray_angle),
                            location.y + sensor_range * sin(ray_angle)};
          geometry ray <- line([location, ray_end]);
          float closest <- 1.0;
          geometry border <- polyline([...]);
          if (ray intersects border) {
            geometry inter <- ray inter border;
            if (inter != nil) { float d <- (location distance_to inter.location) / sensor_range;
                                closest <- min([closest, d]); }
          }
          loop obs over: obstacles {
            if (ray intersects obs) {
              geometry inter <- ray inter obs;
              if (inter != nil) { ...same... }
            }
          }
          add closest to: sensors;
        }
    """
    sensors: list[float] = []
    for i in range(8):
        ray_angle = float(i) * 45.0
        ray_end = (x + SENSOR_RANGE * cos_deg(ray_angle), y + SENSOR_RANGE * sin_deg(ray_angle))
        ray = LineString([(x, y), ray_end])
        closest = 1.0
        if ray.intersects(BORDER):
            inter = ray.intersection(BORDER)
            if not inter.is_empty:  # inter != nil
                lx, ly = gama_location(inter)
                d = distance_to(x, y, lx, ly) / SENSOR_RANGE
                closest = min([closest, d])
        for obs in obstacles:
            if ray.intersects(obs):
                inter = ray.intersection(obs)
                if not inter.is_empty:  # inter != nil
                    lx, ly = gama_location(inter)
                    d = distance_to(x, y, lx, ly) / SENSOR_RANGE
                    closest = min([closest, d])
        sensors.append(closest)
    return sensors


def _observation_13(
    x: float, y: float, angle: float, dist: float, obstacles: Sequence[BaseGeometry] = OBSTACLES
) -> list[float]:
    """``[location.x / world_size, location.y / world_size, min([1.0, dist / (world_size * 1.414)]),
    (cos(angle) + 1.0) / 2.0, (sin(angle) + 1.0) / 2.0] + sensors``."""
    sensors = sensor_readings(x, y, obstacles)
    return [
        x / WORLD_SIZE,
        y / WORLD_SIZE,
        min([1.0, dist / (WORLD_SIZE * DIAG_LITERAL)]),
        (cos_deg(angle) + 1.0) / 2.0,
        (sin_deg(angle) + 1.0) / 2.0,
    ] + sensors


def observe_single(
    x: float,
    y: float,
    obstacles: Sequence[BaseGeometry] = OBSTACLES,
    food: tuple[float, float] = FOOD,
) -> list[float]:
    """``compute_observation`` of forager_gym.gaml: 13 values, with the ``atan2`` guard.

    ``float dist <- location distance_to food_location;``
    ``float angle <- 0.0; if (dist > 0.001) { angle <- location towards food_location; }``

    ``obstacles`` (shapely squares) and ``food`` (``food_location``) default to the tutorial's.
    """
    dist = distance_to(x, y, food[0], food[1])
    angle = 0.0
    if dist > 0.001:
        angle = towards(x, y, food[0], food[1])
    return _observation_13(x, y, angle, dist, obstacles)


def observe_coop_13(
    x: float,
    y: float,
    obstacles: Sequence[BaseGeometry] = OBSTACLES,
    food: tuple[float, float] = FOOD,
) -> list[float]:
    """The first 13 values of forager_petz.gaml's ``compute_observation`` (no ``atan2`` guard):

    ``float dist <- location distance_to food_location;``
    ``float angle <- location towards food_location;``

    ``obstacles`` (shapely squares) and ``food`` (``food_location``) default to the tutorial's.
    """
    dist = distance_to(x, y, food[0], food[1])
    angle = towards(x, y, food[0], food[1])
    return _observation_13(x, y, angle, dist, obstacles)


# ---------------------------------------------------------------------------------------------
# apply_action physics (identical block in both models)
# ---------------------------------------------------------------------------------------------


class ForagerState:
    """The attributes of one ``forager`` agent (species ``forager`` of either model)."""

    def __init__(self, x: float, y: float, agent_id: str = "forager_0", agent_index: int = 0):
        self.agent_id = agent_id  # string agent_id;
        self.agent_index = agent_index  # int agent_index;
        self.x = float(x)  # location.x
        self.y = float(y)  # location.y
        self.vx = 0.0  # float velocity_x <- 0.0;
        self.vy = 0.0  # float velocity_y <- 0.0;
        self.bumped = False  # bool bumped <- false;
        self.at_food = False  # bool at_food <- false;  (petz only)
        self.previous_distance = 0.0  # float previous_distance <- 0.0;

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return (
            f"ForagerState({self.agent_id}, x={self.x!r}, y={self.y!r}, vx={self.vx!r}, vy={self.vy!r}, "
            f"bumped={self.bumped}, at_food={self.at_food}, previous_distance={self.previous_distance!r})"
        )


def move_forager(f: ForagerState, ax: float, ay: float, obstacles: Sequence[BaseGeometry] = OBSTACLES) -> None:
    """The movement part of ``apply_action`` (after the early returns), statement by statement
    (``obstacles``: the world's shapely squares, default the tutorial's)::

    velocity_x <- velocity_x * friction + ax * accel_force;
    velocity_y <- velocity_y * friction + ay * accel_force;
    float speed <- sqrt(velocity_x^2 + velocity_y^2);
    if (speed > max_speed) {
        velocity_x <- velocity_x * max_speed / speed;
        velocity_y <- velocity_y * max_speed / speed;
    }
    float move_x <- velocity_x;  float move_y <- velocity_y;
    float new_x <- location.x + move_x;  float new_y <- location.y + move_y;
    if (new_x < 1.0) { new_x <- 1.0; velocity_x <- 0.0; bumped <- true; }
    if (new_x > world_size - 1.0) { new_x <- world_size - 1.0; velocity_x <- 0.0; bumped <- true; }
    if (new_y < 1.0) { ... }  if (new_y > world_size - 1.0) { ... }
    point new_loc <- {new_x, new_y};
    bool blocked <- false;
    loop obs over: obstacles { if (new_loc intersects obs) { blocked <- true; bumped <- true; break; } }
    if (!blocked) { location <- new_loc; }
    else {
        point slide_x <- {new_x, location.y};  point slide_y <- {location.x, new_y};
        bool x_ok <- true; loop obs over: obstacles { if (slide_x intersects obs) { x_ok <- false; break; } }
        bool y_ok <- true; loop obs over: obstacles { if (slide_y intersects obs) { y_ok <- false; break; } }
        if (x_ok and y_ok) { location <- (abs(move_x) >= abs(move_y)) ? slide_x : slide_y; }
        else if (x_ok) { location <- slide_x; velocity_y <- 0.0; }
        else if (y_ok) { location <- slide_y; velocity_x <- 0.0; }
        else { velocity_x <- 0.0; velocity_y <- 0.0; }
    }
    """
    f.vx = f.vx * FRICTION + ax * ACCEL_FORCE
    f.vy = f.vy * FRICTION + ay * ACCEL_FORCE
    speed = math.sqrt(f.vx**2 + f.vy**2)
    if speed > MAX_SPEED:
        f.vx = f.vx * MAX_SPEED / speed
        f.vy = f.vy * MAX_SPEED / speed
    move_x = f.vx
    move_y = f.vy
    new_x = f.x + move_x
    new_y = f.y + move_y
    if new_x < 1.0:
        new_x = 1.0
        f.vx = 0.0
        f.bumped = True
    if new_x > WORLD_SIZE - 1.0:
        new_x = WORLD_SIZE - 1.0
        f.vx = 0.0
        f.bumped = True
    if new_y < 1.0:
        new_y = 1.0
        f.vy = 0.0
        f.bumped = True
    if new_y > WORLD_SIZE - 1.0:
        new_y = WORLD_SIZE - 1.0
        f.vy = 0.0
        f.bumped = True
    blocked = False
    if point_in_any_obstacle(new_x, new_y, obstacles):
        blocked = True
        f.bumped = True
    if not blocked:
        f.x, f.y = new_x, new_y
    else:
        slide_x = (new_x, f.y)
        slide_y = (f.x, new_y)
        x_ok = not point_in_any_obstacle(slide_x[0], slide_x[1], obstacles)
        y_ok = not point_in_any_obstacle(slide_y[0], slide_y[1], obstacles)
        if x_ok and y_ok:
            f.x, f.y = slide_x if abs(move_x) >= abs(move_y) else slide_y
        elif x_ok:
            f.x, f.y = slide_x
            f.vy = 0.0
        elif y_ok:
            f.x, f.y = slide_y
            f.vx = 0.0
        else:
            f.vx = 0.0
            f.vy = 0.0


def _as_max_steps(value) -> int:
    """``int max_steps``: an int >= 1 (``docs/model.md``, "Scenario family"); ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"max_steps: expected an int >= 1, got {value!r}")
    return int(value)


def _action_list(action) -> list | None:
    """``list act <- list(next_action)``; ``None`` stands for a missing / nil action."""
    if action is None:
        return None
    return list(action)


# ---------------------------------------------------------------------------------------------
# forager_gym.gaml (experiment gym_env)
# ---------------------------------------------------------------------------------------------


class ReferenceSingle:
    """Reference port of ``forager_gym.gaml`` (single forager, gama-gymnasium ``GymAgent`` bridge).

    Public attributes: ``x, y, vx, vy, step_count`` (the global ``current_step``),
    ``previous_distance, bumped``; and the ``GymAgent`` fields ``state, reward, terminated,
    truncated``.

    The world (scenario family): ``start`` (the forager's location, set before the species
    ``init``), ``obstacles`` (square centres; kept as ``obstacle_centres``, the shapely squares as
    ``obstacles``), ``food`` (``food_location``; ``food_radius`` stays 5) and ``max_steps``. With
    the defaults this is the tutorial model.
    """

    def __init__(
        self,
        start: tuple[float, float] = (5.0, 5.0),
        obstacles: Iterable[Sequence[float]] = OBSTACLE_CENTRES,
        food: tuple[float, float] = FOOD,
        max_steps: int = MAX_STEPS,
    ):
        self.start = _as_point("start", start)
        # global: obstacles << square(10) at_location {cx, cy}; (each centre, in order)
        self.obstacle_centres = _as_points("obstacles", obstacles)
        self.obstacles = obstacles_from_centres(self.obstacle_centres)
        # global: point food_location <- {fx, fy};
        self.food = _as_point("food", food)
        # global: int max_steps <- n;
        self.max_steps = _as_max_steps(max_steps)
        self.forager = ForagerState(self.start[0], self.start[1])
        self.step_count = 0
        self.state: list[float] = [0.0] * 13
        self.reward = 0.0
        self.terminated = False
        self.truncated = False
        self.reset()

    # attribute views on the single forager --------------------------------------------------
    @property
    def x(self) -> float:
        return self.forager.x

    @x.setter
    def x(self, v: float) -> None:
        self.forager.x = float(v)

    @property
    def y(self) -> float:
        return self.forager.y

    @y.setter
    def y(self, v: float) -> None:
        self.forager.y = float(v)

    @property
    def vx(self) -> float:
        return self.forager.vx

    @vx.setter
    def vx(self, v: float) -> None:
        self.forager.vx = float(v)

    @property
    def vy(self) -> float:
        return self.forager.vy

    @vy.setter
    def vy(self, v: float) -> None:
        self.forager.vy = float(v)

    @property
    def previous_distance(self) -> float:
        return self.forager.previous_distance

    @previous_distance.setter
    def previous_distance(self, v: float) -> None:
        self.forager.previous_distance = float(v)

    @property
    def bumped(self) -> bool:
        return self.forager.bumped

    @bumped.setter
    def bumped(self, v: bool) -> None:
        self.forager.bumped = bool(v)

    # -----------------------------------------------------------------------------------------
    def reset(self) -> list[float]:
        """GAMA ``reload`` of the experiment: the global ``init`` re-runs.

        ``current_step <- 0``; the ``GymAgent`` is created with ``state`` 13 zeros, ``reward`` 0,
        both flags false; ``create forager`` with the location (5, 5) set *before* the species
        init (``docs/model.md``, "Decisions"), whose ``init`` does
        ``previous_distance <- location distance_to food_location; do compute_observation();``.
        Returns ``GymAgent[0].state``.
        """
        self.step_count = 0
        self.forager = ForagerState(self.start[0], self.start[1])
        self.reward = 0.0
        self.terminated = False
        self.truncated = False
        f = self.forager
        f.previous_distance = distance_to(f.x, f.y, self.food[0], self.food[1])
        self._compute_observation()
        return list(self.state)

    def step(self, action) -> tuple[list[float], float, bool, bool]:
        """One GAMA cycle after ``GymAgent[0].next_action <- action``.

        ``reflex main_loop``: ``if (empty(GymAgent[0].next_action)) { return; }`` then
        ``ask forager[0] { do apply_action; do compute_observation; do compute_reward; }``.
        Returns the GymAgent ``(state, reward, terminated, truncated)`` after the cycle.
        """
        act = _action_list(action)
        if act is None or len(act) == 0:
            return list(self.state), self.reward, self.terminated, self.truncated
        self._apply_action(act)
        self._compute_observation()
        self._compute_reward()
        return list(self.state), self.reward, self.terminated, self.truncated

    def _apply_action(self, act: list) -> None:
        """``action apply_action``: ``bumped <- false``; return if fewer than 2 elements; move;
        ``current_step <- current_step + 1`` (only when the action was applied)."""
        f = self.forager
        f.bumped = False
        if len(act) < 2:
            return
        ax = float(act[0])
        ay = float(act[1])
        move_forager(f, ax, ay, self.obstacles)
        self.step_count = self.step_count + 1

    def _compute_observation(self) -> None:
        """``action compute_observation``: ``gym_agent.state <- [13 values]``."""
        self.state = observe_single(self.forager.x, self.forager.y, self.obstacles, self.food)

    def _compute_reward(self) -> None:
        """``action compute_reward`` (first match wins)::

        float dist <- location distance_to food_location;
        if (dist < food_radius) { reward <- 100.0; terminated <- true; truncated <- false; }
        else if (current_step >= max_steps) { reward <- -1.0; terminated <- false; truncated <- true; }
        else {
            float delta <- previous_distance - dist;
            float step_reward <- delta * 2.0 - 0.01;
            if (bumped) { step_reward <- step_reward - 1.0; }
            reward <- step_reward; previous_distance <- dist;
            terminated <- false; truncated <- false;
        }
        """
        f = self.forager
        dist = distance_to(f.x, f.y, self.food[0], self.food[1])
        if dist < FOOD_RADIUS:
            self.reward = 100.0
            self.terminated = True
            self.truncated = False
        elif self.step_count >= self.max_steps:
            self.reward = -1.0
            self.terminated = False
            self.truncated = True
        else:
            delta = f.previous_distance - dist
            step_reward = delta * 2.0 - 0.01
            if f.bumped:
                step_reward = step_reward - 1.0
            self.reward = step_reward
            f.previous_distance = dist
            self.terminated = False
            self.truncated = False


# ---------------------------------------------------------------------------------------------
# forager_petz.gaml (experiment petz_env) and forager_petz_stress.gaml (experiment petz_stress_env)
# ---------------------------------------------------------------------------------------------

COOP_STARTS = ((15.0, 5.0), (5.0, 15.0))  # create forager ... location: {15,5} / {5,15}

# The teammate-slot rules of compute_observation (docs/model.md, "Scenario family").
TEAMMATE_RULES = ("first", "nearest")


def teammate_first(foragers: Sequence[ForagerState], me: ForagerState) -> ForagerState | None:
    """forager_petz.gaml: ``forager other <- forager first_with (each.agent_id != agent_id);``

    ``first_with``: the first element of the population, in creation (index) order, for which the
    condition holds; ``nil`` when there is none.
    """
    for each in foragers:
        if each.agent_id != me.agent_id:
            return each
    return None


def teammate_nearest(foragers: Sequence[ForagerState], me: ForagerState) -> ForagerState | None:
    """forager_petz_stress.gaml (tutorial step 16): "compute_observation reports the nearest other
    agent instead of the first one" (GAMA ``closest_to`` over the other foragers).

    Distance: ``location distance_to each.location`` (Euclidean, ``sqrt(dx*dx + dy*dy)``) between
    the current locations, read when ``me`` observes. Ties: the lowest index (``docs/model.md``, "Decisions", since
    GAMA's ``closest_to`` does not document its tie-breaking), i.e. an explicit loop in index order
    that only replaces the candidate on a strictly smaller distance. ``nil`` when there is no other
    forager.
    """
    other = None
    best = 0.0
    for each in foragers:
        if each.agent_id == me.agent_id:
            continue
        d = distance_to(me.x, me.y, each.x, each.y)
        if other is None or d < best:
            other = each
            best = d
    return other


_TEAMMATE_SELECTORS = {"first": teammate_first, "nearest": teammate_nearest}


class ReferenceCoop:
    """Reference port of ``forager_petz.gaml`` (cooperative foragers, ``PetzAgent`` bridge).

    Public attributes:

    * ``foragers``: list of :class:`ForagerState` in creation order (``forager_0``, ``forager_1``,
      ...), each with ``x, y, vx, vy, at_food, previous_distance, bumped, agent_id, agent_index``;
      ``by_id`` maps an agent id to the same objects;
    * ``current_step``, ``agents_at_food`` (globals);
    * the ``PetzAgent`` fields ``agents, possible_agents, observations, rewards, terminations,
      truncations, infos, actions``;
    * ``teammates``: for each agent id, the id of the forager whose position filled its teammate
      slot at its last observation (``None`` when there was none).

    The world (scenario family): ``starts`` (one location per forager; N = ``len(starts)``
    foragers ``forager_0 .. forager_{N-1}``), ``obstacles`` (square centres; kept as
    ``obstacle_centres``, the shapely squares as ``obstacles``), ``food`` (``food_location``;
    ``food_radius`` stays 5), ``max_steps`` and ``teammate`` (``"first"``: the tutorial pair's
    ``first_with``; ``"nearest"``: step 16's nearest other forager, ties to the lowest index). With
    the defaults this is the tutorial pair; with N = 2 both teammate rules give the same forager.
    """

    def __init__(
        self,
        starts: Sequence[tuple[float, float]] = COOP_STARTS,
        obstacles: Iterable[Sequence[float]] = OBSTACLE_CENTRES,
        food: tuple[float, float] = FOOD,
        max_steps: int = MAX_STEPS,
        teammate: str = "first",
    ):
        # global: list<point> start_positions; list<string> agent_ids <- ["forager_0", ...];
        self.starts = _as_points("starts", starts)
        self.agent_ids = [f"forager_{i}" for i in range(len(self.starts))]
        # global: obstacles << square(10) at_location {cx, cy}; (each centre, in order)
        self.obstacle_centres = _as_points("obstacles", obstacles)
        self.obstacles = obstacles_from_centres(self.obstacle_centres)
        # global: point food_location <- {fx, fy};  int max_steps <- n;
        self.food = _as_point("food", food)
        self.max_steps = _as_max_steps(max_steps)
        if not isinstance(teammate, str) or teammate not in _TEAMMATE_SELECTORS:
            raise ValueError(f"teammate: expected one of {TEAMMATE_RULES}, got {teammate!r}")
        self.teammate = teammate
        self._select_teammate = _TEAMMATE_SELECTORS[teammate]
        self.reset()

    def reset(self) -> dict[str, list[float]]:
        """GAMA ``reload``: the global ``init``.

        ``current_step <- 0``; ``agents_at_food <- [false, ...]``; ``create PetzAgent`` with
        ``agents``/``possible_agents`` copies of the ids and ``infos << id::[]``;
        ``create forager with: [agent_id::..., agent_index::..., location::...]`` for each start,
        each running the species ``init`` (``previous_distance <- location distance_to
        food_location``); then ``ask forager { do compute_observation; }``.
        Returns ``PetzAgent[0].observations``.
        """
        self.current_step = 0
        self.agents_at_food = [False for _ in self.agent_ids]
        # create PetzAgent
        self.agents = list(self.agent_ids)
        self.possible_agents = list(self.agent_ids)
        self.observations: dict[str, list[float]] = {}
        self.rewards: dict[str, float] = {}
        self.terminations: dict[str, bool] = {}
        self.truncations: dict[str, bool] = {}
        self.infos: dict[str, dict] = {}
        for agent_id in self.agent_ids:
            self.infos[agent_id] = {}
        self.actions: dict = {}
        self.teammates: dict[str, str | None] = {}
        # create forager with: [...]  (location set before the species init)
        self.foragers: list[ForagerState] = []
        for index, (agent_id, (sx, sy)) in enumerate(zip(self.agent_ids, self.starts)):
            f = ForagerState(sx, sy, agent_id=agent_id, agent_index=index)
            f.previous_distance = distance_to(f.x, f.y, self.food[0], self.food[1])
            self.foragers.append(f)
        self.by_id = {f.agent_id: f for f in self.foragers}
        # ask forager { do compute_observation; }
        for f in self.foragers:
            self._compute_observation(f)
        return self._copy_observations()

    def step(self, actions: dict[str, Sequence[float]] | None):
        """One GAMA cycle after ``PetzAgent[0].actions <- actions``.

        ``reflex main_loop``::

            if (PetzAgent[0].actions = nil or empty(PetzAgent[0].actions)) { return; }
            current_step <- current_step + 1;
            ask forager { do apply_action; do compute_observation; do compute_reward; }
            if (agents_at_food all_match each) or (current_step >= max_steps) {
                PetzAgent[0].agents <- [];
            }
            ask PetzAgent { do update_data; }

        Returns ``(observations, rewards, terminations, truncations, agents)`` as the bridge maps
        hold them after the cycle (raw GAML values, no PettingZoo post-processing).
        """
        self.actions = {} if actions is None else dict(actions)
        if not self.actions:
            return self._outputs()
        self.current_step = self.current_step + 1
        for f in self.foragers:  # ask forager: sequential, in creation order
            self._apply_action(f)
            self._compute_observation(f)
            self._compute_reward(f)
        if all(self.agents_at_food) or self.current_step >= self.max_steps:
            self.agents = []
        return self._outputs()

    # forager actions ---------------------------------------------------------------------------
    def _apply_action(self, f: ForagerState) -> None:
        """``action apply_action``::

        bumped <- false;
        if (at_food) { return; }
        if (not (bridge.actions contains_key agent_id)) { return; }
        list act <- list(bridge.actions[agent_id]);
        if (length(act) < 2) { return; }
        float ax <- float(act[0]); float ay <- float(act[1]);
        ... movement (move_forager) ...
        """
        f.bumped = False
        if f.at_food:
            return
        if f.agent_id not in self.actions:
            return
        act = _action_list(self.actions[f.agent_id])
        if act is None or len(act) < 2:
            return
        ax = float(act[0])
        ay = float(act[1])
        move_forager(f, ax, ay, self.obstacles)

    def _compute_observation(self, f: ForagerState) -> None:
        """``action compute_observation``: the 13 values (no atan2 guard) then the teammate::

        float other_x <- 0.5; float other_y <- 0.5;
        forager other <- forager first_with (each.agent_id != agent_id);   // teammate "first"
        // teammate "nearest" (step 16): the nearest other forager, see teammate_nearest
        if (other != nil) { other_x <- other.location.x / world_size;
                            other_y <- other.location.y / world_size; }
        bridge.observations[agent_id] <- [...] + sensors + [other_x, other_y];

        The teammate is chosen now, from the current locations: foragers earlier in the ask order
        have already moved in this cycle, later ones not yet.
        """
        base = observe_coop_13(f.x, f.y, self.obstacles, self.food)
        other_x = 0.5
        other_y = 0.5
        other = self._select_teammate(self.foragers, f)
        if other is not None:
            other_x = other.x / WORLD_SIZE
            other_y = other.y / WORLD_SIZE
        self.teammates[f.agent_id] = None if other is None else other.agent_id
        self.observations[f.agent_id] = base + [other_x, other_y]

    def _compute_reward(self, f: ForagerState) -> None:
        """``action compute_reward`` (each branch ends with ``return``)::

        float dist <- location distance_to food_location;
        if (dist < food_radius and not at_food) { at_food <- true; agents_at_food[agent_index] <- true; }
        if (agents_at_food all_match each) { reward 100.0; terminations true; truncations false; return; }
        if (at_food) { reward 0.5; terminations false; truncations false; return; }
        if (current_step >= max_steps) { reward -1.0; terminations false; truncations true; return; }
        float delta <- previous_distance - dist;
        float step_reward <- delta * 2.0 - 0.01;
        if (bumped) { step_reward <- step_reward - 1.0; }
        rewards <- step_reward; previous_distance <- dist; terminations false; truncations false;
        """
        aid = f.agent_id
        dist = distance_to(f.x, f.y, self.food[0], self.food[1])
        if dist < FOOD_RADIUS and not f.at_food:
            f.at_food = True
            self.agents_at_food[f.agent_index] = True
        if all(self.agents_at_food):
            self.rewards[aid] = 100.0
            self.terminations[aid] = True
            self.truncations[aid] = False
            self.infos[aid] = {}
            return
        if f.at_food:
            self.rewards[aid] = 0.5
            self.terminations[aid] = False
            self.truncations[aid] = False
            self.infos[aid] = {}
            return
        if self.current_step >= self.max_steps:
            self.rewards[aid] = -1.0
            self.terminations[aid] = False
            self.truncations[aid] = True
            self.infos[aid] = {}
            return
        delta = f.previous_distance - dist
        step_reward = delta * 2.0 - 0.01
        if f.bumped:
            step_reward = step_reward - 1.0
        self.rewards[aid] = step_reward
        f.previous_distance = dist
        self.terminations[aid] = False
        self.truncations[aid] = False
        self.infos[aid] = {}

    # helpers -----------------------------------------------------------------------------------
    def _copy_observations(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.observations.items()}

    def _outputs(self):
        return (
            self._copy_observations(),
            dict(self.rewards),
            dict(self.terminations),
            dict(self.truncations),
            list(self.agents),
        )


# ---------------------------------------------------------------------------------------------
# forager_petz_stress.gaml (tutorial step 16, experiment petz_stress_env)
# ---------------------------------------------------------------------------------------------

# list<point> start_positions <- [{5,5}, {15,5}, {5,15}, {50,5}, {5,50}, {50,50}, {5,85}, {50,85},
#                                 {85,5}, {85,50}];   (forager_0 .. forager_9)
STRESS_STARTS = (
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
STRESS_MAX_STEPS = 500  # int max_steps <- 500; // 300 in the 2-agent model


class ReferenceStress(ReferenceCoop):
    """Reference port of ``forager_petz_stress.gaml`` (tutorial step 16): the team model with the
    ten :data:`STRESS_STARTS`, ``max_steps`` 500 and the nearest-teammate slot, in the tutorial
    layout with the tutorial food. ``ReferenceStress()`` is
    ``ReferenceCoop(STRESS_STARTS, max_steps=STRESS_MAX_STEPS, teammate="nearest")``.
    """

    def __init__(
        self,
        starts: Sequence[tuple[float, float]] = STRESS_STARTS,
        obstacles: Iterable[Sequence[float]] = OBSTACLE_CENTRES,
        food: tuple[float, float] = FOOD,
        max_steps: int = STRESS_MAX_STEPS,
        teammate: str = "nearest",
    ):
        super().__init__(starts, obstacles=obstacles, food=food, max_steps=max_steps, teammate=teammate)


__all__: Iterable[str] = (
    "ACCEL_FORCE",
    "BORDER",
    "COOP_STARTS",
    "DIAG_LITERAL",
    "FOOD",
    "FOOD_RADIUS",
    "FRICTION",
    "MAX_SPEED",
    "MAX_STEPS",
    "OBSTACLES",
    "OBSTACLE_CENTRES",
    "OBSTACLE_SIDE",
    "SENSOR_RANGE",
    "STRESS_MAX_STEPS",
    "STRESS_STARTS",
    "TEAMMATE_RULES",
    "TO_RAD",
    "WORLD_SIZE",
    "ForagerState",
    "ReferenceCoop",
    "ReferenceSingle",
    "ReferenceStress",
    "cos_deg",
    "distance_to",
    "gama_location",
    "move_forager",
    "observe_coop_13",
    "observe_single",
    "obstacles_from_centres",
    "point_in_any_obstacle",
    "sensor_readings",
    "sin_deg",
    "square_at",
    "teammate_first",
    "teammate_nearest",
    "towards",
)
