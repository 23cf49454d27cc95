"""Shared fixtures: the GAMA server stand-in, one per test module, with its faults cleared per test."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # reference_model, gama_standin

from gama_standin import GamaStandIn, running_standin


@pytest.fixture(scope="module")
def gama_server():
    yield from running_standin(engine=os.environ.get("SB3F_STANDIN_ENGINE", "embedded"))


@pytest.fixture
def gama(gama_server: GamaStandIn):
    """The module's stand-in, with no fault set before or after the test."""
    gama_server.faults.reset()
    yield gama_server
    gama_server.faults.reset()
