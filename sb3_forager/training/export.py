"""Export a trained PPO policy to ONNX (for GAMA's ONNX plugin, ``gaml/forager_onnx.gaml``), and run one.

The graph is the policy's deterministic action exactly as ``PPO.predict(obs, deterministic=True)``
computes it for the forager's ``Box(-1, 1, (2,))``: the Gaussian mean (action net over the actor's
features), clipped to the Box. A run trained with ``VecNormalize`` has its observation
normalisation folded in front, as ``VecNormalize.normalize_obs`` computes it: float64
``clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)``, then float32. So the graph takes
the raw observations the env (or GAML) produces: input ``obs`` float32 ``[batch, obs_dim]``
(dynamic batch), output ``action`` float32 ``[batch, 2]``. Its ``metadata_props`` record the
observation layout, the env, the run's config, the package version and the training timestep.

RecurrentPPO runs are refused (their LSTM state would be graph inputs and outputs; not supported).
The graph comes from torch's own exporter (``torch.onnx.export(..., dynamo=True)``, the
``torch.export``-based one, default since torch 2.9; the TorchScript one is deprecated).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import __version__
from ..models import MODELS, RENAMED
from .run_dir import RunPaths, atomic_write_bytes, check_model_zip, detect_algo, detect_env

__all__ = ["OBS_LAYOUT", "TEAM_OBS_LAYOUT", "OnnxPolicy", "export_onnx", "load_onnx_policy"]

logger = logging.getLogger(__name__)

#: the observation components, in order (docs/model.md, "Observation"; the team adds the teammate slot)
OBS_LAYOUT: tuple[str, ...] = ("x", "y", "food_distance", "food_cos", "food_sin") + tuple(
    f"sensor_{45 * i}" for i in range(8)
)
TEAM_OBS_LAYOUT: tuple[str, ...] = OBS_LAYOUT + ("teammate_x", "teammate_y")
#: opset of the exported graph (onnxruntime >= 1.14, so the plugin's bundled 1.28, runs it)
OPSET = 18


def _source(run_or_zip: str | Path) -> tuple[Path, RunPaths]:
    """The model zip of a run folder (its ``model.zip``) or a zip, and the run folder holding it."""
    target = Path(run_or_zip)
    if target.is_dir():
        paths = RunPaths(target)
        zip_path = paths.model
        if not zip_path.is_file():
            raise ValueError(f"the run folder {target} holds no model.zip")
    elif target.is_file():
        zip_path = target
        paths = RunPaths(target.parent.parent if target.parent.name == "checkpoints" else target.parent)
    else:
        raise ValueError(f"{target} is neither a run folder nor a model zip")
    check_model_zip(zip_path)
    if detect_algo(zip_path) != "ppo":
        raise ValueError(
            f"{zip_path} is a RecurrentPPO (LSTM) policy: only PPO policies can be exported "
            "(an LSTM's state would have to be graph inputs and outputs, which this exporter does not do)"
        )
    return zip_path, paths


def _check_output(out_path: str | Path) -> Path:
    """``out_path`` if it ends in ``.onnx`` and its folder exists and is writable, else ``ValueError``."""
    out = Path(out_path)
    if out.suffix.lower() != ".onnx":
        raise ValueError(f"unknown output format of {out}: the only format is ONNX, a file ending in .onnx")
    if not out.parent.is_dir():
        raise ValueError(f"the output folder {out.parent} does not exist")
    if out.is_dir():
        raise ValueError(f"{out} is a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=out.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"cannot write in the output folder {out.parent}: {exc.strerror or exc}") from None
    return out


def _normalizer(paths: RunPaths, zip_path: Path, config: dict[str, Any]) -> Any:
    """The run's VecNormalize (its observation statistics), or None when it normalises no observations."""
    vn_path = paths.vecnormalize_for(zip_path)
    if not (config.get("normalize") if config else vn_path.is_file()):
        return None
    if not vn_path.is_file():
        raise ValueError(f"the run was trained with normalize: {config.get('normalize')} but {vn_path} is missing")
    try:
        with open(vn_path, "rb") as fh:
            vn = pickle.load(fh)  # what VecNormalize.load reads (the run's own file)
    except Exception as exc:
        raise ValueError(f"{vn_path} cannot be read: {type(exc).__name__}: {exc}") from None
    if not all(hasattr(vn, a) for a in ("obs_rms", "epsilon", "clip_obs", "norm_obs")):
        raise ValueError(f"{vn_path} is not a VecNormalize file")
    return vn if vn.norm_obs else None


def _graph_module(policy: Any, vn: Any) -> Any:
    """A torch module: raw observations -> the clipped deterministic action (see the module docstring)."""
    import torch
    from stable_baselines3.common.distributions import DiagGaussianDistribution, StateDependentNoiseDistribution
    from stable_baselines3.common.policies import ActorCriticPolicy, BaseModel

    if not isinstance(policy, ActorCriticPolicy) or policy.squash_output:
        raise ValueError(f"cannot export a {type(policy).__name__}: an unsquashed actor-critic policy is needed")
    if not isinstance(policy.action_dist, (DiagGaussianDistribution, StateDependentNoiseDistribution)):
        raise ValueError(f"cannot export a policy with a {type(policy.action_dist).__name__} (a Box action is needed)")

    class DeterministicAction(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.policy = policy
            self.register_buffer("low", torch.as_tensor(policy.action_space.low, dtype=torch.float32))
            self.register_buffer("high", torch.as_tensor(policy.action_space.high, dtype=torch.float32))
            self.normalize = vn is not None
            if vn is not None:
                self.clip_obs = float(vn.clip_obs)
                self.register_buffer("mean", torch.as_tensor(np.asarray(vn.obs_rms.mean, dtype=np.float64)))
                std = np.sqrt(np.asarray(vn.obs_rms.var, dtype=np.float64) + vn.epsilon)
                self.register_buffer("std", torch.as_tensor(std))

        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            if self.normalize:
                obs = torch.clamp((obs.double() - self.mean) / self.std, -self.clip_obs, self.clip_obs).float()
            features = BaseModel.extract_features(self.policy, obs, self.policy.pi_features_extractor)
            mean_action = self.policy.action_net(self.policy.mlp_extractor.forward_actor(features))
            return torch.clamp(mean_action, self.low, self.high)

    return DeterministicAction().eval()


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's warnings and log lines (e.g. its note that torchvision is missing)."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def export_onnx(run_or_zip: str | Path, out_path: str | Path) -> Path:
    """Export the PPO policy of a run folder (its ``model.zip``) or of a model zip to ``out_path``.

    Raises ``ValueError`` (nothing written) for a folder without a model, a damaged zip, a
    RecurrentPPO policy, missing normalisation statistics, or an output that does not end in
    ``.onnx`` or lies in a missing or unwritable folder. The file is written atomically.
    """
    import onnx
    import torch

    from .train import load_model

    out = _check_output(out_path)
    zip_path, paths = _source(run_or_zip)
    config = yaml.safe_load(paths.config.read_text()) if paths.config.is_file() else {}
    config = config if isinstance(config, dict) else {}
    vn = _normalizer(paths, zip_path, config)
    model = load_model(zip_path, algo="ppo", device="cpu")
    obs_dim = int(model.observation_space.shape[0])
    if vn is not None and np.shape(vn.obs_rms.mean) != (obs_dim,):
        raise ValueError(f"the normalisation statistics of {zip_path} are not for {obs_dim} observations")
    module = _graph_module(model.policy, vn)
    with _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            module,
            (torch.zeros(2, obs_dim),),
            input_names=["obs"],
            output_names=["action"],
            dynamic_shapes={"obs": {0: torch.export.Dim("batch")}},
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    proto = program.model_proto
    env = str(config.get("env") or detect_env(zip_path) or "")
    row = MODELS.get(RENAMED.get(env, env))
    layout = {13: OBS_LAYOUT, 15: TEAM_OBS_LAYOUT}.get(obs_dim, tuple(f"obs_{i}" for i in range(obs_dim)))
    meta = {
        "obs_layout": ",".join(layout),
        "obs_dim": str(obs_dim),
        "action": "ax,ay in [-1, 1] (deterministic PPO action, clipped)",
        "env": env,
        "env_id": (row.gym_id or row.pettingzoo_id or "") if row else "",
        "teammate": str((config.get("scenario") or {}).get("teammate", row.scenario.teammate)) if row and row.is_team else "",
        "scenario": json.dumps(config, sort_keys=True),
        "normalized": str(vn is not None).lower(),
        "sb3_forager_version": __version__,
        "num_timesteps": str(int(model.num_timesteps)),
        "source": zip_path.name,
    }
    onnx.helper.set_model_props(proto, meta)
    proto.doc_string = f"sb3_forager PPO policy ({env or 'unknown env'}): obs float32 [batch, {obs_dim}] -> action [batch, 2]"
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    _verify(data, model, vn, obs_dim)
    atomic_write_bytes(out, data)
    logger.info("exported %s (%d observations, %s) to %s", zip_path, obs_dim, "normalised" if vn else "raw", out)
    return out


def _verify(data: bytes, model: Any, vn: Any, obs_dim: int, n: int = 512, atol: float = 1e-5) -> None:
    """Check the graph against ``model.predict`` on ``n`` random observations (raises ``RuntimeError``)."""
    obs = np.random.default_rng(0).uniform(0.0, 1.0, (n, obs_dim)).astype(np.float32)
    expected, _ = model.predict(vn.normalize_obs(obs) if vn is not None else obs, deterministic=True)
    got = OnnxPolicy(data).predict(obs)[0]
    if not np.allclose(got, expected, rtol=0.0, atol=atol):
        raise RuntimeError(f"the exported graph differs from PPO.predict by {np.abs(got - expected).max():.3g}")


class OnnxPolicy:
    """An exported policy behind SB3's ``predict`` signature, on onnxruntime (deterministic only).

    ``observation_space``, ``action_space``, ``num_timesteps`` and ``metadata`` (the file's
    ``metadata_props``) stand in for a model's; it takes raw observations (normalisation is in the graph).
    """

    def __init__(self, path_or_bytes: str | Path | bytes) -> None:
        import onnxruntime as ort

        from ..envs.contract import forager_spaces

        what = "the graph" if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        source = path_or_bytes if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
        try:
            self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ValueError(f"{what} is not a loadable ONNX model: {str(exc).splitlines()[0]}") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape = inputs[0].shape if len(inputs) == 1 else []
        if [i.name for i in inputs] != ["obs"] or "action" not in [o.name for o in outputs] or len(shape) != 2:
            raise ValueError(f"{what} is not an exported forager policy (input obs [batch, n], output action)")
        self.obs_dim = int(shape[1])
        self.observation_space, self.action_space = forager_spaces(self.obs_dim)
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.num_timesteps = int(self.metadata.get("num_timesteps", 0))

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, Any]:
        """The deterministic actions of ``observation`` (one ``(obs_dim,)`` or a batch), and ``state``."""
        if not deterministic:
            raise ValueError("an exported policy has only its deterministic action (deterministic=True)")
        obs = np.asarray(observation, dtype=np.float32)
        if obs.shape[-1:] != (self.obs_dim,) or obs.ndim > 2:
            raise ValueError(f"observations of shape (n, {self.obs_dim}) expected, got {obs.shape}")
        actions = self.session.run(["action"], {"obs": obs.reshape(-1, self.obs_dim)})[0]
        return (actions[0] if obs.ndim == 1 else actions), state


def load_onnx_policy(path: str | Path) -> OnnxPolicy:
    """An exported policy file as a model for ``evaluate_team`` (``ValueError`` if it is not one)."""
    if not Path(path).is_file():
        raise ValueError(f"{path} does not exist")
    return OnnxPolicy(path)
