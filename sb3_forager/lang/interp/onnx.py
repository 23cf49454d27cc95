"""The ONNX plugin's ``onnx_model(file)`` / ``onnx_predict(model, batch, output)`` on onnxruntime.

Semantics read from gama-platform-plugins/gama.plugin.onnx (commit e8b60ef8, OnnxOperators.java):
see /work/notes/interp_readme.md, "what was verified how". A model value answers ``info``,
``inputs``, ``outputs``, ``input_shapes``, ``metadata``.
"""

from __future__ import annotations

from typing import Any

from .values import GamlError, to_float, to_list, to_string


class OnnxModel:
    """An onnxruntime session seen as GAML's ``onnx_model``."""

    def __init__(self, path: str) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - onnxruntime is a dependency of the export extra
            raise GamlError(f"onnx_model needs onnxruntime: {exc}") from None
        try:
            self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise GamlError(f"onnx_model: cannot load {path}: {exc}") from None
        self.path = path

    def gaml_attribute(self, name: str) -> Any:
        s = self.session
        if name == "inputs":
            return [i.name for i in s.get_inputs()]
        if name == "outputs":
            return [o.name for o in s.get_outputs()]
        if name == "input_shapes":
            return {i.name: [d if isinstance(d, int) else -1 for d in i.shape] for i in s.get_inputs()}
        if name == "metadata":
            return dict(s.get_modelmeta().custom_metadata_map)
        if name == "info":
            return f"onnx_model {self.path}: inputs {self.gaml_attribute('input_shapes')}, outputs {self.gaml_attribute('outputs')}"
        raise GamlError(f"onnx_model has no attribute {name}")

    def predict(self, batch: Any, output: str) -> list:
        import numpy as np

        if output not in self.gaml_attribute("outputs"):
            raise GamlError(f"The ONNX model '{self.path}' has no output named '{output}'")
        inputs = self.session.get_inputs()
        if isinstance(batch, dict) and batch and all(k in [i.name for i in inputs] for k in batch):
            feed = {k: self._tensor(v, next(i for i in inputs if i.name == k)) for k, v in batch.items()}
        elif len(inputs) != 1:
            raise GamlError(f"The ONNX model '{self.path}' has {len(inputs)} inputs: onnx_predict needs a map")
        else:
            feed = {inputs[0].name: self._tensor(batch, inputs[0])}
        outs = self.session.run([output], feed)
        return np.asarray(outs[0], dtype=np.float64).tolist()

    @staticmethod
    def _tensor(value: Any, info: Any) -> Any:
        """Flattened in row-major order and reshaped to the declared shape (dynamic dimensions deduced)."""
        import numpy as np

        def flat(v: Any) -> list:
            return [x for item in to_list(v) for x in flat(item)] if isinstance(v, (list, dict)) else [to_float(v)]

        data = np.asarray(flat(value), dtype=np.float32)
        shape = [d if isinstance(d, int) and d > 0 else -1 for d in info.shape]
        return data.reshape(shape)


def _onnx_model(model: Any, args: list) -> OnnxModel:
    import os

    return OnnxModel(os.path.join(model.base_dir, to_string(args[0])))


def _onnx_predict(model: Any, args: list) -> list:
    m = args[0]
    if not isinstance(m, OnnxModel):
        raise GamlError("onnx_predict: the first argument must be an onnx_model")
    return m.predict(args[1], to_string(args[2]))


ONNX_EXTENSIONS = {"onnx_model": _onnx_model, "onnx_predict": _onnx_predict}
