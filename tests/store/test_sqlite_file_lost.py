"""The store refuses writes once its SQLite file is deleted or replaced (issue 12 item 8)."""

from __future__ import annotations

import os

import pytest

from bot.store import open_store
from bot.store.base import DatabaseLost


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_writes_are_refused_and_reads_still_answer(tmp_path, how: str) -> None:
    path = tmp_path / "sora-bot.db"
    store = open_store(f"sqlite:///{path}")
    store.upgrade()
    store.subscribe("shell", "local", "terminal")
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"sora-bot.db{suffix}").unlink(missing_ok=True)
    if how == "replaced":  # a restore copied over it: another file under the same name
        other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
        other.upgrade()
        other.close()
        os.replace(tmp_path / "other.db", path)
    with pytest.raises(DatabaseLost, match=f"was {how}.* while sora-bot was running") as info:
        store.subscribe("shell", "local", "other")
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert str(path) not in info.value.short
    with pytest.raises(DatabaseLost):
        store.ping()
    assert [s.channel for s in store.list_subscriptions()] == ["terminal"]  # reads: open file
    store.close()


def test_a_fresh_database_is_not_mistaken_for_a_lost_one(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    store.upgrade()
    store.subscribe("shell", "local", "terminal")
    store.check_writable()
    store.close()
