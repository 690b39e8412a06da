from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.monitor import Monitor


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def monitor(clock: FakeClock) -> Monitor:
    return Monitor(now=clock)
