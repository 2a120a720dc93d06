"""Fixtures of the scale tests: the fast path with a recorder behind it (``apps``,
see doors.py)."""
from __future__ import annotations

import pytest

from chat.fastpath import Application
from tests.scale.doors import Recorder


@pytest.fixture
def apps() -> tuple[Application, Recorder]:
    """The fast path, with a recorder standing in for Django behind it."""
    behind = Recorder()
    return Application(behind, fast=True), behind
