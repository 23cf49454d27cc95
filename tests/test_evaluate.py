"""Evaluation: the numbers evaluate prints are the evaluation's (team success with its Wilson
interval, per-forager success from the explicit arrival signal, steps, path efficiency against the
physical optimum, returns), beside the random and greedy baselines; checkpoints with their own
normalisation statistics; scenarios (stress, more foragers, random layouts); GIF and PNG."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scripted_policies import Steer
from stable_baselines3.common.vec_env import VecMonitor

from sb3_forager.cli import evaluate as cli
from sb3_forager.envs import ForagerVecEnv, make_forager_vec_env
from sb3_forager.sim import FOOD, FORAGER, FORAGER_RANDOM, OBSTACLE_CENTRES, PAIR_STARTS, STRESS, Episode, ForagerSim, Scenario
from sb3_forager.sim.paths import min_steps_lower_bound
from sb3_forager.training import record_replay, resolve_config, train
from sb3_forager.training.evaluation import GreedyPolicy, RandomPolicy, _frame, evaluate_team, save_gif, wilson_interval
from sb3_forager.training.evaluation import save_trajectory_png

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "evaluate.py"

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny runs: coop PPO, forager RecurrentPPO, forager-random PPO with VecNormalize and checkpoints."""
    logdir = tmp_path_factory.mktemp("logs")
    common = {"n_worlds": 2, "eval_freq": 96, "eval_episodes": 1, "checkpoint_freq": 0, "progress_bar": False}
    hyper = {"n_steps": 16, "batch_size": 32, "n_epochs": 1}
    runs = {}
    runs["coop"] = train(
        resolve_config("coop", "ppo", overrides={**common, "n_timesteps": 128}, hyperparam_overrides=hyper),
        logdir=logdir,
        run_name="coop",
    ).run_dir
    runs["lstm"] = train(
        resolve_config(
            "forager",
            "recurrent_ppo",
            overrides={**common, "n_timesteps": 96},
            hyperparam_overrides={**hyper, "policy_kwargs": {"lstm_hidden_size": 8}},
        ),
        logdir=logdir,
        run_name="lstm",
    ).run_dir
    runs["norm"] = train(
        resolve_config(
            "forager-random",
            "ppo",
            overrides={**common, "n_timesteps": 320, "normalize": True, "checkpoint_freq": 160},
            hyperparam_overrides=hyper,
        ),
        logdir=logdir,
        run_name="norm",
    ).run_dir
    return runs


def _rows(out: str) -> dict[str, list[str]]:
    """The table rows of evaluate's output: name -> the values after it."""
    rows = {}
    for line in out.splitlines():
        for name in ("policy (deterministic)", "policy (stochastic)", "random actions", "greedy (push at food)"):
            if line.startswith(name):
                rows[name] = line[len(name) :].split()
    return rows


def test_the_table_is_the_evaluation(trained, capsys):
    """The printed numbers equal a direct evaluation of the loaded model and the baselines on the
    same seeded episodes."""
    from sb3_forager.training.train import load_model

    assert cli.main([str(trained["coop"]), "--env", "team", "--episodes", "12", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert set(rows) == {"policy (deterministic)", "policy (stochastic)", "random actions", "greedy (push at food)"}
    table = [line for line in out.splitlines() if line.startswith(" ") or line[:6] in ("policy", "random", "greedy")]
    assert len(table) == 5 and all(len(line) <= 100 for line in table)
    model = load_model(trained["coop"] / "model.zip")
    scenario = Scenario.from_kwargs(Scenario(rules="team", n_foragers=2, starts="random", teammate="nearest"))
    for name, player, det in (
        ("policy (deterministic)", model, True),
        ("greedy (push at food)", GreedyPolicy(), True),
        ("random actions", RandomPolicy(5), True),
    ):
        venv = VecMonitor(ForagerVecEnv(12, scenario))
        venv.seed(5)
        s = evaluate_team(player, venv, 12, 2, deterministic=det).summary()
        lo, hi = wilson_interval(round(s["success_rate"] * 12), 12)
        values = rows[name]
        assert values[0] == f"{100 * s['success_rate']:.1f}%", name
        assert values[1:3] == [f"[{100 * lo:.0f}%,", f"{100 * hi:.0f}%]"], name
        assert values[3] == f"{100 * s['forager_success_rate']:.1f}%", name
        eff = "n/a" if math.isnan(s["path_efficiency"]) else f"{s['path_efficiency']:.3f}"
        assert values[5] == eff and values[6] == f"{s['team_return']:.1f}", name


def test_wilson_interval_values() -> None:
    assert wilson_interval(10, 10)[0] == pytest.approx(0.7225, abs=1e-4)  # 95 %: [72.2 %, 100 %]
    assert wilson_interval(0, 20) == (0.0, pytest.approx(0.1611, abs=1e-4))
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)


def test_path_efficiency_and_arrival_from_the_explicit_signal() -> None:
    """Greedy pushes on an open world: the steps it takes are those a direct simulation gives, the
    bound is the paths module's, and the efficiency is their ratio."""
    starts = [(20.0, 80.0), (60.0, 30.0), (12.0, 12.0)]
    scenario = Scenario(rules="team", n_foragers=3, starts=tuple(starts), obstacles=(), teammate="nearest")
    venv = VecMonitor(ForagerVecEnv(1, scenario))
    batch = evaluate_team(GreedyPolicy(), venv, 1, 3)
    # the same pushes, simulated directly
    sim = ForagerSim.for_scenario(scenario, 1)
    sim.reset(None, [Episode(tuple(starts), (), (95.0, 95.0), 300)])
    arrival = [-1, -1, -1]
    for t in range(1, 300):
        acts = GreedyPolicy().predict(sim.obs[0].astype(np.float32))[0].reshape(1, 3, 2)
        sim.step(acts.astype(np.float64))
        for k in range(3):
            if arrival[k] < 0 and sim.at_food[0, k]:
                arrival[k] = t
        if sim.at_food.all():
            break
    assert batch.arrival_steps[0].tolist() == arrival
    bounds = [min_steps_lower_bound(s, (95.0, 95.0), ()) for s in starts]
    assert batch.lower_bounds[0].tolist() == bounds
    assert batch.path_efficiency == pytest.approx(np.mean([b / a for b, a in zip(bounds, arrival)]))
    assert batch.steps[0] == max(arrival) and batch.success[0]


def test_arrival_does_not_come_from_the_reward() -> None:
    """The single forager gets +100 (no 0.5 waiting reward) on arrival: its arrival step is still known."""
    venv = VecMonitor(ForagerVecEnv(2, FORAGER_RANDOM))
    venv.seed(0)
    batch = evaluate_team(GreedyPolicy(), venv, 4, 1)
    assert (batch.arrival_steps[:, 0] == batch.steps).all() and (batch.arrival_steps > 0).all()


def test_stress_and_more_foragers_and_random_layouts(trained, capsys, tmp_path):
    gif = tmp_path / "stress.gif"
    assert (
        cli.main([str(trained["coop"]), "--env", "stress", "--episodes", "2", "--gif", str(gif), "--no-baselines"]) == 0
    )
    out = capsys.readouterr().out
    assert "stress: 10 foragers, fixed starts, tutorial layout, 500 steps" in out
    with Image.open(gif) as im:
        assert im.n_frames > 10
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
        assert durations[-1] >= 1000 > durations[0]  # the last frame is held for a second
    assert cli.main([str(trained["coop"]), "--env", "team", "--n-foragers", "5", "--random-obstacles", "3",
                     "--max-steps", "60", "--episodes", "2", "--mode", "deterministic"]) == 0  # fmt: skip
    assert "team: 5 foragers, random starts, 3 random squares, 60 steps" in capsys.readouterr().out


def test_checkpoint_uses_its_own_normalisation_statistics(trained, capsys):
    """A checkpoint zip is evaluated with checkpoints/vecnormalize_<n>_steps.pkl, not the final ones."""
    run = trained["norm"]
    ckpts = sorted((run / "checkpoints").glob("model_*_steps.zip"))
    assert ckpts, "the run saved checkpoints"
    ckpt = ckpts[0]
    steps = ckpt.stem.split("_")[1]
    stats = run / "checkpoints" / f"vecnormalize_{steps}_steps.pkl"
    assert stats.is_file()
    args = [str(ckpt), "--episodes", "4", "--mode", "deterministic", "--no-baselines"]
    assert cli.main(args) == 0
    with_own = _rows(capsys.readouterr().out)["policy (deterministic)"]
    # with the final statistics in their place the same checkpoint plays differently
    shutil.copy(run / "vecnormalize.pkl", stats)
    assert cli.main(args) == 0
    with_final = _rows(capsys.readouterr().out)["policy (deterministic)"]
    assert with_own != with_final
    stats.unlink()
    assert cli.main(args) == 2  # normalize on and no statistics: refused
    err = capsys.readouterr().err
    assert "vecnormalize" in err and "cannot be evaluated without" in err


def test_recurrent_best_model_and_bare_zip(trained, tmp_path, capsys):
    assert cli.main([str(trained["lstm"]), "--best", "--episodes", "1", "--mode", "deterministic"]) == 0
    out = capsys.readouterr().out
    assert "RecurrentPPO, trained on forager" in out and "stochastic" not in out
    bare = tmp_path / "elsewhere.zip"
    shutil.copy(trained["coop"] / "model.zip", bare)  # no config.yml: the env is read from the policy
    assert cli.main([str(bare), "--episodes", "1", "--mode", "stochastic", "--no-baselines"]) == 0
    assert "coop: 2 foragers, fixed starts" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "missing.zip does not exist"),
        (["{empty}", "--episodes", "1"], "does not exist"),
        (["{coop}", "--env", "forager"], "the policy takes 15 observations but --env forager gives 13"),
        (["{coop}", "--gif", "/proc/nope/replay.gif"], "--gif /proc/nope/replay.gif"),
        (["{coop}", "--png", "{empty}"], "is a folder, not a file"),
        (["{coop}", "--episodes", "0"], "--episodes: must be in"),
        (["{coop}", "--seed", "-1"], "--seed: must be in"),
        (["{coop}", "--env", "forager", "--n-foragers", "3"], "--n-foragers needs a team scenario (coop, team, stress)"),
        (["{coop}", "--env", "coop-random"], "--env: must be one of ['auto', 'forager', 'forager-random', 'coop', 'team', "
         "'stress'], got 'coop-random' ('coop-random' is now called 'team')"),
        (["{coop}", "--backend", "native"], "--backend: invalid choice: 'native'"),
        (["{coop}", "--backend", "gama", "--gama-port", "{port}"], "cannot connect to a GAMA server"),
        (["{corrupt}"], "is not a complete Stable-Baselines3 model zip"),
    ],
)
def test_bad_arguments_end_in_one_error_line(trained, tmp_path, capsys, args, message):
    from gama_standin import free_port

    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes((trained["coop"] / "model.zip").read_bytes()[:500])
    (tmp_path / "empty").mkdir()
    values = {
        "missing": str(tmp_path / "missing.zip"),
        "empty": str(tmp_path / "empty"),
        "coop": str(trained["coop"]),
        "corrupt": str(corrupt),
        "port": str(free_port()),
    }
    try:
        code = cli.main([a.format(**values) for a in args])
    except SystemExit as exc:  # argparse's own checks
        code = exc.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "error:" in lines[0] and message in lines[0], err


def test_evaluate_script_runs_in_a_subprocess(trained):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(trained["coop"]), "--episodes", "1", "--no-baselines"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "policy (deterministic)" in proc.stdout and "policy (stochastic)" in proc.stdout
    help_proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    for flag in ("--episodes", "--gif", "--png", "--best", "--mode", "--backend", "--n-foragers", "--random-obstacles"):
        assert flag in help_proc.stdout


@pytest.mark.parametrize("env,k", [("forager", 1), ("coop", 2), ("stress", 10)])
def test_replay_of_a_successful_episode(env, k, tmp_path):
    scenario = {"forager": FORAGER, "coop": None, "stress": STRESS}[env]
    venv = VecMonitor(make_forager_vec_env(1, env) if scenario is None else ForagerVecEnv(1, scenario))
    replay = record_replay(Steer(), venv, k)
    assert replay.success and len(replay.observations) == replay.steps + 1
    pos = replay.positions()
    assert pos.shape == (replay.steps + 1, k, 2)
    assert np.all(np.hypot(pos[-1, :, 0] - 95, pos[-1, :, 1] - 95) < 5)  # all at the food at the end
    assert replay.at_food[-1].all() and not replay.at_food[0].any()
    with Image.open(save_gif(replay, tmp_path / "r.gif", size=120)) as im:
        assert im.n_frames == replay.steps + 1
    # the path picture is the renderer's last frame, with the whole trails and the outcome
    with Image.open(save_trajectory_png(replay, tmp_path / "r.png", size=120)) as im:
        assert im.format == "PNG"
        png = np.asarray(im.convert("RGB"))
    last = _frame(replay, replay.steps, 120, trails=True, caption=f"/ {replay.steps}  success")
    np.testing.assert_array_equal(png, last)
    assert not np.array_equal(last, _frame(replay, replay.steps, 120, trails=False, caption=f"/ {replay.steps}  success"))


def test_path_efficiency_counts_only_foragers_with_a_known_bound():
    """A forager whose lower bound is unknown (-1: no start in its info) has no efficiency: it is
    left out of the mean, never averaged in as -1 / steps."""
    from sb3_forager.training.evaluation import EpisodeBatch

    batch = EpisodeBatch(
        n_agents=2,
        success=np.array([True, True]),
        steps=np.array([50, 40]),
        forager_returns=np.zeros((2, 2)),
        arrival_steps=np.array([[40, 50], [40, 30]]),
        lower_bounds=np.array([[-1, 45], [36, -1]]),
    )
    np.testing.assert_allclose(batch.efficiencies, [45 / 50, 36 / 40])
    assert batch.summary()["path_efficiency"] == pytest.approx((0.9 + 0.9) / 2)
    unknown = EpisodeBatch(2, np.array([True]), np.array([40]), np.zeros((1, 2)), np.array([[40, 30]]), -np.ones((1, 2)))
    assert np.isnan(unknown.summary()["path_efficiency"])


def test_evaluate_team_on_the_supersuit_vec_env_reports_its_path_efficiency():
    """The SuperSuit VecEnv's terminal infos carry each forager's ``start`` (they did not: its -1
    bounds averaged in gave an efficiency of -0.02), so every forager has its bound."""
    from sb3_forager.training.supersuit_vec import make_team_supersuit_vec_env

    venv = VecMonitor(make_team_supersuit_vec_env(2))
    try:
        batch = evaluate_team(Steer(), venv, 4, 2)
    finally:
        venv.close()
    bounds = [min_steps_lower_bound(s, FOOD, OBSTACLE_CENTRES) for s in PAIR_STARTS]
    assert batch.success.all() and (batch.lower_bounds == bounds).all()
    assert 0.0 < batch.summary()["path_efficiency"] <= 1.0
