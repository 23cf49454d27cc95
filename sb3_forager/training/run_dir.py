"""Run folders (``logs/<run>/``, RL Zoo layout) and atomic file writes.

Every file the pipeline writes goes through :func:`atomic_write_bytes`: the bytes go to a
temporary file in the same folder, are flushed to disk, then renamed over the target with
``os.replace``. An interrupted run therefore never leaves a half-written model, and the previous
version of a file stays intact until the new one is complete. (TensorBoard's event files are the
exception: they are append-only streams written by TensorBoard's own writer.)
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from stable_baselines3.common.utils import get_latest_run_id

logger = logging.getLogger(__name__)

__all__ = [
    "RunPaths",
    "atomic_save_model",
    "atomic_write_bytes",
    "atomic_write_text",
    "create_run_dir",
    "detect_algo",
    "detect_env",
    "newest_model",
    "resolve_resume",
    "zip_metadata",
]


class RunPaths:
    """The files of one run folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = root = Path(root)
        self.model = root / "model.zip"  #: the final (or Ctrl-C) model
        self.best_model = root / "best_model.zip"
        self.best_vecnormalize = root / "best_vecnormalize.pkl"
        self.best_marker = root / "best_model.json"  #: the timestep and evaluation score of best_model.zip
        self.checkpoints = root / "checkpoints"
        self.config = root / "config.yml"
        self.vecnormalize = root / "vecnormalize.pkl"
        self.evaluations = root / "evaluations.npz"
        self.episodes = root / "episodes.csv"  #: one row per finished training (team) episode
        self.plot = root / "training_rewards.png"

    def checkpoint(self, num_timesteps: int) -> Path:
        return self.checkpoints / f"model_{int(num_timesteps)}_steps.zip"

    def checkpoint_vecnormalize(self, num_timesteps: int) -> Path:
        return self.checkpoints / f"vecnormalize_{int(num_timesteps)}_steps.pkl"

    def vecnormalize_for(self, model_zip: Path) -> Path:
        """The VecNormalize statistics saved with ``model_zip`` (a checkpoint's own, the best
        model's, else the run's ``vecnormalize.pkl``); the path may not exist."""
        model_zip = Path(model_zip)
        if model_zip.parent.resolve() == self.checkpoints.resolve():
            steps = model_zip.stem.removeprefix("model_").removesuffix("_steps")
            if steps.isdigit():
                return self.checkpoint_vecnormalize(int(steps))
        if model_zip.name == self.best_model.name:
            return self.best_vecnormalize
        return self.vecnormalize


# ---------------------------------------------------------------------- atomic writes
def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: files get the usual permissions (mkstemp alone would make them private: 0600)
_FILE_MODE = 0o666 & ~_current_umask()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_model(model: Any, path: str | Path, vecnormalize_path: str | Path | None = None) -> Path:
    """``model.save`` into memory, then :func:`atomic_write_bytes`; with ``vecnormalize_path``, also
    the model's VecNormalize statistics if it has any (pickled, as ``VecNormalize.save`` writes them)."""
    buf = io.BytesIO()
    model.save(buf)
    saved = atomic_write_bytes(path, buf.getvalue())
    vn = model.get_vec_normalize_env() if vecnormalize_path is not None else None
    if vn is not None:
        atomic_write_bytes(vecnormalize_path, pickle.dumps(vn))
    return saved


# ---------------------------------------------------------------------- run folders
def check_logdir(logdir: str | Path) -> Path:
    """Make sure run folders can be created under ``logdir`` (creating it), or raise ``ValueError``."""
    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise ValueError(f"--logdir {logdir} is a file, not a folder")
    try:
        logdir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=logdir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"cannot write run folders under --logdir {logdir}: {exc.strerror or exc}") from None
    return logdir


def create_run_dir(logdir: str | Path, prefix: str, run_name: str | None = None) -> Path:
    """Create and return a new run folder under ``logdir``.

    With ``run_name`` the folder is ``logdir/run_name`` and must not exist yet; otherwise it is
    ``logdir/<prefix>_<k>`` with the next free ``k`` (``coop_ppo_1``, ``coop_ppo_2``, ...).
    """
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    if run_name is not None:
        if not run_name.strip() or any(sep in run_name for sep in ("/", "\\", "\0")) or run_name in (".", ".."):
            raise ValueError(f"--run-name must be a plain folder name, got {run_name!r}")
        path = logdir / run_name
        try:
            path.mkdir()
        except FileExistsError:
            raise FileExistsError(
                f"the run folder {path} already exists: pick another --run-name, or continue it with --resume {path}"
            ) from None
        return path
    k = get_latest_run_id(str(logdir), prefix) + 1
    while True:  # another process may take the same number at the same moment
        path = logdir / f"{prefix}_{k}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            k += 1


def zip_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON ``data`` record of an SB3 model zip (no torch, no unpickling)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a Stable-Baselines3 model zip: {exc}") from exc


def detect_algo(path: str | Path) -> str:
    """``"recurrent_ppo"`` if the zip holds an sb3-contrib recurrent policy, else ``"ppo"``."""
    module = str(zip_metadata(path).get("policy_class", {}).get("__module__", ""))
    return "recurrent_ppo" if "recurrent" in module else "ppo"


def detect_env(path: str | Path) -> str | None:
    """The first trainable model (``forager`` or ``coop``) whose observation size is the policy's;
    None if none is."""
    from ..models import MODELS, TRAINABLE

    shape = tuple(zip_metadata(path).get("observation_space", {}).get("_shape") or ())
    return next((name for name in TRAINABLE if shape == (MODELS[name].scenario.obs_dim,)), None)


def check_model_zip(path: str | Path) -> None:
    """Raise ``ValueError`` unless ``path`` is a complete SB3 model zip (readable, CRCs intact,
    with ``data`` and ``policy.pth``)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            names = set(zf.namelist())
            json.loads(zf.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, EOFError, ValueError) as exc:
        raise ValueError(f"{path} is not a complete Stable-Baselines3 model zip ({exc})") from None
    if bad is not None:
        raise ValueError(f"{path} is damaged ({bad} fails its checksum)")
    if "policy.pth" not in names:
        raise ValueError(f"{path} has no policy.pth")


def newest_model(paths: RunPaths, with_final: bool = True) -> Path | None:
    """The valid one of ``model.zip`` (if ``with_final``) and ``checkpoints/*.zip`` that has trained
    the most timesteps (``model.zip`` on a tie); a truncated or damaged zip is skipped with a warning."""
    candidates = []
    for p in ([paths.model] if with_final else []) + sorted(paths.checkpoints.glob("*.zip")):
        if not p.is_file():
            continue
        try:
            check_model_zip(p)
            candidates.append((int(zip_metadata(p).get("num_timesteps", 0)), p == paths.model, p))
        except ValueError as exc:
            logger.warning("skipping %s: %s", p, exc)
    return max(candidates)[2] if candidates else None


def resolve_resume(target: str | Path) -> tuple[Path, Path]:
    """``--resume`` target -> ``(run_dir, model_zip)``.

    A run folder resumes from its :func:`newest_model`; a zip resumes from that zip, in the run
    folder that holds it (its parent, or the parent's parent for a checkpoint).
    """
    target = Path(target)
    if target.is_dir():
        paths = RunPaths(target)
        best = newest_model(paths)
        if best is None:
            raise FileNotFoundError(f"{target} holds no valid model.zip and no valid checkpoints/*.zip to resume from")
        if paths.model.is_file() and best != paths.model:
            logger.warning("resuming from %s, the newest valid model of %s", best, target)
        return target, best
    if target.is_file():
        check_model_zip(target)  # fail early on a file that is not a (complete) model
        parent = target.parent
        run_dir = parent.parent if parent.name == "checkpoints" else parent
        return run_dir, target
    raise FileNotFoundError(f"--resume: {target} is neither a run folder nor a model zip")
