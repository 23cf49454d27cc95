"""SB3 callbacks: team metrics, evaluation with best-model saving, atomic checkpoints, hparams.

Everything is logged through the SB3 logger, so TensorBoard shows it next to SB3's own scalars:
``team/*`` per *team* episode (a world's episode, all its foragers together) over the last
``window`` training episodes, ``eval/*`` (``eval/stochastic_*``) of the deterministic
(stochastic) policy, per-forager values of a team under ``eval_per_forager/``.

The evaluation and checkpoint callbacks are SB3's ``EvalCallback`` and ``CheckpointCallback``
with what differs overridden (team episodes, the best-model score, timestep frequencies, atomic
writes, resumes).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback, EvalCallback
from stable_baselines3.common.logger import HParam
from stable_baselines3.common.vec_env import VecEnv, sync_envs_normalization

from .evaluation import EpisodeBatch, evaluate_team, fmt_num, fmt_pct, no_rng_side_effects
from .run_dir import RunPaths, atomic_save_model, atomic_write_bytes, atomic_write_text

logger = logging.getLogger(__name__)

__all__ = [
    "EVAL_SEED",
    "AtomicCheckpointCallback",
    "HParamCallback",
    "TeamEvalCallback",
    "TeamMetricsCallback",
    "read_best_marker",
    "read_episodes_csv",
]

#: the seed of the evaluation episodes during training (the same episodes at every evaluation)
EVAL_SEED = 1_000_003


def read_best_marker(paths: RunPaths) -> tuple[int, list[float]] | None:
    """``(timesteps, score)`` of ``best_model.zip`` from ``best_model.json`` (SB3 keeps them only in
    memory; a resume needs them), or None (no best model, or no readable marker)."""
    if not paths.best_model.is_file() or not paths.best_marker.is_file():
        return None
    try:
        data = json.loads(paths.best_marker.read_text(encoding="utf-8"))
        return int(data["timesteps"]), [float(x) for x in data["score"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _episodes_header(n_agents: int) -> list[str]:
    return ["timesteps", "team_return", "success", "steps", "time_s"] + [f"forager_{k}_return" for k in range(n_agents)]


def read_episodes_csv(path: str | Path) -> dict[str, np.ndarray]:
    """The columns of an ``episodes.csv`` as float arrays (empty arrays if the file is missing)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    return {key: np.asarray([float(r[key]) for r in rows]) for key in rows[0]}


class TeamMetricsCallback(BaseCallback):
    """Team metrics of the training episodes (read from the infos of each episode's last step).

    A world's episode ends on the same step for all its K slots; its team return is the sum of
    the slots' ``VecMonitor`` returns (raw rewards, even under ``VecNormalize``), its success is
    ``is_success`` and its length ``episode_steps``. Every team episode also becomes a row of
    ``episodes.csv`` (written atomically at each :meth:`flush`). The rows of a resumed run are
    kept, up to ``resume_timesteps`` (the rest belonged to the branch the resume discards).
    """

    def __init__(
        self,
        n_agents: int,
        episodes_path: str | Path | None = None,
        window: int = 100,
        verbose: int = 0,
        resume_timesteps: int | None = None,
    ) -> None:
        super().__init__(verbose)
        self.n_agents = int(n_agents)
        self.episodes_path = None if episodes_path is None else Path(episodes_path)
        self.window = int(window)
        #: per team episode: timesteps, team return, success, steps, time_s, the foragers' returns
        self.rows: list[list[float]] = []
        self._t0 = time.time()
        old = read_episodes_csv(self.episodes_path) if self.episodes_path is not None else {}
        header = _episodes_header(self.n_agents)
        if old and list(old) == header:
            self.rows = [list(r) for r in zip(*(old[h] for h in header))]
            if resume_timesteps is not None:
                self.rows = [r for r in self.rows if r[0] <= resume_timesteps]
        self._time_offset = float(self.rows[-1][4]) if self.rows else 0.0

    @property
    def n_team_episodes(self) -> int:
        return len(self.rows)

    def _on_training_start(self) -> None:
        self._t0 = time.time()

    def _on_step(self) -> bool:
        dones = self.locals.get("dones")
        infos = self.locals.get("infos")
        if dones is None or infos is None:
            return True
        k = self.n_agents
        ended = np.flatnonzero(np.asarray(dones, dtype=bool).reshape(-1, k)[:, 0])
        for w in ended.tolist():
            slot_infos = infos[w * k : (w + 1) * k]
            episodes = [i.get("episode") for i in slot_infos]
            if any(e is None for e in episodes):
                continue  # not under VecMonitor: nothing to count
            returns = [float(e["r"]) for e in episodes]
            team_return = float(sum(returns))
            success = bool(slot_infos[0].get("is_success", False))
            steps = int(slot_infos[0].get("episode_steps", episodes[0]["l"]))
            elapsed = self._time_offset + time.time() - self._t0
            self.rows.append(
                [float(self.num_timesteps), team_return, float(success), float(steps), round(elapsed, 3), *returns]
            )
        return True

    def _on_rollout_end(self) -> None:
        self.record_to(self.logger)

    def record_to(self, sb3_logger: Any) -> None:
        """Record the window's team metrics into an SB3 logger (dumped with SB3's next dump)."""
        if not self.rows:
            return
        returns, success, steps = np.asarray(self.rows[-self.window :])[:, 1:4].T
        sb3_logger.record("team/success_rate", float(success.mean()))
        sb3_logger.record("team/return_mean", float(returns.mean()))
        sb3_logger.record("team/ep_len_mean", float(steps.mean()))
        if success.any():
            sb3_logger.record("team/steps_to_food_mean", float(steps[success.astype(bool)].mean()))
        sb3_logger.record("team/episodes", self.n_team_episodes)

    def flush(self) -> None:
        """Write ``episodes.csv`` (all rows) atomically."""
        if self.episodes_path is None:
            return
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(_episodes_header(self.n_agents))
        for row in self.rows:
            writer.writerow(
                [int(row[0]), f"{row[1]:.6g}", int(row[2]), int(row[3]), row[4], *(f"{x:.6g}" for x in row[5:])]
            )
        atomic_write_text(self.episodes_path, buf.getvalue())

    def _on_training_end(self) -> None:
        self.flush()


def _score(det: Mapping[str, float], stoch: Mapping[str, float] | None) -> tuple[float, ...]:
    """Best-model order: deterministic success, stochastic success, deterministic path
    efficiency, fewer steps, higher return (every evaluation plays the same seeded episodes)."""

    def clean(x: float | None, bad: float) -> float:
        return bad if x is None or math.isnan(x) else float(x)

    stoch_success = clean(stoch["success_rate"], 0.0) if stoch else 0.0
    return (
        clean(det["success_rate"], 0.0),
        stoch_success,
        clean(det.get("path_efficiency"), 0.0),
        -clean(det["steps_to_food"], math.inf),
        clean(det["team_return"], -math.inf),
    )


def format_eval_line(
    num_timesteps: int, det: Mapping[str, float], stoch: Mapping[str, float] | None, best: bool = False
) -> str:
    """The one-line summary printed per evaluation (at most 100 columns): the deterministic
    policy's team success (the stochastic one's in brackets), steps to food, path efficiency and
    (team) return."""
    success = f"success {fmt_pct(det['success_rate'])}"
    success += f" (stoch {fmt_pct(stoch['success_rate'])})" if stoch else ""
    parts = [f"eval @ {num_timesteps:,}", success, f"steps {fmt_num(det['steps_to_food'])}"]
    if not math.isnan(det.get("path_efficiency", math.nan)):
        parts.append(f"efficiency {det['path_efficiency']:.3f}")
    parts.append(f"return {fmt_num(det['team_return'])}")
    if best:
        parts.append("best")
    return " | ".join(parts)


class TeamEvalCallback(EvalCallback):
    """SB3's ``EvalCallback``, per team episode: evaluate every ``eval_freq`` timesteps, keep the best model.

    What differs: :func:`evaluate_team` plays deterministic and (if ``stochastic``) stochastic
    team episodes; the best model is ranked by :func:`_score`, not the mean reward;
    ``evaluations.npz`` holds RL Zoo's keys plus per-team ones (``forager_returns``,
    ``arrival_steps``, ``lower_bounds``, ``scores``, ``stochastic_*``).

    ``callback_on_new_best`` / ``callback_after_eval`` run as in SB3. ``last_mean_reward`` /
    ``best_mean_reward`` (what SB3's stop callbacks read) are the deterministic team success
    rates, so a new best that only wins a tie-break is no improvement to them;
    ``last_summary`` / ``last_stochastic_summary`` hold the last :meth:`EpisodeBatch.summary` dicts.
    """

    def __init__(
        self,
        eval_env: VecEnv,
        n_agents: int,
        eval_freq: int,
        n_eval_episodes: int,
        paths: RunPaths | None = None,
        stochastic: bool = True,
        callback_on_new_best: BaseCallback | None = None,
        callback_after_eval: BaseCallback | None = None,
        eval_seed: int = EVAL_SEED,
        resume_timesteps: int | None = None,
        verbose: int = 0,
    ) -> None:
        root = None if paths is None else str(paths.root)
        super().__init__(
            eval_env,
            callback_on_new_best=callback_on_new_best,
            callback_after_eval=callback_after_eval,
            n_eval_episodes=int(n_eval_episodes),
            eval_freq=int(eval_freq),
            log_path=root,
            best_model_save_path=root,
            verbose=verbose,
            warn=False,
        )
        self.n_agents = int(n_agents)
        self.paths = paths
        self.stochastic = bool(stochastic)
        self.eval_seed = int(eval_seed)
        self.stopped_early = False
        self.history: dict[str, list[Any]] = {}
        self.best_score: tuple[float, ...] | None = None
        self.last_eval_timestep: int | None = None
        self.last_summary: dict[str, float] | None = None
        self.last_stochastic_summary: dict[str, float] | None = None
        if paths is not None and paths.evaluations.is_file():
            self._load_history(paths.evaluations, resume_timesteps)

    def _load_history(self, path: Path, resume_timesteps: int | None) -> None:
        """The run's earlier evaluations (of a resumed run: those up to the resumed timestep), and
        the best score, if ``best_model.zip`` belongs to that same timeline (SB3 has no resume)."""
        with np.load(path) as data:
            self.history = {key: list(data[key]) for key in data.files}
        if resume_timesteps is not None and "timesteps" in self.history:
            keep = [i for i, t in enumerate(self.history["timesteps"]) if int(t) <= resume_timesteps]
            self.history = {key: [values[i] for i in keep] for key, values in self.history.items()}
        best = read_best_marker(self.paths)
        if best is not None and (resume_timesteps is None or best[0] <= resume_timesteps):
            self.best_score = tuple(best[1])
            self.best_mean_reward = self.best_score[0]
        elif best is not None:
            logger.warning(
                "best_model.zip (from timestep %d) belongs to the part of the run the resume discards "
                "(after timestep %d): removed; the next evaluation sets a new best", best[0], resume_timesteps,
            )  # fmt: skip
            for path in (self.paths.best_model, self.paths.best_vecnormalize, self.paths.best_marker):
                path.unlink(missing_ok=True)

    def write_history(self) -> None:
        """Write ``evaluations.npz`` as the history is now (removed when it is empty)."""
        if self.paths is None:
            return
        if self.history and self.history.get("timesteps"):
            buf = io.BytesIO()
            np.savez(buf, **{k: _stack_rows(v) for k, v in self.history.items()})
            atomic_write_bytes(self.paths.evaluations, buf.getvalue())
        else:
            self.paths.evaluations.unlink(missing_ok=True)

    def _init_callback(self) -> None:
        super()._init_callback()
        if self.last_eval_timestep is None:
            self.last_eval_timestep = int(self.model.num_timesteps)  # a resumed run goes on from here

    def _on_step(self) -> bool:
        # timesteps, not SB3's calls: a call is num_envs (worlds x K) timesteps; a resume goes on from its timestep
        if self.eval_freq <= 0 or self.num_timesteps - int(self.last_eval_timestep or 0) < self.eval_freq:
            return True
        new_best = self.evaluate_now()
        continue_training = True
        if new_best and self.callback_on_new_best is not None:
            continue_training = self.callback_on_new_best.on_step()
        if self.callback is not None:
            continue_training = continue_training and self._on_event()
        self.stopped_early = not continue_training
        return continue_training

    def run_evaluation(self, n_episodes: int | None = None) -> tuple[EpisodeBatch, EpisodeBatch | None]:
        """Deterministic (and stochastic) episodes of the current model, without side effects."""
        n = self.n_eval_episodes if n_episodes is None else int(n_episodes)
        if self.model.get_vec_normalize_env() is not None:
            sync_envs_normalization(self.training_env, self.eval_env)
        # the same episodes at every evaluation, and no change to the global random state (so no
        # change to the learning curve): SB3's evaluation draws from it
        with no_rng_side_effects():
            torch.manual_seed(self.eval_seed)
            self.eval_env.seed(self.eval_seed)
            det = evaluate_team(self.model, self.eval_env, n, self.n_agents, deterministic=True)
            stoch = None
            if self.stochastic:
                self.eval_env.seed(self.eval_seed)
                stoch = evaluate_team(self.model, self.eval_env, n, self.n_agents, deterministic=False)
        return det, stoch

    def evaluate_now(self) -> bool:
        """Evaluate, log, append to ``evaluations.npz``, save the best model; whether it is a new best."""
        self.last_eval_timestep = self.num_timesteps
        det_batch, stoch_batch = self.run_evaluation()
        det = det_batch.summary()
        stoch = stoch_batch.summary() if stoch_batch is not None else None
        self.last_summary, self.last_stochastic_summary = det, stoch
        self._record(det, "eval/")
        if stoch is not None:
            self._record(stoch, "eval/stochastic_")
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        score = _score(det, stoch)
        self.last_mean_reward = score[0]
        new_best = self.best_score is None or score > self.best_score
        self._append_history(det_batch, stoch_batch, score)
        if new_best:
            self.best_score = score
            self.best_mean_reward = score[0]
            if self.paths is not None:
                self._save_best(score)
        logger.info(format_eval_line(self.num_timesteps, det, stoch, best=new_best))
        self.logger.dump(self.num_timesteps)
        return new_best

    def _save_best(self, score: tuple[float, ...]) -> None:
        """``best_model.zip``, its VecNormalize stats and ``best_model.json``, each written atomically
        (SB3 writes the zip in place: a kill mid-write would leave no usable best model)."""
        atomic_save_model(self.model, self.paths.best_model, self.paths.best_vecnormalize)
        marker = {"timesteps": int(self.num_timesteps), "score": list(score)}
        atomic_write_text(self.paths.best_marker, json.dumps(marker))

    def _record(self, summary: Mapping[str, float], prefix: str) -> None:
        """Log a summary under SB3's names (``mean_reward`` per forager); NaN values are left out."""
        names = {"success_rate": "success_rate", "mean_reward": "forager_return", "mean_ep_length": "ep_len_mean"}
        names.update(steps_to_food="steps_to_food", path_efficiency="path_efficiency")
        if self.n_agents > 1:
            names["team_return"] = "team_return"
            if prefix == "eval/":
                for k in range(self.n_agents):
                    names[f"eval_per_forager/forager_{k}_return"] = f"forager_{k}/return"
                    names[f"eval_per_forager/forager_{k}_steps_to_food"] = f"forager_{k}/steps_to_food"
        for name, key in names.items():
            if not math.isnan(summary[key]):
                self.logger.record(name if "/" in name else prefix + name, summary[key])

    def _append_history(self, det: EpisodeBatch, stoch: EpisodeBatch | None, score: tuple[float, ...]) -> None:
        row: dict[str, Any] = {
            "timesteps": self.num_timesteps,
            "results": det.team_returns,
            "ep_lengths": det.steps,
            "successes": det.success,
            "forager_returns": det.forager_returns,
            "arrival_steps": det.arrival_steps,
            "lower_bounds": det.lower_bounds,
            "scores": np.asarray(score, dtype=np.float64),
        }
        if stoch is not None:
            row.update(
                stochastic_results=stoch.team_returns,
                stochastic_ep_lengths=stoch.steps,
                stochastic_successes=stoch.success,
            )
        for key, value in row.items():
            self.history.setdefault(key, []).append(value)
        self.write_history()


def _stack_rows(values: list[Any]) -> np.ndarray:
    """Stack evaluation rows; rows of different widths (``eval_episodes`` changed on resume) are
    padded with NaN so that the file never needs pickling."""
    try:
        return np.asarray(values)
    except ValueError:
        width = max(np.shape(v)[0] for v in values)
        out = np.full((len(values), width) + np.shape(values[0])[1:], np.nan)
        for i, v in enumerate(values):
            out[i, : np.shape(v)[0]] = v
        return out


class AtomicCheckpointCallback(CheckpointCallback):
    """SB3's ``CheckpointCallback`` saving ``checkpoints/model_<n>_steps.zip`` and, under
    VecNormalize, ``checkpoints/vecnormalize_<n>_steps.pkl`` every ``save_freq`` timesteps."""

    def __init__(
        self, save_freq: int, paths: RunPaths, verbose: int = 0, on_save: list[Callable[[], None]] | None = None
    ) -> None:
        """``on_save``: called after each checkpoint (the run's other files are made durable then)."""
        super().__init__(int(save_freq), str(paths.checkpoints), "model", save_vecnormalize=True, verbose=verbose)
        self.paths = paths
        self.on_save = list(on_save or [])
        self._last: int | None = None

    def _init_callback(self) -> None:
        super()._init_callback()
        if self._last is None:
            self._last = int(self.model.num_timesteps)

    def _on_step(self) -> bool:
        # timesteps, not SB3's calls: a call is num_envs timesteps, and a resume goes on from its timestep
        if self.save_freq > 0 and self.num_timesteps - int(self._last or 0) >= self.save_freq:
            self._last = self.num_timesteps
            save_checkpoint(self.model, self.paths)
            for hook in self.on_save:
                hook()
        return True


def save_checkpoint(model: Any, paths: RunPaths) -> Path:
    """Save the model (and VecNormalize stats, if any) as a checkpoint at its current timestep,
    atomically (SB3 writes in place: a kill mid-write would leave a truncated newest checkpoint)."""
    n = model.num_timesteps
    path = atomic_save_model(model, paths.checkpoint(n), paths.checkpoint_vecnormalize(n))
    logger.debug("checkpoint saved to %s", path)
    return path


#: TensorBoard's CUSTOM SCALARS page: the team's success, steps to food, efficiency and return first
TENSORBOARD_LAYOUT = {
    "Team": {
        "success rate": ["Multiline", ["team/success_rate", "eval/success_rate", "eval/stochastic_success_rate"]],
        "steps to food": [
            "Multiline",
            ["team/steps_to_food_mean", "eval/steps_to_food", "eval/stochastic_steps_to_food"],
        ],
        "path efficiency": ["Multiline", ["eval/path_efficiency", "eval/stochastic_path_efficiency"]],
        "return": ["Multiline", ["team/return_mean", "eval/team_return", "eval/mean_reward"]],
    },
    "Training": {
        "losses": ["Multiline", ["train/loss", "train/value_loss", "train/policy_gradient_loss"]],
        "policy": ["Multiline", ["train/approx_kl", "train/clip_fraction", "train/std"]],
    },
}


def _hparam_value(value: Any) -> bool | str | float | int:
    return value if isinstance(value, (bool, int, float, str)) else str(value)


class HParamCallback(BaseCallback):
    """Record the run's hyperparameters at the start of training: TensorBoard's HPARAMS tab
    (SB3 ``HParam``) and the whole resolved config as text (``config/yaml``)."""

    def __init__(self, config: Mapping[str, Any], verbose: int = 0) -> None:
        super().__init__(verbose)
        self.config = dict(config)

    def _on_training_start(self) -> None:
        import yaml

        flat: dict[str, Any] = {}
        for key, value in self.config.items():
            if key == "hyperparams" and isinstance(value, Mapping):
                flat.update({f"hp/{k}": _hparam_value(v) for k, v in value.items()})
            else:
                flat[key] = _hparam_value(value)
        metrics = {"team/success_rate": 0.0, "eval/success_rate": 0.0, "rollout/ep_rew_mean": 0.0}
        exclude = ("stdout", "log", "json", "csv")
        self.logger.record("hparams", HParam(flat, metrics), exclude=exclude)
        text = "```yaml\n" + yaml.safe_dump(self.config, sort_keys=False) + "```"
        self.logger.record("config/yaml", text, exclude=exclude)
        for fmt in self.logger.output_formats:
            writer = getattr(fmt, "writer", None)
            if writer is not None and hasattr(writer, "add_custom_scalars"):
                writer.add_custom_scalars(TENSORBOARD_LAYOUT)

    def _on_step(self) -> bool:
        return True
