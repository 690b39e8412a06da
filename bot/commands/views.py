"""Neutral renderers: typed results (Diagnosis, StatusReport, probe results…) → Reply.

Every surface (shell, Slack, Discord) renders the same Reply, so wording lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.commands.reply import Button, Reply, ReplyField, Section, Severity
from bot.diagnosis.model import Diagnosis

_CATEGORY_TITLES = {
    "auth": "Authentication problem",
    "permission": "Permission problem",
    "not_found": "Not found",
    "bad_request": "Bad request parameter",
    "content_policy": "Content policy rejection",
    "risk_control": "Risk-control rejection",
    "rate_limit": "Rate limited",
    "quota": "Quota or billing limit",
    "server": "Provider server error",
    "network": "Network failure",
    "unknown": "Unrecognised error",
}
_CATEGORY_SEVERITY = {
    "auth": Severity.ERROR, "permission": Severity.ERROR, "not_found": Severity.ERROR,
    "bad_request": Severity.WARNING, "content_policy": Severity.WARNING,
    "risk_control": Severity.ERROR, "rate_limit": Severity.WARNING, "quota": Severity.ERROR,
    "server": Severity.CRITICAL, "network": Severity.ERROR, "unknown": Severity.INFO,
}
_VERDICT_TEXT = {
    "provider": "provider side",
    "account": "account/request side",
    "request": "request side",
    "network": "network side",
    "unknown": "unknown",
}

HELP_LINES: tuple[tuple[str, str], ...] = (
    ("/sora status [public]", "official status, live probes, team error rate and one verdict"),
    ("/sora diagnose <paste>", "explain an error: category, retryable, causes, actions"),
    ("/sora probe [target]", "probe the API (and gateways) now"),
    ("/sora subscribe [all|incidents|status]", "post incident notices to this channel"),
    ("/sora unsubscribe", "stop incident notices here"),
    ("/sora mute <duration>", "silence notices here for a while, e.g. 30m, 2h"),
    ("/sora history", "recent incidents"),
    ("/sora paste [on|off]", "answer pasted errors in this channel (counting on|off: count them)"),
    ("/sora help [errors [category]]", "this help, or the error quick reference"),
)


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def verdict_text(verdict: str | None) -> str:
    return _VERDICT_TEXT.get(verdict or "unknown", "unknown")


LOW_CONFIDENCE = 0.85  # below this a diagnosis says it is unsure and what to capture next


def diagnosis_reply(d: Diagnosis) -> Reply:
    fields = [
        ReplyField("Category", d.category),
        ReplyField("Retryable", _yes_no(d.retryable)
                   + (f" (after {d.retry_after_s:g}s)" if d.retry_after_s else "")),
        ReplyField("HTTP status", str(d.http_status) if d.http_status is not None else "not shown"),
    ]
    if d.error_type or d.error_code:
        fields.append(ReplyField("Type / code", f"{d.error_type or '-'} / {d.error_code or '-'}"))
    if d.param:
        fields.append(ReplyField("Parameter", d.param))
    if d.verdict:
        fields.append(ReplyField("Verdict", verdict_text(d.verdict)))
    causes = tuple(f"{c.title} ({round(c.likelihood * 100)}%): {c.why}" for c in d.causes)
    sections = []
    if causes:
        sections.append(Section("Likely causes", causes))
    if d.actions:
        sections.append(Section("What to do", tuple(d.actions), numbered=True))
    text = d.summary
    if d.confidence < LOW_CONFIDENCE:  # say so, and ask for the piece that would settle it
        text += (f"\nLow confidence ({round(d.confidence * 100)}%): "
                 + (f"paste {d.ask} for a precise diagnosis." if d.ask else
                    "the paste shows little evidence; paste the full error output."))
    if d.verdict_reason:
        text = f"{text}\n{d.verdict_reason}"
    context = [f"fingerprint {d.fingerprint}"]
    if d.request_id:
        context.append(f"request id {d.request_id}")
    if d.provider and d.provider != "unknown":
        context.append(f"provider {d.provider}")
    return Reply(
        title=f"{_CATEGORY_TITLES.get(d.category, d.category)} ({d.category})",
        severity=_CATEGORY_SEVERITY.get(d.category, Severity.INFO),
        text=text, fields=tuple(fields), sections=tuple(sections),
        context=(" · ".join(context),), ephemeral=True, kind="diagnosis", data=d,
    )


def help_reply(unknown: str | None = None) -> Reply:
    text = "Paste any Sora / OpenAI error into the channel and I will explain it in a thread."
    title = "sora-bot help"
    severity = Severity.INFO
    if unknown:
        title = f"Unknown subcommand `{unknown}`"
        severity = Severity.WARNING
    items = tuple(f"{cmd} — {what}" for cmd, what in HELP_LINES)
    return Reply(title=title, severity=severity, text=text,
                 sections=(Section("Commands", items),), kind="help")


def errors_reference_reply(category: str | None = None) -> Reply:
    """`/sora help errors`: one row per error type, by category; with a category, all of it."""
    from bot.commands import reference as ref
    from bot.diagnosis.model import CATEGORIES

    if category is None:
        items = tuple(ref.overview_row(t) for t in ref.overview())
        return Reply(title="Sora error quick reference", severity=Severity.INFO,
                     text="Each error type, its best-known codes, its category and whether to "
                          "retry. `/sora help errors <category>` shows one category in full: "
                          + ", ".join(CATEGORIES) + ".",
                     sections=(Section("Errors", items),), kind="help")
    if category not in CATEGORIES:
        return usage_reply("help errors [category]",
                           f"Unknown category `{category}`; one of: {', '.join(CATEGORIES)}.")
    sections = []
    for t in ref.for_category(category):
        items = []
        if t.codes:
            items.append("Codes: " + ", ".join(f"`{c}`" for c in t.codes))
        if t.evidence:
            items.append("Also recognised by: " + ", ".join(t.evidence))
        items += [f"Means: {t.meaning}", f"First step: {t.first_step}"]
        sections.append(Section(f"{t.title} ({t.retry})", tuple(items)))
    return Reply(title=f"Sora errors: {category}", severity=Severity.INFO,
                 text=ref.category_meaning(category), sections=tuple(sections), kind="help")


def usage_reply(usage: str, problem: str) -> Reply:
    return Reply(title=f"Usage: /sora {usage}", severity=Severity.WARNING, text=problem,
                 kind="error")


def error_reply(text: str, title: str = "Something went wrong") -> Reply:
    return Reply(title=title, severity=Severity.ERROR, text=text, kind="error")


_OVERALL_SEVERITY = {"ok": Severity.OK, "degraded": Severity.WARNING, "down": Severity.CRITICAL,
                     "unknown": Severity.INFO}


def _ago(at: str | datetime | None, now: datetime | None = None) -> str:
    if at is None:
        return "never"
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            return at
    if now is None:
        return at.strftime("%H:%M:%S UTC")
    secs = max(0, int((now - at).total_seconds()))
    return f"{secs}s ago" if secs < 120 else f"{secs // 60}m ago"


def _probe_line(p: dict[str, Any]) -> str:
    mark = "ok" if p.get("ok") else "FAIL"
    status = p.get("http_status")
    latency = p.get("latency_ms")
    bits = [f"{p.get('target')}/{p.get('kind')}: {mark}"]
    if status is not None:
        bits.append(f"HTTP {status}")
    if latency is not None:
        bits.append(f"{latency:.0f} ms")
    if p.get("category") and not p.get("ok"):
        bits.append(str(p["category"]))
    return ", ".join(bits)


def status_reply(report: Any, *, ephemeral: bool = True) -> Reply:
    """Render a ``bot.evidence.StatusReport`` (uses its Contract-3 dict)."""
    d = report.to_dict()
    official = d["official"]
    fields = [
        ReplyField("Overall", d["overall"]),
        ReplyField("Verdict", verdict_text(d["verdict"]) if d["verdict"] else "n/a"),
        ReplyField("Official page", official["indicator"]),
        ReplyField("Team errors (15 min)", str(d["errors"]["total"])),
    ]
    sections = []
    comps = tuple(f"{c['name']}: {c['status']}" for c in official["components"])
    if comps:
        sections.append(Section("Official components", comps))
    incs = tuple(
        f"{i['name']} ({i['status']})" + (f": {i['latest_update']}" if i.get("latest_update") else "")
        + (f" {i['url']}" if i.get("url") else "")
        for i in official["incidents"])
    if incs:
        sections.append(Section("Open incidents", incs))
    probes = tuple(_probe_line(p) for p in d["probes"])
    sections.append(Section("Probes", probes or ("no probe results yet",)))
    by_cat = d["errors"]["by_category"]
    if by_cat:
        sections.append(Section("Team errors by category",
                                 tuple(f"{k}: {v}" for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1]))))
    return Reply(
        title=f"Sora status: {d['overall']}", severity=_OVERALL_SEVERITY.get(d["overall"], Severity.INFO),
        text=d["reason"], fields=tuple(fields), sections=tuple(sections),
        buttons=(Button("share_status", "Share in channel", "status public"),) if ephemeral else (),
        ephemeral=ephemeral, kind="status", data=report,
    )


def probe_reply(results: Sequence[Any]) -> Reply:
    dicts = [r.to_dict() for r in results]
    failing = [p for p in dicts if not p["ok"]]
    if not dicts:
        return Reply(title="No probes ran", severity=Severity.WARNING,
                     text="No probe target is configured.", kind="probe", data=list(results))
    severity = Severity.OK if not failing else (Severity.CRITICAL if len(failing) == len(dicts) else Severity.WARNING)
    title = "All probes ok" if not failing else f"{len(failing)} of {len(dicts)} probes failing"
    return Reply(title=title, severity=severity,
                 sections=(Section("Probes", tuple(_probe_line(p) for p in dicts)),),
                 kind="probe", data=list(results))


def subscription_reply(kinds: str, created: bool) -> Reply:
    what = {"all": "all notices", "incidents": "incident notices",
            "status": "official status notices"}[kinds]
    verb = "Subscribed" if created else "Subscription updated"
    return Reply(title=f"{verb}: {what}", severity=Severity.OK,
                 text="This channel will get one notice when an incident opens, updates in its "
                      "thread, and one when it resolves.", ephemeral=False, kind="subscription")


def unsubscribed_reply(removed: bool) -> Reply:
    if removed:
        return Reply(title="Unsubscribed", severity=Severity.OK,
                     text="This channel will get no more incident notices.", ephemeral=False,
                     kind="subscription")
    return Reply(title="Not subscribed", severity=Severity.INFO,
                 text="This channel had no subscription.", kind="subscription")


def _human_duration(duration: timedelta) -> str:
    secs = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def muted_reply(until: datetime, duration: timedelta) -> Reply:
    return Reply(title=f"Muted for {_human_duration(duration)}", severity=Severity.OK,
                 text=f"No notices in this channel until {until.strftime('%Y-%m-%d %H:%M UTC')}.",
                 ephemeral=False, kind="subscription")


def history_reply(incidents: Iterable[Any]) -> Reply:
    items = []
    for inc in incidents:
        get = inc.get if isinstance(inc, dict) else (lambda k, _i=inc: getattr(_i, k, None))
        opened = get("opened_at")
        resolved = get("resolved_at")
        when = opened.strftime("%Y-%m-%d %H:%M") if isinstance(opened, datetime) else str(opened)
        end = (" → resolved " + resolved.strftime("%H:%M")) if isinstance(resolved, datetime) else " (open)"
        items.append(f"#{get('id')} [{get('severity')}] {get('title')} — {when}{end}")
    if not items:
        return Reply(title="No incidents yet", severity=Severity.OK, kind="history")
    return Reply(title="Recent incidents", severity=Severity.INFO,
                 sections=(Section("Incidents", tuple(items)),), kind="history")


def paste_settings_reply(detect: bool, count: bool, *, changed: bool) -> Reply:
    on_off = {True: "on", False: "off"}
    return Reply(title="Paste settings updated" if changed else "Paste settings",
                 severity=Severity.OK if changed else Severity.INFO,
                 text="Pasted errors in this channel are " +
                      ("answered in a thread" if detect else "ignored (use /sora diagnose)") + ".",
                 fields=(ReplyField("Paste detection", on_off[detect]),
                         ReplyField("Counted in team error rate", on_off[count])),
                 ephemeral=not changed, kind="subscription")
