"""Incident notices (the outbox's neutral payload, ``bot.store.notice_payload``) as Replies.

Every chat sink renders a notice the same way — the parent message shows the incident with a
status line, later notices are replies prefixed with what happened — so that wording lives here
once and the Slack and Discord sinks only translate the Reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import as_utc
from bot.commands.reply import Link, Reply, ReplyField, ReplyKind, Severity, ack_action, mute_action


@dataclass(frozen=True)
class NoticeStyle:
    """How each notice kind reads in a reply and on the parent's status line."""

    label: str
    status: str
    severity: Severity | None = None  # None: the notice's own severity


NOTICE_STYLES: dict[str, NoticeStyle] = {
    "opened": NoticeStyle("Incident opened", "🔴 Open"),
    "updated": NoticeStyle("Update", "🟠 Open, updated"),
    "flapping": NoticeStyle("Flapping", "🟡 Flapping"),
    "status": NoticeStyle("Official status", "ℹ️ Official status changed"),
    "resolved": NoticeStyle("Resolved", "✅ Resolved", Severity.OK),
}
_SEVERITIES = {s.value: s for s in Severity}


def notice_style(kind: str) -> NoticeStyle:
    return NOTICE_STYLES.get(kind, NoticeStyle(kind.capitalize() or "Notice", kind or "notice"))


def _at(payload: Mapping[str, Any]) -> str:
    try:
        when = as_utc(datetime.fromisoformat(str(payload.get("at")).replace("Z", "+00:00")))
    except ValueError:
        return ""
    return f"{when:%H:%M} UTC"


def status_line(kind: str, payload: Mapping[str, Any]) -> str:
    """``🟠 Open, updated · 12:03 UTC · error rate rising`` (state, when, why)."""
    parts = [notice_style(kind).status, _at(payload), str(payload.get("reason") or "")]
    return " · ".join(p for p in parts if p)


def _fields(payload: Mapping[str, Any], text: str) -> tuple[ReplyField, ...]:
    """The payload's fields minus what the text already says (issue 14: no line twice)."""
    out: list[ReplyField] = []
    seen: set[tuple[str, str]] = set()
    for f in payload.get("fields") or ():
        if not isinstance(f, Mapping):
            continue
        name, value = str(f.get("name", "")), str(f.get("value", ""))
        if (name, value) in seen or not value or value in text:
            continue
        seen.add((name, value))
        out.append(ReplyField(name, value))
    return tuple(out)


def _links(payload: Mapping[str, Any]) -> tuple[Link, ...]:
    out: list[Link] = []
    for link in payload.get("links") or ():
        if isinstance(link, Mapping) and link.get("url") and \
                all(str(link["url"]) != known.url for known in out):
            out.append(Link(str(link.get("title") or link.get("url")), str(link.get("url"))))
    return tuple(out)


def notice_reply(payload: Mapping[str, Any], *, parent: bool) -> Reply:
    """The parent shows the incident; a reply is prefixed with what happened (Update, Resolved…).

    Concise by construction: a field the text already says is left out, a link appears once,
    and the context line (incident number, kind, target) is on the parent only, so a reply
    never repeats a line of its parent."""
    kind = str(payload.get("notice") or "")
    style = notice_style(kind)
    title = str(payload.get("title") or "Sora incident")
    severity = style.severity or _SEVERITIES.get(str(payload.get("severity")), Severity.ERROR)
    text = str(payload.get("text") or "")
    fields = _fields(payload, text)
    links = _links(payload)
    context = [f"incident #{payload.get('incident_id')}"]
    if payload.get("kind"):
        context.append(str(payload["kind"]))
    if payload.get("target"):
        context.append(f"target {payload['target']}")
    # The parent carries the controls (one place to act on the incident); resolved ends them.
    actions = (ack_action(payload.get("incident_id")), mute_action()) if parent and kind != "resolved" else ()
    return Reply(title=title if parent else f"{style.label}: {title}", severity=severity,
                 text=text, fields=fields, links=links, actions=actions,
                 context=(" · ".join(context),) if parent else (), ephemeral=False,
                 kind=ReplyKind.ALERT, data=dict(payload))
