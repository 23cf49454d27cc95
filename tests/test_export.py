"""ONNX export (issue 17): the exported graph against ``PPO.predict``, episodes driven by it, its
metadata, ``evaluate_team`` on it, and the export CLI's bad input.

Tiny real trainings (one rollout each) of the single forager (13 observations), the pair
(``coop``, 15) and the team (random starts, 15), each with and without VecNormalize.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import yaml

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import sb3_forager  # noqa: E402,F401  (registers the ids)
from sb3_forager.training import ENVS, resolve_config, train  # noqa: E402
from sb3_forager.training.export import (  # noqa: E402
    OBS_LAYOUT,
    TEAM_OBS_LAYOUT,
    OnnxPolicy,
    export_onnx,
    load_onnx_policy,
)

TEAM = "team"
PRESET = {"forager": "forager", "coop": "coop", TEAM: "team"}
KEYS = [(env, norm) for env in PRESET for norm in (False, True)]
N_OBS = 10_000
ATOL = 1e-5
PROG = "sb3_forager export"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], Path]:
    """One-rollout trainings: (env, normalize) -> run folder."""
    import torch

    torch.set_num_threads(1)
    logdir = tmp_path_factory.mktemp("runs")
    out = {}
    for env, normalize in KEYS:
        cfg = resolve_config(
            env,
            overrides=dict(n_timesteps=1, normalize=normalize, eval_freq=0, checkpoint_freq=0, progress_bar=False),
            hyperparam_overrides=dict(n_steps=16, batch_size=64, n_epochs=2),
        )
        out[env, normalize] = train(cfg, logdir=logdir, run_name=f"{env}-{normalize}", final_eval_episodes=0).run_dir
    return out


@pytest.fixture(scope="module")
def exported(runs: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], Path]:
    folder = tmp_path_factory.mktemp("onnx")
    return {key: export_onnx(run, folder / f"{key[0]}-{key[1]}.onnx") for key, run in runs.items()}


def _reference(run: Path):
    """``(model, normalize)``: the trained PPO and the run's VecNormalize.normalize_obs (or identity)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_forager.envs.vec_env import ForagerVecEnv
    from sb3_forager.sim import PRESETS

    model = PPO.load(run / "model.zip", device="cpu")
    if not (run / "vecnormalize.pkl").is_file():
        return model, lambda obs: obs
    env = yaml.safe_load((run / "config.yml").read_text())["env"]
    vn = VecNormalize.load(str(run / "vecnormalize.pkl"), ForagerVecEnv(1, PRESETS[PRESET[env]]))
    vn.training = False
    return model, vn.normalize_obs


@pytest.mark.parametrize("env,normalize", KEYS)
def test_parity_over_the_observation_box(runs, exported, env, normalize):
    model, norm = _reference(runs[env, normalize])
    policy = load_onnx_policy(exported[env, normalize])
    dim = policy.obs_dim
    assert dim == (13 if env == "forager" else 15) == model.observation_space.shape[0]
    rng = np.random.default_rng(1)
    obs = rng.uniform(0.0, 1.0, (N_OBS, dim)).astype(np.float32)
    got, _ = policy.predict(obs)
    want, _ = model.predict(norm(obs), deterministic=True)
    assert got.shape == (N_OBS, 2) and got.dtype == np.float32
    diff = float(np.abs(got - want).max())
    print(f"parity {env} normalize={normalize}: max |onnx - PPO.predict| = {diff:.3g} over {N_OBS} observations")
    assert diff <= ATOL
    # far outside the Box (VecNormalize's clip_obs acts there)
    wild = rng.uniform(-300.0, 300.0, (2_000, dim)).astype(np.float32)
    got, _ = policy.predict(wild)
    want, _ = model.predict(norm(wild), deterministic=True)
    assert np.abs(got - want).max() <= ATOL
    # one observation, unbatched, as SB3 takes it
    one, _ = policy.predict(obs[0])
    assert one.shape == (2,) and np.allclose(one, model.predict(norm(obs[:1]), deterministic=True)[0][0], atol=ATOL)


def test_the_action_is_clipped_to_the_box_as_predict_clips_it(runs, tmp_path):
    """A policy whose Gaussian mean leaves [-1, 1] (its action net scaled up): predict's clip is in the graph."""
    import torch

    run = tmp_path / "run"
    shutil.copytree(runs["forager", True], run)
    model, norm = _reference(run)
    with torch.no_grad():
        model.policy.action_net.weight.mul_(1000.0)
    model.save(run / "model.zip")
    policy = OnnxPolicy(export_onnx(run, tmp_path / "wide.onnx"))
    obs = np.random.default_rng(2).uniform(0.0, 1.0, (N_OBS, 13)).astype(np.float32)
    got, want = policy.predict(obs)[0], model.predict(norm(obs), deterministic=True)[0]
    assert np.abs(got - want).max() <= ATOL and 0.2 < (np.abs(want) == 1.0).mean() < 1.0


def test_graph_signature_and_metadata(runs, exported):
    for (env, normalize), path in exported.items():
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto, full_check=True)
        (inp,), (outp,) = proto.graph.input, proto.graph.output
        dims = [(d.dim_param, d.dim_value) for d in inp.type.tensor_type.shape.dim]
        dim = 13 if env == "forager" else 15
        assert inp.name == "obs" and inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        assert dims[0][0] and dims[1] == ("", dim)  # a named (dynamic) batch axis
        assert outp.name == "action" and outp.type.tensor_type.shape.dim[1].dim_value == 2
        meta = {p.key: p.value for p in proto.metadata_props}
        config = yaml.safe_load((runs[env, normalize] / "config.yml").read_text())
        assert meta["obs_layout"].split(",") == list(OBS_LAYOUT if dim == 13 else TEAM_OBS_LAYOUT)
        assert meta["env"] == env and meta["obs_dim"] == str(dim)
        assert meta["env_id"] == {"forager": "sb3_forager/Forager-v0", "coop": "sb3_forager/ForagerCoop-v0"}.get(
            env, "sb3_forager/ForagerTeam-v0"
        )
        assert json.loads(meta["scenario"]) == config
        assert meta["normalized"] == str(normalize).lower()
        assert meta["sb3_forager_version"] == sb3_forager.__version__
        assert int(meta["num_timesteps"]) == OnnxPolicy(path).num_timesteps > 0
        assert meta["teammate"] == {"forager": "", "coop": "first"}.get(env, "nearest")


def _single_episode(predict) -> tuple[np.ndarray, tuple[bool, bool]]:
    env = gymnasium.make("sb3_forager/Forager-v0")
    obs, _ = env.reset(seed=0)
    seen, end = [obs], (False, False)
    while not any(end):
        obs, _, terminated, truncated, _ = env.step(predict(obs))
        seen.append(obs)
        end = (terminated, truncated)
    return np.array(seen), end


def _team_episode(predict) -> np.ndarray:
    env = sb3_forager.forager_coop_v0.parallel_env()
    obs, _ = env.reset(seed=0)
    seen = []
    while env.agents:
        batch = np.stack([obs[a] for a in env.agents])
        seen.append(batch)
        actions = predict(batch)
        obs, *_ = env.step(dict(zip(env.agents, actions)))
    return np.array(seen)


@pytest.mark.parametrize("normalize", [False, True])
def test_onnx_driven_episodes_follow_the_ppo_trajectory(runs, exported, normalize):
    """The same episode step by step. Equal up to float32 rounding, not bitwise: onnxruntime's and
    torch's matrix products sum in another order, so actions differ by ~1e-8."""
    for env, play in (("forager", _single_episode), ("coop", _team_episode)):
        model, norm = _reference(runs[env, normalize])
        policy = OnnxPolicy(exported[env, normalize])
        ours = play(lambda o: policy.predict(o)[0])
        theirs = play(lambda o: model.predict(norm(o), deterministic=True)[0])
        if env == "forager":
            (ours, our_end), (theirs, their_end) = ours, theirs
            assert our_end == their_end
        assert ours.shape == theirs.shape and len(ours) > 1
        assert np.abs(ours - theirs).max() <= ATOL, f"{env}: the trajectories part"


def test_evaluate_team_treats_the_onnx_policy_like_the_zip(runs, exported):
    """What ``evaluate.py --onnx`` runs: the same episodes, table and all (raw env: the graph normalises)."""
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    from sb3_forager.envs.vec_env import ForagerVecEnv
    from sb3_forager.sim import PRESETS
    from sb3_forager.training.evaluation import evaluate_team

    run = runs[TEAM, True]
    model, _ = _reference(run)
    rows = []
    for player, normalize in ((model, True), (OnnxPolicy(exported[TEAM, True]), False)):
        venv = VecMonitor(ForagerVecEnv(4, PRESETS["team"]))
        if normalize:
            venv = VecNormalize.load(str(run / "vecnormalize.pkl"), venv)
            venv.training, venv.norm_reward = False, False
        venv.seed(3)
        rows.append(evaluate_team(player, venv, 8, 2).summary())
        venv.close()
    assert rows[0].keys() == rows[1].keys()
    for key in rows[0]:
        assert rows[0][key] == pytest.approx(rows[1][key], abs=1e-4, nan_ok=True), key
    with pytest.raises(ValueError, match="deterministic"):
        OnnxPolicy(exported[TEAM, True]).predict(np.zeros((1, 15)), deterministic=False)


# ---------------------------------------------------------------------- the CLI
def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from sb3_forager.cli.export import main

    try:
        code = main(list(argv), prog=PROG)
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_the_file(runs, tmp_path, capsys):
    out = tmp_path / "policy.onnx"
    code, stdout, err = _cli(capsys, str(runs["coop", True]), "--onnx", str(out))
    assert (code, err) == (0, "") and out.is_file() and "exported" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.onnx"]  # no temp file left
    assert OnnxPolicy(out).metadata["normalized"] == "true"


@pytest.fixture(scope="module")
def bad_sources(runs, tmp_path_factory) -> dict[str, Path]:
    from sb3_contrib import RecurrentPPO

    from sb3_forager.envs.vec_env import ForagerVecEnv
    from sb3_forager.sim import PRESETS

    root = tmp_path_factory.mktemp("bad")
    (root / "empty_run").mkdir()
    data = (runs["forager", False] / "model.zip").read_bytes()
    (root / "corrupt.zip").write_bytes(data[: len(data) // 2])
    RecurrentPPO("MlpLstmPolicy", ForagerVecEnv(1, PRESETS["forager"]), n_steps=8, device="cpu").save(
        root / "lstm.zip"
    )
    return {"no model": root / "empty_run", "corrupt": root / "corrupt.zip", "recurrent": root / "lstm.zip"}


CASES = {
    "run folder without a model": ("no model", "policy.onnx", (), "holds no model.zip"),
    "corrupted zip": ("corrupt", "policy.onnx", (), "not a complete Stable-Baselines3 model zip"),
    "RecurrentPPO": ("recurrent", "policy.onnx", (), "RecurrentPPO"),
    "missing output folder": ("good", "nowhere/policy.onnx", (), "does not exist"),
    "unknown format (suffix)": ("good", "policy.pt", (), "unknown output format"),
    "unknown format (--format)": ("good", "policy.onnx", ("--format", "tflite"), "invalid choice"),
}


@pytest.mark.parametrize("case", CASES)
def test_cli_bad_input(case, runs, bad_sources, tmp_path, capsys):
    source, out_name, extra, message = CASES[case]
    src = runs["forager", True] if source == "good" else bad_sources[source]
    out = tmp_path / out_name
    code, stdout, err = _cli(capsys, str(src), "--onnx", str(out), *extra)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"{PROG}: error: ") and message in err, err
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing written, no temp file


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc, unwritable even for root")
def test_cli_unwritable_output_folder(runs, capsys):
    code, _, err = _cli(capsys, str(runs["forager", False]), "--onnx", "/proc/policy.onnx")
    assert code == 2 and len(err.splitlines()) == 1 and "cannot write in the output folder /proc" in err
    assert not Path("/proc/policy.onnx").exists()


def test_a_checkpoint_exports_with_its_own_statistics(runs, tmp_path):
    """A zip in checkpoints/ takes checkpoints/vecnormalize_<n>_steps.pkl, not the run's final one."""
    run = tmp_path / "run"
    shutil.copytree(runs["forager", True], run)
    (run / "checkpoints").mkdir(exist_ok=True)
    shutil.copy(run / "model.zip", run / "checkpoints" / "model_16_steps.zip")
    with pytest.raises(ValueError, match="vecnormalize_16_steps.pkl is missing"):
        export_onnx(run / "checkpoints" / "model_16_steps.zip", tmp_path / "a.onnx")
    shutil.copy(run / "vecnormalize.pkl", run / "checkpoints" / "vecnormalize_16_steps.pkl")
    assert export_onnx(run / "checkpoints" / "model_16_steps.zip", tmp_path / "a.onnx").is_file()
    assert not (tmp_path / "b.onnx").exists()


@pytest.mark.parametrize("normalize", [False, True])
def test_forager_onnx_gaml_runs_the_exported_policy_like_ppo(runs, exported, normalize, tmp_path):
    """gaml/forager_onnx.gaml on the GAML interpreter (onnxruntime standing in for GAMA's ONNX plugin),
    its forager driven by the exported policy, follows the embedded episode driven by PPO.predict."""
    import shutil

    from sb3_forager.lang.interp import Model
    from sb3_forager.lang.interp.onnx import ONNX_EXTENSIONS

    gaml = Path(sb3_forager.__file__).resolve().parent.parent / "gaml" / "forager_onnx.gaml"
    shutil.copy(exported["forager", normalize], tmp_path / "policy.onnx")
    model_gaml = Model(gaml.read_text(), ONNX_EXTENSIONS, str(tmp_path))
    model_gaml.load("onnx_single", {})
    gaml_obs = [np.asarray(model_gaml.evaluate("forager[0].observation"), dtype=np.float64)]
    while not model_gaml.evaluate("episode_over"):
        model_gaml.step()
        gaml_obs.append(np.asarray(model_gaml.evaluate("forager[0].observation"), dtype=np.float64))
    model, norm = _reference(runs["forager", normalize])
    theirs, _ = _single_episode(lambda o: model.predict(norm(o), deterministic=True)[0])
    ours = np.array(gaml_obs)
    assert ours.shape == theirs.shape and len(ours) > 10, (ours.shape, theirs.shape)
    assert np.abs(ours - theirs).max() <= ATOL


def test_forager_onnx_gaml_runs_the_exported_pair_policy_like_ppo(runs, exported, tmp_path):
    """The team experiment (onnx_team): the pair's observations, cycle by cycle, as in the embedded
    pair driven by PPO.predict with the same policy."""
    import shutil

    from sb3_forager.lang.interp import Model
    from sb3_forager.lang.interp.onnx import ONNX_EXTENSIONS

    gaml = Path(sb3_forager.__file__).resolve().parent.parent / "gaml" / "forager_onnx.gaml"
    shutil.copy(exported["coop", False], tmp_path / "policy.onnx")
    model_gaml = Model(gaml.read_text(), ONNX_EXTENSIONS, str(tmp_path))
    model_gaml.load("onnx_team", {})
    k = int(model_gaml.evaluate("nb_foragers"))
    ours = []
    while not model_gaml.evaluate("episode_over"):
        ours.append([np.asarray(model_gaml.evaluate(f"forager[{i}].observation"), dtype=np.float64) for i in range(k)])
        model_gaml.step()
    model, norm = _reference(runs["coop", False])
    theirs = _team_episode(lambda o: model.predict(norm(o), deterministic=True)[0])
    ours = np.array(ours)
    assert k == 2 and ours.shape == theirs.shape and len(ours) > 10, (ours.shape, theirs.shape)
    assert np.abs(ours - theirs).max() <= ATOL
