"""Neutral renderers: typed results (Diagnosis, StatusReport, probe results…) → Reply.

Every surface (shell, Slack, Discord) renders the same Reply, so wording lives here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import connectivity as conn
from bot.commands.markup import inline_code
from bot.commands.model import CHANNEL, Command, Surface
from bot.commands.ports import IncidentSummary, PasteSettings
from bot.commands.reply import (
    Link,
    Reply,
    ReplyField,
    ReplyKind,
    Section,
    Severity,
    correct_action,
    note_action,
    share_action,
)
from bot.commands.specs import help_lines
from bot.diagnosis.model import Diagnosis
from bot.evidence import StatusReport
from bot.memory import Correction, Note, Recall, TopReport, Trend, sparkline
from bot.probes.result import ProbeResult

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

def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def verdict_text(verdict: str | None) -> str:
    return _VERDICT_TEXT.get(verdict or "unknown", "unknown")


LOW_CONFIDENCE = 0.85  # below this a diagnosis says it is unsure and what to capture next


def diagnosis_reply(d: Diagnosis, *, surface: Surface = CHANNEL,
                    recall: Recall | None = None) -> Reply:
    """A diagnosis; with ``recall`` (team memory) also what the team knows about the kind —
    how often it was seen, the team's correction, its notes — and the controls to add a note
    or correct the category."""
    fields = [
        ReplyField("Category", d.category),
        ReplyField("Retryable", _yes_no(d.retryable)
                   + (f" (after {d.retry_after_s:g}s)" if d.retry_after_s else "")),
        ReplyField("HTTP status", str(d.http_status) if d.http_status is not None else "not shown"),
    ]
    if d.error_type or d.error_code:
        # values from the paste: quoted as code, so they can never be a link or markup
        fields.append(ReplyField("Type / code", f"{inline_code(d.error_type or '-')} / "
                                                f"{inline_code(d.error_code or '-')}"))
    if d.param:
        fields.append(ReplyField("Parameter", inline_code(d.param)))
    if d.verdict:
        fields.append(ReplyField("Verdict", verdict_text(d.verdict)))
    causes = tuple(f"{c.title} ({round(c.likelihood * 100)}%): {c.why}" for c in d.causes)
    sections = list(memory_sections(recall)) if recall is not None else []
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
        context=(" · ".join(context),), ephemeral=True, kind=ReplyKind.DIAGNOSIS, data=d,
        actions=((note_action(d.fingerprint), correct_action(d.fingerprint))
                 if recall is not None else ()),
    )


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def seen_line(recall: Recall) -> str | None:
    """``Seen 3 times in this team · first … · last …`` (None the first time)."""
    if recall.count < (2 if recall.counted else 1):  # counted: this one is in the count
        return None
    line = (f"Seen {_times(recall.count)} in this team" if recall.counted else
            f"Seen {_times(recall.count)} before in this team (this one is not counted: "
            "counting is off here)")
    if recall.first_seen is not None:
        line += f" · first {when(recall.first_seen)}"
    if recall.last_seen is not None:
        line += f" · last {when(recall.last_seen)}"
    return line


def correction_line(c: Correction) -> str:
    return (f"Category corrected to {c.category} by {c.by} on {when(c.at)} "
            f"(the diagnosis said {c.was})")


def note_line(n: Note) -> str:
    return f"{n.author}, {when(n.at)}: {n.text}"


def memory_sections(recall: Recall) -> tuple[Section, ...]:
    """What the team knows, first: notes say what fixed it last time."""
    known = [line for line in (seen_line(recall),) if line]
    if recall.correction is not None:
        known.append(correction_line(recall.correction))
    out = [Section("Team memory", tuple(known))] if known else []
    if recall.notes:
        items = [note_line(n) for n in recall.notes]
        more = recall.notes_total - len(recall.notes)
        if more > 0:
            items.append(f"… {more} older note(s): /sora note {recall.fingerprint}")
        out.append(Section("Team notes (newest first)", tuple(items)))
    return tuple(out)


def _where(surface: Surface) -> str:
    return "here" if surface.direct else f"into the {surface.noun}"


def help_reply(unknown: str | None = None, *, surface: Surface = CHANNEL) -> Reply:
    answer = " in a thread" if surface.threads else ""
    text = f"Paste any Sora / OpenAI error {_where(surface)} and I will explain it{answer}."
    title = "sora-bot help"
    severity = Severity.INFO
    if unknown:
        title = f"Unknown subcommand {inline_code(unknown, 40)}"
        severity = Severity.WARNING
    items = tuple(f"{line.usage} — {line.summary}" for line in help_lines())
    return Reply(title=title, severity=severity, text=text,
                 sections=(Section("Commands", items),), kind=ReplyKind.HELP)


def hint_reply(surface: Surface = CHANNEL, *, paste_off: bool = False) -> Reply:
    """Small talk in a direct conversation: what the bot does, in two lines, not a diagnosis."""
    if paste_off:
        text = ("That looks like an error, but paste detection is off here; "
                "use /sora diagnose <paste>, or /sora paste on.")
    else:
        text = ("I explain Sora / OpenAI errors: paste one (the JSON body, the exception line or "
                "the traceback), or try /sora status or /sora help.")
    return Reply(title="Not an error I can diagnose", severity=Severity.INFO, text=text,
                 kind=ReplyKind.HINT)


def errors_reference_reply(category: str | None = None) -> Reply:
    """`/sora help errors`: one row per error type, by category; with a category, all of it."""
    from bot.commands import reference as ref
    from bot.diagnosis.model import CATEGORIES

    if category is None:
        rows = tuple(ref.overview_row(t) for t in ref.overview())
        return Reply(title="Sora error quick reference", severity=Severity.INFO,
                     text="Each error type, its best-known codes, its category and whether to "
                          "retry. `/sora help errors <category>` shows one category in full: "
                          + ", ".join(CATEGORIES) + ".",
                     sections=(Section("Errors", rows),), kind=ReplyKind.HELP)
    if category not in CATEGORIES:
        return usage_reply("help errors [category]",
                           f"Unknown category `{category}`; one of: {', '.join(CATEGORIES)}.")
    sections = []
    for t in ref.for_category(category):
        items: list[str] = []
        if t.codes:
            items.append("Codes: " + ", ".join(f"`{c}`" for c in t.codes))
        if t.evidence:
            items.append("Also recognised by: " + ", ".join(t.evidence))
        items += [f"Means: {t.meaning}", f"First step: {t.first_step}"]
        sections.append(Section(f"{t.title} ({t.retry})", tuple(items)))
    return Reply(title=f"Sora errors: {category}", severity=Severity.INFO,
                 text=ref.category_meaning(category), sections=tuple(sections), kind=ReplyKind.HELP)


def usage_reply(usage: str, problem: str) -> Reply:
    return Reply(title=f"Usage: /sora {usage}", severity=Severity.WARNING, text=problem,
                 kind=ReplyKind.ERROR)


def error_reply(problem: str) -> Reply:
    """A failure, as one line that names the problem (the details, if any, are in the log)."""
    line = " ".join(problem.split()) or "something went wrong"
    return Reply(title=line[0].upper() + line[1:], severity=Severity.ERROR, kind=ReplyKind.ERROR)


def not_allowed_reply(command: Command) -> Reply:
    who = ("channel admins, or the configured admin users or group" if not command.surface.direct
           else "its owner")
    return error_reply(f"Not allowed: only people who may manage this {command.surface.noun}'s "
                       f"alerts can /sora {command.name} here ({who})")


_OVERALL_SEVERITY = {"ok": Severity.OK, "degraded": Severity.WARNING, "down": Severity.CRITICAL,
                     "unknown": Severity.INFO}


def failure_words(p: object) -> str | None:
    """Why a failed probe failed, in a few words a person reads ("DNS lookup failed", "timed
    out after 10 s", "connection refused"); None for an HTTP answer (its status says it)."""
    if getattr(p, "ok", True):
        return None
    failure = getattr(p, "failure", None)
    if failure == conn.HTTP or (failure is None and getattr(p, "http_status", None)):
        return None
    detail = str(getattr(p, "detail", None) or "")
    words = detail.split(" (", 1)[0].strip()
    if words and not words.startswith("HTTP "):
        return words
    return conn.FAILURE_WORDS.get(failure or "", None)


def _probe_line(p: Any) -> str:
    """One probe (a result or a stored view): mark, HTTP status, latency, category, why."""
    mark = "ok" if p.ok else "FAIL"
    bits = [f"{p.target}/{p.kind}: {mark}"]
    if p.http_status is not None:
        bits.append(f"HTTP {p.http_status}")
    if p.latency_ms is not None:
        bits.append(f"{p.latency_ms:.0f} ms")
    if p.category and not p.ok:
        bits.append(str(p.category))
    why = failure_words(p)
    if why:
        bits.append(why)
    return ", ".join(bits)


def skipped_lines(skipped: Sequence[tuple[str, str, str]]) -> tuple[str, ...]:
    """``openai: auth, videos skipped: no API key (OPENAI_API_KEY)``: one line per target and
    reason, so a user sees why fewer probes ran than they expected."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for target, kind, why in skipped:
        grouped.setdefault((target, why.removeprefix("skipped: ")), []).append(kind)
    return tuple(f"{target}: {', '.join(kinds)} skipped: {why}"
                 for (target, why), kinds in grouped.items())


def status_reply(report: StatusReport, *, ephemeral: bool = True,
                 trend: Trend | None = None) -> Reply:
    """Render a ``bot.evidence.StatusReport`` (uses its Contract-3 dict); ``trend`` is the
    team's own error rate (team memory), a field of its own."""
    d = report.to_dict()
    ev = report.evidence
    official = d["official"]
    fields = [
        ReplyField("Overall", d["overall"]),
        ReplyField("Verdict", verdict_text(d["verdict"]) if d["verdict"] else "n/a"),
        ReplyField("Official page", official["indicator"]
                   + (f" (unreadable: {conn.FAILURE_WORDS.get(ev.page.failure, ev.page.failure)})"
                      if ev.page is not None and not ev.page.ok and ev.page.failure else "")),
        ReplyField("Team errors (15 min)", str(d["errors"]["total"])),
    ]
    link = ev.connectivity()
    if link.state != conn.OK:
        fields.append(ReplyField("Connectivity", link.state))
    if trend is not None:
        fields.append(trend_field(trend))
    sections = []
    comps = tuple(f"{c['name']}: {c['status']}" for c in official["components"])
    if comps:
        sections.append(Section("Official components", comps))
    incs = tuple(
        f"{i['name']} ({i['status']})" + (f": {i['latest_update']}" if i.get("latest_update") else "")
        for i in official["incidents"])
    if incs:
        sections.append(Section("Open incidents", incs))
    links = tuple(Link(str(i["name"]), str(i["url"])) for i in official["incidents"] if i.get("url"))
    probes = tuple(_probe_line(p) for p in ev.probes) + skipped_lines(ev.skipped)
    sections.append(Section("Probes", probes or ("no probe results yet",)))
    by_cat = d["errors"]["by_category"]
    if by_cat:
        sections.append(Section("Team errors by category",
                                 tuple(f"{k}: {v}" for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1]))))
    return Reply(
        title=f"Sora status: {d['overall']}", severity=_OVERALL_SEVERITY.get(d["overall"], Severity.INFO),
        text=d["reason"], fields=tuple(fields), sections=tuple(sections), links=links,
        actions=(share_action(),) if ephemeral else (),
        ephemeral=ephemeral, kind=ReplyKind.STATUS, data=report,
    )


def probe_reply(results: Sequence[ProbeResult]) -> Reply:
    """The results of ``/sora probe``; a ``ProbeRun`` also says what was skipped and why."""
    skipped = skipped_lines([(r.target, r.kind, r.detail)
                             for r in getattr(results, "skipped", ())])
    failing = [r for r in results if not r.ok]
    if not results:
        if skipped:
            return Reply(title="No probes ran", severity=Severity.WARNING,
                         sections=(Section("Skipped", skipped),), kind=ReplyKind.PROBE,
                         data=list(results))
        return Reply(title="No probes ran", severity=Severity.WARNING,
                     text="No probe target is configured.", kind=ReplyKind.PROBE, data=list(results))
    severity = Severity.OK if not failing else (Severity.CRITICAL if len(failing) == len(results) else Severity.WARNING)
    title = "All probes ok" if not failing else f"{len(failing)} of {len(results)} probes failing"
    link = conn.assess(results, None, page_expected=False)
    text = link.reason if link.state != conn.OK else ""
    if link.lost:  # evidence about the bot's own network, not a provider outage
        severity = Severity.WARNING
    sections = [Section("Probes", tuple(_probe_line(r) for r in results) + skipped)]
    return Reply(title=title, severity=severity, text=text, sections=tuple(sections),
                 kind=ReplyKind.PROBE, data=list(results))


def _updates(surface: Surface) -> str:
    return "updates in its thread" if surface.threads else "updates as they happen"


def subscription_reply(kinds: str, created: bool, *, surface: Surface = CHANNEL) -> Reply:
    what = {"all": "all notices", "incidents": "incident notices",
            "status": "official status notices"}[kinds]
    verb = "Subscribed" if created else "Subscription updated"
    return Reply(title=f"{verb}: {what}", severity=Severity.OK,
                 text=f"This {surface.noun} will get one notice when an incident opens, "
                      f"{_updates(surface)}, and one when it resolves.",
                 ephemeral=False, kind=ReplyKind.SUBSCRIPTION)


def unsubscribed_reply(removed: bool, *, surface: Surface = CHANNEL) -> Reply:
    if removed:
        return Reply(title="Unsubscribed", severity=Severity.OK,
                     text=f"This {surface.noun} will get no more incident notices.", ephemeral=False,
                     kind=ReplyKind.SUBSCRIPTION)
    return Reply(title="Not subscribed", severity=Severity.INFO,
                 text=f"This {surface.noun} had no subscription.", kind=ReplyKind.SUBSCRIPTION)


def _human_duration(duration: timedelta) -> str:
    secs = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def muted_reply(until: datetime, duration: timedelta, *, surface: Surface = CHANNEL) -> Reply:
    return Reply(title=f"Muted for {_human_duration(duration)}", severity=Severity.OK,
                 text=f"No notices in this {surface.noun} until {until.strftime('%Y-%m-%d %H:%M UTC')}.",
                 ephemeral=False, kind=ReplyKind.SUBSCRIPTION)


def history_reply(incidents: Sequence[IncidentSummary]) -> Reply:
    items = []
    for inc in incidents:
        when = inc.opened_at.strftime("%Y-%m-%d %H:%M")
        end = f" → resolved {inc.resolved_at:%H:%M}" if inc.resolved_at is not None else " (open)"
        items.append(f"#{inc.id} [{inc.severity}] {inc.title} — {when}{end}")
    if not items:
        return Reply(title="No incidents yet", severity=Severity.OK, kind=ReplyKind.HISTORY)
    return Reply(title="Recent incidents", severity=Severity.INFO,
                 sections=(Section("Incidents", tuple(items)),), kind=ReplyKind.HISTORY)


def paste_settings_reply(settings: PasteSettings, *, changed: bool,
                         surface: Surface = CHANNEL) -> Reply:
    on_off = {True: "on", False: "off"}
    answered = "answered in a thread" if surface.threads else "diagnosed"
    return Reply(title="Paste settings updated" if changed else "Paste settings",
                 severity=Severity.OK if changed else Severity.INFO,
                 text=f"Pasted errors in this {surface.noun} are "
                      + (answered if settings.detect else "not diagnosed (use /sora diagnose)") + ".",
                 fields=(ReplyField("Paste detection", on_off[settings.detect]),
                         ReplyField("Counted in team error rate", on_off[settings.count])),
                 ephemeral=not changed, kind=ReplyKind.SUBSCRIPTION)


# Team memory -------------------------------------------------------------------------------------

def trend_field(trend: Trend) -> ReplyField:
    """The team's errors per minute over 15 minutes, as a sparkline, oldest first."""
    return ReplyField("Team error rate", f"{sparkline(trend.bins)} ({trend.total} in 15 min, "
                                         "a bar a minute)")


_WINDOW_WORDS = {"1h": "hour", "24h": "24 hours", "7d": "7 days"}


def top_reply(report: TopReport) -> Reply:
    span = _WINDOW_WORDS.get(report.window, report.window)
    if not report.entries:
        return Reply(title=f"No errors in the last {span}", severity=Severity.OK,
                     text="This team has no error events in that window.", kind=ReplyKind.INFO,
                     data=report)
    items = []
    for e in report.entries:
        category = f"{e.category} (corrected)" if e.corrected else e.category
        notes = f" · {e.notes} note{'s' if e.notes != 1 else ''}" if e.notes else ""
        items.append(f"{inline_code(e.fingerprint)} {category} — {e.count}× {sparkline(e.bins)}"
                     f" · first {when(e.first_seen)} · last {when(e.last_seen)}{notes}")
    return Reply(title=f"Most frequent errors, last {span}", severity=Severity.INFO,
                 text=f"{report.total} error events in this team in the last {span}.",
                 sections=(Section("Kinds (count, sparkline oldest → newest)", tuple(items)),),
                 context=("/sora note <fingerprint> shows a kind's notes",),
                 kind=ReplyKind.INFO, data=report)


def notes_reply(fingerprint: str, notes: Sequence[Note], total: int) -> Reply:
    fp = inline_code(fingerprint)
    if not notes:
        return Reply(title=f"No notes on {fp} yet", severity=Severity.INFO,
                     text=f"Add one: /sora note {fingerprint} <what fixed it>", kind=ReplyKind.INFO)
    more = f" (newest {len(notes)} of {total})" if total > len(notes) else ""
    return Reply(title=f"Team notes on {fp}{more}", severity=Severity.INFO,
                 sections=(Section("Notes (newest first)", tuple(note_line(n) for n in notes)),),
                 kind=ReplyKind.INFO)


def note_added_reply(fingerprint: str, note: Note) -> Reply:
    return Reply(title=f"Note added to {inline_code(fingerprint)}", severity=Severity.OK,
                 text="It shows on every later diagnosis of this kind in this team.",
                 sections=(Section("Note", (note_line(note),)),), kind=ReplyKind.INFO)


def corrected_reply(fingerprint: str, correction: Correction) -> Reply:
    return Reply(title=f"{inline_code(fingerprint)} is now {correction.category} for this team",
                 severity=Severity.OK,
                 text=f"Later diagnoses of this kind here use {correction.category}, with its "
                      f"causes and actions (the diagnosis said {correction.was}).",
                 kind=ReplyKind.INFO)


def unknown_kind_reply(fingerprint: str) -> Reply:
    return error_reply(f"This team has not seen {inline_code(fingerprint, 40)}: use the "
                       "fingerprint under a diagnosis, or last")
