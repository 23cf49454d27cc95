"""The compiled core against the plain statement-by-statement reference (tests/reference_model.py).

Random action sequences (50+ per model) and scripted scenarios: pushes into each wall and corner,
slides along each obstacle face, corner cuts, a forager arriving first and waiting, both arrival
orders, simultaneous arrival, timeout with one forager waiting; and the scenario family: N = 1, 2,
3 and 10 foragers, both teammate rules, random starts, random layouts, another food, other episode
lengths, the stress test. Observations, rewards and flags must agree to 1e-5 at every step.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference_model import (
    FOOD,
    OBSTACLE_CENTRES,
    ReferenceCoop,
    ReferenceSingle,
    point_in_any_obstacle,
)

from sb3_forager.sim import FORAGER, FORAGER_RANDOM, STRESS, TEAM, Episode, ForagerSim, Scenario

TOL = 1e-5


# ---------------------------------------------------------------------- harness
class Lockstep:
    """The core (one world) and the reference, driven in lockstep, for any episode."""

    def __init__(self, episode: Episode, rules: str = "single", teammate: str = "first") -> None:
        self.episode = episode
        self.rules = rules
        k = episode.n_foragers
        self.ids = [f"forager_{i}" for i in range(k)]
        self.sim = ForagerSim(1, k, rules, teammate)
        self.sim.reset(None, [episode])
        if rules == "single":
            self.ref = ReferenceSingle(episode.starts[0], episode.obstacles, episode.food, episode.max_steps)
        else:
            self.ref = ReferenceCoop(episode.starts, episode.obstacles, episode.food, episode.max_steps, teammate)
        self.check_obs("reset")

    # -- reference views
    def ref_obs(self) -> list[list[float]]:
        if self.rules == "single":
            return [self.ref.state]
        return [self.ref.observations[a] for a in self.ids]

    def ref_forager(self, k: int):
        return self.ref.forager if self.rules == "single" else self.ref.foragers[k]

    def check_obs(self, where: str) -> None:
        for k, ref_obs in enumerate(self.ref_obs()):
            np.testing.assert_allclose(self.sim.obs[0, k], ref_obs, atol=TOL, rtol=0, err_msg=f"{where} forager_{k}")

    def place(self, k: int, x: float, y: float, vx: float = 0.0, vy: float = 0.0, at_food: bool = False) -> None:
        """Put forager k somewhere (previous_distance measured there), in both models."""
        food = self.episode.food
        self.sim.x[0, k], self.sim.y[0, k], self.sim.vx[0, k], self.sim.vy[0, k] = x, y, vx, vy
        self.sim.prev_dist[0, k] = math.dist((x, y), food)
        self.sim.at_food[0, k] = at_food
        f = self.ref_forager(k)
        f.x, f.y, f.vx, f.vy, f.at_food = x, y, vx, vy, at_food
        f.previous_distance = math.dist((x, y), food)
        if self.rules == "team":
            self.ref.agents_at_food[k] = at_food

    def set_step(self, step: int) -> None:
        self.sim.steps[0] = step
        if self.rules == "single":
            self.ref.step_count = step
        else:
            self.ref.current_step = step

    def refresh(self, where: str = "after place") -> None:
        self.sim.observe_all()
        if self.rules == "single":
            self.ref._compute_observation()
        else:
            for f in self.ref.foragers:
                self.ref._compute_observation(f)
        self.check_obs(where)

    def step(self, actions, where: str):
        """One cycle in both; returns (rewards, terminated, truncated, episode over)."""
        acts = np.asarray(actions, dtype=np.float64).reshape(1, len(self.ids), 2)
        r = self.sim.step(acts)
        if self.rules == "single":
            obs, rew, term, trunc = self.ref.step(list(acts[0, 0]))
            obs_l, rew_l, term_l, trunc_l, over = [obs], [rew], [term], [trunc], term or trunc
        else:
            obs_d, rew_d, term_d, trunc_d, agents = self.ref.step({a: list(acts[0, k]) for k, a in enumerate(self.ids)})
            obs_l = [obs_d[a] for a in self.ids]
            rew_l = [rew_d[a] for a in self.ids]
            term_l = [term_d[a] for a in self.ids]
            trunc_l = [trunc_d[a] for a in self.ids]
            over = agents == []
        for k in range(len(self.ids)):
            np.testing.assert_allclose(r.obs[0, k], obs_l[k], atol=TOL, rtol=0, err_msg=f"{where} forager_{k}")
            assert abs(float(r.reward[0, k]) - rew_l[k]) <= TOL, (
                f"{where} forager_{k}: reward {r.reward[0, k]} != {rew_l[k]}"
            )
            assert bool(r.terminated[0, k]) == term_l[k], f"{where} forager_{k} terminated"
            assert bool(r.truncated[0, k]) == trunc_l[k], f"{where} forager_{k} truncated"
            f = self.ref_forager(k)
            assert (self.sim.x[0, k], self.sim.y[0, k]) == pytest.approx((f.x, f.y), abs=1e-9), where
        assert bool(r.episode_over[0]) == over, where
        return rew_l, term_l, trunc_l, over

    def reset(self) -> None:
        self.sim.reset()
        self.ref.reset()
        self.check_obs("reset")


def single(start=(5.0, 5.0), obstacles=OBSTACLE_CENTRES, food=FOOD, max_steps=300) -> Lockstep:
    return Lockstep(Episode(((float(start[0]), float(start[1])),), tuple(obstacles), food, max_steps))


def team(starts=((15.0, 5.0), (5.0, 15.0)), obstacles=OBSTACLE_CENTRES, food=FOOD, max_steps=300, teammate="first"):
    return Lockstep(Episode(tuple(starts), tuple(obstacles), food, max_steps), "team", teammate)


def policy_actions(rng: np.random.Generator, style: str, pos, food=FOOD) -> np.ndarray:
    """Actions of several styles (all inside the Box), so sequences both wander and reach the food."""
    if style == "uniform":
        return rng.uniform(-1.0, 1.0, 2)
    if style == "corners":  # saturated pushes: the fastest moves, along walls and into corners
        return rng.choice([-1.0, 1.0], 2)
    d = np.array(food) - np.array(pos)  # "seek": head to the food with noise
    return np.clip(d / (np.linalg.norm(d) + 1e-9) + rng.normal(0.0, 0.6, 2), -1.0, 1.0)


STYLES = ("uniform", "seek", "corners")


def run_random(pair: Lockstep, rng: np.random.Generator, style: str, steps: int, tag: str) -> None:
    for t in range(steps):
        acts = [policy_actions(rng, style, (pair.ref_forager(k).x, pair.ref_forager(k).y), pair.episode.food)
                for k in range(len(pair.ids))]  # fmt: skip
        if pair.step(acts, f"{tag} step {t}")[3]:
            pair.reset()


# ----------------------------------------------------------------- random sequences
@pytest.mark.parametrize("seed", range(50))
def test_single_random_sequences(seed: int) -> None:
    run_random(single(), np.random.default_rng(seed), STYLES[seed % 3], 150, f"seed {seed}")


@pytest.mark.parametrize("seed", range(50))
def test_coop_random_sequences(seed: int) -> None:
    run_random(team(), np.random.default_rng(1000 + seed), STYLES[seed % 3], 150, f"seed {seed}")


def test_single_full_episode_timeout() -> None:
    pair = single()
    ended = False
    for t in range(300):  # push into the top-left corner: never reaches the food
        ended = pair.step([-1.0, -1.0], f"step {t}")[3]
    assert ended and bool(pair.sim.steps[0] == 300)


# ----------------------------------------------------------------- the scenario family
@pytest.mark.parametrize("seed", range(12))
def test_single_random_starts_and_layouts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scenario = FORAGER_RANDOM if seed % 2 else FORAGER_RANDOM.replace(obstacles="random", n_obstacles=4 + seed % 5)
    episode = scenario.draw(rng)
    if seed % 3 == 0:  # another food and a short episode
        episode = Episode(episode.starts, episode.obstacles, (60.0, 70.0) if seed % 2 else (95.0, 95.0), 80)
        if point_in_any_obstacle(*episode.starts[0]):
            pytest.skip("the drawn start lies in an obstacle")
    pair = Lockstep(episode)
    run_random(pair, rng, STYLES[seed % 3], 150, f"seed {seed}")


@pytest.mark.parametrize("n", [2, 3, 10])
@pytest.mark.parametrize("teammate", ["first", "nearest"])
@pytest.mark.parametrize("layout", ["tutorial", "random"])
def test_team_random_starts(n: int, teammate: str, layout: str) -> None:
    rng = np.random.default_rng(100 * n + (teammate == "nearest") + 7 * (layout == "random"))
    scenario = TEAM.replace(n_foragers=n, teammate=teammate, starts="random")
    if layout == "random":
        scenario = scenario.replace(obstacles="random")
    for episode_index in range(2):
        pair = Lockstep(scenario.draw(rng), "team", teammate)
        run_random(pair, rng, STYLES[episode_index % 3], 120, f"n={n} {teammate} {layout} #{episode_index}")


def test_team_ten_foragers_reach_the_food_in_order() -> None:
    """Ten foragers heading for the food: arrivals in every order, waiting rewards, the team test."""
    rng = np.random.default_rng(5)
    scenario = TEAM.replace(n_foragers=10, starts="random", max_steps=500)
    pair = Lockstep(scenario.draw(rng), "team", "nearest")
    over = False
    for t in range(500):
        acts = [policy_actions(rng, "seek", (f.x, f.y)) for f in pair.ref.foragers]
        *_, over = pair.step(acts, f"step {t}")
        if over:
            break
    assert over and all(pair.ref.agents_at_food), "the team should reach the food"


def test_stress_test_scenario() -> None:
    rng = np.random.default_rng(16)
    pair = Lockstep(STRESS.draw(), "team", "nearest")
    assert pair.episode.max_steps == 500 and pair.episode.n_foragers == 10
    run_random(pair, rng, "seek", 200, "stress")


def test_team_timeout_at_another_max_steps() -> None:
    pair = team(max_steps=7)
    for t in range(7):
        *_, over = pair.step([[-1.0, -1.0], [-1.0, -1.0]], f"step {t}")
    assert over and pair.ref.agents == []


def test_mixed_layouts_in_one_batch_match_their_own_references() -> None:
    """A batch of worlds with different starts and layouts: each world is its own reference."""
    rng = np.random.default_rng(3)
    scenarios = [TEAM.replace(n_foragers=3), TEAM.replace(n_foragers=3, obstacles="random")] * 3
    episodes = [sc.draw(rng) for sc in scenarios]
    sim = ForagerSim(len(episodes), 3, "team", "nearest")
    sim.reset(None, episodes)
    refs = [ReferenceCoop(e.starts, e.obstacles, e.food, e.max_steps, "nearest") for e in episodes]
    ids = [f"forager_{i}" for i in range(3)]
    for t in range(60):
        acts = rng.uniform(-1, 1, (len(episodes), 3, 2))
        r = sim.step(acts)
        for w, ref in enumerate(refs):
            obs, rew, *_ = ref.step({a: list(acts[w, k]) for k, a in enumerate(ids)})
            for k, a in enumerate(ids):
                np.testing.assert_allclose(r.obs[w, k], obs[a], atol=TOL, rtol=0, err_msg=f"world {w} step {t} {a}")
                assert abs(r.reward[w, k] - rew[a]) <= TOL


# ----------------------------------------------------------------- grazing rays
def test_issue_example_pair_start_diagonal_push() -> None:
    """forager_0 pushed (-1, -1) from (15, 5) stays on x - y = 10 up to rounding; after two pushes
    its 45° ray misses the corner (30, 20) by about 1e-16: the exact answer is 0.939, not 0.878."""
    pair = team()
    pair.step([[-1.0, -1.0], [-1.0, -1.0]], "push 1")
    pair.step([[-1.0, -1.0], [-1.0, -1.0]], "push 2")
    assert pair.sim.obs[0, 0, 6] == pytest.approx(0.9389087, abs=1e-6)


@pytest.mark.parametrize("direction", [(1.0, 1.0), (-1.0, -1.0)])
@pytest.mark.parametrize("start", [(15.0, 5.0), (5.0, 15.0), (5.0, 5.0), (40.0, 10.0)])
def test_diagonal_pushes_graze_corners(start, direction) -> None:
    """Diagonal pushes keep x - y constant up to rounding: the 45° and 225° rays run through the
    obstacles' corners all the way (from the pair's and the single forager's starts, and elsewhere)."""
    pair = single(start=start)
    for t in range(40):
        if pair.step(direction, f"step {t}")[3]:
            break


@pytest.mark.parametrize("offset", [-3e-15, -1e-15, 0.0, 1e-15, 3e-15])
@pytest.mark.parametrize("corner", [(30.0, 20.0), (20.0, 20.0), (40.0, 30.0), (70.0, 60.0), (80.0, 40.0), (60.0, 50.0)])
def test_rays_through_corners_from_placed_foragers(corner, offset) -> None:
    """Foragers placed on the 45° / 135° / 225° / 315° lines through an obstacle corner (shifted by
    a few ulps), observing: every ray decision is the exact one."""
    cx, cy = corner
    checked = 0
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        for dist in (5.0, 12.5, 21.2):
            x, y = cx + dx * dist / math.sqrt(2) + offset, cy + dy * dist / math.sqrt(2)
            if not (1 <= x <= 99 and 1 <= y <= 99) or point_in_any_obstacle(x, y):
                continue
            pair = single(start=(5.0, 5.0))
            pair.place(0, x, y)
            pair.refresh(f"corner {corner} from ({x!r}, {y!r})")
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("y", [20.0, 30.0, 40.0, 50.0, 60.0, np.nextafter(50.0, 0), np.nextafter(50.0, 100)])
def test_rays_along_edges(y) -> None:
    """Horizontal rays along (or one ulp beside) obstacle edges: the overlap's midpoint, or a miss."""
    for x in (5.0, 12.0, 45.0, 50.0, 55.0, 85.0, 95.0):
        if point_in_any_obstacle(x, y):
            continue
        pair = single()
        pair.place(0, x, y)
        pair.refresh(f"({x}, {y!r})")


@pytest.mark.parametrize("x", [20.0, 30.0, 40.0, 60.0, 70.0, 80.0, np.nextafter(30.0, 0), np.nextafter(30.0, 100)])
def test_vertical_rays_along_edges(x) -> None:
    """The 90°/270° rays: cos(90°) is 6e-17, so they lean by an ulp or two; decided exactly."""
    for y in (5.0, 15.0, 45.0, 65.0, 95.0):
        if point_in_any_obstacle(x, y):
            continue
        pair = single()
        pair.place(0, x, y)
        pair.refresh(f"({x!r}, {y})")


def test_grazing_sequence_along_an_edge() -> None:
    """A forager sliding along the top face of (25, 25) (y just above 20) with its rays grazing."""
    pair = single()
    pair.place(0, 14.0, 19.0)
    for t in range(25):
        if pair.step([1.0, 0.05], f"step {t}")[3]:
            break


# ----------------------------------------------------------------- scripted: walls
WALL_PUSHES = {
    "left": ((3.0, 50.0), (-1.0, 0.2)),
    "right": ((97.0, 50.0), (1.0, -0.2)),
    "top": ((50.0, 3.0), (0.2, -1.0)),
    "bottom": ((50.0, 97.0), (-0.2, 1.0)),
    "top-left": ((3.0, 3.0), (-1.0, -1.0)),
    "top-right": ((97.0, 3.0), (1.0, -1.0)),
    "bottom-left": ((3.0, 97.0), (-1.0, 1.0)),
    "bottom-right": ((90.0, 99.0), (1.0, 1.0)),
}


@pytest.mark.parametrize("name", sorted(WALL_PUSHES))
def test_single_wall_and_corner_pushes(name: str) -> None:
    (x, y), action = WALL_PUSHES[name]
    pair = single()
    pair.place(0, x, y)
    bumps = 0
    for t in range(12):
        if pair.step(action, f"{name} step {t}")[3]:
            break
        bumps += pair.ref.bumped
    assert bumps > 0, "the scenario must actually hit the wall"


# ------------------------------------------------------- scripted: obstacle faces
def face_scenarios():
    """For every obstacle face: start just outside it, push into it with a sideways component."""
    out = []
    for cx, cy in OBSTACLE_CENTRES:
        for nx, ny in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            for side in (-1.0, 1.0):
                tx, ty = -ny * side, nx * side  # tangent
                x = cx + nx * 6.2 + tx * 2.0
                y = cy + ny * 6.2 + ty * 2.0
                if point_in_any_obstacle(x, y):
                    continue  # this face is shared with a neighbour square: no outside there
                action = (-nx + 0.6 * tx, -ny + 0.6 * ty)
                action = tuple(float(np.clip(a, -1, 1)) for a in action)
                out.append(pytest.param((x, y), action, id=f"({cx:g},{cy:g})n({nx},{ny})t{side:+g}"))
    return out


@pytest.mark.parametrize(("start", "action"), face_scenarios())
def test_single_slides_along_obstacle_faces(start, action) -> None:
    pair = single()
    pair.place(0, *start)
    blocked = 0
    for t in range(15):
        if pair.step(action, f"step {t}")[3]:
            break
        blocked += pair.ref.bumped
    assert blocked > 0, "the scenario must actually hit the obstacle"


def corner_scenarios():
    out = []
    for cx, cy in OBSTACLE_CENTRES:
        for sx in (-1, 1):
            for sy in (-1, 1):
                corner = (cx + 5 * sx, cy + 5 * sy)
                for skew in (-0.35, 0.0, 0.35):
                    start = (corner[0] + 2.0 * sx, corner[1] + 2.0 * sy)
                    if point_in_any_obstacle(*start):
                        continue
                    action = (float(np.clip(-sx + skew, -1, 1)), float(np.clip(-sy - skew, -1, 1)))
                    out.append(pytest.param(start, action, id=f"({cx:g},{cy:g})c({sx},{sy})s{skew}"))
    return out


@pytest.mark.parametrize(("start", "action"), corner_scenarios())
def test_single_corner_approaches_and_cuts(start, action) -> None:
    pair = single()
    pair.place(0, *start, vx=-1.5 * (start[0] > 50) + 0.0, vy=0.0)
    for t in range(10):
        if pair.step(action, f"step {t}")[3]:
            break


def test_single_corner_cut_passes_through_corner() -> None:
    """Only the destination point is tested: a step can cut across an obstacle corner."""
    pair = single()
    # left of the square (25, 25) = [20, 30]^2: the segment to (20.5, 19.7) passes through
    # (20, 20.2), on the square's left edge, but the destination is outside, so the move is allowed
    pair.place(0, 19.0, 21.2)
    pair.step([1.0, -1.0], "cut")  # from rest: v = 1.5 * a = (1.5, -1.5)
    assert not pair.ref.bumped and not pair.sim.bumped[0, 0]
    assert (pair.sim.x[0, 0], pair.sim.y[0, 0]) == pytest.approx((20.5, 19.7), abs=1e-12)


# ----------------------------------------------------------------- scripted: coop
def run_coop(pair: Lockstep, actions_fn, max_t: int = 400):
    history = []
    for t in range(max_t):
        out = pair.step(actions_fn(t), f"step {t}")
        history.append(out)
        if out[3]:
            return history
    raise AssertionError("the episode did not end")


def seek(pair: Lockstep, k: int) -> np.ndarray:
    f = pair.ref.foragers[k]
    d = np.array(FOOD) - np.array((f.x, f.y))
    return np.clip(d / np.linalg.norm(d) * 1.2, -1.0, 1.0)


def test_coop_forager_0_arrives_first_and_waits() -> None:
    pair = team()
    pair.place(0, 90.0, 90.0)
    pair.place(1, 80.0, 80.0)
    pair.refresh()
    hist = run_coop(pair, lambda t: [seek(pair, 0), seek(pair, 1) if t >= 4 else [0.0, 0.0]])
    rewards = [h[0] for h in hist]
    assert any(r[0] == 0.5 for r in rewards), "forager_0 must wait at the food"
    final_rew, final_term, final_trunc, _ = hist[-1]
    # forager_0 is evaluated before forager_1 sets its flag: 0.5 and no flag on the final cycle
    assert final_rew == [0.5, 100.0] and final_term == [False, True] and final_trunc == [False, False]


def test_coop_forager_1_arrives_first() -> None:
    pair = team()
    pair.place(0, 80.0, 80.0)
    pair.place(1, 90.0, 90.0)
    pair.refresh()
    hist = run_coop(pair, lambda t: [seek(pair, 0) if t >= 4 else [0.0, 0.0], seek(pair, 1)])
    final_rew, final_term, _, _ = hist[-1]
    assert final_rew == [100.0, 100.0] and final_term == [True, True]


def test_coop_simultaneous_arrival() -> None:
    pair = team()
    pair.place(0, 89.0, 91.0)
    pair.place(1, 91.0, 89.0)
    pair.refresh()
    hist = run_coop(pair, lambda t: [[1.0, 1.0], [1.0, 1.0]])
    assert len(hist) == 1 or all(r != 0.5 for r in hist[-2][0])
    final_rew, final_term, _, _ = hist[-1]
    # both arrive in the same cycle: forager_0 is checked before forager_1's flag is set
    assert final_rew == [0.5, 100.0] and final_term == [False, True]


def test_coop_timeout_with_one_forager_waiting() -> None:
    pair = team()
    pair.place(0, 93.0, 93.0, at_food=True)
    pair.place(1, 10.0, 50.0)
    pair.set_step(295)
    pair.refresh()
    hist = run_coop(pair, lambda t: [[1.0, 1.0], [-1.0, 0.0]])
    assert len(hist) == 5
    final_rew, final_term, final_trunc, _ = hist[-1]
    assert final_rew == [0.5, -1.0] and final_term == [False, False] and final_trunc == [False, True]


def test_coop_frozen_forager_ignores_actions() -> None:
    pair = team()
    pair.place(0, 94.0, 94.0, at_food=True)
    pair.refresh()
    for t in range(5):
        pair.step([[1.0, -1.0], [0.5, 0.5]], f"step {t}")
        assert (pair.sim.x[0, 0], pair.sim.y[0, 0]) == (94.0, 94.0)


def test_coop_obstacle_and_wall_scenarios() -> None:
    """Both foragers pushed into walls and obstacles at once, sequential order preserved."""
    pair = team()
    pair.place(0, 18.5, 27.0, vx=2.0, vy=0.0)  # into the left face of (25, 25)
    pair.place(1, 2.0, 60.0, vx=-1.0, vy=0.5)  # into the left wall
    pair.refresh()
    for t in range(20):
        out = pair.step([[1.0, 0.3], [-1.0, 0.4]], f"step {t}")
        if out[3]:
            break
    assert pair.sim.vx[0, 1] == 0.0


def test_team_absent_forager_does_not_move_but_is_rewarded() -> None:
    pair = team(starts=((30.0, 70.0), (50.0, 80.0), (60.0, 10.0)))
    acts = np.array([[[1.0, 1.0], [0.5, 0.5], [1.0, 0.0]]])
    r = pair.sim.step(acts, acting=np.array([[True, False, True]]))
    obs, rew, *_ = pair.ref.step({"forager_0": [1.0, 1.0], "forager_2": [1.0, 0.0]})
    assert (pair.sim.x[0, 1], pair.sim.y[0, 1]) == (50.0, 80.0)
    for k in range(3):
        np.testing.assert_allclose(r.obs[0, k], obs[f"forager_{k}"], atol=TOL)
        assert abs(r.reward[0, k] - rew[f"forager_{k}"]) <= TOL


def test_scenario_defaults_are_the_tutorial_models() -> None:
    assert FORAGER.draw() == Episode(((5.0, 5.0),), OBSTACLE_CENTRES, FOOD, 300)
    assert Scenario(rules="team", n_foragers=2, starts=((15.0, 5.0), (5.0, 15.0))).draw().starts == (
        (15.0, 5.0),
        (5.0, 15.0),
    )
