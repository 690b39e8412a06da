"""Fixtures for delivery tests (the two-database ``store`` and ``clock`` come from
tests/conftest.py): a PostgreSQL-only store, and an in-memory fake sink that can be scripted to
fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakesink import FakeSink

from bot.store import Store
from bot.store.testing import empty_store


@pytest.fixture
def pg_store(pg_session_url, clock) -> Iterator[Store]:
    st = empty_store(pg_session_url, clock)
    yield st
    st.close()


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()
