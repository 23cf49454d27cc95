"""The reference values of ``docs/model.md`` ("Reference values"), computed by the package's core
(not the test reference)."""

from __future__ import annotations

import numpy as np
import pytest

from sb3_forager.sim import COOP, FORAGER, OBSTACLE_CENTRES, ForagerSim, sensor_readings

# docs/model.md, "Reference values"
OBS_AT_5_5 = [0.05, 0.05, 0.9001, 0.8536, 0.8536, 1.0, 0.8536, 1.0, 0.2357, 0.1667, 0.2357, 0.1667, 0.2357]
SENSORS_AT_19_25 = [0.2, 0.1414, 1.0, 0.8957, 0.6333, 0.8957, 0.8333, 0.1414]
SENSORS_AT_50_50 = [0.5, 1.0, 1.0, 1.0, 1.0, 0.9428, 1.0, 1.0]
# docs/model.md, "Reference values": the pair's first observations
COOP_F0 = [0.15, 0.05, 0.8516, 0.8322, 0.8737, 1.0, 0.8536, 1.0, 0.7071, 0.5, 0.2357, 0.1667, 0.2357, 0.05, 0.15]
COOP_F1 = [0.05, 0.15, 0.8516, 0.8737, 0.8322, 1.0, 0.7071, 1.0, 0.2357, 0.1667, 0.2357, 0.5, 0.7071, 0.15, 0.05]


def _sensors(x: float, y: float) -> np.ndarray:
    return sensor_readings(np.array([x]), np.array([y]), OBSTACLE_CENTRES)[0]


def test_single_reset_observation_at_5_5() -> None:
    np.testing.assert_allclose(ForagerSim.for_scenario(FORAGER).obs[0, 0], OBS_AT_5_5, atol=5e-5)


@pytest.mark.parametrize(("pos", "expected"), [((19.0, 25.0), SENSORS_AT_19_25), ((50.0, 50.0), SENSORS_AT_50_50)])
def test_sensor_reference_values(pos, expected) -> None:
    np.testing.assert_allclose(_sensors(*pos), expected, atol=5e-5)


def test_sensor_midpoint_not_first_hit() -> None:
    """At (5,5) the 45° ray enters (25,25)'s square at (20,20) (first hit 0.7071) but reads the midpoint."""
    got = _sensors(5.0, 5.0)[1]
    assert got == pytest.approx(0.8536, abs=5e-5) and abs(got - 0.7071) > 0.1


def test_coop_initial_observations() -> None:
    obs = ForagerSim.for_scenario(COOP).obs[0]
    np.testing.assert_allclose(obs[0], COOP_F0, atol=5e-5)
    np.testing.assert_allclose(obs[1], COOP_F1, atol=5e-5)


def test_first_step_physics_and_reward() -> None:
    sim = ForagerSim.for_scenario(FORAGER)
    r = sim.step(np.array([[[1.0, 1.0]]]))
    assert (sim.x[0, 0], sim.y[0, 0]) == (6.5, 6.5)
    d0, d1 = np.hypot(90, 90), np.hypot(88.5, 88.5)
    assert r.reward[0, 0] == pytest.approx(2 * (d0 - d1) - 0.01, abs=1e-12)
    r = sim.step(np.array([[[1.0, 1.0]]]))  # v = 0.8*1.5+1.5 = 2.7 per axis, |v| = 3.82 > 3: rescaled
    assert np.hypot(sim.vx[0, 0], sim.vy[0, 0]) == pytest.approx(3.0)
