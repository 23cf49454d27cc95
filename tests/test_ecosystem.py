"""The package where the ecosystem expects it: ``python -m sb3_forager`` and the console scripts,
RL Zoo reading the shipped hyperparameters, the README's install seen from a clone's parent folder."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
from functools import partial
from pathlib import Path

import numpy as np
import gymnasium as gym
import pytest
import yaml

import sb3_forager
from sb3_forager import forager_coop_v0, forager_stress_v0, forager_team_v0
from sb3_forager import make as sb3_make
from sb3_forager.envs.vec_env import make_forager_vec_env

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("train", "evaluate", "tune", "check-fidelity", "bench")


def run(*args: str, cwd: Path = ROOT, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


# ---------------------------------------------------------------------- one command-line entry point
@pytest.mark.parametrize("command", COMMANDS)
def test_python_m_sb3_forager_commands(command: str, tmp_path: Path) -> None:
    proc = run(sys.executable, "-m", "sb3_forager", command, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout


def test_python_m_sb3_forager_lists_the_commands_and_refuses_others(tmp_path: Path) -> None:
    proc = run(sys.executable, "-m", "sb3_forager", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and all(c in proc.stdout for c in COMMANDS)
    bad = run(sys.executable, "-m", "sb3_forager", "fly", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown command 'fly'" in bad.stderr


def test_the_commands_really_run(tmp_path: Path) -> None:
    """A tiny training through ``python -m sb3_forager train`` and its evaluation through ``evaluate``."""
    logdir = tmp_path / "logs"
    train = run(
        sys.executable, "-m", "sb3_forager", "train", "--env", "forager", "--timesteps", "256", "--n-worlds", "2",
        "--eval-freq", "0", "--checkpoint-freq", "0", "--no-progress-bar", "--logdir", str(logdir), "--run-name", "m",
        "--hyperparams", "n_steps=64", "batch_size=64", "n_epochs=1", cwd=tmp_path,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr[-2000:]
    assert (logdir / "m" / "model.zip").is_file()
    evaluate = run(sys.executable, "-m", "sb3_forager", "evaluate", str(logdir / "m"), "--episodes", "2", cwd=tmp_path)
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    assert "policy (deterministic)" in evaluate.stdout and "greedy (push at food)" in evaluate.stdout


def test_console_scripts_are_installed() -> None:
    dist = importlib.metadata.distribution("sb3_forager")
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts["sb3-forager"] == "sb3_forager.__main__:main"
    assert scripts["sb3-forager-train"] == "sb3_forager.cli.train:main"
    for name in ("sb3-forager-train", "sb3-forager-evaluate", "sb3-forager-tune"):
        path = shutil.which(name, path=os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")]))
        assert path is not None, name
        proc = run(path, "--help")
        assert proc.returncode == 0 and "usage:" in proc.stdout, proc.stderr


def test_scripts_are_thin_shims() -> None:
    for script in ("train_sb3.py", "evaluate.py", "tune.py", "check_fidelity.py", "bench_env.py", "bench_train.py",
                   "bench_gama.py"):  # check_fidelity and bench_gama: --standin from tests/standin_launcher.py
        text = (ROOT / "scripts" / script).read_text()
        code = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", '"""'))]
        assert "from sb3_forager." in text and len(text.splitlines()) < 25, script
        assert len(code) < 12, script


def test_packaging_files() -> None:
    assert (ROOT / "LICENSE").is_file() and "MIT" in (ROOT / "LICENSE").read_text()
    assert (Path(sb3_forager.__file__).parent / "py.typed").is_file()
    requires = importlib.metadata.requires("sb3_forager") or []
    assert any(r.startswith("websockets") for r in requires)
    assert any(r.startswith("numba") for r in requires)


# ---------------------------------------------------------------------- RL Zoo
@pytest.mark.parametrize("env_id", sb3_forager.EMBEDDED_GYM_ENV_IDS)
def test_rl_zoo_trains_every_gymnasium_id_with_the_shipped_hyperparameters(env_id: str, tmp_path: Path) -> None:
    pytest.importorskip("rl_zoo3", reason='RL Zoo is the "zoo" extra (part of "test")')
    config = ROOT / "sb3_forager" / "configs" / "ppo.yml"
    proc = run(
        sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", "--env", env_id, "--gym-packages", "sb3_forager",
        "-conf", str(config), "-n", "2048", "-f", str(tmp_path / "zoo"), "--eval-freq", "-1", "--seed", "1",
        cwd=tmp_path, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "Hyperparameters not found" not in proc.stdout + proc.stderr
    saved = next((tmp_path / "zoo").rglob("config.yml"))
    used = dict(yaml.unsafe_load(saved.read_text()))
    shipped = yaml.safe_load(config.read_text())[env_id]
    for key in ("n_envs", "n_steps", "batch_size", "gamma", "learning_rate", "policy"):
        assert used[key] == shipped[key], key
    assert list((tmp_path / "zoo").rglob(f"{env_id.replace('/', '-')}.zip"))


# ---------------------------------------------------------------------- the clone-folder import trap
def _fresh_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=180)
    return path / "bin" / "python"


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", ["compat", "default"])
def test_readme_install_works_from_the_clone_parent_folder(tmp_path: Path, mode: str) -> None:
    """``git clone`` names the folder sb3_forager; from its parent, the README's editable install
    (``editable_mode=compat``, which puts the project folder on sys.path) must still find the real
    package. pip's default (lenient) editable mode shows the trap the README's flag avoids: its
    import hook comes after the path search, which finds the clone folder first, as an empty
    namespace package."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    parent = tmp_path / "parent"
    parent.mkdir()
    clone = parent / "sb3_forager"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    python = _fresh_venv(tmp_path / "venv")
    install = [str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(clone)]
    if mode == "compat":
        install += ["--config-settings", "editable_mode=compat"]
    proc = run(*install, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    deps = sysconfig.get_paths()["purelib"]  # this environment's packages, without its .pth files
    code = (
        f"import sys; sys.path.append({deps!r}); sys.path.append({sysconfig.get_paths()['platlib']!r})\n"
        "import gymnasium as gym, sb3_forager\n"
        "print(sb3_forager.__file__)\n"
        "print(gym.make('sb3_forager/Forager-v0').reset(seed=0)[0][:2])\n"
    )
    check = run(str(python), "-c", code, cwd=parent, timeout=300)
    if mode == "compat":
        assert check.returncode == 0, check.stderr[-2000:]
        assert check.stdout.splitlines()[0] == str(clone / "sb3_forager" / "__init__.py")
    else:  # the trap: a namespace package without __file__, and no registered envs
        assert check.returncode != 0 and check.stdout.splitlines()[0] == "None", check
        assert "Namespace sb3_forager not found" in check.stderr, check.stderr[-1000:]


def test_bench_train_refuses_a_bad_compare_before_training(tmp_path: Path) -> None:
    proc = run(sys.executable, str(ROOT / "scripts" / "bench_train.py"), "--compare", str(tmp_path), "--logdir",
               str(tmp_path / "runs"))  # fmt: skip
    assert proc.returncode == 2 and "not a checkout" in proc.stderr and str(tmp_path) in proc.stderr
    assert not (tmp_path / "runs").exists()  # refused before any run


def test_bench_train_passes_training_args_to_every_target_run(tmp_path: Path, monkeypatch, capsys) -> None:
    from sb3_forager.benchmarks import train as bench

    calls = []
    monkeypatch.setattr(bench, "run_command", lambda checkout, env, seed, logdir, extra: (
        calls.append((env, seed, list(extra))) or (1.0, tmp_path / env, "")))  # fmt: skip
    monkeypatch.setattr(bench, "evaluate_run", lambda model_zip, target: [])
    rc = bench.main(["--targets", "team", "forager-random", "--seeds", "3", "--training-args", "--config 'my c.yml'",
                     "--logdir", str(tmp_path)])  # fmt: skip
    assert rc == 0
    assert calls == [("team", 3, ["--config", "my c.yml"]), ("forager-random", 3, ["--config", "my c.yml"])]
    assert "## team, seed 3 with --config 'my c.yml': wall time" in capsys.readouterr().out
    assert bench.main(["--training-args", "--config x", "--targets"]) == 2  # nothing to add them to
    assert "--training-args '--config x' is for the targets' runs" in capsys.readouterr().err
    assert len(calls) == 2


def test_bench_env_refuses_a_bad_training_checkout_before_measuring(tmp_path: Path) -> None:
    proc = run(sys.executable, str(ROOT / "scripts" / "bench_env.py"), "--quick", "--training-before", str(tmp_path))
    assert proc.returncode == 2 and "not a checkout" in proc.stderr and proc.stdout == "", proc.stdout


# ---------------------------------------------------------------------- other RL libraries: the contract they rely on
# TorchRL's GymEnv passes ``frameskip`` and drops it only on Python's own wording of the error;
# TorchRL's PettingZooWrapper (and other libraries) fix their info layout at the reset.
STANDARD_KWARG_ERROR = r"got an unexpected keyword argument 'frameskip'"


def _team_module(name: str):
    return importlib.import_module(f"sb3_forager.{name}")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(partial(gym.make, "sb3_forager/Forager-v0"), id="gym.make"),
        pytest.param(partial(gym.make, "sb3_forager/ForagerRandom-v0"), id="random"),
        pytest.param(partial(gym.make_vec, "sb3_forager/Forager-v0", 2, "vector_entry_point"), id="gym.make_vec"),
        pytest.param(forager_coop_v0.parallel_env, id="coop.parallel_env"),
        pytest.param(forager_coop_v0.env, id="coop.env"),
        pytest.param(forager_team_v0.raw_env, id="team.raw_env"),
        pytest.param(forager_stress_v0.parallel_env, id="stress.parallel_env"),
        pytest.param(sb3_make.forager_env, id="make.forager_env"),
        pytest.param(partial(sb3_make.team_env, "coop"), id="make.team_env"),
        pytest.param(partial(make_forager_vec_env, 2, "coop"), id="make_forager_vec_env"),
    ],
)
def test_an_unknown_keyword_argument_raises_pythons_own_typeerror(make) -> None:
    with pytest.raises(TypeError, match=STANDARD_KWARG_ERROR) as err:
        make(frameskip=1)
    assert "unexpected keyword argument 'frameskip'" in str(err.value)  # TorchRL's test, literally
    assert "max_steps" in str(err.value)  # and the arguments that do exist


def test_an_unknown_keyword_argument_is_named_first_as_python_does() -> None:
    from sb3_forager.envs.forager_env import ForagerEnv

    with pytest.raises(TypeError, match=r"^Scenario\(\) got an unexpected keyword argument 'colour' \(the scenario"):
        ForagerEnv(colour="red", frameskip=1)


def _info_keys_over_episodes(reset, step, n_episodes: int) -> tuple[set, list[set], int]:
    """Reset infos' keys, and every step's, over ``n_episodes`` episodes of random actions."""
    reset_keys, step_keys, ends = reset(), [], 0
    while ends < n_episodes:
        keys, done = step()
        step_keys.extend(keys)
        if done:
            ends += 1
            step_keys.append(reset())
    return reset_keys, step_keys, ends


def test_single_forager_reset_and_step_infos_have_the_same_keys() -> None:
    env = gym.make("sb3_forager/Forager-v0", max_steps=15)
    env.action_space.seed(0)
    seen: list[dict] = []

    def reset():
        _, info = env.reset(seed=len(seen))
        seen.append(info)
        return set(info)

    def step():
        _, _, term, trunc, info = env.step(env.action_space.sample())
        seen.append(info)
        return [set(info)], term or trunc

    reset_keys, step_keys, ends = _info_keys_over_episodes(reset, step, 3)
    assert reset_keys == {"is_success", "episode_steps"}
    assert all(k == reset_keys for k in step_keys) and ends == 3
    assert seen[0] == {"is_success": False, "episode_steps": 0}
    assert seen[15] == {"is_success": False, "episode_steps": 15}  # the time limit: the last step of episode 1


@pytest.mark.parametrize("name", ["forager_coop_v0", "forager_team_v0", "forager_stress_v0"])
def test_team_reset_and_step_infos_have_the_same_keys(name: str) -> None:
    env = _team_module(name).parallel_env(max_cycles=12)
    space = env.action_space(env.possible_agents[0])
    space.seed(1)
    first: dict = {}

    def reset():
        _, infos = env.reset(seed=3)
        first.setdefault("infos", infos)
        assert set(infos) == set(env.possible_agents)
        keys = {frozenset(i) for i in infos.values()}
        assert len(keys) == 1
        return set(next(iter(keys)))

    def step():
        _, _, _, _, infos = env.step({a: space.sample() for a in env.agents})
        return [set(i) for i in infos.values()], not env.agents

    reset_keys, step_keys, ends = _info_keys_over_episodes(reset, step, 3)
    assert reset_keys == {"at_food", "is_success", "episode_steps", "arrival_step"}
    assert all(k == reset_keys for k in step_keys) and ends == 3
    neutral = {"at_food": False, "is_success": False, "episode_steps": 0, "arrival_step": -1}
    assert all(info == neutral for info in first["infos"].values())


def test_team_step_infos_report_the_episode_so_far() -> None:
    """Mid-episode infos carry the running values (the step count; the arrival step once at the food),
    the last ones the same values as before the keys were added to every step."""
    env = forager_coop_v0.parallel_env()
    env.reset(seed=0)
    toward_food = {a: np.array([1.0, 1.0], dtype=np.float32) for a in env.possible_agents}
    t, arrived = 0, {}
    while env.agents:
        t += 1
        _, _, _, _, infos = env.step({a: toward_food[a] for a in env.agents})
        for a, info in infos.items():
            assert info["episode_steps"] == t
            if info["at_food"]:
                arrived.setdefault(a, t)
            assert info["arrival_step"] == arrived.get(a, -1)
            assert info["is_success"] is (not env.agents and len(arrived) == 2)
    assert len(arrived) == 2, "the greedy pair reaches the food in the tutorial layout"


def test_vec_env_reset_infos_carry_the_neutral_values_of_the_terminal_infos() -> None:
    from sb3_forager.training.supersuit_vec import make_team_supersuit_vec_env

    neutral = {"is_success": False, "episode_steps": 0, "arrival_step": -1}
    for venv in (make_forager_vec_env(2, "forager", max_steps=5), make_forager_vec_env(2, "coop", max_steps=5),
                 make_team_supersuit_vec_env(2, n_foragers=2, max_cycles=5)):  # fmt: skip
        venv.reset()
        assert len(venv.reset_infos) == venv.num_envs
        assert all(dict(i, at_food=False) == dict(neutral, at_food=False) for i in venv.reset_infos), venv.reset_infos
        for _ in range(5):
            _, _, dones, infos = venv.step(np.zeros((venv.num_envs, 2), dtype=np.float32))
        assert dones.all()
        for info, start in zip(infos, venv.reset_infos):
            assert set(neutral) <= set(info) and info["episode_steps"] == 5 and "terminal_observation" in info
        venv.close()


# ---------------------------------------------------------------------- TorchRL, RLlib, Tianshou (where installed)
# CI's environment has none of them (RLlib even pins another Gymnasium): these run in their own
# venvs (README, "Other RL libraries"); the contract they rely on is tested above without them.
def test_torchrl_gymenv_collects_over_episode_ends() -> None:
    """TorchRL's GymEnv passes ``frameskip`` (dropped on the standard TypeError) and collects across resets."""
    pytest.importorskip("torchrl")
    from torchrl.collectors import Collector
    from torchrl.envs import GymEnv

    env = GymEnv("sb3_forager/Forager-v0", max_steps=20)
    assert env.wrapper_frame_skip == 1  # frameskip was refused by the env and taken over by TorchRL
    collector = Collector(env, None, frames_per_batch=50, total_frames=150)  # None: random actions
    batches = list(collector)
    collector.shutdown()
    done = torch_cat([b["next", "done"] for b in batches])
    assert done.shape[0] == 150 and int(done.sum()) == 7  # 150 steps of 20-step episodes
    assert GymEnv("sb3_forager/Forager-v0").rollout(3)["next", "observation"].shape == (3, 13)  # the defaults too


def torch_cat(tensors):
    import torch

    return torch.cat([t.reshape(-1) for t in tensors])


@pytest.mark.parametrize("name", ["forager_coop_v0", "forager_team_v0"])
def test_torchrl_pettingzoo_wrapper_collects_over_episode_ends(name: str) -> None:
    """TorchRL fixes the info layout at the reset: every step's infos must have the reset's keys."""
    pytest.importorskip("torchrl")
    from torchrl.collectors import Collector
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    env = PettingZooWrapper(_team_module(name).parallel_env(max_cycles=20), use_mask=True)
    env.set_seed(0)
    collector = Collector(env, None, frames_per_batch=50, total_frames=150)
    batches = list(collector)
    collector.shutdown()
    ends = 0
    for b in batches:
        done = b["next", "done"].reshape(-1)
        info = b["next", "forager", "info"]
        assert set(info.keys()) == {"at_food", "is_success", "episode_steps", "arrival_step"}
        assert (info["episode_steps"][done] == 20).all()  # the time limit: random actions do not bring the team home
        arrival = info["arrival_step"][done]
        assert (((arrival >= 1) & (arrival <= 20)) | (arrival == -1)).all() and not info["is_success"][done].any()
        if name == "forager_coop_v0":  # from the tutorial's starts, 20 steps cannot reach the food
            assert (arrival == -1).all()
        ends += int(done.sum())
    assert ends == 7


def test_tianshou_ppo_trains_on_the_single_forager() -> None:
    pytest.importorskip("tianshou")
    import torch
    from tianshou.algorithm.modelfree.ppo import PPO
    from tianshou.algorithm.modelfree.reinforce import ProbabilisticActorPolicy
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Collector, VectorReplayBuffer
    from tianshou.env import DummyVectorEnv
    from tianshou.trainer import OnPolicyTrainerParams
    from tianshou.utils.net.common import Net
    from tianshou.utils.net.continuous import ContinuousActorProbabilistic, ContinuousCritic
    from torch.distributions import Independent, Normal

    torch.manual_seed(0)
    train_envs = DummyVectorEnv([lambda: gym.make("sb3_forager/Forager-v0")] * 2)
    test_envs = DummyVectorEnv([lambda: gym.make("sb3_forager/Forager-v0")])
    train_envs.seed(0)
    test_envs.seed(100)
    space = train_envs.get_env_attr("observation_space")[0], train_envs.get_env_attr("action_space")[0]
    actor = ContinuousActorProbabilistic(
        preprocess_net=Net(state_shape=space[0].shape, hidden_sizes=(64, 64)), action_shape=space[1].shape,
        unbounded=True,
    )  # fmt: skip
    critic = ContinuousCritic(preprocess_net=Net(state_shape=space[0].shape, hidden_sizes=(64, 64)))
    policy = ProbabilisticActorPolicy(
        actor=actor, dist_fn=lambda loc_scale: Independent(Normal(*loc_scale), 1), action_space=space[1],
        action_scaling=False, action_bound_method="clip",
    )  # fmt: skip
    algorithm = PPO(policy=policy, critic=critic, optim=AdamOptimizerFactory(lr=3e-4))
    before = [p.detach().clone() for p in actor.parameters()]
    buffer = VectorReplayBuffer(2048, 2)
    stats = algorithm.run_training(
        OnPolicyTrainerParams(
            training_collector=Collector(algorithm, train_envs, buffer), test_collector=Collector(algorithm, test_envs),
            max_epochs=1, epoch_num_steps=1024, collection_step_num_env_steps=1024, batch_size=256,
            update_step_num_repetitions=2, test_step_num_episodes=1, show_progress=False, verbose=False,
        )  # fmt: skip
    )
    assert stats.train_step >= 1024 and stats.train_episode >= 2 and stats.update_step >= 1
    assert np.isfinite(stats.best_reward)
    assert any(not torch.equal(a, b) for a, b in zip(before, actor.parameters()))  # PPO updated the actor
    assert {"is_success", "episode_steps"} <= set(buffer.info.keys())  # the env's infos reach the buffer
    assert (buffer.info.episode_steps[: len(buffer)] >= 1).all()
    train_envs.close()
    test_envs.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_rllib_example_trains_both_envs() -> None:
    pytest.importorskip("ray.rllib")
    proc = run(sys.executable, str(ROOT / "scripts" / "rllib_example.py"), "--iterations", "2", "--batch", "700",
               timeout=850)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if "| mean return" in line]
    assert [line.split(" | ")[:2] for line in lines] == [
        [env, f"iteration {i}"] for env in ("forager", "coop") for i in (1, 2)
    ], proc.stdout
    assert all(np.isfinite(float(line.rsplit(" ", 1)[1])) for line in lines[1::2]), proc.stdout
    assert all("env steps 1,400" in line for line in lines[1::2]), proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--iterations", "0"], "argument --iterations: must be >= 1, got 0"),
        (["--env", "pair"], "argument --env: invalid choice: 'pair'"),
        (["--seed", "x"], "argument --seed: an integer expected, got 'x'"),
    ],
)
def test_rllib_example_refuses_bad_arguments_in_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    proc = run(sys.executable, str(ROOT / "scripts" / "rllib_example.py"), *args, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert message in proc.stderr
