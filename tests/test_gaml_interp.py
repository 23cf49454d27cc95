"""The GAML interpreter (sb3_forager/lang/interp): GAMA's operator semantics, the shipped models'
trajectories against the embedded simulation, mutated files caught by ``check-fidelity --engine gaml``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sb3_forager import fidelity
from sb3_forager.cli import check_fidelity
from sb3_forager.lang.interp import GamlError, Model
from sb3_forager.lang.interp.fidelity import gaml_factory
from sb3_forager.lang.interp.onnx import ONNX_EXTENSIONS
from sb3_forager.models import MODELS

GAML = Path(__file__).resolve().parents[1] / "gaml"


def _eval(expr: str, decls: str = "") -> object:
    m = Model(f"model T global {{ {decls} }} experiment e {{}}")
    m.load("e", {})
    return m.evaluate(expr)


@pytest.mark.parametrize("expr, expected", [
    ("7 / 2", 3.5), ("7 div 2", 3), ("-7 div 2", -3), ("7 mod 3", 1), ("-7 mod 3", -1),
    ("int(2.9)", 2), ("int(-2.9)", -2), ("round(2.5)", 3), ("round(-2.5)", -3), ("round(-2.4)", -2), ("round(2.4)", 2),
    ("2 ^ 3", 8.0), ("1 + 2", 3), ("1 + 2.0", 3.0), ("cos(90.0)", math.cos(math.pi / 2)),
    ("{0, 0} towards {0, -1}", 270.0), ("{0, 0} towards {-1, 0}", 180.0), ("{0, 0} distance_to {3, 4}", 5.0),
    ("min([3, 1.5, 2])", 1.5), ("length(list_with(4, 0.0))", 4), ("\"a\" + 1.0", "a1.0"),
    ("{1.0, 2.0} + {1.0, 1.0}", None), ("from_json('[[1, 2.5]]')[0][1]", 2.5), ("[1, 2] contains 2", True),
    ("[\"a\"::1] contains_key \"a\"", True), ("[1, 2, 3] collect (each * 2)", [2, 4, 6]),
    ("[1, 2, 3] first_with (each > 1)", 2), ("[true, false] all_match each", False),
    ("{5, 5} intersects (square(10) at_location {10, 10})", True),   # the closed square: a corner counts
    ("{4.999, 5} intersects (square(10) at_location {10, 10})", False),
    ("(line([{0, 50}, {100, 50}]) inter (square(10) at_location {50, 50})).location", None),
])  # fmt: skip
def test_operators_follow_gama(expr: str, expected: object) -> None:
    v = _eval(expr)
    if expr.startswith("{1.0"):
        assert (v.x, v.y, v.z) == (2.0, 3.0, 0.0)
    elif expr.startswith("(line"):  # the midpoint of the part inside the square, not the first hit
        assert (v.x, v.y) == (50.0, 50.0)
    elif isinstance(expected, float):
        assert isinstance(v, float) and v == pytest.approx(expected, abs=1e-12)
    else:
        assert v == expected and type(v) is type(expected)


def test_typed_variables_cast_like_gama() -> None:
    m = Model("model T global { float f <- 1; int i <- 2.7; list<float> l <- [1, 2]; init { f <- 3; i <- 5 / 2; } } experiment e {}")
    m.load("e", {})
    assert m.evaluate("f") == 3.0 and isinstance(m.evaluate("f"), float)
    assert m.evaluate("i") == 2  # 5 / 2 = 2.5, stored in an int: truncated
    assert m.evaluate("l") == [1.0, 2.0] and all(isinstance(x, float) for x in m.evaluate("l"))


def test_actions_create_ask_and_scheduling() -> None:
    text = """model T
    global { int n <- 0; list<int> order <- [];
      init { create a number: 3 with: [k::7] { order << 100 + index; } }
      reflex g { order << -1; }
      int twice(int x) { return x * 2; }
      action bump(int by <- 1) { n <- n + by; } }
    species a { int k <- 1; int me <- 0; init { me <- k + 1; }
      reflex r { order << index; ask world { do bump by: 2; } } }
    experiment e {}"""
    m = Model(text)
    m.load("e", {})
    assert m.evaluate("a collect each.me") == [8, 8, 8]  # with: is set before init
    assert m.evaluate("order") == [100, 101, 102]  # the create body after init
    m.step()
    assert m.evaluate("order")[3:] == [-1, 0, 1, 2]  # global reflexes, then the species' agents
    assert m.evaluate("n") == 6 and m.evaluate("twice(21)") == 42 and m.evaluate("cycle") == 1


def test_die_ends_the_dying_agent_only() -> None:
    """GAMA's FlowStatus.DIE: cleared when the scope pops the dead agent, so the asking agent goes on
    (``ask member { do die; }`` then more statements), while ``return`` inside an ``ask`` still returns."""
    text = """model T
    global { list<string> log <- [];
      init { create a number: 2; }
      action renew { ask a[0] { do die; } log << "after ask"; create a; log << "created"; }
      int early(int x) { ask a { return 7; } return x; } }
    species a { reflex r { log << "r" + index; if (index = 1) { do die; } log << "still " + index; }
      reflex s { log << "s" + index; } }
    experiment e {}"""
    m = Model(text)
    m.load("e", {})
    m.execute("do renew;")
    assert m.evaluate("log") == ["after ask", "created"] and m.evaluate("length(a)") == 2
    m.execute("log <- [];")
    m.step()  # a1 dies in its first reflex: none of its statements or reflexes after that run
    assert m.evaluate("log") == ["r1", "r2", "still 2", "s2"]
    assert m.evaluate("early(0)") == 7
    # the dead are out of the population (not only hidden): a long run does not keep them; indices are not reused
    assert m.evaluate("length(a)") == 1 and m.evaluate("a[0].index") == 2 and len(m.species["a"].members) == 1
    m.execute("create a;")
    assert m.evaluate("a[1].name") == "a3"


def test_errors_are_gaml_errors() -> None:
    m = Model('model T global { string p <- ""; init { if (p != "") { error "bad p: " + p; } } } experiment e { parameter "p" var: p; }')
    m.load("e", {})
    with pytest.raises(GamlError, match="bad p: x"):
        m.load("e", {"p": "x"})
    with pytest.raises(GamlError, match="out of bounds"):
        _eval("[1, 2][5]")


@pytest.mark.parametrize("group", ["forager", "coop", "stress"])
def test_shipped_models_equal_the_embedded_simulation(group: str) -> None:
    report = fidelity.check(gaml_factory(), seed=3, episodes=1, groups=(group,))
    assert report.steps[group] > 500
    assert report.largest() <= 1e-5, report.summary("gaml", 1e-5)[0]


def test_random_scenarios_equal_the_embedded_simulation() -> None:
    make = gaml_factory()
    for group in ("forager-random", "team"):
        sc = MODELS[group].scenario.replace(obstacles="random", max_steps=60)
        report = fidelity.Report()
        for seed in (1, 2):
            fidelity.compare(fidelity.make_env(MODELS[group], sc), make(MODELS[group], sc),
                             fidelity.greedy_policy(seed), f"seed {seed}", report, 60, group, seed)  # fmt: skip
        assert report.largest() <= 1e-5, report.summary("gaml", 1e-5)[0]


MUTATIONS = {
    "friction": ("float friction          <- 0.8;", "float friction          <- 0.79;"),
    "reward": ("delta * 2.0 - 0.01", "delta * 2.0 - 0.02"),
    "sensor range": ("float sensor_range      <- 30.0;", "float sensor_range      <- 31.0;"),
    "acceleration": ("float accel_force       <- 1.5;", "float accel_force       <- 1.45;"),
}


@pytest.mark.parametrize("what", sorted(MUTATIONS))
def test_a_changed_constant_fails_the_check(what: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    old, new = MUTATIONS[what]
    text = (GAML / "forager_gym.gaml").read_text()
    assert text.count(old) == 1
    path = tmp_path / "forager_gym.gaml"
    path.write_text(text.replace(old, new))
    argv = ["--engine", "gaml", "--groups", "forager", "--episodes", "1", "--gym-gaml", str(path)]
    assert check_fidelity.main(argv) == 1
    assert "FAIL" in capsys.readouterr().out
    # and the unchanged file passes the same check
    path.write_text(text)
    assert check_fidelity.main(argv) == 0


def test_a_missing_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert check_fidelity.main(["--engine", "gaml", "--gym-gaml", str(tmp_path / "nope.gaml")]) == 2
    assert "nope.gaml" in capsys.readouterr().out


def test_bridge_expressions_against_the_live_model() -> None:
    m = Model((GAML / "forager_gym.gaml").read_text())
    m.load("gym_env", {"starts_json": "[[50.0,50.0]]", "obstacles_json": "[]"})
    assert m.evaluate("GymAgent[0].observation_space")["low"] == [0.0] * 13
    m.execute("GymAgent[0].next_action <- [1.0, 0.0];")
    m.step()
    state = np.asarray(m.evaluate("GymAgent[0].data")["State"])
    assert state[0] == pytest.approx(51.5 / 100.0) and m.evaluate("current_step") == 1
    with pytest.raises(GamlError, match="starts_json"):
        m.load("gym_env", {"starts_json": "[[25.0,25.0]]"})  # inside an obstacle


def _tiny_policy(path: Path, obs_dim: int, layout: str) -> None:
    """A linear policy obs -> tanh(obs @ W + b) as an ONNX graph with the exporter's names and metadata."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(0, 2, (obs_dim, 2)).astype(np.float32), "W")
    b = numpy_helper.from_array(np.array([0.3, 0.2], dtype=np.float32), "B")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "W"], ["h"]), helper.make_node("Add", ["h", "B"], ["z"]),
         helper.make_node("Tanh", ["z"], ["action"])], "policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [None, obs_dim])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, [None, 2])], [w, b])  # fmt: skip
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(proto, {"obs_layout": layout})
    onnx.save(proto, str(path))


def test_the_onnx_model_runs_its_policy_like_the_embedded_env(tmp_path: Path) -> None:
    """forager_onnx.gaml (onnxruntime standing in for the plugin) against the embedded env driven by the same graph."""
    ort = pytest.importorskip("onnxruntime")
    import gymnasium as gym

    text = (GAML / "forager_onnx.gaml").read_text()
    layout = Model(text).global_species.decls  # the layout the model builds, read off the model itself
    single_layout = next(expr for name, _t, expr in layout if name == "single_layout").children[0]
    _tiny_policy(tmp_path / "policy.onnx", 13, str(single_layout)[1:-1])
    m = Model(text, ONNX_EXTENSIONS, str(tmp_path))
    m.load("onnx_single", {"max_steps": 80})
    session = ort.InferenceSession(str(tmp_path / "policy.onnx"))
    env = gym.make(MODELS["forager"].gym_id, disable_env_checker=True).unwrapped
    obs, _ = env.reset(seed=0)
    steps = 0
    while not m.evaluate("episode_over") and steps < 80:
        gaml_obs = np.asarray(m.evaluate("forager[0].observation"))
        assert np.abs(gaml_obs - obs).max() <= 1e-5
        action = session.run(["action"], {"obs": obs[None, :].astype(np.float32)})[0][0]
        obs, reward, terminated, truncated, _ = env.step(action)
        m.step()
        steps += 1
        if terminated or truncated:
            break
    assert steps > 10
    assert bool(m.evaluate("episode_over")) == bool(terminated or truncated) or steps == 80
