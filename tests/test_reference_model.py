"""Checks of the plain-Python reference port (tests/reference_model.py) against docs/model.md.

Reference values come from docs/model.md, "Reference values" (printed with 4 decimals, hence the
1e-4 tolerance), the pair's first observations included. Every physics or reward fact below is
derived by hand in the comments, and the expected numbers are recomputed here from those
derivations, not taken from the model under test.
"""

from __future__ import annotations

import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference_model as ref

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


# ---------------------------------------------------------------------------------------------
# Scenario family: helpers and per-instance worlds
# ---------------------------------------------------------------------------------------------

R2 = math.sqrt(2.0)


def test_square_at_is_public_closed_and_old_name_kept():
    sq = ref.square_at(50.0, 50.0)
    assert sq.bounds == (45.0, 45.0, 55.0, 55.0)
    assert ref._square_at is ref.square_at
    # boundary inclusive, with an explicit obstacle list
    assert ref.point_in_any_obstacle(45.0, 50.0, [sq]) is True
    assert ref.point_in_any_obstacle(55.0, 55.0, [sq]) is True
    assert ref.point_in_any_obstacle(44.999, 50.0, [sq]) is False
    # old two-argument signature = the tutorial layout; an empty list blocks nothing
    assert ref.point_in_any_obstacle(20.0, 25.0) is True  # left edge of square (25,25)
    assert ref.point_in_any_obstacle(20.0, 25.0, []) is False
    assert ref.point_in_any_obstacle(50.0, 50.0) is False


def test_default_worlds_unchanged():
    s = ref.ReferenceSingle()
    assert s.start == (5.0, 5.0) and s.food == (95.0, 95.0) and s.max_steps == 300
    assert s.obstacle_centres == ref.OBSTACLE_CENTRES
    c = ref.ReferenceCoop()
    assert c.starts == ((15.0, 5.0), (5.0, 15.0)) and c.teammate == "first"
    assert c.food == (95.0, 95.0) and c.max_steps == 300 and c.obstacle_centres == ref.OBSTACLE_CENTRES
    assert [o.bounds for o in c.obstacles] == [o.bounds for o in ref.OBSTACLES]


BORDER_ONLY_5_5 = [1.0, 1.0, 1.0, 5.0 * R2 / 30.0, 5.0 / 30.0, 5.0 * R2 / 30.0, 5.0 / 30.0, 5.0 * R2 / 30.0]


def test_no_obstacles_sensors_only_see_the_border():
    # At (5,5) with no squares: rays 0/45/90 never reach the border within 30 (-> 1); 135/225/315
    # exit through a side at t = 5*sqrt(2); 180/270 at t = 5. The tutorial layout reads 0.8536 at
    # 45 deg (square (25,25)); without it that ray reads 1.
    assert_close_list(ref.sensor_readings(5.0, 5.0, []), BORDER_ONLY_5_5, tol=1e-9)
    env = ref.ReferenceSingle(obstacles=[])
    obs = env.reset()
    d = 90.0 * R2
    head = [0.05, 0.05, d / 141.4, (math.cos(math.pi / 4) + 1.0) / 2.0, (math.sin(math.pi / 4) + 1.0) / 2.0]
    assert_close_list(obs, head + BORDER_ONLY_5_5, tol=1e-9)
    assert abs(ref.observe_single(5.0, 5.0)[6] - 0.8536) < 1e-4  # default unchanged


def test_single_square_directly_ahead_gives_midpoint_of_inside_part():
    # From (50,50) the 0 deg ray ends at (80, 50). Square (70,50) = [65,75]x[45,55]: inside part
    # x in [65, 75], midpoint 70 -> 20/30 (first hit would be 15/30). No other ray reaches it
    # (45 deg: x >= 65 needs u >= 15 but y <= 55 needs u <= 5) and the border is >= 50 away.
    env = ref.ReferenceSingle(start=(50.0, 50.0), obstacles=[(70.0, 50.0)])
    assert_close_list(env.state[5:], [20.0 / 30.0] + [1.0] * 7, tol=1e-12)
    # The ray ENDS inside square (78,50) = [73,83]: part [73, 80], midpoint 76.5 -> 26.5/30.
    env2 = ref.ReferenceSingle(start=(50.0, 50.0), obstacles=[(78.0, 50.0)])
    assert_close_list(env2.state[5:], [26.5 / 30.0] + [1.0] * 7, tol=1e-12)
    # the module function with the same square agrees
    assert_close_list(ref.sensor_readings(50.0, 50.0, [ref.square_at(70.0, 50.0)]), env.state[5:], tol=0)


def test_overlapping_squares_are_each_evaluated():
    # From (30,50), 0 deg ray to (60,50). Square (50,50) = [45,55]: midpoint 50 -> 20/30;
    # square (53,50) = [48,58]: midpoint 53 -> 23/30. The reading is the min over squares, 20/30.
    both = ref.ReferenceSingle(start=(30.0, 50.0), obstacles=[(53.0, 50.0), (50.0, 50.0)])
    only_b = ref.ReferenceSingle(start=(30.0, 50.0), obstacles=[(53.0, 50.0)])
    assert abs(both.state[5] - 20.0 / 30.0) < 1e-12
    assert abs(only_b.state[5] - 23.0 / 30.0) < 1e-12
    # (56.5, 50) is only in the second square but still blocked in the overlapping layout
    place_single(both, 55.0, 60.0)
    both.step([1.0, -1.0])  # v=(1.5,-1.5): new (56.5, 58.5) free (y > 55) -> moves
    assert (both.x, both.y) == (56.5, 58.5) and both.bumped is False
    place_single(both, 55.0, 56.5)
    both.step([1.0, -1.0])  # new (56.5, 55): on the top edge of [48,58]x[45,55] -> blocked
    # slide_x (56.5, 56.5) free, slide_y (55, 55) on the edge of both -> slide_x, vy = 0
    assert (both.x, both.y) == (56.5, 56.5) and both.vy == 0.0 and both.vx == 1.5 and both.bumped is True


def test_single_custom_food_distance_heading_rewards_and_success():
    env = ref.ReferenceSingle(start=(50.0, 50.0), food=(50.0, 10.0))
    obs = env.reset()
    # dist 40 -> 40/141.4; towards (50,10) = atan2(-40, 0) = -90 -> 270 deg: cos ~ 0, sin = -1
    assert abs(obs[2] - 40.0 / 141.4) < 1e-12
    assert abs(obs[3] - 0.5) < 1e-12 and abs(obs[4] - 0.0) < 1e-12
    assert env.previous_distance == 40.0
    _, reward, terminated, _ = env.step([0.0, -1.0])  # -> (50, 48.5): dist 38.5
    assert (env.x, env.y) == (50.0, 48.5)
    assert abs(reward - (2.0 * 1.5 - 0.01)) < 1e-12 and terminated is False
    place_single(env, 50.0, 16.5)
    env.previous_distance = 6.5
    _, reward, terminated, _ = env.step([0.0, -1.0])  # -> (50, 15): dist exactly 5, not < 5
    assert terminated is False and abs(reward - 2.99) < 1e-12
    place_single(env, 50.0, 16.0)
    env.previous_distance = 6.0
    _, reward, terminated, truncated = env.step([0.0, -1.0])  # -> (50, 14.5): dist 4.5 < 5
    assert reward == 100.0 and terminated is True and truncated is False


def test_single_atan2_guard_uses_the_instance_food():
    # 0.0005 from a custom food: dist <= 0.001 -> angle 0 -> (1, 0.5); towards would be 270 deg
    env = ref.ReferenceSingle(start=(50.0, 10.0005), food=(50.0, 10.0))
    assert env.state[3] == 1.0 and env.state[4] == 0.5
    assert abs(env.state[2] - 0.0005 / 141.4) < 1e-12
    # the team model has no guard: (cos 270 + 1)/2 = 0.5, (sin 270 + 1)/2 = 0
    coop = ref.observe_coop_13(50.0, 10.0005, food=(50.0, 10.0))
    assert abs(coop[3] - 0.5) < 1e-12 and abs(coop[4]) < 1e-12


def test_single_custom_obstacle_blocks_and_slides():
    # square (55,50) = [50,60]x[45,55]; from (48.5,50) action (1,0): new (50,50) on its edge ->
    # blocked; slide_x = (50,50) blocked, slide_y = (48.5,50) free -> stay there, vx = 0, bumped
    env = ref.ReferenceSingle(start=(48.5, 50.0), obstacles=[(55.0, 50.0)])
    _, reward, _, _ = env.step([1.0, 0.0])
    assert (env.x, env.y) == (48.5, 50.0) and (env.vx, env.vy) == (0.0, 0.0) and env.bumped is True
    assert abs(reward - (-0.01 - 1.0)) < 1e-12
    # same move in the tutorial layout is free
    free = ref.ReferenceSingle(start=(48.5, 50.0))
    free.step([1.0, 0.0])
    assert (free.x, free.y) == (50.0, 50.0) and free.bumped is False
    # and a tutorial square is no longer there when the layout is replaced
    none = ref.ReferenceSingle(start=(19.0, 19.0), obstacles=[])
    none.step([1.0, 1.0])
    assert (none.x, none.y) == (20.5, 20.5) and none.bumped is False


def test_single_custom_max_steps_truncates_at_that_step():
    env = ref.ReferenceSingle(start=(50.0, 80.0), max_steps=5)
    for k in range(1, 5):
        _, reward, terminated, truncated = env.step([0.0, 0.0])
        assert env.step_count == k and truncated is False and abs(reward + 0.01) < 1e-12
    _, reward, terminated, truncated = env.step([0.0, 0.0])
    assert env.step_count == 5 and reward == -1.0 and truncated is True and terminated is False
    # with max_steps 500, step 300 is an ordinary step
    env500 = ref.ReferenceSingle(start=(50.0, 80.0), max_steps=500)
    env500.step_count = 299
    _, reward, _, truncated = env500.step([0.0, 0.0])
    assert env500.step_count == 300 and truncated is False and abs(reward + 0.01) < 1e-12


def test_grazing_vertical_ray_one_ulp_off_an_edge_is_decided_exactly():
    # The 90 deg ray from (10,10) ends at x = 10 + 30*cos(90 deg) = 10 + 1 ulp (not 10): it runs
    # strictly to the right of x = 10 for t > 0.
    end_x = 10.0 + 30.0 * ref.cos_deg(90.0)
    assert end_x > 10.0 and end_x - 10.0 < 1e-14
    # Square (5,25) = [0,10]x[20,30] lies to the left: exactly, the ray never touches it -> 1.0.
    assert ref.sensor_readings(10.0, 10.0, [ref.square_at(5.0, 25.0)])[2] == 1.0
    # Square (15,25) = [10,20]x[20,30]: the ray is inside for y in [20,30]; midpoint y = 25 -> 15/30.
    assert abs(ref.sensor_readings(10.0, 10.0, [ref.square_at(15.0, 25.0)])[2] - 0.5) < 1e-12
    # the same through the per-instance layout of a model
    assert ref.ReferenceSingle(start=(10.0, 10.0), obstacles=[(5.0, 25.0)]).state[7] == 1.0
    assert abs(ref.ReferenceSingle(start=(10.0, 10.0), obstacles=[(15.0, 25.0)]).state[7] - 0.5) < 1e-12


def test_grazing_diagonal_ray_near_a_corner_is_decided_exactly():
    from fractions import Fraction

    # The 45 deg ray from (10,10): cos(45 deg) = 0.7071067811865476 > sin(45 deg) =
    # 0.7071067811865475, so the ray passes within ~1e-15 BELOW (smaller y than) the corner (20,20).
    ex = 10.0 + 30.0 * ref.cos_deg(45.0)
    ey = 10.0 + 30.0 * ref.sin_deg(45.0)
    y_at_20 = Fraction(10) + (Fraction(ey) - 10) * 10 / (Fraction(ex) - 10)  # exact rational
    assert y_at_20 < 20 and 20 - y_at_20 < Fraction(1, 10**14)
    # Square (15,25) = [10,20]x[20,30] (corner (20,20), above the ray): never touched -> 1.0
    assert ref.sensor_readings(10.0, 10.0, [ref.square_at(15.0, 25.0)])[1] == 1.0
    assert ref.ReferenceSingle(start=(10.0, 10.0), obstacles=[(15.0, 25.0)]).state[6] == 1.0
    # Square (25,15) = [20,30]x[10,20]: the ray crosses its left edge x = 20 at y = y_at_20 in
    # [10,20] -> touched next to the corner: distance ~ 10*sqrt(2) -> 0.4714
    got = ref.sensor_readings(10.0, 10.0, [ref.square_at(25.0, 15.0)])[1]
    assert abs(got - 10.0 * R2 / 30.0) < 1e-9


def test_invalid_scenario_values_raise():
    with pytest.raises(ValueError, match="teammate"):
        ref.ReferenceCoop(teammate="closest")
    with pytest.raises(ValueError, match="teammate"):
        ref.ReferenceCoop(teammate=None)
    with pytest.raises(ValueError, match="max_steps"):
        ref.ReferenceCoop(max_steps=0)
    with pytest.raises(ValueError, match="max_steps"):
        ref.ReferenceSingle(max_steps=2.5)
    with pytest.raises(ValueError, match="obstacles"):
        ref.ReferenceSingle(obstacles="random")
    with pytest.raises(ValueError, match="starts"):
        ref.ReferenceCoop(starts=[(1.0, 2.0), (float("nan"), 3.0)])
    with pytest.raises(ValueError, match="food"):
        ref.ReferenceSingle(food=(1.0,))


# ---------------------------------------------------------------------------------------------
# Scenario family: N foragers, teammate rule, stress test
# ---------------------------------------------------------------------------------------------


def slot(obs, aid):
    return obs[aid][13], obs[aid][14]


def assert_slot(obs, aid, x, y, tol=1e-12):
    gx, gy = slot(obs, aid)
    assert abs(gx - x / 100.0) < tol and abs(gy - y / 100.0) < tol, (aid, (gx, gy), (x, y))


def test_nearest_teammate_at_reset_versus_first():
    starts = [(10.0, 80.0), (50.0, 80.0), (20.0, 80.0)]
    near = ref.ReferenceCoop(starts, teammate="nearest").reset()
    # forager_0: d1 = 40, d2 = 10 -> forager_2; forager_1: d0 = 40, d2 = 30 -> forager_2;
    # forager_2: d0 = 10, d1 = 30 -> forager_0
    assert_slot(near, "forager_0", 20.0, 80.0)
    assert_slot(near, "forager_1", 20.0, 80.0)
    assert_slot(near, "forager_2", 10.0, 80.0)
    first = ref.ReferenceCoop(starts, teammate="first")
    assert first.teammates == {"forager_0": "forager_1", "forager_1": "forager_0", "forager_2": "forager_0"}
    assert_slot(first.observations, "forager_0", 50.0, 80.0)
    assert_slot(first.observations, "forager_1", 10.0, 80.0)
    # the first 13 values do not depend on the rule
    for aid in first.agent_ids:
        assert first.observations[aid][:13] == near[aid][:13]
    # Euclidean, not L1 / Chebyshev: from (50,80), forager_1 (57,80) is 7 away (L1 7, max 7),
    # forager_2 (54,84) is sqrt(32) = 5.66 away (L1 8, max 4) -> forager_2
    env = ref.ReferenceCoop([(50.0, 80.0), (57.0, 80.0), (54.0, 84.0)], teammate="nearest")
    assert env.teammates["forager_0"] == "forager_2"
    # from (50,80): forager_1 (55,80) 5 (max 5), forager_2 (54,83.5) sqrt(28.25) = 5.32 (max 4) -> forager_1
    env = ref.ReferenceCoop([(50.0, 80.0), (55.0, 80.0), (54.0, 83.5)], teammate="nearest")
    assert env.teammates["forager_0"] == "forager_1"
    assert_slot(env.observations, "forager_0", 55.0, 80.0)


def test_nearest_exact_tie_goes_to_lowest_index():
    # forager_0 at (50,80): forager_1 40 away; forager_2 (54,83) and forager_3 (47,84) both exactly
    # 5 away (3-4-5 triangles). Lowest index wins -> forager_2; "first" would give forager_1 and a
    # "<=" loop forager_3.
    starts = [(50.0, 80.0), (90.0, 80.0), (54.0, 83.0), (47.0, 84.0)]
    assert ref.distance_to(50.0, 80.0, 54.0, 83.0) == ref.distance_to(50.0, 80.0, 47.0, 84.0) == 5.0
    env = ref.ReferenceCoop(starts, teammate="nearest")
    assert env.teammates["forager_0"] == "forager_2"
    assert_slot(env.observations, "forager_0", 54.0, 83.0)
    # a collinear tie: forager_2 at (50,80) between forager_0 (40,80) and forager_1 (60,80)
    env2 = ref.ReferenceCoop([(40.0, 80.0), (60.0, 80.0), (50.0, 80.0)], teammate="nearest")
    assert env2.teammates["forager_2"] == "forager_0"
    assert_slot(env2.observations, "forager_2", 40.0, 80.0)
    # the module helper directly
    me = env2.foragers[2]
    assert ref.teammate_nearest(env2.foragers, me) is env2.foragers[0]
    assert ref.teammate_first(env2.foragers, me) is env2.foragers[0]
    assert ref.teammate_nearest([me], me) is None


def test_n3_sequential_order_teammate_read_after_earlier_moves():
    starts = [(50.0, 80.0), (60.0, 80.0), (55.0, 80.0)]
    actions = {"forager_0": [-1.0, 0.0], "forager_1": [0.5, 0.0], "forager_2": [0.0, 1.0]}
    env = ref.ReferenceCoop(starts, teammate="nearest")
    obs, rew, term, trunc, agents = env.step(actions)
    pos = [(f.x, f.y) for f in env.foragers]
    assert pos == [(48.5, 80.0), (60.75, 80.0), (55.0, 81.5)]
    # forager_0 at (48.5,80) sees the others pre-move: forager_1 (60,80) 11.5, forager_2 (55,80) 6.5
    assert_slot(obs, "forager_0", 55.0, 80.0)
    # forager_1 at (60.75,80): forager_0 (48.5,80) 12.25, forager_2 pre-move (55,80) 5.75
    assert_slot(obs, "forager_1", 55.0, 80.0)
    # forager_2 at (55,81.5) sees both after their moves: forager_0 (48.5,80) sqrt(44.5) = 6.67,
    # forager_1 (60.75,80) sqrt(35.3125) = 5.94 -> forager_1 at (60.75, 80). (Pre-move positions
    # would tie at sqrt(27.25) and give forager_0.)
    assert_slot(obs, "forager_2", 60.75, 80.0)
    assert env.current_step == 1 and agents == ["forager_0", "forager_1", "forager_2"]
    for aid, (x0, y0), (x1, y1) in zip(env.agent_ids, starts, pos):
        assert abs(rew[aid] - (2.0 * (d_food(x0, y0) - d_food(x1, y1)) - 0.01)) < 1e-9
        assert term[aid] is False and trunc[aid] is False
    # "first": forager_0 sees forager_1 pre-move; the others see forager_0 post-move
    envf = ref.ReferenceCoop(starts, teammate="first")
    obsf = envf.step(actions)[0]
    assert_slot(obsf, "forager_0", 60.0, 80.0)
    assert_slot(obsf, "forager_1", 48.5, 80.0)
    assert_slot(obsf, "forager_2", 48.5, 80.0)


def test_n10_sequential_order_first_rule():
    env = ref.ReferenceCoop(ref.STRESS_STARTS, teammate="first")
    actions = {aid: [0.0, 1.0] for aid in env.agent_ids}
    actions["forager_0"] = [1.0, 0.0]
    obs = env.step(actions)[0]
    assert (env.foragers[0].x, env.foragers[0].y) == (6.5, 5.0)
    assert_slot(obs, "forager_0", 15.0, 5.0)  # forager_1 before its move
    for aid in env.agent_ids[1:]:
        assert_slot(obs, aid, 6.5, 5.0)  # forager_0 after its move
    for f, (sx, sy) in zip(env.foragers[1:], ref.STRESS_STARTS[1:]):
        assert (f.x, f.y) == (sx, sy + 1.5)


def test_n10_sequential_order_nearest_rule():
    env = ref.ReferenceStress()
    actions = {aid: [0.0, 0.0] for aid in env.agent_ids}
    actions["forager_0"] = [1.0, 0.0]  # -> (6.5, 5)
    actions["forager_2"] = [0.0, 1.0]  # -> (5, 16.5)
    actions["forager_6"] = [0.0, -1.0]  # -> (5, 83.5)
    actions["forager_7"] = [0.0, 1.0]  # -> (50, 86.5)
    obs = env.step(actions)[0]
    expected = {
        "forager_0": ("forager_1", 15.0, 5.0),  # f1 8.5, f2 pre-move (5,15) 10.1
        "forager_1": ("forager_0", 6.5, 5.0),  # f0 post-move 8.5
        "forager_2": ("forager_0", 6.5, 5.0),  # from (5,16.5): f0 11.6, f1 15.2
        "forager_3": ("forager_1", 15.0, 5.0),  # f1 and f8 both 35 -> lowest
        "forager_4": ("forager_2", 5.0, 16.5),  # f2 post-move 33.5 < f6 pre-move 35
        "forager_5": ("forager_7", 50.0, 85.0),  # f7 pre-move 35 ties f9 35 -> lowest
        "forager_6": ("forager_4", 5.0, 50.0),  # from (5,83.5): f4 33.5, f7 pre-move 45.02
        "forager_7": ("forager_5", 50.0, 50.0),  # from (50,86.5): f5 36.5, f6 45.1
        "forager_8": ("forager_3", 50.0, 5.0),  # f3 35, f9 45
        "forager_9": ("forager_5", 50.0, 50.0),  # f5 35, f8 45, f7 post-move 50.6
    }
    for aid, (mate, x, y) in expected.items():
        assert env.teammates[aid] == mate, aid
        assert_slot(obs, aid, x, y)


def test_stress_reference_first_observation_of_each_forager():
    env = ref.ReferenceStress()
    obs = env.reset()
    assert list(obs) == [f"forager_{i}" for i in range(10)]
    assert env.max_steps == 500 and env.teammate == "nearest" and ref.STRESS_MAX_STEPS == 500
    assert env.food == (95.0, 95.0) and env.obstacle_centres == ref.OBSTACLE_CENTRES
    assert env.agents_at_food == [False] * 10
    for sx, sy in ref.STRESS_STARTS:
        assert not ref.point_in_any_obstacle(sx, sy)
    # nearest teammates at the start (ties 35/35 or 10/10 go to the lowest index)
    mates = {0: 1, 1: 0, 2: 0, 3: 1, 4: 2, 5: 7, 6: 4, 7: 5, 8: 3, 9: 5}
    for i, j in mates.items():
        aid = f"forager_{i}"
        assert env.teammates[aid] == f"forager_{j}", aid
        sx, sy = ref.STRESS_STARTS[j]
        assert_slot(obs, aid, sx, sy)
    # first 13 values: docs/model.md's "Reference values" where they exist
    assert_close_list(obs["forager_0"][:13], OBS_5_5)
    assert_close_list(obs["forager_1"][:13], COOP_F0[:13])
    assert_close_list(obs["forager_2"][:13], COOP_F1[:13])
    assert_close_list(obs["forager_5"][5:13], SENSORS_50_50)
    # forager_3 at (50,5), by hand: dist = 45*sqrt(5); cos = 1/sqrt(5), sin = 2/sqrt(5).
    # 135 deg ray (50-u, 5+u), u <= 21.21: square (35,25) inside for u in [15,20] -> t = 17.5*sqrt2;
    # square (25,25) for u in [20, 21.21] (farther midpoint). 225/315 exit the top at t = 5*sqrt2.
    r5 = math.sqrt(5.0)
    f3 = [0.5, 0.05, 45.0 * r5 / 141.4, (1.0 / r5 + 1.0) / 2.0, (2.0 / r5 + 1.0) / 2.0]
    f3 += [1.0, 1.0, 1.0, 17.5 * R2 / 30.0, 1.0, 5.0 * R2 / 30.0, 5.0 / 30.0, 5.0 * R2 / 30.0]
    assert_close_list(obs["forager_3"][:13], f3, tol=1e-9)
    # forager_9 at (85,50), sensors by hand: 0 deg border at 15; 45/315 exit x=100 at u=15;
    # 135 -> square (75,55) for u in [5,10]; 225 -> square (75,45) for u in [5,10];
    # 180 runs along y = 50 (up to 1 ulp): inside part x in [70,80], midpoint 75 -> 10/30.
    f9 = [0.5, 15.0 * R2 / 30.0, 1.0, 7.5 * R2 / 30.0, 10.0 / 30.0, 7.5 * R2 / 30.0, 1.0, 15.0 * R2 / 30.0]
    assert_close_list(obs["forager_9"][5:13], f9, tol=1e-9)
    # every forager's 13 values are the team-model observation at its start
    for aid, (sx, sy) in zip(env.agent_ids, ref.STRESS_STARTS):
        assert obs[aid][:13] == ref.observe_coop_13(sx, sy)
    # ReferenceStress() is ReferenceCoop(STRESS_STARTS, max_steps=500, teammate="nearest")
    same = ref.ReferenceCoop(ref.STRESS_STARTS, max_steps=500, teammate="nearest").reset()
    assert same == obs


def test_stress_truncates_at_500_not_300():
    env = ref.ReferenceStress()
    zero = {aid: [0.0, 0.0] for aid in env.agent_ids}
    env.current_step = 299
    _, rew, _, trunc, agents = env.step(zero)
    assert env.current_step == 300 and not any(trunc.values()) and len(agents) == 10
    assert all(abs(r + 0.01) < 1e-12 for r in rew.values())
    env.current_step = 499
    _, rew, term, trunc, agents = env.step(zero)
    assert env.current_step == 500 and agents == []
    assert all(trunc.values()) and not any(term.values()) and set(rew.values()) == {-1.0}


def test_coop_custom_max_steps_truncates_at_that_step():
    env = ref.ReferenceCoop(max_steps=3)
    zero = {"forager_0": [0.0, 0.0], "forager_1": [0.0, 0.0]}
    for k in (1, 2):
        _, _, _, trunc, agents = env.step(zero)
        assert env.current_step == k and trunc == {"forager_0": False, "forager_1": False}
        assert agents == ["forager_0", "forager_1"]
    _, rew, term, trunc, agents = env.step(zero)
    assert rew == {"forager_0": -1.0, "forager_1": -1.0}
    assert trunc == {"forager_0": True, "forager_1": True} and agents == []


def test_coop_custom_world_in_observation():
    # forager_0 at (50,50), food (50,10), one square (70,50): hand values as in the single model,
    # without the atan2 guard; teammate forager_1 at (20,80)
    env = ref.ReferenceCoop([(50.0, 50.0), (20.0, 80.0)], obstacles=[(70.0, 50.0)], food=(50.0, 10.0))
    o = env.observations["forager_0"]
    exp = [0.5, 0.5, 40.0 / 141.4, 0.5, 0.0, 20.0 / 30.0] + [1.0] * 7 + [0.2, 0.8]
    assert_close_list(o, exp, tol=1e-12)
    assert env.foragers[0].previous_distance == 40.0


def test_all_at_food_is_over_all_n_foragers():
    # food (50,50), no squares; each forager starts 6 away and arrives (4.5 < 5) with one push.
    starts = [(50.0, 56.0), (56.0, 50.0), (50.0, 44.0)]
    env = ref.ReferenceCoop(starts, obstacles=[], food=(50.0, 50.0))
    ids = env.agent_ids
    z = [0.0, 0.0]
    _, rew, term, _, agents = env.step({"forager_0": [0.0, -1.0], "forager_1": z, "forager_2": z})
    assert env.agents_at_food == [True, False, False]
    assert rew["forager_0"] == 0.5 and abs(rew["forager_1"] + 0.01) < 1e-12 and agents == ids
    _, rew, term, _, agents = env.step({"forager_0": [1.0, 1.0], "forager_1": [-1.0, 0.0], "forager_2": z})
    # two of three at the food: both only "waiting" (a pair rule would pay 100 here)
    assert (env.foragers[0].x, env.foragers[0].y) == (50.0, 54.5)  # frozen
    assert rew["forager_0"] == 0.5 and rew["forager_1"] == 0.5 and term["forager_1"] is False
    assert agents == ids
    _, rew, term, trunc, agents = env.step({"forager_0": z, "forager_1": z, "forager_2": [0.0, 1.0]})
    # forager_2 completes the team; forager_0/1 were evaluated before it arrived -> 0.5
    assert rew == {"forager_0": 0.5, "forager_1": 0.5, "forager_2": 100.0}
    assert term == {"forager_0": False, "forager_1": False, "forager_2": True}
    assert agents == []
    # when forager_0 arrives last, everybody sees the completed team
    env2 = ref.ReferenceCoop(starts, obstacles=[], food=(50.0, 50.0))
    env2.step({"forager_0": z, "forager_1": [-1.0, 0.0], "forager_2": [0.0, 1.0]})
    _, rew, term, trunc, agents = env2.step({"forager_0": [0.0, -1.0], "forager_1": z, "forager_2": z})
    assert rew == {"forager_0": 100.0, "forager_1": 100.0, "forager_2": 100.0}
    assert all(term.values()) and not any(trunc.values()) and agents == []


@pytest.mark.parametrize(
    "world",
    [
        {},
        {"starts": [(30.0, 10.0), (10.0, 30.0)], "food": (20.0, 20.0), "obstacles": [(20.0, 35.0), (40.0, 40.0)]},
    ],
)
def test_pair_first_and_nearest_give_identical_trajectories(world):
    import random

    rng = random.Random(20240917)
    first = ref.ReferenceCoop(teammate="first", **world)
    near = ref.ReferenceCoop(teammate="nearest", **world)
    assert first.reset() == near.reset()
    fx, fy = first.food
    arrivals = 0
    for _ in range(400):
        actions = {}
        for f in first.foragers:
            # noisy pursuit of the food, within the Box
            d = max(ref.distance_to(f.x, f.y, fx, fy), 1e-9)
            ax = min(1.0, max(-1.0, (fx - f.x) / d + rng.uniform(-0.8, 0.8)))
            ay = min(1.0, max(-1.0, (fy - f.y) / d + rng.uniform(-0.8, 0.8)))
            actions[f.agent_id] = [ax, ay]
        a = first.step(actions)
        b = near.step(actions)
        assert a == b
        assert first.teammates == near.teammates == {"forager_0": "forager_1", "forager_1": "forager_0"}
        arrivals = max(arrivals, sum(first.agents_at_food))
        if not a[4]:
            first.reset()
            near.reset()
    if world:
        assert arrivals >= 1  # the short-range world exercises the at-food branches


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
