"""``render_mode`` handling shared by the envs: ``"rgb_array"`` returns pictures, ``"human"`` shows
them in a pygame window at ``render_fps``, updated on every reset and step (Gymnasium's convention)."""

from __future__ import annotations

from typing import Any

import numpy as np


class RenderMixin:
    """``render()``, ``frame()`` (world 0 of the env's backend) and ``env.render_size``: the width of
    the pictures, in pixels (settable)."""

    _renderer: FrameRenderer
    backend: Any

    def frame(self) -> np.ndarray | None:
        """The current picture (RGB array; None before the first reset on GAMA)."""
        return self.backend.render(0, self._renderer.size)

    def render(self) -> np.ndarray | None:
        return self._renderer.render(self)

    @property
    def render_size(self) -> int:
        return self._renderer.size

    @render_size.setter
    def render_size(self, value: int) -> None:
        if isinstance(value, bool) or int(value) < 8:
            raise ValueError(f"render_size must be an integer >= 8, got {value!r}")
        self._renderer.size = int(value)


class FrameRenderer:
    """What one env does for its ``render_mode``; the env supplies :meth:`RenderMixin.frame`."""

    def __init__(self, render_mode: str | None, size: int, fps: int, title: str) -> None:
        self.render_mode = render_mode
        self.size = int(size)
        self.fps = int(fps)
        self.title = title
        #: the pygame window of render_mode="human" (None otherwise)
        self.window: Any = None
        if render_mode == "human":
            from ..sim.render import HumanWindow  # raises a clear ImportError naming the [human] extra

            self.window = HumanWindow(f"sb3_forager: {title}", fps)

    def frame_changed(self, env: RenderMixin) -> None:
        """Called by the env after reset and step: a human window shows the new frame."""
        if self.window is not None:
            self._show(env.frame())

    def render(self, env: RenderMixin) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return env.frame()
        if self.window is not None:
            self._show(env.frame())
        return None

    def _show(self, frame: np.ndarray | None) -> None:
        if frame is not None:  # None: nothing to draw before the first reset
            self.window.show(frame)

    def close(self) -> None:
        if self.window is not None:
            self.window.close()
