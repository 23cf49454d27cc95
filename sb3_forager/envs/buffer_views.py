"""Adapters that keep views into their simulation's buffers, rebuilt after unpickling."""

from __future__ import annotations

from typing import Any


class BufferViewsMixin:
    """For an env whose hot path reads (and writes) views of its :class:`ForagerSim`'s arrays.

    A pickle would copy a view into an array of its own, cut off from the buffer the simulation
    writes; so the views named in ``_VIEW_ATTRS`` are left out of the pickle and
    :meth:`_bind_views` makes them again from the unpickled simulation.
    """

    _VIEW_ATTRS: tuple[str, ...] = ()

    def _bind_views(self) -> None:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in self._VIEW_ATTRS:
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind_views()
