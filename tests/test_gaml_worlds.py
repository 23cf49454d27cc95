"""The W-world GAML files (``forager_gym_worlds.gaml``, ``forager_petz_worlds.gaml``) run by the GAML
interpreter behind the stand-in's protocol (``GamaStandIn(engine="gaml")``): ``GamaSimWorlds`` talks
to the GAML text, world for world equal to the embedded VecEnv (its own restarts of ended worlds, the
drawn next episodes of random scenarios sent with ``reset_worlds``); a changed constant in a copy of
either file is caught."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gama_standin import running_standin
from test_gama_vec_env import assert_same_step, steer

from sb3_forager.envs import ForagerVecEnv
from sb3_forager.gama.batched import GamaSimWorlds
from sb3_forager.make import make_gama_vec_env, make_vec_env
from sb3_forager.models import MODELS
from sb3_forager.sim import Scenario

GAML = Path(__file__).resolve().parents[1] / "gaml"
W = 3


@pytest.fixture(scope="module")
def gaml_gama():
    """A stand-in whose experiments run the GAML text (sb3_forager/lang/interp)."""
    yield from running_standin(engine="gaml")


def _run(gama, kind: str, n: int, steps: int, seed: int, gaml_path: str | None = None, **scenario) -> int:
    """``steps`` steps of ``kind`` on n worlds, W per simulation, against the embedded VecEnv (every
    step's observations, rewards, dones and infos); the number of episode ends."""
    k = MODELS[kind].n_agents
    base = make_vec_env(kind, n).scenario
    sc = Scenario.from_kwargs(base, **scenario) if scenario else base
    venv = make_gama_vec_env(kind, n, servers=[f"127.0.0.1:{gama.port}"], worlds_per_sim=W, scenario=sc,
                             gaml_path=gaml_path)  # fmt: skip
    ref = ForagerVecEnv(n, sc)
    try:
        assert isinstance(venv.backend, GamaSimWorlds)
        venv.seed(seed)
        ref.seed(seed)
        obs, want = venv.reset(), ref.reset()
        assert np.abs(obs - want).max() < 1e-6
        rng = np.random.default_rng(seed)
        ends = 0
        for _ in range(steps):
            actions = rng.uniform(-1, 1, (n * k, 2)).astype(np.float32)
            actions[:k] = steer(want[:k, :2] * 100.0)  # the first world's foragers reach the food too
            got, want_step = venv.step(actions), ref.step(actions)
            assert_same_step(got, want_step)
            want = want_step[0]
            ends += int(got[2].sum()) // k
        assert venv.get_attr("episode") == ref.get_attr("episode")
        return ends
    finally:
        venv.close()
        ref.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["forager", "coop"])
def test_the_worlds_gaml_equals_the_embedded_vec_env_world_for_world(gaml_gama, kind):
    """5 worlds in simulations of 3 and 2, 30-step episodes: every world ends (and restarts in GAML) 3 times."""
    assert _run(gaml_gama, kind, 5, 100, 3, max_steps=30) >= 3 * 5


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["forager-random", "team", "stress"])
def test_random_scenarios_on_the_worlds_gaml_equal_the_embedded_vec_env(gaml_gama, kind):
    """Random starts and layouts: each ended world's next episode is drawn in Python and sent to the GAML."""
    n = 2 if kind == "stress" else 4
    assert _run(gaml_gama, kind, n, 45, 11, max_steps=12, obstacles="random", starts="random") >= 3 * n


WORLDS_MUTATIONS = {
    "forager_gym_worlds.gaml": ("forager", "float friction          <- 0.8;", "float friction          <- 0.79;"),
    "forager_petz_worlds.gaml": ("coop", "float step_reward <- delta * 2.0 - 0.01;", "float step_reward <- delta * 2.0 - 0.02;"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(WORLDS_MUTATIONS))
def test_a_changed_constant_in_the_worlds_gaml_is_caught(gaml_gama, name, tmp_path):
    kind, old, new = WORLDS_MUTATIONS[name]
    text = (GAML / name).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(AssertionError):
        _run(gaml_gama, kind, 3, 20, 3, gaml_path=str(path), max_steps=30)
