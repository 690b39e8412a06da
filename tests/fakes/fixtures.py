"""Pytest fixtures for the loopback fakes. Import the ones you need into a conftest or module:

    from tests.fakes.fixtures import fake_clock, sora_api, status_page  # noqa: F401

Each fixture starts a fresh server on a random 127.0.0.1 port and stops it after the test.
The fakes run in their own thread, so the fixtures are plain (sync) and serve async tests too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timezone

import pytest

from bot.clock import FakeClock
from bot.fakes import FakeSoraAPI, FakeStatusPage

START = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A manual clock at 2026-11-30 08:30 UTC shared by fakes and code under test."""
    return FakeClock(START)


@pytest.fixture
def sora_api(fake_clock: FakeClock) -> Iterator[FakeSoraAPI]:
    with FakeSoraAPI(clock=fake_clock) as api:
        yield api


@pytest.fixture
def status_page(fake_clock: FakeClock) -> Iterator[FakeStatusPage]:
    with FakeStatusPage(clock=fake_clock) as page:
        yield page
