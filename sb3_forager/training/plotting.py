"""``training_rewards.png``: the learning curves of a run (like the tutorial's ``plot_training``).

Left, the training episodes, over the number of completed (team) episodes: their return, success
rate and steps, each with a moving average over the last ``window`` episodes. The average is drawn
from the point where its window is full; the first window is shaded, because the first episodes
to finish are the lucky short ones (a success rate of 1.0 there is not the policy's). Right, the
periodic evaluations over training timesteps: success (deterministic and stochastic), steps to
food and path efficiency of the deterministic policy.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

from .callbacks import read_episodes_csv
from .evaluation import EpisodeBatch
from .run_dir import RunPaths, atomic_write_bytes

logger = logging.getLogger(__name__)

__all__ = ["plot_training"]


def plot_training(
    run_dir: str | Path, n_agents: int, title: str | None = None, path: str | Path | None = None
) -> Path | None:
    """Draw the run's curves into ``training_rewards.png`` (atomically). None if there is no data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from stable_baselines3.common.results_plotter import window_func  # SB3's rolling mean

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
    fig, axes = plt.subplots(3, 2, figsize=(13, 9))
    (ax_ret, ax_eret), (ax_succ, ax_esucc), (ax_steps, ax_esteps) = axes
    if episodes:
        n = episodes["team_return"].size
        idx = np.arange(1, n + 1)
        window = int(max(10, min(100, n // 10 or 1)))
        avg = f"mean of the last {window} episodes"
        for ax, key, colour, label in (
            (ax_ret, "team_return", "tab:blue", ret_label),
            (ax_succ, "success", "tab:green", "success rate"),
            (ax_steps, "steps", "tab:purple", "episode length"),
        ):
            values = episodes[key]
            if key != "success":
                ax.plot(idx, values, ".", ms=2, alpha=0.25, color=colour, label=f"each training episode's {label}")
            if n >= window:  # the average from the point where its window is full
                x, mean = window_func(idx, values, window, np.mean)
                ax.plot(x, mean, color=colour, lw=2, label=f"training {label} ({avg})")
            ax.axvspan(0.5, min(window, n) + 0.5, color="0.85", alpha=0.6, lw=0)
        ax_succ.text(
            0.01, 0.03, "shaded: the first window (the first episodes to finish are the short ones)",
            transform=ax_succ.transAxes, fontsize=7, color="0.35",
        )  # fmt: skip
        ax_steps.set_xlabel("completed training episodes (team episodes)")
    if evals and "timesteps" in evals:
        ets = evals["timesteps"]
        det = {"ms": 4, "color": "tab:red"}
        ax_eret.plot(ets, np.nanmean(evals["results"], axis=1), "o-", label=f"eval {ret_label} (deterministic)", **det)
        ax_esucc.plot(ets, np.nanmean(evals["successes"], axis=1), "o-", label="eval success (deterministic)", **det)
        if "stochastic_successes" in evals:
            ax_esucc.plot(
                ets,
                np.nanmean(evals["stochastic_successes"], axis=1),
                "s--",
                color="tab:orange",
                ms=4,
                label="eval success (stochastic)",
            )
        # each evaluation as an EpisodeBatch (the NaN padding of narrower rows: no success, no arrival)
        pairs = zip(evals["successes"], evals["ep_lengths"])
        steps = [EpisodeBatch(n_agents, np.asarray(ok) > 0.5, np.asarray(length)).steps_to_food for ok, length in pairs]
        ax_esteps.plot(ets, steps, "o-", label="eval steps to food", **det)
        if "arrival_steps" in evals and "lower_bounds" in evals:
            pairs = zip(evals["arrival_steps"], evals["lower_bounds"])
            efficiency = [EpisodeBatch(n_agents, arrival_steps=a, lower_bounds=b).path_efficiency for a, b in pairs]
            ax_eff = ax_esteps.twinx()
            ax_eff.plot(ets, efficiency, "d:", color="tab:brown", ms=4, label="eval path efficiency (right axis)")
            ax_eff.set_ylabel("path efficiency (1 = optimum)")
            ax_eff.set_ylim(0, 1.05)
            ax_eff.legend(fontsize=8, loc="lower right")
        ax_esteps.set_xlabel("training timesteps (agent steps)")
    else:
        for ax in (ax_eret, ax_esucc, ax_esteps):
            ax.text(0.5, 0.5, "no periodic evaluation yet (see eval_freq)", ha="center", va="center",
                    transform=ax.transAxes, color="0.4")  # fmt: skip
    ax_ret.set_ylabel(ret_label)
    ax_succ.set_ylabel("success rate")
    ax_esucc.set_ylabel("success rate")
    for ax in (ax_succ, ax_esucc):
        ax.set_ylim(-0.05, 1.05)
    ax_steps.set_ylabel("steps")
    ax_esteps.set_ylabel("steps")
    ax_ret.set_title("training episodes", fontsize=10)
    ax_eret.set_title("evaluations (the same seeded episodes each time)", fontsize=10)
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="best")
    fig.suptitle(title or paths.root.name)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return atomic_write_bytes(path or paths.plot, buf.getvalue())
