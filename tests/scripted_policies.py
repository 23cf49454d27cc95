"""Scripted stand-ins for a trained model (``predict`` like SB3's), for evaluation tests."""

from __future__ import annotations

import numpy as np


class Steer:
    """A scripted 'model': heads for the food along a route around the obstacles."""

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        pos = obs[:, 0:2] * 100.0
        out = np.empty((len(obs), 2), dtype=np.float32)
        for i, (x, y) in enumerate(pos):
            target = (50.0, 10.0) if x < 45 else (90.0, 30.0) if y < 25 else (95.0, 95.0)
            out[i] = np.clip(0.1 * (np.array(target) - (x, y)), -1, 1)
        return out, state


class Still:
    """A scripted 'model' that never moves: every episode times out."""

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return np.zeros((len(obs), 2), dtype=np.float32), state
