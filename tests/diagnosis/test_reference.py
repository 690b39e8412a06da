"""`/sora help errors [category]`: generated from the knowledge table, one row per error type,
grouped by category, one screen; a category in full on request."""

from __future__ import annotations

import pytest

from bot.commands import views
from bot.commands.reference import for_category, overview
from bot.commands.router import Router
from bot.diagnosis.knowledge import RULES
from bot.diagnosis.model import CATEGORIES

SCREEN_LINES = 40


async def _help(args: str):
    from bot.commands.model import Caller, ChannelRef

    return await Router(None).handle_command(f"/sora help {args}", ChannelRef("shell", "-", "-"),
                                          Caller("U1"))


async def test_overview_is_one_row_per_error_type_grouped_by_category() -> None:
    reply = await _help("errors")
    rows = reply.sections[0].items
    assert len(rows) <= SCREEN_LINES
    cats = [row.split(" → ")[1].split(" ")[0] for row in rows]
    assert set(cats) >= set(CATEGORIES) - {"unknown"}
    # grouped: each category's rows are together, in the order of CATEGORIES
    firsts = list(dict.fromkeys(cats))
    assert firsts == [c for c in CATEGORIES if c in firsts]
    assert len(rows) == len({r.split(" → ")[0] for r in rows})  # no duplicate types
    joined = "\n".join(rows)
    for internal in ("param message", "limit zero", "status 5xx", "HTTP 500/501"):
        assert internal not in joined
    assert "599" not in joined
    assert all(" (do not retry" in r for r in rows if " → quota " in r)
    assert "{" not in joined


def test_every_listed_rule_has_a_row_and_every_rule_a_category_entry() -> None:
    listed = [r for r in RULES if r.listed]
    assert [t.rule_id for t in overview()] == [
        r.id for c in CATEGORIES for r in listed if r.category == c]
    for category in CATEGORIES:
        assert {t.rule_id for t in for_category(category)} == {
            r.id for r in RULES if r.category == category}


async def test_one_category_in_full() -> None:
    reply = await _help("errors quota")
    assert reply.title == "Sora errors: quota"
    text = "\n".join(i for s in reply.sections for i in s.items)
    for code in ("insufficient_quota", "billing_hard_limit_reached", "insufficient_user_quota"):
        assert f"`{code}`" in text
    assert "HTTP 402" in text
    assert all("(do not retry" in s.title for s in reply.sections)
    assert "Means:" in text and "First step:" in text and "{" not in text


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_view_renders(category: str) -> None:
    reply = views.errors_reference_reply(category)
    assert reply.title.endswith(category) and reply.text


async def test_unknown_category_answers_with_the_list() -> None:
    reply = await _help("errors rate-limit")
    assert reply.kind == "error" and "rate_limit" in reply.text


async def test_plain_help_still_works() -> None:
    reply = await _help("")
    assert reply.sections and any("/sora help" in i for i in reply.sections[0].items)


def test_low_confidence_says_so_and_asks_for_the_missing_piece() -> None:
    from bot.diagnosis import diagnose

    weak = diagnose("AxiosError: Request failed with status code 500")
    assert weak.confidence < views.LOW_CONFIDENCE and weak.ask
    text = views.diagnosis_reply(weak).text
    lines = text.splitlines()
    assert lines[0] == weak.summary
    assert [ln for ln in lines if ln.startswith("Low confidence")] == [
        f"Low confidence ({round(weak.confidence * 100)}%): paste {weak.ask} for a precise diagnosis."]
    strong = diagnose('HTTP/1.1 429\n{"error":{"message":"You exceeded your current quota",'
                      '"code":"insufficient_quota"}}')
    assert "Low confidence" not in views.diagnosis_reply(strong).text
