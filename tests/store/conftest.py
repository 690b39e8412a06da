"""Fixtures for the store tests (``clock``, ``pg_session_url`` and the two-database ``store``
come from tests/conftest.py): an empty database for migration tests, and a SQLite URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.store.testing import PostgresUnavailable, temp_postgres_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A brand-new, empty database (for migration tests)."""
    try:
        with temp_postgres_url() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'sora-bot.db'}"
