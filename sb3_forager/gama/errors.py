"""Exceptions of the GAMA backend.

Every error says what happened, on which server (``host:port``) and, where there is one, what to
do about it; messages GAMA sent are quoted as GAMA wrote them.
"""

from __future__ import annotations

from typing import Any


class GamaError(RuntimeError):
    """Base class of every error of the GAMA backend."""


class GamaConnectionError(GamaError):
    """No usable GAMA server: nothing listening, or no GAMA ``ConnectionSuccessful`` handshake."""


class GamaConnectionLostError(GamaConnectionError):
    """The connection to the GAMA server closed while an experiment was in use."""


class GamaEpisodeLostError(GamaConnectionLostError):
    """The running episode could not be continued or restored (the message says why and what to do)."""


class GamaTimeoutError(GamaError, TimeoutError):
    """A command got no answer within the command timeout."""


class GamaCommandError(GamaError):
    """The server refused or failed a command.

    Attributes:
        message_type: GAMA's message type (e.g. ``UnableToExecuteRequest``).
        content: GAMA's answer content, as sent.
    """

    def __init__(self, message: str, *, message_type: str | None = None, content: Any = None) -> None:
        super().__init__(message)
        self.message_type = message_type
        self.content = content


class GamaLoadError(GamaCommandError):
    """A model could not be loaded: missing file, unknown experiment, or GAML compile errors."""


class GamaSimulationError(GamaCommandError):
    """The GAML model failed while running (a GAMA ``SimulationError`` / ``RuntimeError`` message)."""


class GamaProtocolError(GamaError):
    """The model's answers do not follow the GymAgent / PetzAgent contract the env expects (a
    non-finite number, a string where a flag belongs, a list of the wrong length, an unknown agent,
    ...); the message names the field, the value and the server. Nothing of that answer is used."""
