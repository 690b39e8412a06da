"""The own-connectivity rule: is it the provider, or is it the bot's own network?

One pure function used by every consumer (the monitor before it opens an incident, the status
view and ``sora-bot status --json``, ``/healthz``), so they can never disagree.

A failure is *network level* when the request never reached an HTTP server: DNS lookup
failed, the connection was refused or reset, or connecting timed out (``NETWORK_FAILURES``).
A read timeout after a connection, a TLS error, an HTML page from a proxy or any HTTP status
is not: something answered.

The rule (docs/alerts.md says it in words):

* **Lost**: every probed target's latest results and the status page all failed at the network
  level. That fits "the bot's own network is broken" as well as "the provider is down", so no
  incident is opened, the overall status is ``unknown`` and the reason names the bot's own
  connectivity and what to check.
* **Partial**: something answered (the page, or another target), but a target fails only at
  the network level. The bot's internet works, yet the path to that one host may still be ours
  (a proxy rule, DNS for that name, a firewall): the target is *unreachable from here*, which
  may alert, but never as "down" and never as critical.
* **Ok**: otherwise; HTTP-level evidence (5xx, HTML error pages, read timeouts) speaks for the
  provider.

Fields read (duck-typed, so probe results, stored rows and mappings all work): ``target``,
``ok``, ``failure`` (one of ``FAILURES`` or None) and, for the page, ``ok`` and ``failure``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

# Why a request failed, in one word (ProbeResult.failure, the page poll's failure).
DNS = "dns"
REFUSED = "refused"
RESET = "reset"
CONNECT_TIMEOUT = "connect_timeout"
READ_TIMEOUT = "timeout"       # connected, then no (complete) answer in time
TLS = "tls"
PROTOCOL = "protocol"          # garbage on the wire, a dropped connection mid-answer
HTTP = "http"                  # an HTTP answer that is an error (any status, HTML page)
FAILURES: tuple[str, ...] = (DNS, REFUSED, RESET, CONNECT_TIMEOUT, READ_TIMEOUT, TLS, PROTOCOL,
                             HTTP)
NETWORK_FAILURES: frozenset[str] = frozenset({DNS, REFUSED, RESET, CONNECT_TIMEOUT})

FAILURE_WORDS: Mapping[str, str] = {
    DNS: "DNS lookup failed",
    REFUSED: "connection refused",
    RESET: "connection reset",
    CONNECT_TIMEOUT: "connecting timed out",
    READ_TIMEOUT: "timed out waiting for an answer",
    TLS: "TLS handshake failed",
    PROTOCOL: "broken answer",
    HTTP: "HTTP error",
}

LOST = "lost"
PARTIAL = "partial"
OK = "ok"
CHECK = "check the bot host's network, proxy (HTTPS_PROXY / NO_PROXY), DNS and firewall"


class ProbeLike(Protocol):
    @property
    def target(self) -> str: ...
    @property
    def ok(self) -> bool: ...


def failure_of(item: object) -> str | None:
    """The ``failure`` word of a result, row or mapping (None when absent or ok)."""
    if isinstance(item, Mapping):
        value = item.get("failure")
    else:
        value = getattr(item, "failure", None)
    return str(value) if value else None


def _ok(item: object) -> bool:
    if isinstance(item, Mapping):
        return bool(item.get("ok"))
    return bool(getattr(item, "ok", False))


def _target(item: object) -> str:
    if isinstance(item, Mapping):
        return str(item.get("target") or "")
    return str(getattr(item, "target", "") or "")


def is_network_level(item: object) -> bool:
    """True when this failed result never reached an HTTP server."""
    return not _ok(item) and failure_of(item) in NETWORK_FAILURES


@dataclass(frozen=True)
class Connectivity:
    """The verdict of the rule. ``unreachable`` lists targets failing only at network level."""

    state: str                         # LOST | PARTIAL | OK
    reason: str
    unreachable: tuple[str, ...] = ()

    @property
    def lost(self) -> bool:
        return self.state == LOST


def assess(latest_probes: Iterable[object], page: object | None = None, *,
           page_expected: bool = True) -> Connectivity:
    """Apply the rule to each target's latest probe results and the page's latest poll.

    ``latest_probes``: the latest result of every (target, kind) (skipped probes left out).
    ``page``: the latest poll (``ok``, ``failure``), None when the page has not been polled;
    with ``page_expected`` False (no status page configured) the probes decide alone.
    """
    by_target: dict[str, list[object]] = {}
    for item in latest_probes:
        name = _target(item)
        if name:
            by_target.setdefault(name, []).append(item)
    unreachable = tuple(sorted(
        name for name, items in by_target.items()
        if items and all(is_network_level(i) for i in items)))
    answered_targets = [name for name in by_target if name not in unreachable]
    page_network = page is not None and is_network_level(page)
    page_answered = page is not None and not page_network
    if by_target and not answered_targets and (page_network or (page is None and not page_expected)):
        kinds = sorted({failure_of(i) or "" for items in by_target.values() for i in items}
                       | ({failure_of(page) or ""} if page is not None else set()))
        words = ", ".join(FAILURE_WORDS.get(k, k) for k in kinds if k)
        what = "every target and the status page" if page is not None else "every target"
        return Connectivity(LOST, f"the bot's own connectivity looks lost: {what} failed at the "
                                  f"network level ({words}); {CHECK}", unreachable)
    if unreachable and (answered_targets or page_answered):
        others = "the status page answers" if page_answered else \
            f"{', '.join(sorted(answered_targets))} answers"
        return Connectivity(PARTIAL, f"{', '.join(unreachable)} unreachable from the bot at the "
                                     f"network level while {others}; the path may be ours: "
                                     f"{CHECK}", unreachable)
    return Connectivity(OK, "the bot reaches its targets", ())


__all__ = [
    "CHECK", "CONNECT_TIMEOUT", "Connectivity", "DNS", "FAILURES", "FAILURE_WORDS", "HTTP",
    "LOST", "NETWORK_FAILURES", "OK", "PARTIAL", "PROTOCOL", "READ_TIMEOUT", "REFUSED", "RESET",
    "TLS", "assess", "failure_of", "is_network_level",
]
