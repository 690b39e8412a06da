"""Migrations: up from empty, down, up again, on SQLite and PostgreSQL; models == migrations;
the one-line errors for a newer schema, an unreachable server and a bad URL."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.errors import StoreError
from bot.store import Base, head_revision, open_store

TABLES = {t.name for t in Base.metadata.sorted_tables}


def _roundtrip(url: str) -> None:
    store = open_store(url)
    assert store.current_revision() is None
    with pytest.raises(StoreError, match="no sora-bot schema; run `sora-bot db upgrade`"):
        store.check_schema()
    assert store.upgrade() == head_revision()
    assert store.check_schema() == head_revision()
    assert TABLES <= set(inspect(store.engine).get_table_names())
    # The migration creates exactly what the models describe (no drift either way).
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
    assert store.upgrade() == head_revision()  # idempotent
    assert store.downgrade("base") is None
    assert not TABLES & set(inspect(store.engine).get_table_names())
    assert store.upgrade() == head_revision()
    assert TABLES <= set(inspect(store.engine).get_table_names())
    store.close()


def test_sqlite_upgrade_downgrade_upgrade(sqlite_url: str) -> None:
    _roundtrip(sqlite_url)


def test_postgres_upgrade_downgrade_upgrade(pg_url: str) -> None:
    _roundtrip(pg_url)


def test_sqlite_pragmas(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_newer_schema_is_one_clear_line(backend: str, request) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    store = open_store(url)
    store.upgrade()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    expected = (f"database schema 0099_future is newer than this sora-bot "
                f"(head {head_revision()}); upgrade sora-bot")
    for action in (store.upgrade, store.check_schema):
        with pytest.raises(StoreError) as info:
            action()
        assert str(info.value) == expected
    # the refusal did not touch the database
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() \
            == "0099_future"


def test_older_schema_asks_for_upgrade(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    store.upgrade()
    store.downgrade("base")
    with pytest.raises(StoreError, match="run `sora-bot db upgrade`"):
        store.check_schema()


def test_unreachable_postgres_is_one_line_with_password_masked() -> None:
    with pytest.raises(StoreError) as info:
        open_store("postgresql+psycopg://bob:hunter2@127.0.0.1:1/x")
    msg = str(info.value)
    assert msg == ("DATABASE_URL: cannot connect to postgresql+psycopg://bob:***@127.0.0.1:1/x: "
                   "connection refused")
    assert "hunter2" not in msg and "\n" not in msg


def test_unopenable_sqlite_is_one_line(tmp_path) -> None:
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{tmp_path}/no/such/dir/x.db")
    assert str(info.value) == (f"DATABASE_URL: cannot open sqlite:///{tmp_path}/no/such/dir/x.db:"
                               " unable to open database file")


@pytest.mark.parametrize("url, fragment", [
    ("not a url", "DATABASE_URL: not a database URL"),
    ("mysql://u:pw@h/db", "DATABASE_URL: unsupported database 'mysql'"),
])
def test_bad_url_is_one_line(url: str, fragment: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert str(info.value).startswith(fragment)
    assert "pw@" not in str(info.value) and "\n" not in str(info.value)


def test_migrations_run_from_any_cwd(tmp_path) -> None:
    """Alembic is configured in code: no alembic.ini needed in the working directory."""
    db = tmp_path / "cwd.db"
    code = ("from bot.store import open_store; s = open_store('sqlite:///%s'); "
            "print(s.upgrade())" % db)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == head_revision()
