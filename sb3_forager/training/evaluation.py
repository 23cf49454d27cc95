"""Evaluating a policy per *team* episode, loading saved runs, replays (GIF/PNG).

All functions work on any world-major SB3 VecEnv (world ``w`` owns slots ``w*K .. w*K+K-1``)
that puts ``is_success`` and ``episode_steps`` in the infos of an episode's last step: the
batched :class:`~sb3_forager.envs.ForagerVecEnv`, the SuperSuit stack and the GAMA VecEnv.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv

from ..sim.world import WorldConfig
from .envs import find_vec_normalize

logger = logging.getLogger(__name__)

__all__ = [
    "EpisodeBatch",
    "evaluate_team",
    "no_rng_side_effects",
    "Replay",
    "record_replay",
    "save_gif",
    "save_trajectory_png",
]

_WORLD = WorldConfig()


@dataclass
class EpisodeBatch:
    """Per-episode results of an evaluation: arrays over ``n`` team episodes and ``K`` foragers."""

    n_agents: int
    success: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  #: (n,) all at food
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  #: (n,) episode length
    forager_returns: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))  #: (n, K)
    #: (n, K) the step each forager reached the food, -1 if it never did
    arrival_steps: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.int64))

    @property
    def n_episodes(self) -> int:
        return int(self.success.shape[0])

    @property
    def team_returns(self) -> np.ndarray:
        """(n,) the sum of the foragers' returns."""
        return self.forager_returns.sum(axis=1)

    @property
    def success_rate(self) -> float:
        return float(self.success.mean()) if self.n_episodes else float("nan")

    @property
    def steps_to_food(self) -> float:
        """Mean steps until every forager is at the food, over successful episodes (nan: none)."""
        return float(self.steps[self.success].mean()) if self.success.any() else float("nan")

    def forager_success_rate(self, k: int) -> float:
        return float((self.arrival_steps[:, k] >= 0).mean()) if self.n_episodes else float("nan")

    def forager_steps_to_food(self, k: int) -> float:
        reached = self.arrival_steps[:, k] >= 0
        return float(self.arrival_steps[reached, k].mean()) if reached.any() else float("nan")

    def summary(self) -> dict[str, float]:
        """Team and per-forager means (the keys the CLI and the callbacks print and log)."""
        out = {
            "episodes": float(self.n_episodes),
            "success_rate": self.success_rate,
            "steps_to_food": self.steps_to_food,
            "ep_len_mean": float(self.steps.mean()) if self.n_episodes else float("nan"),
            "team_return": float(self.team_returns.mean()) if self.n_episodes else float("nan"),
            "team_return_std": float(self.team_returns.std()) if self.n_episodes else float("nan"),
            "forager_return": float(self.forager_returns.mean()) if self.n_episodes else float("nan"),
        }
        for k in range(self.n_agents):
            out[f"forager_{k}/success_rate"] = self.forager_success_rate(k)
            out[f"forager_{k}/steps_to_food"] = self.forager_steps_to_food(k)
            out[f"forager_{k}/return"] = float(self.forager_returns[:, k].mean()) if self.n_episodes else float("nan")
        return out


@contextlib.contextmanager
def no_rng_side_effects() -> Iterator[None]:
    """Run a block without changing torch's and numpy's global random state (stochastic evals
    during training then leave the learning curve exactly as it would be without them)."""
    np_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            np.random.set_state(np_state)


def evaluate_team(
    model: Any,
    venv: VecEnv,
    n_episodes: int,
    n_agents: int,
    deterministic: bool = True,
    max_steps: int = 100_000,
) -> EpisodeBatch:
    """Run ``n_episodes`` team episodes of ``model`` on ``venv`` and return per-episode results.

    Episodes are spread over the worlds as evenly as possible (world ``w`` runs
    ``(n_episodes + w) // n_worlds``), like SB3's ``evaluate_policy``, so short episodes are not
    over-counted. Works with recurrent policies (LSTM states are carried and reset per episode)
    and with ``VecNormalize`` (returns are the raw rewards). The env is reset first.
    """
    k = int(n_agents)
    if venv.num_envs % k:
        raise ValueError(f"{venv.num_envs} slots are not a whole number of {k}-forager worlds")
    n_worlds = venv.num_envs // k
    targets = np.array([(int(n_episodes) + w) // n_worlds for w in range(n_worlds)])
    counts = np.zeros(n_worlds, dtype=np.int64)
    vn = find_vec_normalize(venv)
    wait_reward = _WORLD.wait_reward

    returns = np.zeros(venv.num_envs)
    arrival = np.full(venv.num_envs, -1, dtype=np.int64)
    steps = np.zeros(n_worlds, dtype=np.int64)
    success: list[bool] = []
    lengths: list[int] = []
    f_returns: list[np.ndarray] = []
    f_arrival: list[np.ndarray] = []

    obs = venv.reset()
    state = None
    episode_start = np.ones(venv.num_envs, dtype=bool)
    for _ in range(int(max_steps)):
        if (counts >= targets).all():
            break
        actions, state = model.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        obs, rewards, dones, infos = venv.step(actions)
        raw = vn.get_original_reward() if vn is not None else rewards
        returns += raw
        steps += 1
        step_per_slot = np.repeat(steps, k)
        newly = (arrival < 0) & np.isclose(raw, wait_reward) & (k > 1)
        arrival[newly] = step_per_slot[newly]
        for w in np.flatnonzero(dones.reshape(n_worlds, k)[:, 0]).tolist():
            slots = slice(w * k, (w + 1) * k)
            if counts[w] < targets[w]:
                info = infos[w * k]
                ok = bool(info.get("is_success", False))
                length = int(info.get("episode_steps", steps[w]))
                arr = arrival[slots].copy()
                if ok:
                    arr[arr < 0] = length  # the last to arrive ends the episode
                success.append(ok)
                lengths.append(length)
                f_returns.append(returns[slots].copy())
                f_arrival.append(arr)
                counts[w] += 1
            returns[slots] = 0.0
            arrival[slots] = -1
            steps[w] = 0
        episode_start = np.asarray(dones, dtype=bool)
    else:
        raise RuntimeError(f"evaluation did not finish {n_episodes} episodes within {max_steps} steps")
    return EpisodeBatch(
        n_agents=k,
        success=np.asarray(success, dtype=bool),
        steps=np.asarray(lengths, dtype=np.int64),
        forager_returns=np.asarray(f_returns, dtype=np.float64).reshape(-1, k),
        arrival_steps=np.asarray(f_arrival, dtype=np.int64).reshape(-1, k),
    )


# ---------------------------------------------------------------------- replays
@dataclass
class Replay:
    """One episode of world 0: the foragers' observations at every step (the start included)."""

    n_agents: int
    observations: list[np.ndarray]  #: each (K, obs_dim), raw (not normalised)
    success: bool
    steps: int
    returns: np.ndarray  #: (K,)

    def positions(self) -> np.ndarray:
        """(T+1, K, 2) world coordinates (from the observations' x/100, y/100)."""
        obs = np.asarray(self.observations)
        return obs[:, :, 0:2] * _WORLD.world_size


def record_replay(
    model: Any, venv: VecEnv, n_agents: int, deterministic: bool = True, max_steps: int = 10_000
) -> Replay:
    """Play one episode on world 0 of ``venv`` and keep every observation (for GIFs and plots)."""
    k = int(n_agents)
    vn = find_vec_normalize(venv)

    def raw_obs(o: np.ndarray) -> np.ndarray:
        return vn.unnormalize_obs(o) if vn is not None and vn.norm_obs else o

    obs = venv.reset()
    frames = [np.asarray(raw_obs(obs)[:k], dtype=np.float64)]
    returns = np.zeros(k)
    state = None
    episode_start = np.ones(venv.num_envs, dtype=bool)
    for step in range(1, int(max_steps) + 1):
        actions, state = model.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        obs, rewards, dones, infos = venv.step(actions)
        raw = vn.get_original_reward() if vn is not None else rewards
        returns += raw[:k]
        if dones[0]:
            last = np.stack([np.asarray(infos[a]["terminal_observation"]) for a in range(k)])
            frames.append(np.asarray(raw_obs(last), dtype=np.float64))
            info = infos[0]
            return Replay(k, frames, bool(info.get("is_success", False)), int(info.get("episode_steps", step)), returns)
        frames.append(np.asarray(raw_obs(obs)[:k], dtype=np.float64))
        episode_start = np.asarray(dones, dtype=bool)
    raise RuntimeError(f"the replay episode did not end within {max_steps} steps")


def _frame(replay: Replay, t: int, size: int, trails: bool) -> np.ndarray:
    from ..render import render_world

    obs = replay.observations[t]
    n_s = _WORLD.n_sensors
    pos = obs[:, 0:2] * _WORLD.world_size
    at_food = (obs[:, 2] * _WORLD.max_distance) < _WORLD.food_radius
    trail = None
    if trails:
        all_pos = replay.positions()[: t + 1]
        trail = [[tuple(p) for p in all_pos[:, a]] for a in range(replay.n_agents)]
    return render_world(
        _WORLD,
        positions=[tuple(p) for p in pos.tolist()],
        sensors=obs[:, 5 : 5 + n_s].tolist(),
        at_food=at_food.tolist(),
        step=t,
        size=size,
        trails=trail,
    )


def save_gif(replay: Replay, path: str | Path, size: int = 400, fps: int = 10) -> Path:
    """An animated GIF of the replay (sensor rays, trails, food), written atomically."""
    import io

    from PIL import Image

    from .run_dir import atomic_write_bytes

    images = [Image.fromarray(_frame(replay, t, size, trails=True)) for t in range(len(replay.observations))]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return atomic_write_bytes(path, buf.getvalue())


def save_trajectory_png(replay: Replay, path: str | Path, title: str = "") -> Path:
    """A matplotlib plot of the foragers' paths over the world (obstacles, food, start/end)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Rectangle

    from ..render import FORAGER_COLOURS
    from .run_dir import atomic_write_bytes

    w = _WORLD
    fig, ax = plt.subplots(figsize=(6, 6))
    for (lx, ly), (hx, hy) in zip(w.obstacle_lo, w.obstacle_hi):
        ax.add_patch(Rectangle((lx, ly), hx - lx, hy - ly, color="0.35"))
    ax.add_patch(Circle(w.food, w.food_radius, color=(0.2, 0.7, 0.2), alpha=0.8, label="food"))
    pos = replay.positions()
    for a in range(replay.n_agents):
        colour = tuple(c / 255 for c in FORAGER_COLOURS[a % len(FORAGER_COLOURS)])
        ax.plot(pos[:, a, 0], pos[:, a, 1], "-", color=colour, lw=1.8, label=f"forager_{a}")
        ax.plot(pos[0, a, 0], pos[0, a, 1], "o", color=colour, ms=7)
        ax.plot(pos[-1, a, 0], pos[-1, a, 1], "*", color=colour, ms=12)
    ax.set_xlim(0, w.world_size)
    ax.set_ylim(w.world_size, 0)  # y down, as in GAMA
    ax.set_aspect("equal")
    outcome = "success" if replay.success else "no success"
    ax.set_title(title or f"{outcome} in {replay.steps} steps, returns {np.round(replay.returns, 1).tolist()}")
    ax.legend(loc="lower left", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
