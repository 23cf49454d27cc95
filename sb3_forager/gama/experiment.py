"""One experiment of a GAML model, loaded on a GAMA server over its own connection (coroutines).

The commands and their JSON are exactly gama-client's (``load`` with ``console: false, runtime:
true`` as gama-gymnasium sends it, ``reload``, ``step`` with ``sync: true``, ``expression``);
answers other than ``CommandExecutedSuccessfully`` become typed exceptions carrying GAMA's message.
One connection per experiment: a GAMA runtime error that names no experiment then belongs to this
one, and a dropped connection affects only this experiment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from .connection import (
    ERROR_TYPES,
    SUCCESS,
    GamaConnection,
    describe_command,
    describe_content,
)
from .errors import (
    GamaCommandError,
    GamaConnectionLostError,
    GamaLoadError,
    GamaSimulationError,
)

log = logging.getLogger(__name__)


class GamaExperiment:
    """The experiment ``experiment`` of the model at ``gaml_path`` (a path on the *server*).

    Args:
        host, port: the GAMA server.
        gaml_path: the ``.gaml`` file as the server sees it.
        experiment: the experiment name in that file.
        timeout: seconds to wait for each command's answer.
        connect_timeout: seconds to connect and receive GAMA's greeting.
        parameters: optional ``load`` parameters (``[{"name": ..., "value": ..., "type": ...}]``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        gaml_path: str,
        experiment: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        parameters: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self.gaml_path = str(gaml_path)
        self.experiment = str(experiment)
        self.timeout = float(timeout)
        self.parameters = [dict(p) for p in parameters or []]
        self.connection = GamaConnection(host, port, connect_timeout)
        self.exp_id: str | None = None

    @property
    def address(self) -> str:
        return self.connection.address

    @property
    def usable(self) -> bool:
        """Loaded, and its connection still open."""
        return self.exp_id is not None and not self.connection.closed

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect and load the experiment (GAMA compiles the model and runs its ``init``)."""
        await self.connection.open()
        payload: dict[str, Any] = {
            "type": "load",
            "model": self.gaml_path,
            "experiment": self.experiment,
            "console": False,
            "runtime": True,
        }
        if self.parameters:
            payload["parameters"] = self.parameters
        try:
            answer = await self.connection.request(payload, self.timeout)
        except BaseException:
            await self.connection.close()
            raise
        if answer.get("type") != SUCCESS:
            await self.connection.close()
            raise GamaLoadError(
                f"the GAMA server at {self.address} could not load experiment {self.experiment!r} from "
                f"{self.gaml_path!r} ({answer.get('type')}): {describe_content(answer.get('content'))}"
                + _load_hint(answer.get("content")),
                message_type=answer.get("type"),
                content=answer.get("content"),
            )
        self.exp_id = str(answer.get("content"))
        log.debug("loaded %s of %s on %s as experiment %s", self.experiment, self.gaml_path, self.address, self.exp_id)

    async def close(self) -> None:
        """Close the connection; the server disposes the experiment with it."""
        self.exp_id = None
        await self.connection.close()

    # ------------------------------------------------------------------ commands
    async def reload(self, parameters: list[dict[str, Any]] | None = None) -> None:
        """Re-create the simulation (the model's ``init`` runs again), with these experiment
        parameters if given (GAMA keeps the last ones given otherwise)."""
        payload: dict[str, Any] = {"type": "reload"}
        if parameters:
            payload["parameters"] = [dict(p) for p in parameters]
            self.parameters = [dict(p) for p in parameters]
        await self._command(payload)

    async def step(self) -> None:
        """Run exactly one simulation cycle and wait until it has run (``sync: true``)."""
        await self._command({"type": "step", "sync": True})

    async def evaluate(self, expr: str) -> Any:
        """Evaluate a GAML expression (or statements) in the experiment; returns the JSON result."""
        return await self._command({"type": "expression", "expr": expr})

    async def _command(self, payload: dict[str, Any]) -> Any:
        if self.exp_id is None:
            raise GamaConnectionLostError(
                f"no experiment loaded on {self.address}; cannot send the {describe_command(payload)}"
            )
        payload["exp_id"] = self.exp_id
        answer = await self.connection.request(payload, self.timeout)
        kind = answer.get("type")
        if kind == SUCCESS:
            return answer.get("content")
        content = answer.get("content")
        cls = GamaSimulationError if kind in ERROR_TYPES else GamaCommandError
        raise cls(
            f"the GAMA server at {self.address} failed the {describe_command(payload)} ({kind}): "
            f"{describe_content(content)}",
            message_type=kind,
            content=content,
        )


def _load_hint(content: Any) -> str:
    text = describe_content(content)
    if "does not exist" in text or "not a gaml file" in text:
        return " (the path is opened by the GAMA server: give the .gaml path as the server sees it)"
    if "is not an experiment" in text:
        return " (check the experiment name)"
    return ""
