"""W worlds per GAMA simulation (``--gama-worlds-per-sim``, :mod:`sb3_forager.gama.batched`) against
the stand-in: the same VecEnv as the embedded one world for world, one round trip per simulation and
step, bad data and bad W as one clear error, the CLIs' bad input."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_gama_vec_env import assert_same_step, steer

from sb3_forager.envs import ForagerVecEnv
from sb3_forager.gama import GamaError, GamaProtocolError
from sb3_forager.gama.batched import MAX_WORLDS_PER_SIM, GamaSimWorlds
from sb3_forager.make import make_gama_vec_env, make_vec_env
from sb3_forager.sim import Scenario

KINDS = {"forager": 1, "coop": 2}


def _pair(gama, kind, n, w, **scenario):
    base = make_vec_env(kind, n).scenario
    sc = Scenario.from_kwargs(base, **scenario) if scenario else base
    venv = make_gama_vec_env(kind, n, servers=[f"127.0.0.1:{gama.port}"], worlds_per_sim=w, scenario=sc)
    ref = ForagerVecEnv(n, sc)
    return venv, ref


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("w", [1, 3, 8])
def test_equals_the_embedded_vec_env_world_for_world(gama, kind, w):
    """7 worlds (not a multiple of 3 or 8), 40-step episodes: several auto-resets per world, successes too."""
    n, k = 7, KINDS[kind]
    venv, ref = _pair(gama, kind, n, w, max_steps=40)
    assert isinstance(venv.backend, GamaSimWorlds)
    assert [s.n for s in venv.backend.sims] == [w] * (n // w) + ([n % w] if n % w else [])
    venv.seed(3)
    ref.seed(3)
    obs, want = venv.reset(), ref.reset()
    assert np.abs(obs - want).max() < 1e-6
    rng = np.random.default_rng(5)
    trips = venv.backend.round_trips
    ends = 0
    for _ in range(130):
        actions = rng.uniform(-1, 1, (n * k, 2)).astype(np.float32)
        actions[:k] = steer(want[:k, :2] * 100.0)
        got, want_step = venv.step(actions), ref.step(actions)
        assert_same_step(got, want_step)
        want = want_step[0]
        ends += int(got[2].sum())
    assert ends >= 3 * n * k  # every world ended (and was reset) at least three times
    # one round trip per simulation and step (the scenario is fixed: the model's own restart is the next episode)
    assert venv.backend.round_trips - trips == 130 * len(venv.backend.sims)
    venv.close()


@pytest.mark.timeout(120)
def test_random_scenarios_send_the_drawn_next_episode(gama):
    n, w = 5, 2
    venv, ref = _pair(gama, "forager", n, w, max_steps=15, obstacles="random", starts="random")
    venv.seed(11)
    ref.seed(11)
    assert np.abs(venv.reset() - ref.reset()).max() < 1e-6
    rng = np.random.default_rng(0)
    for _ in range(50):
        actions = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
        assert_same_step(venv.step(actions), ref.step(actions))
    assert venv.get_attr("episode") == ref.get_attr("episode")
    venv.close()


def test_each_worlds_last_report_is_its_row_of_the_last_step_or_its_restart(gama):
    """The backend's obs and render read each world's last report: the step's row, or the restart's
    first report for a world that ended (here every world ends at step 3 and restarts)."""
    venv, ref = _pair(gama, "forager", 4, 3, max_steps=3)
    venv.seed(2)
    ref.seed(2)
    venv.reset(), ref.reset()
    backend = venv.backend
    for t in range(3):
        actions = np.full((4, 2), 0.5, dtype=np.float32)
        got, _ = venv.step(actions), ref.step(actions)
        # after the last step every world restarted: its last report is its new episode's first one
        np.testing.assert_allclose(backend.obs[:, 0], got[0], atol=1e-6)
        assert got[2].all() == (t == 2)
    first = [backend.last_report(w) for w in range(4)]
    assert all(len(r.obs) == 1 for r in first)
    np.testing.assert_allclose(np.concatenate([r.obs for r in first])[:, 0], ref.reset()[:], atol=1e-6)
    assert backend.render(3).shape[2] == 3
    venv.close()
    assert backend.last_report(0) is None and backend.obs is None


def test_bad_data_is_one_protocol_error_naming_the_world(gama):
    venv, _ = _pair(gama, "forager", 4, 4)
    venv.reset()
    gama.faults.corrupt = lambda f: f["data"][2].__setitem__("Reward", "NaN")
    with pytest.raises(GamaProtocolError, match=r"world 2\]: GymAgent\[0\]\.data\['Reward'\] must be a finite number, got 'NaN'"):
        venv.step(np.zeros((4, 2), dtype=np.float32))
    venv.close()


@pytest.mark.parametrize("kind", ["forager", "coop"])
def test_the_one_pass_parse_equals_the_strict_per_world_parse(gama, kind):
    """batch_parse (the step's fast path) and WorldsContract.parse_step on the same answers, ends included."""
    import copy

    from sb3_forager.gama import batch_parse

    answers = []
    venv, _ = _pair(gama, kind, 3, 3, max_steps=4)
    venv.reset()
    gama.faults.corrupt = lambda f: answers.append(copy.deepcopy(f["data"]))
    for _ in range(6):
        venv.step(np.random.default_rng(0).uniform(-1, 1, (3 * KINDS[kind], 2)).astype(np.float32))
    contract = venv.backend.sims[0].contract
    venv.close()
    assert len(answers) == 6 and any("Reset" in m for a in answers for m in a)
    b = contract.base
    for value in answers:
        one_pass = (batch_parse.single(value, 3, b.obs_dim) if kind == "forager"
                    else batch_parse.team(value, 3, b.agent_ids, b.obs_dim))  # fmt: skip
        assert one_pass is not None  # the fast path takes the model's answers
        fast, fresh = contract.parse_step_all(value, 3)
        pairs = contract.parse_step(value, [True] * 3)
        strict = batch_parse.join([p[0] for p in pairs])
        for field in ("obs", "reward", "terminated", "truncated", "episode_over", "success", "at_food"):
            np.testing.assert_array_equal(getattr(fast, field), getattr(strict, field), err_msg=field)
        assert fast.infos == strict.infos
        assert sorted(fresh) == [w for w, p in enumerate(pairs) if p[1] is not None]
        for w, r in fresh.items():
            np.testing.assert_array_equal(r.obs, pairs[w][1].obs)
    # an answer the one pass does not take (a string where a number belongs) is the strict parser's
    bad = copy.deepcopy(answers[0])
    if kind == "forager":
        bad[1]["Reward"] = "1.0"
    else:
        bad[1]["Rewards"] = {"forager_0": "1.0", "forager_1": 0.0}
    with pytest.raises(GamaProtocolError, match=r"world 1\]"):
        contract.parse_step_all(bad, 3)


@pytest.mark.parametrize("w", [0, -1, MAX_WORLDS_PER_SIM + 1, 10**9, 2.0, True])
def test_a_w_out_of_range_is_refused_naming_it_and_the_limit(w):
    with pytest.raises(ValueError, match=rf"\[1, {MAX_WORLDS_PER_SIM}\], got {w!r}"):
        make_gama_vec_env("forager", 2, worlds_per_sim=w)


def test_a_step_without_reset_is_refused(gama):
    venv, _ = _pair(gama, "forager", 2, 2)
    with pytest.raises(GamaError, match="call reset"):
        venv.backend.step(np.zeros((2, 1, 2)))
    venv.close()


@pytest.mark.parametrize("command", ["train", "evaluate", "check-fidelity", "bench gama"])
@pytest.mark.parametrize("value", ["0", "-3", "1025", "1000000000", "two"])
def test_a_bad_w_on_the_command_line_is_one_error_line_exit_2(command, value, tmp_path, capsys):
    from test_gama_launcher import _cli

    marker = tmp_path / "started"
    launcher = tmp_path / "gama-headless.sh"
    launcher.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 60\n")
    launcher.chmod(0o755)
    model = [str(tmp_path)] if command == "evaluate" else []
    flag = ["--gama-worlds-per-sim", value] + (["1"] if command == "bench gama" and value == "two" else [])
    try:
        code = _cli(command)([*model, "--gama-launch", str(launcher), *flag])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("error:") == 1 and len(err.strip().splitlines()) == 1, err
    assert "--gama-worlds-per-sim" in err and value in err, err
    if value != "two":
        assert f"[1, {MAX_WORLDS_PER_SIM}]" in err, err
    assert not marker.exists()


def test_the_cli_limit_is_the_backend_limit():
    from sb3_forager.cli.common import MAX_WORLDS_PER_SIM as CLI_LIMIT
    from sb3_forager.training.config import TrainConfig

    assert CLI_LIMIT == MAX_WORLDS_PER_SIM
    with pytest.raises(Exception, match=r"gama_worlds_per_sim"):
        TrainConfig(gama_worlds_per_sim=MAX_WORLDS_PER_SIM + 1).validate()


@pytest.mark.timeout(300)
def test_ppo_trains_through_w_worlds_per_simulation(gama, tmp_path):
    from stable_baselines3 import PPO

    venv, _ = _pair(gama, "coop", 5, 3, max_steps=30)
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=80, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=320)
    assert model.num_timesteps >= 320
    assert venv.backend.round_trips >= model.num_timesteps // 10 // 2  # one per simulation (2) and step
    venv.close()


def test_the_shipped_w_world_gaml_checks_and_the_contract_catches_a_renamed_bridge_field(tmp_path):
    import shutil
    from pathlib import Path

    from sb3_forager.lang.contract import check_shipped

    gaml = Path(__file__).resolve().parent.parent / "gaml"
    assert check_shipped() == []
    for f in gaml.glob("*.gaml"):
        shutil.copy(f, tmp_path)
    for name, old, new in [("forager_gym_worlds.gaml", "step_worlds(string", "step_all(string"),
                           ("forager_petz_worlds.gaml", 'parameter "n_foragers" var: n_foragers;', "")]:  # fmt: skip
        path = tmp_path / name
        path.write_text(path.read_text().replace(old, new))
    text = "\n".join(p.format() for p in check_shipped(tmp_path))
    assert "unknown operator or action 'step_worlds'" in text
    assert "experiment 'petz_worlds_env' declares no parameter 'n_foragers' (int)" in text


@pytest.mark.timeout(240)
def test_a_managed_server_that_dies_mid_run_is_restarted_and_its_simulations_replayed(monkeypatch, tmp_path, caplog):
    from test_gama_launcher import FAKE, _actions

    from sb3_forager.gama import GamaServers

    monkeypatch.setenv("FAKE_GAMA_PYTHON", sys.executable)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the fake imports this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("FAKE_GAMA_DIE_AFTER_STEPS", "9")  # dies once, at its 10th step_worlds
    actions = _actions(20, 8)
    embedded = make_vec_env("coop", 4)
    expected = [embedded.reset()] + [embedded.step(a)[0] for a in actions]
    with GamaServers(FAKE, workdir=tmp_path, start_timeout=90) as servers:
        venv = make_gama_vec_env("coop", n_worlds=4, servers=servers, timeout=10.0, worlds_per_sim=3)
        with caplog.at_level("WARNING"):
            got = [venv.reset()] + [venv.step(a)[0] for a in actions]
        venv.close()
        log = (servers.folders[0] / "gama.log").read_text()
    assert "dies at step command 10" in log
    assert "the managed GAMA server 0" in caplog.text and "replaying" in caplog.text
    np.testing.assert_allclose(np.array(got), np.array(expected), atol=1e-6)


@pytest.mark.timeout(300)
def test_train_cli_runs_with_w_worlds_per_simulation(monkeypatch, tmp_path):
    from test_gama_launcher import _train_args

    from sb3_forager.cli import train
    from sb3_forager.training.config import TrainConfig, load_yaml

    monkeypatch.setenv("FAKE_GAMA_PYTHON", sys.executable)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    argv = _train_args(tmp_path, "--timesteps", "128", "--n-worlds", "3", "--gama-worlds-per-sim", "2")
    assert train.main(argv) == 0
    cfg = TrainConfig.from_dict(load_yaml(next(tmp_path.rglob("config.yml"))))
    assert cfg.gama_worlds_per_sim == 2 and cfg.backend == "gama"
