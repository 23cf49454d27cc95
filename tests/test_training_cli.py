"""``scripts/train_sb3.py`` end to end, in subprocesses as a user runs it: both envs and both
algorithms with tiny budgets produce every artifact; the zips open with plain ``PPO.load`` /
``RecurrentPPO.load`` in a fresh process that cannot import ``sb3_forager``; Ctrl-C leaves a
loadable model; ``--resume``, ``--config`` and the GAMA flags on the command line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "train_sb3.py"

pytestmark = pytest.mark.timeout(300)

#: tiny runs: 2 worlds, 16-step rollouts; coop needs > 4 * 300 timesteps for a (time-out) team episode
TINY = [
    "--n-worlds",
    "2",
    "--eval-episodes",
    "2",
    "--no-progress-bar",
    "--hyperparams",
    "n_steps=16",
    "batch_size=32",
    "n_epochs=2",
]
BUDGET = {"forager": ("704", "320"), "coop": ("1344", "640")}  # timesteps, eval/checkpoint frequency


def run_script(*args: str, timeout: float = 240, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env
    )


def load_script_module():
    """The command's module (the script is a shim over it; the subprocess tests run the script)."""
    from sb3_forager.cli import train as module

    return module


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny run per (env, algo), made once for the module."""
    logdir = tmp_path_factory.mktemp("logs")
    out = {}
    for env in ("coop", "forager"):
        for algo in ("ppo", "recurrent_ppo"):
            steps, freq = BUDGET[env]
            extra = ["policy_kwargs={lstm_hidden_size: 8}"] if algo == "recurrent_ppo" else []
            proc = run_script(
                "--env",
                env,
                "--algo",
                algo,
                "--timesteps",
                steps,
                "--eval-freq",
                freq,
                "--checkpoint-freq",
                freq,
                "--logdir",
                str(logdir),
                "--seed",
                "3",
                *TINY,
                *extra,
            )
            assert proc.returncode == 0, proc.stderr[-3000:]
            out[env, algo] = (logdir / f"{env}_{algo}_1", proc)
    return out


@pytest.mark.parametrize("env", ["coop", "forager"])
@pytest.mark.parametrize("algo", ["ppo", "recurrent_ppo"])
def test_every_artifact(runs, env, algo):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, proc = runs[env, algo]
    steps, freq = BUDGET[env]
    for name in (
        "model.zip",
        "best_model.zip",
        "config.yml",
        "evaluations.npz",
        "episodes.csv",
        "training_rewards.png",
    ):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "checkpoints" / f"model_{freq}_steps.zip").is_file()
    assert not (run_dir / "vecnormalize.pkl").exists()  # the defaults do not normalise
    cfg = yaml.safe_load((run_dir / "config.yml").read_text())
    assert (cfg["env"], cfg["algo"], cfg["seed"], cfg["n_worlds"]) == (env, algo, 3, 2)
    assert cfg["hyperparams"]["n_steps"] == 16
    with np.load(run_dir / "evaluations.npz") as ev:
        assert ev["timesteps"].tolist() == [int(freq), 2 * int(freq)]
    acc = EventAccumulator(str(run_dir / "tb_1"))
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    expected = {
        "rollout/ep_rew_mean",
        "rollout/success_rate",
        "team/success_rate",
        "team/return_mean",
        "team/ep_len_mean",
        "eval/success_rate",
        "eval/stochastic_success_rate",
        "eval/mean_reward",
        "time/fps",
    }
    assert expected <= scalars, expected - scalars
    if env == "coop":
        assert "eval/team_return" in scalars
    # hyperparameters: the HPARAMS tab and the config as text
    assert "config/yaml/text_summary" in acc.Tags()["tensors"]
    assert list((run_dir / "tb_1").glob("events.out.tfevents.*"))
    lines = proc.stdout.splitlines()
    evals = [line for line in lines if line.startswith("eval @ ")]
    assert len(evals) == 2 and all(len(line) <= 100 for line in evals)  # one line per evaluation
    assert any(line.startswith("final model: ") for line in lines)
    assert f"run folder: {run_dir}" in proc.stdout


LOAD_WITHOUT_PACKAGE = textwrap.dedent(
    """
    import importlib.abc, json, sys
    import numpy as np

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "sb3_forager" or name.startswith("sb3_forager."):
                raise ImportError("sb3_forager must not be needed to load a model")

    sys.meta_path.insert(0, Block())
    from stable_baselines3 import PPO
    from sb3_contrib import RecurrentPPO

    out = []
    for path, algo in json.loads(sys.argv[1]):
        model = (PPO if algo == "ppo" else RecurrentPPO).load(path, device="cpu")
        obs = np.full((1, model.observation_space.shape[0]), 0.5, dtype=np.float32)
        action, _ = model.predict(obs, deterministic=True)
        out.append({"path": path, "steps": int(model.num_timesteps), "action": np.asarray(action).tolist()})
    print(json.dumps({"models": out, "loaded": [m for m in sys.modules if m.startswith("sb3_forager")]}))
    """
)


def test_plain_load_in_a_fresh_process(runs, tmp_path):
    """PPO.load / RecurrentPPO.load open every zip with sb3_forager made unimportable."""
    todo = [
        (str(run_dir / name), algo)
        for (env, algo), (run_dir, _) in sorted(runs.items())
        for name in ("model.zip", "best_model.zip", f"checkpoints/model_{BUDGET[env][1]}_steps.zip")
    ]
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_PACKAGE, json.dumps(todo)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded"] == [] and len(out["models"]) == len(todo)
    for entry in out["models"]:
        assert len(entry["action"][0]) == 2
        if entry["path"].endswith("/model.zip"):
            env = "coop" if "/coop_" in entry["path"] else "forager"
            assert entry["steps"] == int(BUDGET[env][0])


def test_resume_from_the_command_line(runs, tmp_path):
    """--timesteps is the run's total budget, also on a resume: 704 done of 768 leaves 64 to train;
    a resume of a complete run says so, exits 0 and writes nothing."""
    import shutil

    run_dir = tmp_path / "resumed"
    shutil.copytree(runs["forager", "ppo"][0], run_dir)
    proc = run_script("--resume", str(run_dir), "--timesteps", "768", "--eval-freq", "0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "at 704 of 768 timesteps: 64 remain" in proc.stdout
    assert "768 timesteps" in proc.stdout.replace(",", "")
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith("tb")) == ["tb_1", "tb_from_704_0"]
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    done = run_script("--resume", str(run_dir))  # config.yml's budget is now 768: complete
    assert done.returncode == 0, done.stderr[-3000:]
    assert "the run is already complete" in done.stdout and "768 of its 768 timesteps" in done.stdout
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
    bad = run_script("--resume", str(run_dir), "--env", "coop")
    assert bad.returncode == 2 and "does not match" in bad.stderr


def test_resume_warnings_are_printed_once(runs, tmp_path):
    """A damaged model.zip is skipped with a warning, and the checkpoint it falls back to is named,
    once each (the command resolved the resume target twice, so both warnings came twice)."""
    import shutil

    run_dir = tmp_path / "damaged"
    shutil.copytree(runs["forager", "ppo"][0], run_dir)
    (run_dir / "model.zip").write_bytes((run_dir / "model.zip").read_bytes()[:3000])  # as a kill mid-write
    proc = run_script("--resume", str(run_dir), "--timesteps", "768", "--eval-freq", "0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert out.count(f"skipping {run_dir / 'model.zip'}") == 1, out
    assert out.count("the newest valid model of") == 1, out
    assert "at 640 of 768 timesteps: 128 remain" in out


def test_progress_lines_off_a_terminal(runs):
    """Without a terminal (here a pipe, and --no-progress-bar) the command prints progress lines:
    the timesteps done of the budget, the speed and, after the first evaluation, its result."""
    import re

    for (env, algo), (_, proc) in runs.items():
        steps, freq = BUDGET[env]
        found = re.findall(r"^progress: ([\d,]+) / ([\d,]+) timesteps \(\d+%\), [\d,]+ fps(.*)$", proc.stdout, re.M)
        assert len(found) >= 5, (env, algo, proc.stdout[-2000:])
        done = [int(n.replace(",", "")) for n, _, _ in found]
        assert done == sorted(done) and {t for _, t, _ in found} == {f"{int(steps):,}"}
        assert int(steps) - done[-1] < int(steps) // 10  # a line every twentieth of the budget, to its end
        after_eval = [rest for n, _, rest in found if int(n.replace(",", "")) >= int(freq)]
        assert after_eval and all(rest.startswith(", last eval: success ") for rest in after_eval)


def test_help_derives_the_share_of_random_layouts_from_ppo_yml(monkeypatch):
    """The help's ``team`` line says what configs/ppo.yml trains on (it said half where the file
    has a quarter)."""
    cli = load_script_module()
    from sb3_forager.training import config

    shipped = config.default_hyperparams("team", "ppo")["scenario_mix"]
    share = sum(entry["fraction"] for entry in shipped)
    assert f"pairs from random starts, {share:.0%} of the worlds in random layouts" in cli.build_parser().format_help()
    mixed = {"scenario_mix": [{"fraction": 0.5, "obstacles": "random"}]}
    monkeypatch.setattr(config, "default_hyperparams", lambda env, algo: mixed)
    assert "pairs from random starts, 50% of the worlds in random layouts" in cli.build_parser().format_help()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_cuda_is_refused_and_writes_nothing(tmp_path, capsys, device):
    """SB3 would train on the CPU without a word: the command refuses with one error line, exit 2."""
    cli = load_script_module()
    logdir = tmp_path / "logs"
    assert cli.main(["--env", "forager", "--device", device, "--logdir", str(logdir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("train_sb3.py: error: device ") and "CUDA is not available" in err[0]
    assert not logdir.exists()


def test_config_file_from_the_command_line(tmp_path):
    conf = tmp_path / "hp.yml"
    conf.write_text("forager:\n  n_steps: 8\n  batch_size: 8\n  gamma: 0.8\n  n_worlds: 1\n  eval_freq: 0\n")
    proc = run_script(
        "--env",
        "forager",
        "--config",
        str(conf),
        "--timesteps",
        "16",
        "--logdir",
        str(tmp_path),
        "--run-name",
        "c",
        "--no-progress-bar",
        "--checkpoint-freq",
        "0",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = yaml.safe_load((tmp_path / "c" / "config.yml").read_text())
    assert saved["hyperparams"]["gamma"] == 0.8 and saved["n_worlds"] == 1 and saved["eval_freq"] == 0


@pytest.mark.timeout(180)
def test_ctrl_c_saves_a_loadable_model(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--env",
            "forager",
            "--timesteps",
            "100000000",
            "--eval-freq",
            "0",
            "--checkpoint-freq",
            "0",
            "--logdir",
            str(tmp_path),
            "--run-name",
            "sig",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    tb = tmp_path / "sig" / "tb_1"
    deadline = time.monotonic() + 90
    while not tb.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert tb.exists(), "training did not start"
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert "interrupted" in stdout
    from stable_baselines3 import PPO

    model = PPO.load(tmp_path / "sig" / "model.zip", device="cpu")
    assert model.num_timesteps > 0
    assert (tmp_path / "sig" / "training_rewards.png").is_file() or model.num_timesteps < 5000
    assert not list(tmp_path.rglob("*.tmp"))


def test_help_lists_every_flag():
    proc = run_script("--help", timeout=60)
    assert proc.returncode == 0
    for flag in (
        "--env",
        "--backend",
        "--algo",
        "--timesteps",
        "--n-worlds",
        "--seed",
        "--logdir",
        "--run-name",
        "--config",
        "--resume",
        "--eval-freq",
        "--eval-episodes",
        "--device",
        "--gama-servers",
        "--gama-port",
        "--gama-timeout",
        "--no-progress-bar",
        "--hyperparams",
    ):
        assert flag in proc.stdout, flag


def test_cli_errors_are_clear(tmp_path, monkeypatch, capsys):
    cli = load_script_module()
    monkeypatch.setitem(sys.modules, "sb3_forager.gama", None)  # as if the GAMA bridge were missing
    assert cli.main(["--backend", "gama", "--logdir", str(tmp_path)]) == 2
    assert "GAMA bridge" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert cli.main(["--gama-port", "1001", "--gama-servers", "127.0.0.1:1001"]) == 2
    assert "not both" in capsys.readouterr().err
    assert cli.main(["--hyperparams", "n_stepz=3", "--logdir", str(tmp_path)]) == 2
    assert "n_stepz" in capsys.readouterr().err
    assert cli.main(["--resume", str(tmp_path / "nope")]) == 2


def _blocked_dir(tmp_path: Path) -> Path:
    """A folder nobody can write into (as root too: a file where its parent folder would be)."""
    (tmp_path / "afile").write_text("x")
    return tmp_path / "afile" / "logs"


BAD_LINES = [
    (["--seed", "-1"], "argument --seed: must be in [0, 2**32), got -1"),
    (["--seed", "x"], "argument --seed: an integer seed expected, got 'x'"),
    (["--n-worlds", "1000000000", "--env", "forager"], "n_worlds must be in [1, 65536], got 1000000000"),
    (["--n-worlds", "0"], "argument --n-worlds: must be >= 1, got 0"),
    (["--n-envs", "4"], "unrecognized arguments: --n-envs 4"),
    (["--hyperparams", "gamma=[0.9"], "--hyperparams 'gamma=[0.9': the value is not valid YAML"),
    (["--hyperparams", "n_steps=lots"], "n_steps must be an integer, got 'lots'"),
    (["--hyperparams", "gamma=1.5"], "gamma must be <= 1, got 1.5"),
    (["--hyperparams", "policy=FooPolicy"], "policy for ppo must be one of ['MlpPolicy'], got 'FooPolicy'"),
    (["--hyperparams", "policy_kwargs={net_arch: abc}"], "policy_kwargs.net_arch must be a non-empty list"),
    (["--run-name", "../x"], "--run-name must be a plain folder name, got '../x'"),
    (["--gama-timeout", "-1"], "argument --gama-timeout: must be > 0, got -1"),
    (["--logdir", "{file}"], "is a file, not a folder"),
    (["--logdir", "{blocked}"], "cannot write run folders under --logdir"),
    (["--config", "{missing}"], "cannot read the config file"),
    (["--timesteps", "many"], "argument --timesteps: an integer expected, got 'many'"),
    (["--env", "pacman"], "argument --env: must be one of ['forager', 'forager-random', 'coop', 'team'], got 'pacman'"),
    (["--env", "coop-random"], "got 'coop-random' ('coop-random' is now called 'team')"),
    (["--backend", "native"], "argument --backend: invalid choice: 'native'"),
    (["--resume", "{corrupt}"], "is not a complete Stable-Baselines3 model zip"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_LINES, ids=[" ".join(a) for a, _ in BAD_LINES])
def test_every_bad_command_line_ends_in_one_error_line(tmp_path, capsys, argv, message):
    cli = load_script_module()
    (tmp_path / "logs").mkdir()
    (tmp_path / "plain").write_text("not a folder")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 truncated")
    values = {
        "file": str(tmp_path / "plain"),
        "blocked": str(_blocked_dir(tmp_path)),
        "missing": str(tmp_path / "nope.yml"),
        "corrupt": str(tmp_path / "bad.zip"),
    }
    argv = [values[a[1:-1]] if a.startswith("{") and a[1:-1] in values else a for a in argv]
    if "--logdir" not in argv:
        argv += ["--logdir", str(tmp_path / "logs")]
    start = time.monotonic()
    try:
        code = cli.main([*argv, "--timesteps", "32"] if "--timesteps" not in argv else argv)
    except SystemExit as exc:  # argparse's own checks
        code = exc.code
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and "error:" in err[0] and message in err[0], err
    assert time.monotonic() - start < 30  # refused at once, not after grinding
    assert list((tmp_path / "logs").iterdir()) == []  # nothing was written


def test_gama_with_nothing_listening_is_one_message_and_no_run_folder(tmp_path):
    from gama_standin import free_port

    proc = run_script("--backend", "gama", "--gama-port", str(free_port()), "--logdir", str(tmp_path / "logs"))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot connect to a GAMA server" in lines[0], proc.stderr
    assert "--resume" not in proc.stderr + proc.stdout
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())


def _start_training(tmp_path: Path, name: str, *extra: str, budget: int = 100_000_000) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--env",
            "forager",
            "--timesteps",
            str(budget),
            "--logdir",
            str(tmp_path),
            "--run-name",
            name,
            "--no-progress-bar",
            "--n-worlds",
            "4",
            "--hyperparams",
            "n_steps=64",
            "batch_size=256",
            "n_epochs=1",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert predicate(), "training did not get there"


@pytest.mark.timeout(240)
def test_resume_after_ctrl_c_trains_the_remaining_budget(tmp_path):
    """Ctrl-C at N of 40,960 timesteps, then --resume: it says how many remain and trains only
    those (to the first rollout end at or after the budget), not the full budget again."""
    budget, rollout = 40_960, 256  # 4 worlds x 64 steps
    proc = _start_training(tmp_path, "int", "--eval-freq", "0", "--checkpoint-freq", "0", budget=budget)
    _wait_for(lambda: (tmp_path / "int" / "tb_1").exists(), proc)
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr[-3000:]
    from stable_baselines3 import PPO

    done = PPO.load(tmp_path / "int" / "model.zip", device="cpu").num_timesteps
    assert 0 < done < budget
    resumed = run_script("--resume", str(tmp_path / "int"), "--no-progress-bar")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"at {done:,} of {budget:,} timesteps: {budget - done:,} remain" in resumed.stdout
    final = PPO.load(tmp_path / "int" / "model.zip", device="cpu").num_timesteps
    assert budget <= final < budget + rollout


@pytest.mark.timeout(240)
def test_sigterm_saves_and_exits_cleanly(tmp_path):
    proc = _start_training(tmp_path, "term", "--eval-freq", "0", "--checkpoint-freq", "0")
    _wait_for(lambda: (tmp_path / "term" / "tb_1").exists(), proc)
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr and "interrupted (SIGTERM)" in stdout
    from stable_baselines3 import PPO

    assert PPO.load(tmp_path / "term" / "model.zip", device="cpu").num_timesteps > 0
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.timeout(300)
def test_sigkill_loses_at_most_the_work_since_the_last_checkpoint_and_resume_keeps_one_timeline(tmp_path):
    """Killed with SIGKILL: episodes.csv and evaluations.npz are on disk as of the last
    checkpoint (or later); --resume continues from the newest checkpoint and cuts the history back
    to it, so evaluations.npz has no repeated or out-of-order timesteps."""
    run = tmp_path / "kill"
    proc = _start_training(tmp_path, "kill", "--eval-freq", "2048", "--eval-episodes", "2", "--checkpoint-freq", "4096")
    _wait_for(lambda: len(list((run / "checkpoints").glob("model_*_steps.zip"))) >= 2, proc, timeout=200)
    time.sleep(1.0)
    proc.kill()
    proc.communicate(timeout=30)
    ckpts = sorted(int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("model_*_steps.zip"))
    rows = np.loadtxt(run / "episodes.csv", delimiter=",", skiprows=1, ndmin=2)
    assert rows.shape[0] > 0 and rows[:, 0].max() >= ckpts[-2]  # durable up to a checkpoint at least
    assert not (run / "model.zip").exists()
    newest = max(c for c in ckpts)
    budget = str(newest + 4096)  # the budget is the total: 4096 more than the newest checkpoint
    resumed = run_script("--resume", str(run), "--timesteps", budget, "--eval-freq", "2048", "--eval-episodes", "2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    with np.load(run / "evaluations.npz") as ev:
        steps = ev["timesteps"].tolist()
    assert steps == sorted(set(steps)), steps  # one timeline
    assert max(steps) > newest and all(s % 2048 == 0 for s in steps)
    rows = np.loadtxt(run / "episodes.csv", delimiter=",", skiprows=1, ndmin=2)
    assert (np.diff(rows[:, 0]) >= 0).all()


def test_gama_flags_reach_the_backend(tmp_path, monkeypatch, capsys):
    import sb3_forager.make
    import sb3_forager.training.train
    from sb3_forager.envs import ForagerVecEnv

    calls = []

    def fake(env, n_worlds=1, servers=("127.0.0.1:1001",), gaml_path=None, timeout=30.0, scenario=None):
        calls.append((env, n_worlds, list(servers), timeout))
        return ForagerVecEnv(n_worlds, scenario)  # the embedded worlds of the scenarios it was given

    monkeypatch.setattr(sb3_forager.make, "make_gama_vec_env", fake)
    monkeypatch.setattr(sys.modules["sb3_forager.training.train"], "probe_backend", lambda cfg: None)
    cli = load_script_module()
    args = [
        "--backend",
        "gama",
        "--env",
        "forager",
        "--timesteps",
        "32",
        "--n-worlds",
        "2",
        "--eval-freq",
        "0",
        "--checkpoint-freq",
        "0",
        "--no-progress-bar",
        "--logdir",
        str(tmp_path),
        "--hyperparams",
        "n_steps=16",
        "batch_size=32",
    ]
    assert cli.main([*args, "--gama-port", "1234", "--gama-timeout", "7"]) == 0
    assert calls[-1] == ("forager", 2, ["127.0.0.1:1234"], 7.0)
    assert cli.main([*args, "--gama-servers", "127.0.0.1:1001,127.0.0.1:1002"]) == 0
    assert calls[-1] == ("forager", 2, ["127.0.0.1:1001", "127.0.0.1:1002"], 30.0)
    capsys.readouterr()
