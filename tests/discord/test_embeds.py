"""Reply → embed: Discord's limits hold for any Reply (a message breaking one is rejected
whole), secrets are masked, and the shape (title, colour, fields, sections, footer) is right."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord import embeds as em
from bot.commands import views
from bot.commands.reply import Reply, ReplyField, Section, Severity
from bot.diagnosis import diagnose

L = em.LIMITS


def _check_limits(d: dict) -> None:
    assert len(d.get("title") or "") <= L.title
    assert len(d.get("description") or "") <= L.description
    assert len(d.get("fields") or []) <= L.fields
    for f in d.get("fields") or []:
        assert 0 < len(f["name"]) <= L.field_name and 0 < len(f["value"]) <= L.field_value
    assert len((d.get("footer") or {}).get("text") or "") <= L.footer
    assert em.embed_length(d) <= L.total


def test_shape_of_a_reply():
    reply = Reply(title="Rate limited (rate_limit)", severity=Severity.WARNING, text="Slow down.",
                  fields=(ReplyField("Category", "rate_limit"), ReplyField("Why", "x" * 100),
                          ReplyField("Long", "y", short=False)),
                  sections=(Section("Causes", ("a", "b")), Section("What to do", ("wait", "retry"), numbered=True)),
                  context=("fingerprint fp_1", "request id req_2"))
    d = em.reply_embed(reply).to_dict()
    assert d["title"] == "⚠️ Rate limited (rate_limit)" and d["color"] == Severity.WARNING.color
    assert d["description"] == "Slow down."
    assert [(f["name"], f["inline"]) for f in d["fields"]] == [
        ("Category", True), ("Why", False), ("Long", False), ("Causes", False), ("What to do", False)]
    assert d["fields"][3]["value"] == "• a\n• b" and d["fields"][4]["value"] == "1. wait\n2. retry"
    assert d["footer"]["text"] == "fingerprint fp_1 · request id req_2"


def test_status_line_and_reference_for_alerts():
    d = em.reply_embed(Reply(title="t", fields=(ReplyField("a", "b"),)), status_line="🔴 Open",
                       footer_extra=["ref sb1-abc"]).to_dict()
    assert d["fields"][0] == {"name": "Status", "value": "🔴 Open", "inline": False}
    assert d["footer"]["text"] == "ref sb1-abc"


def test_huge_reply_is_cut_to_discord_limits_with_a_note():
    items = tuple(f"cause {i}: " + "why " * 60 for i in range(200))
    reply = Reply(title="T" * 1000, text="D" * 10_000,
                  fields=tuple(ReplyField(f"f{i}" * 100, "v" * 5000) for i in range(10)),
                  sections=(Section("Likely causes", items), Section("What to do", items, numbered=True)),
                  context=("c" * 3000,))
    d = em.reply_embed(reply).to_dict()
    _check_limits(d)
    assert d["title"].endswith("…") and d["fields"][-1]["value"].endswith("cut to fit Discord")


def test_open_code_fence_is_closed_when_cut():
    text = "see:\n```\n" + "line\n" * 2000
    out = em.truncate(text, 100)
    assert len(out) <= 100 and out.count("```") % 2 == 0 and out.endswith("…")


def test_secrets_are_masked_everywhere():
    key = "sk-proj-" + "Q1w2E3r4" * 6
    reply = Reply(title=f"t {key}", text=f"text {key}", fields=(ReplyField(f"n {key}", f"v {key}"),),
                  sections=(Section("s", (f"i {key}",)),), context=(f"c {key}",))
    d = em.reply_embed(reply).to_dict()
    assert key not in str(d) and "[REDACTED]" in d["description"]
    assert key not in em.fallback_text(reply) and key not in em.headline(reply)


def test_seed_diagnosis_renders_whole():
    seed = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
            '"param":null,"type":"invalid_request_error"}}')
    d = em.reply_embed(views.diagnosis_reply(diagnose(seed))).to_dict()
    _check_limits(d)
    names = [f["name"] for f in d["fields"]]
    assert names[-2:] == ["Likely causes", "What to do"] and "risk_control" in d["title"]
    assert "cut to fit" not in str(d)


def test_fallback_text_fits_a_message():
    reply = Reply(title="t", sections=(Section("s", tuple("x" * 100 for _ in range(100))),))
    text = em.fallback_text(reply)
    assert len(text) <= L.content and text.startswith("ℹ️ t")


def test_set_field_replaces_inserts_after_and_keeps_the_total():
    embed = {"title": "t", "fields": [{"name": "Status", "value": "old", "inline": False},
                                      {"name": "x", "value": "y" * 1000, "inline": False}]}
    out = em.set_field(embed, "Status", "new")
    assert out["fields"][0]["value"] == "new" and embed["fields"][0]["value"] == "old"
    out = em.set_field(out, "Acknowledged", "by me", after="Status")
    assert [f["name"] for f in out["fields"]] == ["Status", "Acknowledged", "x"]
    full = {"title": "t", "fields": [{"name": f"n{i}", "value": "v" * 1000} for i in range(6)]}
    out = em.set_field(full, "Status", "s" * 1000)
    assert em.embed_length(out) <= L.total and out["fields"][0]["name"] == "Status"


text = st.text(max_size=3000)


@settings(max_examples=60, deadline=None)
@given(title=text, body=st.text(max_size=8000), fields=st.lists(st.tuples(text, text, st.booleans()), max_size=40),
       sections=st.lists(st.tuples(text, st.lists(text, max_size=30), st.booleans()), max_size=6),
       context=st.lists(text, max_size=4))
def test_any_reply_fits_discord(title, body, fields, sections, context):
    reply = Reply(title=title, text=body, fields=tuple(ReplyField(a, b, s) for a, b, s in fields),
                  sections=tuple(Section(t, tuple(i), n) for t, i, n in sections), context=tuple(context))
    _check_limits(em.reply_embed(reply, status_line="🔴 Open").to_dict())
    assert len(em.fallback_text(reply)) <= L.content and len(em.headline(reply)) <= L.content
