"""Concise notices (issue 14 item 4): render the full notice sequence a channel receives in a
scenario — as the terminal prints it and as the Slack/Discord Reply — and assert that no line is
repeated within a notice, none of a parent's lines comes back in its updates, and every update
says something the previous one did not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.commands.notices import notice_reply
from bot.monitor import DEFAULT_POLICIES
from bot.notify.sinks import render_text
from bot.store import Store, open_store

from .sim import Sim, periodic, spans
from .test_fault_matrix import _page


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    st = open_store(f"sqlite:///{tmp_path / 'notices.db'}", now=clock)
    st.upgrade()
    st.subscribe("slack", "T1", "C-all", "all")
    yield st
    st.close()


def terminal_lines(payload: dict[str, Any], parent: bool) -> list[str]:
    return [line.strip() for line in render_text(payload).splitlines()]


def reply_lines(payload: dict[str, Any], parent: bool) -> list[str]:
    reply = notice_reply(payload, parent=parent)
    return ([reply.title, *reply.text.split("\n")]
            + [f"{f.label}: {f.value}" for f in reply.fields]
            + [f"{link.title}: {link.url}" for link in reply.links] + list(reply.context))


def scenario_official(s: Sim) -> None:
    s.run(3600, spans((600, 1500)), _page)


def scenario_flapping_then_sustained(s: Sim) -> None:
    s.run(600, lambda t, x: "ok")
    bad = [(600 + i * 360, 780 + i * 360) for i in range(4)]
    s.run(3 * 3600, spans(*bad, (2880, 2880 + 3840)))


def scenario_reminders(s: Sim) -> None:
    s.run(600, lambda t, x: "ok")
    s.run(5 * 3600, spans((600, 600 + 4.5 * 3600)))


def scenario_flapping_10(s: Sim) -> None:
    s.run(600, lambda t, x: "ok")
    s.run(3 * 3600, periodic(600, 300, offset_s=600, until_s=4200))


SCENARIOS: dict[str, Callable[[Sim], None]] = {
    "official": scenario_official, "flapping then sustained": scenario_flapping_then_sustained,
    "reminders": scenario_reminders, "flapping every 10 min": scenario_flapping_10,
}


@pytest.mark.parametrize("render", [terminal_lines, reply_lines], ids=["terminal", "reply"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_no_line_is_repeated_in_a_notice_or_between_a_parent_and_its_updates(
        store: Store, clock: FakeClock, name: str,
        render: Callable[[dict[str, Any], bool], list[str]]) -> None:
    s = Sim(store, clock, DEFAULT_POLICIES)
    SCENARIOS[name](s)
    threads: dict[int, list[dict[str, Any]]] = {}
    for row in store.outbox_rows():
        threads.setdefault(row.incident_id, []).append(dict(row.payload))
    assert threads, "the scenario posted nothing"
    for payloads in threads.values():
        rendered = [render(p, i == 0) for i, p in enumerate(payloads)]
        parent = set(rendered[0])
        for i, lines in enumerate(rendered):
            assert len(lines) == len(set(lines)), lines
            if i:
                assert not parent & set(lines), (parent & set(lines), lines)
                assert payloads[i]["text"] != payloads[i - 1]["text"], payloads[i]["text"]
