"""Checks of the plain-Python reference port (tests/reference_model.py) against the spec.

Reference values come from ../shared/spec/forager-models.md (printed with 4 decimals, hence the
1e-4 tolerance) and from the research note's section 3.4. Every physics or reward fact below is
derived by hand in the comments, and the expected numbers are recomputed here from those
derivations, not taken from the model under test.
"""

from __future__ import annotations

import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference_model as ref  # noqa: E402

TOL = 1e-4
FX, FY = 95.0, 95.0


def d_food(x: float, y: float) -> float:
    return math.sqrt((FX - x) ** 2 + (FY - y) ** 2)


def assert_close_list(got, expected, tol=TOL):
    assert len(got) == len(expected), (got, expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert abs(g - e) <= tol, f"index {i}: got {g!r}, expected {e!r}\n got={got}\n exp={expected}"


# ---------------------------------------------------------------------------------------------
# Spec reference values
# ---------------------------------------------------------------------------------------------

OBS_5_5 = [0.05, 0.05, 0.9001, 0.8536, 0.8536, 1.0, 0.8536, 1.0, 0.2357, 0.1667, 0.2357, 0.1667, 0.2357]
SENSORS_19_25 = [0.2, 0.1414, 1.0, 0.8957, 0.6333, 0.8957, 0.8333, 0.1414]
SENSORS_50_50 = [0.5, 1.0, 1.0, 1.0, 1.0, 0.9428, 1.0, 1.0]
COOP_F0 = [0.15, 0.05, 0.8516, 0.8322, 0.8737, 1.0, 0.8536, 1.0, 0.7071, 0.5, 0.2357, 0.1667, 0.2357, 0.05, 0.15]
COOP_F1 = [0.05, 0.15, 0.8516, 0.8737, 0.8322, 1.0, 0.7071, 1.0, 0.2357, 0.1667, 0.2357, 0.5, 0.7071, 0.15, 0.05]


def test_observation_at_5_5_matches_spec():
    assert_close_list(ref.observe_single(5.0, 5.0), OBS_5_5)


def test_single_reset_observation_and_previous_distance_at_start():
    env = ref.ReferenceSingle()
    obs = env.reset()
    assert_close_list(obs, OBS_5_5)
    # start is (5,5), set before init: previous_distance = |(90, 90)| = 90*sqrt(2) = 127.2792
    assert (env.x, env.y) == (5.0, 5.0)
    assert (env.vx, env.vy) == (0.0, 0.0)
    assert env.step_count == 0
    assert abs(env.previous_distance - 90.0 * math.sqrt(2.0)) < 1e-9


def test_sensors_at_19_25_match_spec():
    assert_close_list(ref.sensor_readings(19.0, 25.0), SENSORS_19_25)


def test_sensors_at_50_50_match_spec():
    assert_close_list(ref.sensor_readings(50.0, 50.0), SENSORS_50_50)


def test_coop_initial_observations_match_research_note():
    env = ref.ReferenceCoop()
    obs = env.reset()
    assert list(obs) == ["forager_0", "forager_1"]
    assert_close_list(obs["forager_0"], COOP_F0)
    assert_close_list(obs["forager_1"], COOP_F1)
    # GAML init fills only observations (and infos); rewards/flags maps start empty
    assert env.rewards == {} and env.terminations == {} and env.truncations == {}
    assert env.agents == ["forager_0", "forager_1"]
    assert env.current_step == 0


# ---------------------------------------------------------------------------------------------
# Hand-derived observation / sensor facts
# ---------------------------------------------------------------------------------------------


def test_obstacle_sensor_uses_midpoint_of_inside_segment():
    # At (5,5) the 45 deg ray (length 30) enters square [20,30]^2 at t = 15*sqrt(2) (point (20,20))
    # and ends inside at t = 30; the midpoint is at t = (15*sqrt(2) + 30) / 2, reading /30:
    expected = (15.0 * math.sqrt(2.0) + 30.0) / 2.0 / 30.0  # 0.853553
    first_hit = 15.0 * math.sqrt(2.0) / 30.0  # 0.707107, NOT what GAMA computes
    got = ref.sensor_readings(5.0, 5.0)[1]
    assert abs(got - expected) < 1e-9
    assert abs(got - first_hit) > 0.1


def test_border_sensor_is_exit_distance():
    # At (10,50) the 180 deg ray exits the world at (0,50): distance 10 -> 10/30.
    # The 270 deg ray (screen up) from (50,10) exits at (50,0): 10/30.
    assert abs(ref.sensor_readings(10.0, 50.0)[4] - 10.0 / 30.0) < 1e-9
    assert abs(ref.sensor_readings(50.0, 10.0)[6] - 10.0 / 30.0) < 1e-9


def test_ray_end_keeps_tiny_cos90_component():
    # GAMA's cos(90.0) = Math.cos(90 * pi/180) = 6.1e-17, not 0; times 30 -> ~1.8e-15.
    assert ref.cos_deg(90.0) != 0.0
    assert abs(30.0 * ref.cos_deg(90.0) - 1.8369701987210297e-15) < 1e-20


def test_towards_is_normalised_degrees_y_down():
    # from (50,50) to (50,40): dy = -10 -> atan2 = -90 deg -> normalised 270
    assert abs(ref.towards(50.0, 50.0, 50.0, 40.0) - 270.0) < 1e-12
    # to (40,50): 180; to (60,60): 45
    assert abs(ref.towards(50.0, 50.0, 40.0, 50.0) - 180.0) < 1e-12
    assert abs(ref.towards(50.0, 50.0, 60.0, 60.0) - 45.0) < 1e-12


def test_single_atan2_guard_at_food_centre():
    # at the food centre dist = 0 <= 0.001 -> angle 0 -> (cos 0 + 1)/2 = 1, (sin 0 + 1)/2 = 0.5
    obs = ref.observe_single(95.0, 95.0)
    assert obs[2] == 0.0
    assert obs[3] == 1.0 and obs[4] == 0.5


def test_distance_feature_uses_literal_1_414():
    # at (5,5): dist = 90*sqrt(2); 90*sqrt(2)/141.4 = 0.900105..., whereas /(100*sqrt 2) = 0.9
    got = ref.observe_single(5.0, 5.0)[2]
    assert abs(got - 90.0 * math.sqrt(2.0) / 141.4) < 1e-12
    assert abs(got - 0.9) > 1e-5


# ---------------------------------------------------------------------------------------------
# Single model physics and rewards
# ---------------------------------------------------------------------------------------------


def place_single(env: ref.ReferenceSingle, x, y, vx=0.0, vy=0.0):
    env.x, env.y, env.vx, env.vy = x, y, vx, vy
    env.previous_distance = d_food(x, y)


def test_first_step_from_start_with_action_1_1():
    env = ref.ReferenceSingle()
    env.reset()
    obs, reward, terminated, truncated = env.step([1.0, 1.0])
    # v = 0*0.8 + 1*1.5 = 1.5 per axis; speed 2.12 < 3, no cap; position (6.5, 6.5)
    assert (env.vx, env.vy) == (1.5, 1.5)
    assert (env.x, env.y) == (6.5, 6.5)
    assert env.step_count == 1
    assert env.bumped is False
    d0 = 90.0 * math.sqrt(2.0)  # 127.279
    d1 = 88.5 * math.sqrt(2.0)  # 125.158
    assert abs(reward - (2.0 * (d0 - d1) - 0.01)) < 1e-9  # = 3*sqrt(2) - 0.01 = 4.2326
    assert abs(reward - 4.2326) < 1e-4
    assert terminated is False and truncated is False
    assert abs(obs[0] - 0.065) < 1e-12 and abs(obs[1] - 0.065) < 1e-12
    assert abs(env.previous_distance - d1) < 1e-9


def test_speed_cap_on_second_step():
    env = ref.ReferenceSingle()
    env.reset()
    env.step([1.0, 1.0])
    env.step([1.0, 1.0])
    # v = 1.5*0.8 + 1.5 = 2.7 per axis; |v| = 2.7*sqrt(2) = 3.818 > 3 -> rescale to length 3:
    # each component 3/sqrt(2) = 2.1213; position 6.5 + 2.1213 = 8.6213
    c = 3.0 / math.sqrt(2.0)
    assert abs(env.vx - c) < 1e-12 and abs(env.vy - c) < 1e-12
    assert abs(env.x - (6.5 + c)) < 1e-12 and abs(env.y - (6.5 + c)) < 1e-12
    assert env.step_count == 2


def test_left_wall_clamp_zeroes_vx_and_costs_bump_penalty():
    env = ref.ReferenceSingle()
    place_single(env, 2.0, 50.0)
    _, reward, terminated, truncated = env.step([-1.0, 0.0])
    # vx = -1.5 -> new_x = 0.5 < 1 -> clamp to 1, vx = 0, bumped; y unchanged
    assert env.x == 1.0 and env.y == 50.0
    assert env.vx == 0.0 and env.vy == 0.0
    assert env.bumped is True
    d0 = math.sqrt(93.0**2 + 45.0**2)  # 103.315
    d1 = math.sqrt(94.0**2 + 45.0**2)  # 104.216
    assert abs(reward - (2.0 * (d0 - d1) - 0.01 - 1.0)) < 1e-9  # -2.8123
    assert terminated is False and truncated is False


def test_bottom_wall_clamp_keeps_other_axis_velocity():
    env = ref.ReferenceSingle()
    place_single(env, 50.0, 98.0, vx=1.0, vy=0.0)
    env.step([0.0, 1.0])
    # vx = 0.8, vy = 1.5 -> new = (50.8, 99.5) -> y clamped to 99, vy = 0; vx untouched
    assert abs(env.x - 50.8) < 1e-12 and env.y == 99.0
    assert abs(env.vx - 0.8) < 1e-12 and env.vy == 0.0
    assert env.bumped is True


def test_obstacle_both_slides_free_tie_takes_slide_x_and_keeps_velocity():
    env = ref.ReferenceSingle()
    place_single(env, 19.0, 19.0)
    env.step([1.0, 1.0])
    # v = (1.5, 1.5), new (20.5, 20.5) is inside [20,30]^2 -> blocked.
    # slide_x (20.5, 19) free, slide_y (19, 20.5) free, |move_x| >= |move_y| (tie) -> slide_x
    assert (env.x, env.y) == (20.5, 19.0)
    assert (env.vx, env.vy) == (1.5, 1.5)
    assert env.bumped is True


def test_obstacle_both_slides_free_y_dominant_takes_slide_y():
    env = ref.ReferenceSingle()
    place_single(env, 19.0, 19.0)
    env.step([0.8, 1.0])
    # v = (1.2, 1.5), new (20.2, 20.5) inside -> both slides free, |1.2| < |1.5| -> slide_y
    assert abs(env.x - 19.0) < 1e-12 and abs(env.y - 20.5) < 1e-12
    assert abs(env.vx - 1.2) < 1e-12 and abs(env.vy - 1.5) < 1e-12
    assert env.bumped is True


def test_obstacle_only_slide_x_free_zeroes_vy():
    env = ref.ReferenceSingle()
    place_single(env, 25.0, 19.0)
    _, reward, _, _ = env.step([0.5, 1.0])
    # v = (0.75, 1.5), new (25.75, 20.5) inside [20,30]^2; slide_x (25.75, 19) free,
    # slide_y (25, 20.5) inside -> take slide_x, vy = 0, vx kept
    assert (env.x, env.y) == (25.75, 19.0)
    assert env.vx == 0.75 and env.vy == 0.0
    d0, d1 = d_food(25.0, 19.0), d_food(25.75, 19.0)
    assert abs(reward - (2.0 * (d0 - d1) - 0.01 - 1.0)) < 1e-9


def test_obstacle_edge_is_inside_so_only_slide_y_free_zeroes_vx():
    env = ref.ReferenceSingle()
    place_single(env, 18.5, 25.0)
    env.step([1.0, 0.0])
    # v = (1.5, 0), new (20.0, 25.0) lies ON the edge x = 20 -> blocked (boundary inclusive);
    # slide_x = (20, 25) blocked, slide_y = (18.5, 25) free -> take it, vx = 0
    assert (env.x, env.y) == (18.5, 25.0)
    assert env.vx == 0.0 and env.vy == 0.0
    assert env.bumped is True


def test_obstacle_neither_slide_free_stays_and_stops():
    env = ref.ReferenceSingle()
    place_single(env, 31.0, 31.0)
    env.step([-1.0, -1.0])
    # v = (-1.5, -1.5), new (29.5, 29.5) inside square (25,25); slide_x (29.5, 31) inside
    # square (25,35) = [20,30]x[30,40]; slide_y (31, 29.5) inside square (35,25) = [30,40]x[20,30]
    # -> stay at (31,31), v = 0
    assert (env.x, env.y) == (31.0, 31.0)
    assert (env.vx, env.vy) == (0.0, 0.0)
    assert env.bumped is True


def test_success_is_strict_less_than_5():
    env = ref.ReferenceSingle()
    place_single(env, 88.5, 95.0)
    _, reward, terminated, _ = env.step([1.0, 0.0])
    # new (90, 95): distance exactly 5.0 -> NOT success; shaping 2*(6.5 - 5) - 0.01 = 2.99
    assert env.x == 90.0
    assert terminated is False
    assert abs(reward - 2.99) < 1e-9
    env2 = ref.ReferenceSingle()
    place_single(env2, 90.0, 95.0)
    _, reward2, terminated2, truncated2 = env2.step([1.0, 0.0])
    # new (91.5, 95): distance 3.5 < 5 -> +100, terminated
    assert reward2 == 100.0 and terminated2 is True and truncated2 is False


def test_truncation_at_step_300_without_shaping():
    env = ref.ReferenceSingle()
    place_single(env, 50.0, 50.0)
    env.step_count = 299
    prev = env.previous_distance
    _, reward, terminated, truncated = env.step([1.0, 1.0])
    assert env.step_count == 300
    assert reward == -1.0 and truncated is True and terminated is False
    assert env.previous_distance == prev  # no shaping branch -> not updated
    # at step 299 -> 298+1 the shaping branch still runs
    env2 = ref.ReferenceSingle()
    place_single(env2, 50.0, 50.0)
    env2.step_count = 298
    _, reward2, _, truncated2 = env2.step([1.0, 1.0])
    assert truncated2 is False and reward2 != -1.0


def test_food_has_precedence_over_timeout():
    env = ref.ReferenceSingle()
    place_single(env, 90.0, 95.0)
    env.step_count = 299
    _, reward, terminated, truncated = env.step([1.0, 0.0])
    assert reward == 100.0 and terminated is True and truncated is False


def test_single_empty_action_is_a_no_op():
    env = ref.ReferenceSingle()
    env.reset()
    first = env.step([1.0, 1.0])
    # main_loop: if (empty(next_action)) return -> nothing changes, GymAgent data unchanged
    again = env.step([])
    assert again == first
    assert env.step_count == 1 and (env.x, env.y) == (6.5, 6.5)


def test_single_short_action_no_move_no_count_but_reward_computed():
    # GAML: main_loop only checks emptiness; apply_action returns early for < 2 elements
    # (bumped <- false, no move, no step count), compute_observation and compute_reward still
    # run: dist unchanged -> shaping 2*0 - 0.01 = -0.01.
    env = ref.ReferenceSingle()
    env.reset()
    obs, reward, terminated, truncated = env.step([0.7])
    assert env.step_count == 0 and (env.x, env.y) == (5.0, 5.0) and (env.vx, env.vy) == (0.0, 0.0)
    assert abs(reward - (-0.01)) < 1e-12
    assert terminated is False and truncated is False
    assert_close_list(obs, OBS_5_5)


# ---------------------------------------------------------------------------------------------
# Cooperative model
# ---------------------------------------------------------------------------------------------


def place(env: ref.ReferenceCoop, aid, x, y, vx=0.0, vy=0.0):
    f = env.by_id[aid]
    f.x, f.y, f.vx, f.vy = x, y, vx, vy
    f.previous_distance = d_food(x, y)


def test_coop_first_step_teammate_slot_order():
    env = ref.ReferenceCoop()
    env.reset()
    obs, rew, term, trunc, agents = env.step({"forager_0": [1.0, 0.0], "forager_1": [0.0, 1.0]})
    # forager_0: v = (1.5, 0) -> (16.5, 5); forager_1: v = (0, 1.5) -> (5, 16.5)
    f0, f1 = env.by_id["forager_0"], env.by_id["forager_1"]
    assert (f0.x, f0.y) == (16.5, 5.0) and (f1.x, f1.y) == (5.0, 16.5)
    # forager_0 acted first, so it saw forager_1 BEFORE its move: (5, 15) -> (0.05, 0.15)
    assert abs(obs["forager_0"][13] - 0.05) < 1e-12 and abs(obs["forager_0"][14] - 0.15) < 1e-12
    # forager_1 sees forager_0 AFTER its move: (16.5, 5) -> (0.165, 0.05)
    assert abs(obs["forager_1"][13] - 0.165) < 1e-12 and abs(obs["forager_1"][14] - 0.05) < 1e-12
    # both d0 = sqrt(80^2 + 90^2); rewards 2*(d0 - d1) - 0.01
    d0 = math.sqrt(80.0**2 + 90.0**2)
    d1 = math.sqrt(78.5**2 + 90.0**2)
    assert abs(rew["forager_0"] - (2.0 * (d0 - d1) - 0.01)) < 1e-9
    assert abs(rew["forager_1"] - (2.0 * (d0 - d1) - 0.01)) < 1e-9
    assert term == {"forager_0": False, "forager_1": False}
    assert trunc == {"forager_0": False, "forager_1": False}
    assert agents == ["forager_0", "forager_1"]
    assert env.current_step == 1


def test_coop_empty_actions_is_a_no_op():
    env = ref.ReferenceCoop()
    env.reset()
    obs, rew, term, trunc, agents = env.step({})
    assert env.current_step == 0
    assert rew == {} and term == {} and trunc == {}
    assert_close_list(obs["forager_0"], COOP_F0)
    assert (env.by_id["forager_0"].x, env.by_id["forager_0"].y) == (15.0, 5.0)


def test_coop_missing_or_short_action_skips_move_but_still_rewards():
    env = ref.ReferenceCoop()
    env.reset()
    _, rew, _, _, _ = env.step({"forager_0": [0.5]})
    # forager_0 short action, forager_1 missing: nobody moves; the step still counts and both get
    # the shaping reward with dist unchanged: -0.01
    assert env.current_step == 1
    assert (env.by_id["forager_0"].x, env.by_id["forager_0"].y) == (15.0, 5.0)
    assert (env.by_id["forager_1"].x, env.by_id["forager_1"].y) == (5.0, 15.0)
    assert abs(rew["forager_0"] + 0.01) < 1e-12 and abs(rew["forager_1"] + 0.01) < 1e-12


def test_coop_wall_bump_penalty():
    env = ref.ReferenceCoop()
    env.reset()
    place(env, "forager_0", 15.0, 1.5)
    _, rew, _, _, _ = env.step({"forager_0": [0.0, -1.0], "forager_1": [0.0, 0.0]})
    f0 = env.by_id["forager_0"]
    # vy = -1.5 -> new_y = 0 < 1 -> clamp to 1, vy = 0, bumped
    assert (f0.x, f0.y) == (15.0, 1.0) and f0.vy == 0.0 and f0.bumped is True
    d0, d1 = d_food(15.0, 1.5), d_food(15.0, 1.0)
    assert abs(rew["forager_0"] - (2.0 * (d0 - d1) - 0.01 - 1.0)) < 1e-9
    # forager_1 did not move (zero action): -0.01, not bumped
    assert abs(rew["forager_1"] + 0.01) < 1e-12 and env.by_id["forager_1"].bumped is False


def test_coop_forager_0_arrives_first_then_forager_1():
    env = ref.ReferenceCoop()
    env.reset()
    place(env, "forager_0", 90.0, 95.0)
    _, rew, term, trunc, agents = env.step({"forager_0": [1.0, 0.0], "forager_1": [0.0, 0.0]})
    # forager_0 -> (91.5, 95), dist 3.5: marks at_food, team incomplete -> 0.5, no flags
    f0 = env.by_id["forager_0"]
    assert f0.at_food is True and env.agents_at_food == [True, False]
    assert rew["forager_0"] == 0.5 and term["forager_0"] is False and trunc["forager_0"] is False
    assert abs(rew["forager_1"] + 0.01) < 1e-12
    assert agents == ["forager_0", "forager_1"]

    place(env, "forager_1", 90.0, 95.0)
    obs, rew, term, trunc, agents = env.step({"forager_0": [-1.0, -1.0], "forager_1": [1.0, 0.0]})
    # forager_0 is frozen: its action is ignored, position and velocity unchanged
    assert (f0.x, f0.y) == (91.5, 95.0) and (f0.vx, f0.vy) == (1.5, 0.0)
    # forager_0 is evaluated before forager_1 arrives -> still only "waiting": 0.5, term False
    assert rew["forager_0"] == 0.5 and term["forager_0"] is False and trunc["forager_0"] is False
    # forager_1 completes the team -> 100, terminated
    assert rew["forager_1"] == 100.0 and term["forager_1"] is True and trunc["forager_1"] is False
    assert agents == []
    # teammate slots: forager_0 saw forager_1 pre-move (90, 95); forager_1 sees forager_0 (91.5, 95)
    assert abs(obs["forager_0"][13] - 0.90) < 1e-12 and abs(obs["forager_0"][14] - 0.95) < 1e-12
    assert abs(obs["forager_1"][13] - 0.915) < 1e-12 and abs(obs["forager_1"][14] - 0.95) < 1e-12


def test_coop_forager_1_arrives_first_then_forager_0_both_get_100():
    env = ref.ReferenceCoop()
    env.reset()
    place(env, "forager_1", 90.0, 95.0)
    _, rew, term, _, agents = env.step({"forager_0": [0.0, 0.0], "forager_1": [1.0, 0.0]})
    assert rew["forager_1"] == 0.5 and term["forager_1"] is False
    assert agents == ["forager_0", "forager_1"]
    place(env, "forager_0", 90.0, 95.0)
    _, rew, term, trunc, agents = env.step({"forager_0": [1.0, 0.0], "forager_1": [0.0, 0.0]})
    assert rew == {"forager_0": 100.0, "forager_1": 100.0}
    assert term == {"forager_0": True, "forager_1": True}
    assert trunc == {"forager_0": False, "forager_1": False}
    assert agents == []


def test_coop_both_arrive_in_same_cycle():
    env = ref.ReferenceCoop()
    env.reset()
    place(env, "forager_0", 90.0, 95.0)
    place(env, "forager_1", 95.0, 90.0)
    _, rew, term, trunc, agents = env.step({"forager_0": [1.0, 0.0], "forager_1": [0.0, 1.0]})
    # forager_0 arrives first in the ask order: team not complete yet -> 0.5, no flag
    assert rew["forager_0"] == 0.5 and term["forager_0"] is False and trunc["forager_0"] is False
    assert rew["forager_1"] == 100.0 and term["forager_1"] is True
    assert agents == []


def test_coop_timeout_with_one_forager_waiting():
    env = ref.ReferenceCoop()
    env.reset()
    place(env, "forager_0", 91.5, 95.0)
    env.by_id["forager_0"].at_food = True
    env.agents_at_food[0] = True
    env.current_step = 299
    _, rew, term, trunc, agents = env.step({"forager_0": [0.0, 0.0], "forager_1": [1.0, 1.0]})
    assert env.current_step == 300
    # waiting forager: 0.5, neither flag
    assert rew["forager_0"] == 0.5 and term["forager_0"] is False and trunc["forager_0"] is False
    # the other: -1, truncated
    assert rew["forager_1"] == -1.0 and term["forager_1"] is False and trunc["forager_1"] is True
    assert agents == []


def test_coop_timeout_without_arrivals_and_agents_stay_empty():
    env = ref.ReferenceCoop()
    env.reset()
    env.current_step = 298
    _, _, _, trunc, agents = env.step({"forager_0": [0.0, 0.0], "forager_1": [0.0, 0.0]})
    assert trunc == {"forager_0": False, "forager_1": False} and agents == ["forager_0", "forager_1"]
    _, rew, term, trunc, agents = env.step({"forager_0": [0.0, 0.0], "forager_1": [0.0, 0.0]})
    assert rew == {"forager_0": -1.0, "forager_1": -1.0}
    assert trunc == {"forager_0": True, "forager_1": True}
    assert term == {"forager_0": False, "forager_1": False}
    assert agents == []


def test_coop_single_forager_teammate_defaults_to_half():
    env = ref.ReferenceCoop(starts=((15.0, 5.0),))
    obs = env.reset()
    assert list(obs) == ["forager_0"]
    assert obs["forager_0"][13:] == [0.5, 0.5]
    assert_close_list(obs["forager_0"][:13], COOP_F0[:13])


def test_coop_reset_restores_start_state():
    env = ref.ReferenceCoop()
    env.reset()
    env.step({"forager_0": [1.0, 1.0], "forager_1": [1.0, 1.0]})
    obs = env.reset()
    assert env.current_step == 0 and env.agents_at_food == [False, False]
    assert (env.by_id["forager_0"].vx, env.by_id["forager_0"].vy) == (0.0, 0.0)
    assert_close_list(obs["forager_0"], COOP_F0)
    assert_close_list(obs["forager_1"], COOP_F1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
