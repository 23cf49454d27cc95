"""Evaluating a policy per *team* episode: success (with a confidence interval), steps, path
efficiency against the physical optimum, returns; baselines; replays (GIF/PNG).

All functions work on any world-major SB3 VecEnv (world ``w`` owns slots ``w*K .. w*K+K-1``)
whose infos at an episode's last step carry ``is_success``, ``episode_steps`` and, per slot,
``arrival_step`` (the explicit arrival signal), ``start`` and ``obstacles``: the embedded
:class:`~sb3_forager.envs.ForagerVecEnv` and the GAMA VecEnv do. (The SuperSuit VecEnv's infos
have no ``start``: there the path efficiency is unknown, nan.)
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, unwrap_vec_normalize

from ..sim.paths import min_steps_lower_bound
from ..sim.world import FOOD, OBSTACLE_CENTRES, WORLD

logger = logging.getLogger(__name__)

__all__ = [
    "EpisodeBatch",
    "GreedyPolicy",
    "RandomPolicy",
    "Replay",
    "evaluate_team",
    "no_rng_side_effects",
    "record_replay",
    "save_gif",
    "save_trajectory_png",
    "wilson_interval",
]


def fmt_pct(x: float | None) -> str:
    """A rate as ``42%``; ``n/a`` for None or nan."""
    return "n/a" if x is None or math.isnan(x) else f"{100 * float(x):.0f}%"


def fmt_num(x: float | None, spec: str = ".1f") -> str:
    """A number formatted by ``spec``; ``n/a`` for None or nan."""
    return "n/a" if x is None or math.isnan(x) else format(float(x), spec)


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a success rate (95 % by default); (nan, nan) for n = 0."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class EpisodeBatch:
    """Per-episode results of an evaluation: arrays over ``n`` team episodes and ``K`` foragers."""

    n_agents: int
    success: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  #: (n,) all at food
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  #: (n,) episode length
    forager_returns: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))  #: (n, K)
    #: (n, K) the step each forager reached the food, -1 if it never did
    arrival_steps: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.int64))
    #: (n, K) the lower bound on each forager's steps to the food (see :mod:`sb3_forager.sim.paths`)
    lower_bounds: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.int64))

    @property
    def n_episodes(self) -> int:
        return int(self.success.shape[0])

    @property
    def team_returns(self) -> np.ndarray:
        """(n,) the sum of the foragers' returns."""
        return self.forager_returns.sum(axis=1)

    @property
    def success_rate(self) -> float:
        return _mean(self.success)

    @property
    def steps_to_food(self) -> float:
        """Mean steps until every forager is at the food, over successful episodes (nan: none)."""
        return _mean(self.steps[self.success])

    @property
    def efficiencies(self) -> np.ndarray:
        """Path efficiency of each forager that reached the food and has a known lower bound
        (not -1): lower bound / its steps."""
        known = (self.arrival_steps > 0) & (self.lower_bounds >= 0)
        return (self.lower_bounds[known] / self.arrival_steps[known]).astype(np.float64)

    @property
    def path_efficiency(self) -> float:
        """Mean of :attr:`efficiencies` (nan: no forager reached the food with a known bound)."""
        return _mean(self.efficiencies)

    def summary(self) -> dict[str, float]:
        """Team and per-forager means (the keys the CLI and the callbacks print and log)."""
        n = self.n_episodes
        lo, hi = wilson_interval(int(self.success.sum()), n)
        reached = self.arrival_steps >= 0
        out = {
            "episodes": float(n),
            "success_rate": self.success_rate,
            "success_low": lo,
            "success_high": hi,
            "forager_success_rate": _mean(reached),
            "steps_to_food": self.steps_to_food,
            "ep_len_mean": _mean(self.steps),
            "path_efficiency": self.path_efficiency,
            "team_return": _mean(self.team_returns),
            "team_return_std": float(self.team_returns.std()) if n else math.nan,
            "forager_return": _mean(self.forager_returns),
        }
        for k in range(self.n_agents):
            out[f"forager_{k}/success_rate"] = _mean(reached[:, k])
            out[f"forager_{k}/steps_to_food"] = _mean(self.arrival_steps[reached[:, k], k])
            out[f"forager_{k}/return"] = _mean(self.forager_returns[:, k])
        return out


def _mean(values: np.ndarray) -> float:
    """The mean; nan for no values (without numpy's warning)."""
    return float(np.mean(values)) if np.size(values) else math.nan


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


# ---------------------------------------------------------------------- baselines
class RandomPolicy:
    """Uniform random actions in the Box (a baseline with SB3's ``predict`` signature)."""

    name = "random actions"

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return self.rng.uniform(-1.0, 1.0, size=(len(obs), 2)).astype(np.float32), state


class GreedyPolicy:
    """Push straight at the food at full strength, ignoring obstacles (a baseline): the heading
    comes from the observation (indices 3, 4: ``(cos t + 1) / 2``, ``(sin t + 1) / 2``)."""

    name = "greedy (push at food)"

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        obs = np.asarray(obs, dtype=np.float64)
        direction = 2.0 * obs[:, 3:5] - 1.0
        scale = np.maximum(np.abs(direction).max(axis=1, keepdims=True), 1e-12)
        return np.clip(direction / scale, -1.0, 1.0).astype(np.float32), state


# ---------------------------------------------------------------------- evaluation
def _lower_bound(info: dict[str, Any]) -> int:
    start = info.get("start")
    if start is None:
        return -1
    obstacles = info.get("obstacles")
    food = info.get("food", FOOD)
    try:
        return min_steps_lower_bound(tuple(start), tuple(food), OBSTACLE_CENTRES if obstacles is None else obstacles)
    except ValueError:  # a start without a free path (a GAML model of another world): no bound
        return -1


def evaluate_team(
    model: Any,
    venv: VecEnv,
    n_episodes: int,
    n_agents: int,
    deterministic: bool = True,
    max_steps: int = 1_000_000,
) -> EpisodeBatch:
    """Run ``n_episodes`` team episodes of ``model`` on ``venv`` and return per-episode results.

    Episodes are spread over the worlds as evenly as possible (world ``w`` runs
    ``(n_episodes + w) // n_worlds``), like SB3's ``evaluate_policy``, so short episodes are not
    over-counted. Works with recurrent policies (LSTM states are carried and reset per episode)
    and with ``VecNormalize`` (returns are the raw rewards). The env is reset first (seed it
    before for reproducible episodes). Each forager's arrival step comes from its info's
    ``arrival_step``; its lower bound from the info's ``start`` and ``obstacles``.
    """
    k = int(n_agents)
    if venv.num_envs % k:
        raise ValueError(f"{venv.num_envs} slots are not a whole number of {k}-forager worlds")
    n_worlds = venv.num_envs // k
    targets = np.array([(int(n_episodes) + w) // n_worlds for w in range(n_worlds)])
    counts = np.zeros(n_worlds, dtype=np.int64)
    vn = unwrap_vec_normalize(venv)

    returns = np.zeros(venv.num_envs)
    success: list[bool] = []
    lengths: list[int] = []
    f_returns: list[np.ndarray] = []
    f_arrival: list[list[int]] = []
    f_bounds: list[list[int]] = []

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
        for w in np.flatnonzero(np.asarray(dones).reshape(n_worlds, k)[:, 0]).tolist():
            slots = slice(w * k, (w + 1) * k)
            if counts[w] < targets[w]:
                slot_infos = infos[w * k : (w + 1) * k]
                success.append(bool(slot_infos[0].get("is_success", False)))
                lengths.append(int(slot_infos[0].get("episode_steps", -1)))
                f_returns.append(returns[slots].copy())
                f_arrival.append([int(i.get("arrival_step", -1)) for i in slot_infos])
                f_bounds.append([_lower_bound(i) for i in slot_infos])
                counts[w] += 1
            returns[slots] = 0.0
        episode_start = np.asarray(dones, dtype=bool)
    else:
        raise RuntimeError(f"evaluation did not finish {n_episodes} episodes within {max_steps} steps")
    return EpisodeBatch(
        n_agents=k,
        success=np.asarray(success, dtype=bool),
        steps=np.asarray(lengths, dtype=np.int64),
        forager_returns=np.asarray(f_returns, dtype=np.float64).reshape(-1, k),
        arrival_steps=np.asarray(f_arrival, dtype=np.int64).reshape(-1, k),
        lower_bounds=np.asarray(f_bounds, dtype=np.int64).reshape(-1, k),
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
    obstacles: tuple[tuple[float, float], ...] = OBSTACLE_CENTRES
    food: tuple[float, float] = FOOD
    at_food: list[np.ndarray] = field(default_factory=list)  #: per frame, (K,) bool

    def positions(self) -> np.ndarray:
        """(T+1, K, 2) world coordinates (from the observations' x/100, y/100)."""
        obs = np.asarray(self.observations)
        return obs[:, :, 0:2] * WORLD.world_size


def record_replay(
    model: Any, venv: VecEnv, n_agents: int, deterministic: bool = True, max_steps: int = 100_000
) -> Replay:
    """Play one episode on world 0 of ``venv`` and keep every observation (for GIFs and plots)."""
    k = int(n_agents)
    vn = unwrap_vec_normalize(venv)

    def raw_obs(o: np.ndarray) -> np.ndarray:
        return vn.unnormalize_obs(o) if vn is not None and vn.norm_obs else o

    obs = venv.reset()
    episode = venv.get_attr("episode", indices=[0])[0] if venv.has_attr("episode") else None
    food = tuple(episode.food) if episode is not None else FOOD
    frames = [np.asarray(raw_obs(obs)[:k], dtype=np.float64)]
    flags = [np.zeros(k, dtype=bool)]
    returns = np.zeros(k)
    state = None
    episode_start = np.ones(venv.num_envs, dtype=bool)
    arrived = np.zeros(k, dtype=bool)
    for step in range(1, int(max_steps) + 1):
        actions, state = model.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        obs, rewards, dones, infos = venv.step(actions)
        raw = vn.get_original_reward() if vn is not None else rewards
        returns += raw[:k]
        if dones[0]:
            last = np.stack([np.asarray(infos[a]["terminal_observation"]) for a in range(k)])
            frames.append(np.asarray(raw_obs(last), dtype=np.float64))
            flags.append(np.array([infos[a].get("arrival_step", -1) >= 0 for a in range(k)]))
            info = infos[0]
            obstacles = info.get("obstacles") or (episode.obstacles if episode is not None else OBSTACLE_CENTRES)
            return Replay(
                k, frames, bool(info.get("is_success", False)), int(info.get("episode_steps", step)), returns,
                tuple(obstacles), tuple(info.get("food", food)), flags,
            )  # fmt: skip
        frame = np.asarray(raw_obs(obs)[:k], dtype=np.float64)
        arrived |= np.hypot(*(frame[:, 0:2] * WORLD.world_size - food).T) < WORLD.food_radius
        frames.append(frame)
        flags.append(arrived.copy())
        episode_start = np.asarray(dones, dtype=bool)
    raise RuntimeError(f"the replay episode did not end within {max_steps} steps")


def _frame(replay: Replay, t: int, size: int, trails: bool, caption: str = "") -> np.ndarray:
    from ..sim.render import render_world

    obs = replay.observations[t]
    all_pos = replay.positions()
    trail = [[tuple(p) for p in all_pos[: t + 1, a]] for a in range(replay.n_agents)] if trails else None
    at_food = replay.at_food[t] if t < len(replay.at_food) else np.zeros(replay.n_agents, dtype=bool)
    return render_world(
        WORLD,
        positions=[tuple(p) for p in all_pos[t].tolist()],
        sensors=obs[:, 5 : 5 + WORLD.n_sensors].tolist(),
        at_food=[bool(b) for b in at_food],
        step=t,
        size=size,
        trails=trail,
        obstacles=WORLD.obstacle_boxes(replay.obstacles) if replay.obstacles else np.zeros((0, 4)),
        food=replay.food,
        starts=[tuple(p) for p in all_pos[0].tolist()],
        caption=caption,
        legend=True,
    )


def _write_images(images: list[Any], path: str | Path, **save_kwargs: Any) -> Path:
    """Encode PIL images (one: a PNG; several: an animated GIF) in memory, then write them atomically."""
    import io

    from .run_dir import atomic_write_bytes

    buf = io.BytesIO()
    images[0].save(buf, append_images=images[1:], **save_kwargs)
    return atomic_write_bytes(path, buf.getvalue())


def _caption(replay: Replay, t: int) -> str:
    """``/ <steps>`` (after the renderer's ``t = <t>``), and the outcome on the last frame."""
    last = t == len(replay.observations) - 1
    return f"/ {replay.steps}" + (f"  {'success' if replay.success else 'no success'}" if last else "")


def save_gif(replay: Replay, path: str | Path, size: int = 400, fps: int = 10, hold_s: float = 1.0) -> Path:
    """An animated GIF of the replay (sensor rays, trails, start rings, food, a legend), written
    atomically; the last frame is held for ``hold_s`` seconds."""
    from PIL import Image

    n = len(replay.observations)
    images = [Image.fromarray(_frame(replay, t, size, trails=True, caption=_caption(replay, t))) for t in range(n)]
    frame_ms = int(1000 / fps)
    durations = [frame_ms] * (n - 1) + [max(frame_ms, int(1000 * hold_s))]
    return _write_images(images, path, format="GIF", save_all=True, duration=durations, loop=0)


def save_trajectory_png(replay: Replay, path: str | Path, title: str = "", size: int = 600) -> Path:
    """A PNG of the foragers' whole paths: the replay's last frame drawn with its trails, start
    rings, food and legend (:func:`sb3_forager.sim.render.render_world`), written atomically."""
    from PIL import Image

    t = len(replay.observations) - 1
    frame = _frame(replay, t, size, trails=True, caption=title or _caption(replay, t))
    return _write_images([Image.fromarray(frame)], path, format="PNG")
