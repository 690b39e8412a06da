"""Team memory through the real Router over real CoreServices (SQLite): the commands' rules
(usage, ``last``, who may correct), what a diagnosis says, redaction and inertness of notes,
isolation by workspace, guild and DM, and a database failure that leaves the diagnosis whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.discord import embeds as em
from adapters.slack import blocks as bk
from bot.clock import FakeClock
from bot.commands.model import TERMINAL, Caller, ChannelRef
from bot.commands.reply import ActionKind, ReplyKind
from bot.commands.router import Router
from bot.commands.views import diagnosis_reply
from bot.config import load_settings
from bot.diagnosis import diagnose
from bot.memory import Note, Recall, team_of
from bot.service import CoreServices
from bot.store import open_store

SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')
QUOTA = ("Error code: 429 - {'error': {'message': 'You exceeded your current quota', "
         "'type': 'insufficient_quota', 'code': 'insufficient_quota'}}")
HERE = ChannelRef("slack", "T1", "C1")
ELSEWHERE = ChannelRef("slack", "T1", "C2")
OTHER_TEAM = ChannelRef("slack", "T2", "C1")
PASTER = Caller("U1", "paula")
MEMBER = Caller("U2", "mo")
BOSS = Caller("U3", "bo", can_manage=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def router(tmp_path, clock) -> Iterator[Router]:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = open_store(url, now=clock)
    store.upgrade()
    yield Router(CoreServices(load_settings(env_file=None, DATABASE_URL=url), store, now=clock),
                 now=clock)
    store.close()


def _section(reply, title: str) -> tuple[str, ...]:
    return next((s.items for s in reply.sections if s.title.startswith(title)), ())


async def _fp(router: Router) -> str:
    reply = await router.handle_chat(SEED, HERE, PASTER)
    return reply.data.fingerprint


async def test_a_diagnosis_says_what_the_team_knows(router: Router, clock: FakeClock):
    first = await router.handle_chat(SEED, HERE, PASTER)
    assert first.kind is ReplyKind.DIAGNOSIS and not _section(first, "Team memory")
    assert [a.kind for a in first.actions] == [ActionKind.NOTE, ActionKind.CORRECT]
    clock.advance(3600)
    second = await router.handle_command(f"diagnose {SEED}", ELSEWHERE, MEMBER)  # same team
    [seen] = _section(second, "Team memory")
    assert seen == ("Seen 2 times in this team · first 2026-01-01 00:00 UTC · "
                    "last 2026-01-01 00:00 UTC")
    other = await router.handle_chat(SEED, OTHER_TEAM, PASTER)
    assert not _section(other, "Team memory")  # another workspace has not seen it


async def test_counting_off_answers_from_memory_without_counting(router: Router):
    await router.handle_chat(SEED, HERE, PASTER)
    await router.handle_command("paste counting off", ELSEWHERE, BOSS)
    quiet = await router.handle_chat(SEED, ELSEWHERE, PASTER)
    [seen] = _section(quiet, "Team memory")
    assert seen.startswith("Seen once before in this team (this one is not counted")
    again = await router.handle_chat(SEED, HERE, PASTER)
    assert _section(again, "Team memory")[0].startswith("Seen 2 times")


async def test_note_commands(router: Router, clock: FakeClock):
    fp = await _fp(router)
    key = "sk-proj-" + "Zq9XwV8uT7sR6pO5nM4lK3jH2gF1dS0a"
    added = await router.handle_command(f"note last rotated the key {key}", HERE, PASTER)
    assert added.title == f"Note added to `{fp}`" and key not in added.plain_text()
    for i in range(4):
        clock.advance(60)
        await router.handle_command(f"note `{fp}`, note {i}", HERE, MEMBER)
    listed = await router.handle_command(f"note {fp}", HERE, MEMBER)
    items = _section(listed, "Notes")
    assert len(items) == 5 and items[0].startswith("mo, 2026-01-01 00:04 UTC: note 3")
    assert "[REDACTED]" in items[-1] and key not in listed.plain_text()
    reply = await router.handle_chat(SEED, HERE, PASTER)
    notes = _section(reply, "Team notes")
    assert notes[:3] == tuple(f"mo, 2026-01-01 00:0{4 - i} UTC: note {3 - i}" for i in range(3))
    assert notes[3] == f"… 2 older note(s): /sora note {fp}"
    for bad, why in (("note", "Usage"), ("note fp_xyz hello", "Usage"),
                     ("note fp_0000000000000000 hi", "This team has not seen")):
        assert why in (await router.handle_command(bad, HERE, PASTER)).title, bad
    fresh = await router.handle_command("note last hi", OTHER_TEAM, PASTER)
    assert fresh.kind is ReplyKind.ERROR and "No error kind remembered" in fresh.title


async def test_who_may_correct_and_what_changes(router: Router):
    fp = await _fp(router)
    refused = await router.handle_command(f"correct {fp} quota", HERE, MEMBER)
    assert refused.kind is ReplyKind.ERROR and refused.title.startswith("Not allowed")
    assert (await router.handle_command(f"correct {fp} quota", HERE, BOSS)).kind is ReplyKind.INFO
    assert "is now server" in (await router.handle_command("correct last server", HERE, PASTER)).title
    for bad in (f"correct {fp}", f"correct {fp} unknown", f"correct {fp} nonsense", "correct"):
        assert (await router.handle_command(bad, HERE, BOSS)).title.startswith("Usage"), bad
    reply = await router.handle_chat(SEED, HERE, MEMBER)
    d = reply.data
    assert d.category == "server" and d.retryable is True and reply.title.endswith("(server)")
    assert d.fingerprint == fp and d.error_code == "invalid_request"  # the paste's facts stay
    assert any("server" in c.id or "provider" in c.id for c in d.causes)
    assert d.verdict is not None  # the evidence was applied to the corrected category
    line = _section(reply, "Team memory")[1]
    assert line.startswith("Category corrected to server by paula on ")
    assert "(the diagnosis said risk_control)" in line
    untouched = await router.handle_chat(SEED, OTHER_TEAM, PASTER)
    assert untouched.data.category == "risk_control"


async def test_the_menu_and_the_prompt_run_the_commands(router: Router):
    fp = await _fp(router)
    outcome = await router.handle_action(ActionKind.CORRECT, fp, HERE, PASTER, text="quota")
    assert outcome.reply is not None and "is now quota" in outcome.reply.title
    outcome = await router.handle_action(ActionKind.NOTE, fp, HERE, PASTER, text="top up")
    assert outcome.reply is not None and "Note added" in outcome.reply.title


async def test_top_and_status_trend(router: Router, clock: FakeClock):
    for text in (SEED, SEED, QUOTA):
        await router.handle_chat(text, HERE, PASTER)
        clock.advance(61)
    top = await router.handle_command("top", HERE, PASTER)
    first, second = _section(top, "Kinds")
    assert "risk_control — 2×" in first and "quota — 1×" in second
    assert top.title == "Most frequent errors, last 24 hours"
    assert top.text == "3 error events in this team in the last 24 hours."
    assert "Usage" in (await router.handle_command("top 3y", HERE, PASTER)).title
    assert (await router.handle_command("top 7d", OTHER_TEAM, PASTER)).title.startswith("No errors")
    status = await router.handle_command("status", HERE, PASTER)
    trend = next(f for f in status.fields if f.label == "Team error rate")
    assert trend.value.endswith("(3 in 15 min, a bar a minute)")
    assert len(trend.value.split()[0]) == 15 and set(trend.value.split()[0]) <= set("▁▂▃▄▅▆▇█")


def test_discord_dms_are_teams_of_their_own():
    dm_a = ChannelRef("discord", "dm", "111", private=True)
    dm_b = ChannelRef("discord", "dm", "222", private=True)
    guild = ChannelRef("discord", "42", "333")
    assert len({team_of(dm_a), team_of(dm_b), team_of(guild)}) == 3
    assert team_of(guild) == "discord:42" and team_of(ChannelRef("shell", "local", "t")) == "shell:local"


async def test_a_database_failure_leaves_the_diagnosis_whole(router: Router, caplog):
    services = router.services

    async def broken(*args, **kwargs) -> Recall:
        raise RuntimeError("database on fire")

    services.remember = broken  # type: ignore[method-assign]
    reply = await router.handle_chat(SEED, HERE, PASTER, surface=TERMINAL)
    assert reply.kind is ReplyKind.DIAGNOSIS and reply.data.category == "risk_control"
    assert not reply.actions and "team memory failed" in caplog.text


HOSTILE = "<!channel> *urgent* [Rotate your key](https://evil.example/login) `x` https://evil.example"


def test_notes_and_their_authors_are_inert_on_every_platform():
    from datetime import UTC, datetime

    d = diagnose(SEED)
    recall = Recall(d.fingerprint, count=2, notes=(Note(HOSTILE, datetime(2026, 1, 1, tzinfo=UTC),
                                                        HOSTILE),), notes_total=1)
    reply = diagnosis_reply(d, recall=recall)
    slack = str(bk.message_payload(reply))
    assert "<!channel>" not in slack and "<https://evil" not in slack
    embed = em.reply_embed(reply).to_dict()
    notes = next(f["value"] for f in embed["fields"] if f["name"].startswith("Team notes"))
    assert "](https://evil" not in notes and "\\*urgent\\*" in notes
    assert "`https://evil.example`" in notes  # an untrusted URL is code, never a link
