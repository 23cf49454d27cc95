"""API conformance of every env: Gymnasium/SB3 checkers, PettingZoo's suite, render, pickle, spawn,
seeds that mean something, per-episode options."""

from __future__ import annotations

import importlib
import multiprocessing as mp
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    seed_test,
)
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sb3_forager
from sb3_forager import EMBEDDED_GYM_ENV_IDS, PETTINGZOO_ENV_IDS, PETTINGZOO_MODULE_NAMES, forager_coop_v0
from sb3_forager.sim.render import CAPTION

MODULES = [importlib.import_module(name) for name in PETTINGZOO_MODULE_NAMES]

# Warnings we accept from the checkers (HighwayEnv-style allow-list); anything else fails. None
# fires today, so the list is empty: an entry added later must name a warning these tests see.
ALLOWED_WARNINGS = ()


def _unexpected(caught) -> list[str]:
    return [str(w.message) for w in caught if not any(a in str(w.message) for a in ALLOWED_WARNINGS)]


@pytest.mark.parametrize("env_id", EMBEDDED_GYM_ENV_IDS)
def test_gymnasium_check_env(env_id: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make(env_id, render_mode="rgb_array")
        gym_check_env(env.unwrapped)
    assert not _unexpected(caught), _unexpected(caught)


@pytest.mark.parametrize("env_id", EMBEDDED_GYM_ENV_IDS)
def test_sb3_check_env(env_id: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(gym.make(env_id).unwrapped, warn=True)
    assert not _unexpected(caught), _unexpected(caught)


def test_batched_vec_env_worlds_start_like_single_envs_with_their_seeds() -> None:
    """Each world of the SB3 VecEnv starts like the single env (which SB3's ``check_env`` passes,
    above) reset with the world's seed. (SB3's ``check_env`` takes a ``gym.Env``, not a VecEnv.)"""
    from sb3_forager.envs.vec_env import ForagerVecEnv
    from sb3_forager.sim import FORAGER_RANDOM

    venv = ForagerVecEnv(3, FORAGER_RANDOM)
    venv.seed(40)
    obs = venv.reset()
    for w in range(3):
        single, _ = gym.make("sb3_forager/ForagerRandom-v0").reset(seed=40 + w)
        np.testing.assert_array_equal(obs[w], single)


def test_registration_is_idempotent_and_complete() -> None:
    before = dict(gym.registry)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # re-registering would warn "Overriding environment"
        sb3_forager.register_envs()
    assert dict(gym.registry) == before
    for env_id in sb3_forager.GYM_ENV_IDS:
        assert gym.spec(env_id).max_episode_steps == 300
    assert gym.spec("sb3_forager/Forager-v0").vector_entry_point is not None


def test_make_vec_uses_the_batched_env() -> None:
    venv = gym.make_vec("sb3_forager/ForagerRandom-v0", num_envs=5, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=0)
    assert type(venv.unwrapped).__name__ == "ForagerVectorEnv"
    assert obs.shape == (5, 13) and obs.dtype == np.float32
    assert venv.observation_space.shape == (5, 13) and venv.single_action_space.shape == (2,)
    again, _ = venv.reset(seed=[0, 1, 2, 3, 4])  # a list of seeds: one per sub-env
    np.testing.assert_array_equal(again, obs)
    other, _ = venv.reset(seed=[9, 1, 2, 3, 4])
    assert (other[0] != obs[0]).any() and (other[1:] == obs[1:]).all()


def test_short_time_limit_still_reports_success_and_steps() -> None:
    env = gym.make("sb3_forager/Forager-v0", max_episode_steps=20)
    env.reset(seed=0)
    for _ in range(20):
        _, _, term, trunc, info = env.step(np.array([-1.0, -1.0], np.float32))
    assert trunc and not term
    assert info["is_success"] is False and info["episode_steps"] == 20


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.split(".")[-1])
def test_pettingzoo_parallel_suite(module) -> None:
    parallel_api_test(module.parallel_env(), num_cycles=600)
    parallel_seed_test(module.parallel_env, num_cycles=300)
    max_cycles_test(module)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.split(".")[-1])
def test_pettingzoo_aec_suite(module, monkeypatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    api_test(module.env(), num_cycles=300)
    seed_test(module.env, num_cycles=200)
    render_test(lambda render_mode=None: module.env(render_mode=render_mode))


def test_raw_env_is_the_unwrapped_aec_env() -> None:
    from pettingzoo.utils import OrderEnforcingWrapper

    from sb3_forager.envs import ForagerAECEnv

    raw = forager_coop_v0.raw_env()
    assert isinstance(raw, ForagerAECEnv) and not isinstance(raw, OrderEnforcingWrapper)
    wrapped = forager_coop_v0.env()
    assert isinstance(wrapped, OrderEnforcingWrapper) and not isinstance(wrapped.env, OrderEnforcingWrapper)


@pytest.mark.parametrize("env_id", PETTINGZOO_ENV_IDS)
def test_pettingzoo_registry(env_id: str) -> None:
    from pettingzoo import make

    env = make("parallel", env_id)
    env.reset(seed=0)
    assert env.possible_agents[0] == "forager_0"


def test_team_modules_defaults() -> None:
    from sb3_forager import forager_stress_v0, forager_team_v0

    stress = forager_stress_v0.parallel_env()
    obs, _ = stress.reset()
    assert len(obs) == 10 and stress.max_cycles == 500 and stress.scenario.teammate == "nearest"
    np.testing.assert_allclose(obs["forager_9"][:2], [0.85, 0.50])
    team = forager_team_v0.parallel_env(n_foragers=4)
    obs, _ = team.reset(seed=1)
    assert len(obs) == 4 and team.scenario.random_starts and team.scenario.teammate == "nearest"


def test_coop_spaces_and_episode_end_contract() -> None:
    env = forager_coop_v0.parallel_env()
    obs, infos = env.reset(seed=1)
    assert set(obs) == {"forager_0", "forager_1"}
    assert env.observation_space("forager_0") == gym.spaces.Box(0, 1, (15,), np.float32)
    assert env.action_space("forager_1") == gym.spaces.Box(-1, 1, (2,), np.float32)
    assert all(o.dtype == np.float32 and o.shape == (15,) for o in obs.values())
    steps = 0
    while env.agents:  # still for 300 steps: a timeout
        _, _, terms, truncs, infos = env.step({a: np.zeros(2, np.float32) for a in env.agents})
        steps += 1
    assert steps == 300
    assert truncs == {"forager_0": True, "forager_1": True} and not any(terms.values())
    assert infos["forager_0"]["is_success"] is False and infos["forager_1"]["episode_steps"] == 300
    assert infos["forager_0"]["arrival_step"] == -1 and infos["forager_0"]["at_food"] is False


def test_infos_carry_the_explicit_arrival_signal() -> None:
    env = forager_coop_v0.parallel_env(starts=[[88.0, 90.0], [60.0, 60.0]])
    env.reset(seed=0)
    arrival = None
    for t in range(1, 100):
        acts = {"forager_0": np.array([1.0, 1.0], np.float32), "forager_1": np.array([1.0, 1.0], np.float32)}
        _, rewards, _, _, infos = env.step(acts)
        if infos["forager_0"]["at_food"] and arrival is None:
            arrival = t
        if not env.agents:
            break
    assert infos["forager_0"]["arrival_step"] == arrival and infos["forager_1"]["arrival_step"] == t
    assert infos["forager_0"]["is_success"] is True


# ---------------------------------------------------------------------- render
@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: gym.make("sb3_forager/Forager-v0", **kw),
        lambda **kw: forager_coop_v0.parallel_env(**kw),
        lambda **kw: importlib.import_module("sb3_forager.forager_stress_v0").parallel_env(**kw),
    ],
    ids=["forager", "coop", "stress"],
)
def test_render_gives_an_image_of_the_declared_shape(make) -> None:
    env = make(render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.shape == (400 + CAPTION, 400, 3) and img.dtype == np.uint8
    # obstacles are dark grey, the food green: both must be in the picture
    assert (img == (80, 80, 80)).all(axis=2).sum() > 1000
    assert (img == (50, 180, 50)).all(axis=2).sum() > 100
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 4


def test_render_draws_the_episode_layout() -> None:
    env = gym.make("sb3_forager/Forager-v0", render_mode="rgb_array")
    env.reset(options={"obstacles": [[50.0, 50.0]]})
    img = env.render()
    grey = (img[:400] == (80, 80, 80)).all(axis=2)
    assert grey[200, 200] and not grey[100, 100]  # the one square at (50, 50), not the tutorial's


def test_human_render_under_a_dummy_video_driver(monkeypatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    pygame = pytest.importorskip("pygame")
    env = gym.make("sb3_forager/Forager-v0", render_mode="human")
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    assert env.render() is None
    surface = pygame.display.get_surface()
    assert surface is not None and surface.get_size() == (400, 400 + CAPTION)
    env.close()
    coop = forager_coop_v0.parallel_env(render_mode="human")
    coop.reset(seed=0)
    coop.step({a: np.zeros(2, np.float32) for a in coop.agents})
    coop.close()


def test_human_render_without_pygame_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pygame", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"sb3_forager\[human\]"):
        gym.make("sb3_forager/Forager-v0", render_mode="human")


# ---------------------------------------------------------------------- determinism, seeds, pickle
def _rollout(env, actions, seed=3):
    out = [env.reset(seed=seed)[0]]
    for a in actions:
        obs, reward, term, trunc, _ = env.step(a)
        out.append((obs, reward, term, trunc))
        if term or trunc:
            out.append(env.reset()[0])
    return out


@pytest.mark.parametrize("env_id", EMBEDDED_GYM_ENV_IDS)
def test_determinism_rollout(env_id: str) -> None:
    actions = np.random.default_rng(0).uniform(-1, 1, (400, 2)).astype(np.float32)
    a = _rollout(gym.make(env_id), actions)
    b = _rollout(gym.make(env_id), actions)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(
            np.asarray(x[0] if isinstance(x, tuple) else x), np.asarray(y[0] if isinstance(y, tuple) else y)
        )
        if isinstance(x, tuple):
            assert x[1:] == y[1:]


def test_seeds_mean_something_for_random_scenarios() -> None:
    env = gym.make("sb3_forager/ForagerRandom-v0")
    first = [env.reset(seed=s)[0] for s in (1, 2, 1)]
    np.testing.assert_array_equal(first[0], first[2])
    assert (first[0] != first[1]).any()
    team = importlib.import_module("sb3_forager.forager_team_v0").parallel_env(obstacles="random")
    a = team.reset(seed=5)[0]
    b = team.reset(seed=5)[0]
    c = team.reset(seed=6)[0]
    assert all((a[k] == b[k]).all() for k in a) and any((a[k] != c[k]).any() for k in a)


def test_fixed_scenarios_ignore_the_seed() -> None:
    env = gym.make("sb3_forager/Forager-v0")
    np.testing.assert_array_equal(env.reset(seed=1)[0], env.reset(seed=2)[0])


def test_reset_options_set_one_episode() -> None:
    env = gym.make("sb3_forager/Forager-v0")
    obs, _ = env.reset(options={"starts": [[50.0, 10.0]], "obstacles": []})
    np.testing.assert_allclose(obs[:2], [0.5, 0.1])
    diag = 10 * np.sqrt(2) / 30  # no obstacles: only the border, 10 above (sensors 225°, 270°, 315°)
    np.testing.assert_allclose(obs[5:], [1.0, 1.0, 1.0, 1.0, 1.0, diag, 10 / 30, diag], atol=1e-6)
    obs2, _ = env.reset()
    np.testing.assert_allclose(obs2[:2], [0.05, 0.05])  # the next episode is the scenario's again


def test_scenario_kwargs_through_gym_make_and_parallel_env() -> None:
    env = gym.make("sb3_forager/Forager-v0", starts=[[30.0, 70.0]], food=[50.0, 90.0], max_steps=50)
    obs, _ = env.reset()
    np.testing.assert_allclose(obs[:2], [0.3, 0.7])
    assert env.unwrapped.scenario.food == (50.0, 90.0)
    pair = forager_coop_v0.parallel_env(max_cycles=40, obstacles="random", n_obstacles=3)
    pair.reset(seed=0)
    assert pair.max_cycles == 40 and len(pair.episode.obstacles) == 3


def test_pickle_round_trip_mid_episode() -> None:
    env = gym.make("sb3_forager/ForagerRandom-v0")
    env.reset(seed=0)
    for _ in range(7):
        env.step(np.array([0.5, 0.8], np.float32))
    clone = pickle.loads(pickle.dumps(env))
    a = env.step(np.array([0.3, -0.2], np.float32))
    b = clone.step(np.array([0.3, -0.2], np.float32))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:4] == b[1:4]
    for module in MODULES:
        coop = module.parallel_env()
        coop.reset(seed=2)
        coop.step({a: [1.0, 0.0] for a in coop.agents})
        coop2 = pickle.loads(pickle.dumps(coop))
        o1 = coop.step({a: [0.2, 0.2] for a in coop.agents})[0]
        o2 = coop2.step({a: [0.2, 0.2] for a in coop2.agents})[0]
        assert all((o1[k] == o2[k]).all() for k in o1)
        # and the next random episode is the same too: the generator travels with the env
        np.testing.assert_array_equal(coop.reset()[0]["forager_0"], coop2.reset()[0]["forager_0"])


def _make_in_child(queue) -> None:  # runs in a spawned interpreter: nothing imported beforehand
    import gymnasium

    env = gymnasium.make("sb3_forager:sb3_forager/Forager-v0")
    obs, _ = env.reset(seed=0)
    queue.put(obs.tolist())


def test_spawn_subprocess_make() -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_make_in_child, args=(queue,))
    proc.start()
    obs = queue.get(timeout=120)
    proc.join(timeout=60)
    assert proc.exitcode == 0
    np.testing.assert_allclose(obs, gym.make("sb3_forager/Forager-v0").reset(seed=0)[0])


def test_making_the_envs_imports_neither_torch_nor_sb3() -> None:
    code = (
        "import sys, gymnasium as gym, sb3_forager\n"
        "from sb3_forager import forager_coop_v0, forager_team_v0, forager_stress_v0\n"
        "gym.make('sb3_forager/Forager-v0').reset(seed=0)\n"
        "gym.make('sb3_forager/GamaForager-v0')\n"
        "forager_coop_v0.parallel_env().reset(seed=0)\n"
        "forager_stress_v0.env().reset(seed=0)\n"
        "heavy = [m for m in ('torch', 'stable_baselines3', 'sb3_contrib', 'supersuit') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_team_modules_show_their_scenario_arguments() -> None:
    """Like MPE2's ``parallel_env(N=..., max_cycles=...)``: explicit keyword parameters, not ``**kwargs``."""
    import inspect

    for module in MODULES:
        for fn in (module.parallel_env, module.raw_env, module.env):
            params = inspect.signature(fn).parameters
            for name in ("starts", "obstacles", "n_obstacles", "food", "max_cycles", "render_mode", "backend",
                         "n_foragers", "teammate", "scenario"):  # fmt: skip
                assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, (module.__name__, fn.__name__, name)
            assert params["max_cycles"].default is None and params["backend"].default == "embedded"
    env = forager_coop_v0.parallel_env(max_cycles=7, starts=[[88.0, 90.0], [60.0, 60.0]])
    assert env.max_cycles == 7 and env.scenario.starts == ((88.0, 90.0), (60.0, 60.0))


def test_no_import_cycle_between_the_package_folders() -> None:
    """Folder graph of every import (module level and inside functions) in sb3_forager: acyclic, with
    sim/common importing nothing above them, envs nothing of gama and gama nothing of envs."""
    import ast
    from pathlib import Path

    pkg = Path(sb3_forager.__file__).parent

    def node(parts: list[str]) -> str:
        return parts[1] if len(parts) > 2 else "sb3_forager"  # root modules are one node

    edges: set[tuple[str, str]] = set()
    for path in pkg.rglob("*.py"):
        rel = path.relative_to(pkg.parent).with_suffix("")
        if rel.name == "__main__":
            continue
        parts = list(rel.parts)
        here = node(parts)
        package = parts[:-1] if rel.name != "__init__" else parts[:-1]
        for stmt in ast.walk(ast.parse(path.read_text())):
            targets: list[list[str]] = []
            if isinstance(stmt, ast.Import):
                targets = [a.name.split(".") for a in stmt.names]
            elif isinstance(stmt, ast.ImportFrom):
                base = package[: len(package) - stmt.level + 1] if stmt.level else []
                mod = base + (stmt.module.split(".") if stmt.module else [])
                # ``from . import x`` / ``from .. import forager_coop_v0``: x may be a module
                targets = [mod + [a.name] for a in stmt.names] if not stmt.module else [mod]
            for t in targets:
                if t and t[0] == "sb3_forager":
                    there = node(t + ["x"]) if len(t) >= 2 and (pkg / t[1]).is_dir() else "sb3_forager"
                    if there != here:
                        edges.add((here, there))
    assert ("envs", "gama") not in edges and ("gama", "envs") not in edges, edges
    for low in ("sim", "common"):
        assert {b for a, b in edges if a == low} <= {"common"}, (low, edges)
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        state[n] = 1
        for m in graph.get(n, ()):
            assert state.get(m) != 1, f"import cycle: {' -> '.join(path + [n, m])}"
            if m not in state:
                visit(m, path + [n])
        state[n] = 2

    for n in list(graph):
        if n not in state:
            visit(n, [])
