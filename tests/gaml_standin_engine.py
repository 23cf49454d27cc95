"""The stand-in's ``engine="gaml"`` mode: an experiment that runs the GAML file's text through the
package's interpreter (sb3_forager/lang/interp) instead of the embedded kernels.

The server side (protocol, parameters' Java conversions, faults) stays :mod:`gama_standin`'s; here
``init`` loads the interpreted model with the experiment's parameter values, a cycle is the model's
``step``, and every ``expression`` request is evaluated (or, for statements, executed) by the
interpreter against the live model state.
"""

from __future__ import annotations

import functools
from typing import Any

from gama_standin import GamlError, Point, _Experiment, _SimRuntimeError
from lark.exceptions import LarkError
from shapely.geometry.base import BaseGeometry

from sb3_forager.lang.interp import GamaPoint, Model
from sb3_forager.lang.interp import GamlError as InterpError
from sb3_forager.lang.interp.onnx import ONNX_EXTENSIONS
from sb3_forager.lang.interp.values import Agent
from sb3_forager.lang.parser import GamlSyntaxError


@functools.lru_cache(maxsize=16)
def _text(path: str, mtime: float) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _plain(value: Any) -> Any:
    """Interpreter values as the stand-in's JSON encoder takes them."""
    if isinstance(value, GamaPoint):
        return Point(value.x, value.y, value.z)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Agent):
        raise GamlError(f"the stand-in cannot serialise the agent value {value!r}")
    if isinstance(value, BaseGeometry):
        return value.wkt
    return value


class GamlExperiment(_Experiment):
    """One loaded experiment whose model is the interpreted GAML file."""

    interp: Model | None = None

    def _parameter(self, name: str) -> tuple[str, str] | None:
        if self.kind.endswith("_worlds"):  # n_worlds, n_foragers, teammate of the W-world experiments
            from gama_standin_worlds import WorldsExperiment

            return WorldsExperiment._parameter(self, name)  # type: ignore[arg-type]
        return super()._parameter(name)

    def init(self) -> None:
        import os

        self.cycle = 0
        self.pending_async_steps = 0
        self.init_error = None
        self.species = {}
        path = self.model.path
        self.interp = Model(_text(path, os.path.getmtime(path)), ONNX_EXTENSIONS, os.path.dirname(path))
        values = dict(self.param_values)
        values["seed"] = float(self.seed)
        try:
            self.interp.load(self.name, values)
        except InterpError as exc:  # a GAML `error` in init: the simulation has no bridge agent
            self.init_error = str(exc)
            self.interp.world.attrs.clear()
            for sp in self.interp.species.values():
                sp.members = []

    def run_cycle(self) -> None:
        assert self.interp is not None
        if self.init_error is not None:
            raise _SimRuntimeError("Java error: nil value detected")
        try:
            self.interp.step()
        except InterpError as exc:
            raise _SimRuntimeError(str(exc)) from None
        self.cycle += 1

    def corrupt(self) -> None:  # the faults act on the embedded engine's fields only
        return None

    def evaluate(self, text: str) -> tuple[bool, Any]:
        """``expression`` requests: an expression's value, or statements run (``content: null``)."""
        assert self.interp is not None
        if text == "cycle":
            return False, self.cycle
        try:
            if "<-" not in text:  # an expression (the bridges' expressions never hold "<-" in a string)
                return False, _plain(self.interp.evaluate(text.rstrip(";")))
            if text.strip().startswith("seed"):  # the experiment's seed, kept across reloads
                self.seed = float(self.interp.evaluate(text.split("<-", 1)[1].strip().rstrip(";")))
            self.interp.execute(text if text.rstrip().endswith(";") else text + ";")
            return True, None
        except InterpError as exc:
            raise GamlError(str(exc)) from None
        except (GamlSyntaxError, LarkError) as exc:
            raise GamlError(f"Syntax error: {exc}") from None
