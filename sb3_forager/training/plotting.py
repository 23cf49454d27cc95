"""``training_rewards.png``: the learning curves of a run (like the tutorial's ``plot_training``).

Three panels over training timesteps: the (team) return of every training episode with its moving
average, the success rate, and the steps to food; evaluation points from ``evaluations.npz`` on top.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

from .callbacks import read_episodes_csv
from .run_dir import RunPaths, atomic_write_bytes

logger = logging.getLogger(__name__)

__all__ = ["moving_average", "plot_training"]


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values (the first points average what exists so far)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    csum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, values.size + 1)
    lo = np.maximum(idx - int(window), 0)
    return (csum[idx] - csum[lo]) / (idx - lo)


def plot_training(
    run_dir: str | Path, n_agents: int, title: str | None = None, path: str | Path | None = None
) -> Path | None:
    """Draw the run's curves into ``training_rewards.png`` (atomically). None if there is no data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = RunPaths(Path(run_dir))
    episodes = read_episodes_csv(paths.episodes)
    evals: dict[str, np.ndarray] = {}
    if paths.evaluations.is_file():
        with np.load(paths.evaluations) as data:
            evals = {key: data[key] for key in data.files}
    if not episodes and not evals:
        logger.info("no episodes or evaluations yet: %s not drawn", paths.plot)
        return None

    ret_label = "team return" if n_agents > 1 else "return"
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    ax_ret, ax_succ, ax_steps = axes
    if episodes:
        ts = episodes["timesteps"]
        window = max(10, min(100, ts.size // 10 or 1))
        avg = f"{window}-episode average"
        ax_ret.plot(
            ts, episodes["team_return"], ".", ms=2, alpha=0.25, color="tab:blue", label=f"training episode {ret_label}"
        )
        ax_ret.plot(ts, moving_average(episodes["team_return"], window), color="tab:blue", lw=2, label=avg)
        ax_succ.plot(
            ts, moving_average(episodes["success"], window), color="tab:green", lw=2, label=f"training success ({avg})"
        )
        ax_steps.plot(
            ts,
            moving_average(episodes["steps"], window),
            color="tab:purple",
            lw=2,
            label=f"training episode length ({avg})",
        )
    if evals and "timesteps" in evals:
        ets = evals["timesteps"]
        det = {"ms": 4, "color": "tab:red"}
        ax_ret.plot(ets, np.nanmean(evals["results"], axis=1), "o-", label=f"eval {ret_label} (deterministic)", **det)
        ax_succ.plot(ets, np.nanmean(evals["successes"], axis=1), "o-", label="eval success (deterministic)", **det)
        if "stochastic_successes" in evals:
            ax_succ.plot(
                ets,
                np.nanmean(evals["stochastic_successes"], axis=1),
                "s--",
                color="tab:orange",
                ms=4,
                label="eval success (stochastic)",
            )
        lengths = np.asarray(evals["ep_lengths"], dtype=np.float64)
        ok = np.asarray(evals["successes"], dtype=np.float64) > 0.5
        with np.errstate(invalid="ignore"):
            mean_ok = np.nansum(np.where(ok, lengths, 0), axis=1) / ok.sum(axis=1)
        to_food = np.where(ok.any(axis=1), mean_ok, np.nan)
        ax_steps.plot(ets, to_food, "o-", label="eval steps to food (deterministic)", **det)
    ax_ret.set_ylabel(ret_label)
    ax_succ.set_ylabel("success rate")
    ax_succ.set_ylim(-0.05, 1.05)
    ax_steps.set_ylabel("steps")
    ax_steps.set_xlabel("timesteps (agent steps)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.suptitle(title or paths.root.name)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write_bytes(path or paths.plot, buf.getvalue())
