from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.monitor import Monitor


@pytest.fixture
def monitor(clock: FakeClock) -> Monitor:  # ``clock``: tests/conftest.py
    return Monitor(now=clock)
