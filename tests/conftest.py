"""Shared fixtures: the GAMA server stand-in, one per test module, with its faults cleared per test."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # reference_model, gama_standin

from gama_standin import GamaStandIn, running_standin


#: the GAMA-backend tests that also run on the stand-in's engine="gaml" (the GAML file's text run by
#: sb3_forager/lang/interp, the bridge's expressions evaluated against the live model), so the bridge
#: meets the GAML text; SB3F_STANDIN_ENGINE=gaml runs every test of the fixture on it
GAML_ENGINE_TESTS = frozenset({
    "test_single_matches_embedded_step_for_step", "test_random_single_episodes_are_the_embedded_ones",
    "test_random_team_episodes_are_the_embedded_ones", "test_coop_matches_embedded_until_the_end",
    "test_stress_model_is_the_tutorials_ten_foragers", "test_reset_options_set_the_episode_on_gama_like_embedded",
    "test_matches_embedded_vec_env_step_for_step", "test_training_on_a_gama_server",
    "test_a_team_world_where_no_forager_acts_still_steps_like_embedded",
})  # fmt: skip


@pytest.fixture(scope="module", params=["embedded", "gaml"])
def gama_server(request: pytest.FixtureRequest):
    yield from running_standin(engine=request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the engine="gaml" variants of :data:`GAML_ENGINE_TESTS` only (all with SB3F_STANDIN_ENGINE=gaml)."""
    every = os.environ.get("SB3F_STANDIN_ENGINE") == "gaml"
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        gaml = callspec is not None and callspec.params.get("gama_server") == "gaml"
        wanted = every or getattr(item, "originalname", item.name) in GAML_ENGINE_TESTS
        (drop if gaml and not wanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def gama(gama_server: GamaStandIn):
    """The module's stand-in, with no fault set before or after the test."""
    gama_server.faults.reset()
    yield gama_server
    gama_server.faults.reset()
