"""StatusWatcher: poll the official status page with conditional requests.

It tries the incident.io widget JSON (``{base}/proxy/{host}``) first — what status.openai.com
serves — and falls back to the Atlassian-compatible ``{base}/api/v2/summary.json``; when
``SORA_STATUS_URL`` already names a JSON endpoint it uses just that. It remembers which URL
answered and each URL's ETag / Last-Modified, so a steady page costs a 304 per poll.

A page that times out, refuses, returns HTML, garbage or an unknown shape yields a snapshot with
indicator ``unknown`` (``ok=False``, ``error`` set, ``failure`` the one word of
``bot.connectivity``): never ``down``, never an exception. Each exchange runs under an overall
deadline (body included), so a slow-drip page ends as ``timeout`` and the next poll runs on time. The
watcher only produces snapshots and changes; the monitor decides what to tell people.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from bot import connectivity as conn
from bot.clock import Clock, utcnow
from bot.probes.http import classify, make_client
from bot.status_page.model import StatusChange, StatusSnapshot, diff_snapshots
from bot.status_page.parse import ShapeError, parse_page, select

log = logging.getLogger(__name__)

DEFAULT_COMPONENTS: tuple[str, ...] = ("Sora", "Video generation", "Video viewing")
USER_AGENT = "sora-bot-status/0.1"
MAX_BODY = 4 * 1024 * 1024
ERROR_MAX = 300


def candidate_urls(base_url: str) -> list[str]:
    """The JSON URLs to try for a page, best first."""
    base = base_url.rstrip("/")
    parts = urlsplit(base)
    path = parts.path
    if path.endswith(".json") or "/proxy/" in path or path.endswith("/api/v1/summary"):
        return [base]
    host = parts.hostname or parts.netloc
    return [f"{base}/proxy/{host}", f"{base}/api/v2/summary.json"]


@dataclass
class _Validators:
    etag: str | None = None
    last_modified: str | None = None


class _Failed(Exception):
    """One URL did not give a usable page; ``final`` means don't bother with the others;
    ``failure`` is the one word of ``bot.connectivity`` (an HTTP answer that is no page is
    ``http``)."""

    def __init__(self, message: str, *, final: bool = False, failure: str = conn.HTTP) -> None:
        super().__init__(message)
        self.final = final
        self.failure = failure


class StatusWatcher:
    """Poll one page: ``poll()`` → StatusSnapshot; ``poll_changes()`` → (snapshot, changes)."""

    def __init__(self, base_url: str, components: Sequence[str] = DEFAULT_COMPONENTS, *,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 10.0,
                 now: Clock = utcnow, deadline: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.components = list(components) or list(DEFAULT_COMPONENTS)
        self.urls = candidate_urls(base_url)
        self._transport = transport
        self._timeout = float(timeout)
        # The whole exchange ends by this deadline (twice the per-phase timeout by default).
        self._deadline = float(deadline) if deadline is not None else 2 * self._timeout
        self._now = now
        self._validators: dict[str, _Validators] = {}
        self._by_url: dict[str, StatusSnapshot] = {}
        self._preferred = 0
        self.last: StatusSnapshot | None = None
        self.last_good: StatusSnapshot | None = None

    def prime(self, snapshot: StatusSnapshot) -> None:
        """Start from a stored snapshot (after a restart): diffs and 304s continue from it."""
        if snapshot.ok:
            self.last_good = snapshot
            if snapshot.url in self.urls:
                self._by_url[snapshot.url] = snapshot
                self._validators[snapshot.url] = _Validators(snapshot.etag,
                                                             snapshot.last_modified)
                self._preferred = self.urls.index(snapshot.url)
        self.last = snapshot

    async def poll_changes(self) -> tuple[StatusSnapshot, list[StatusChange]]:
        """Poll, and diff against the last readable snapshot (unknown polls change nothing)."""
        before = self.last_good
        snap = await self.poll()
        return snap, diff_snapshots(before, snap) if snap.ok else []

    async def poll(self) -> StatusSnapshot:
        order = self.urls[self._preferred:] + self.urls[:self._preferred]
        errors: list[str] = []
        failure = conn.HTTP
        async with make_client(self._transport, self._timeout, user_agent=USER_AGENT) as client:
            for url in order:
                try:
                    snap = await self._poll_url(client, url)
                except _Failed as exc:
                    errors.append(f"{url}: {exc}")
                    failure = exc.failure
                    if exc.final:
                        break
                    continue
                except Exception as exc:  # noqa: BLE001 - the watcher reports, never raises
                    log.warning("status poll of %s failed unexpectedly: %s", url,
                                type(exc).__name__)
                    errors.append(f"{url}: unexpected {type(exc).__name__}")
                    failure = conn.PROTOCOL
                    break
                self._preferred = self.urls.index(url)
                return self._remember(snap)
        error = "; ".join(errors)
        if len(error) > ERROR_MAX:
            error = error[:ERROR_MAX - 1] + "…"
        log.info("status page unreadable: %s", error)
        return self._remember(StatusSnapshot(
            indicator="unknown", components=[], incidents=[], fetched_at=self._now(),
            format=None, ok=False, error=error, url=order[0], failure=failure))

    def _remember(self, snap: StatusSnapshot) -> StatusSnapshot:
        self.last = snap
        if snap.ok:
            self.last_good = snap
            if snap.url:
                self._by_url[snap.url] = snap
        return snap

    async def _poll_url(self, client: httpx.AsyncClient, url: str) -> StatusSnapshot:
        headers = {"Accept": "application/json"}
        known = self._validators.get(url)
        previous = self._by_url.get(url)
        if known is not None and previous is not None:
            if known.etag:
                headers["If-None-Match"] = known.etag
            if known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
        responded = False
        try:
            # One deadline over the whole exchange, body included: a page that drips a byte a
            # second never trips the per-read timeout, and a poll must end for the next one.
            async with asyncio.timeout(self._deadline):
                async with client.stream("GET", url, headers=headers) as resp:
                    responded = True
                    body = b""
                    async for chunk in resp.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_BODY:
                            raise _Failed("response too large")
                    status, rh = resp.status_code, resp.headers
        except TimeoutError:
            raise _Failed(f"timed out after {self._deadline:g} s: no complete answer in time",
                          final=True, failure=conn.READ_TIMEOUT) from None
        except httpx.ConnectTimeout:
            raise _Failed(f"connecting timed out after {self._timeout:g} s", final=True,
                          failure=conn.CONNECT_TIMEOUT) from None
        except httpx.TimeoutException:
            raise _Failed(f"timed out after {self._timeout:g} s", final=True,
                          failure=conn.READ_TIMEOUT) from None
        except (httpx.HTTPError, OSError) as exc:
            failure = classify(exc, responded=responded)
            raise _Failed(f"{conn.FAILURE_WORDS.get(failure, failure)} "
                          f"({type(exc).__name__}: {exc})", final=True,
                          failure=failure) from None
        if status == 304 and previous is not None:
            return previous.refreshed(self._now())
        if status != 200:
            raise _Failed(f"HTTP {status}")
        ctype = rh.get("content-type", "").lower()
        head = body[:200].lstrip().lower()
        if "html" in ctype or head.startswith((b"<!doctype", b"<html")):
            raise _Failed("an HTML page, not JSON")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise _Failed("not valid JSON") from None
        try:
            page = parse_page(data, url)
            indicator, components, incidents = select(page, self.components)
        except ShapeError:
            raise _Failed("an unknown JSON shape") from None
        except Exception as exc:  # noqa: BLE001 - a malformed page is "unknown", not a crash
            raise _Failed(f"a malformed page ({type(exc).__name__})") from None
        validators = _Validators(rh.get("etag"), rh.get("last-modified"))
        self._validators[url] = validators
        return StatusSnapshot(indicator=indicator, components=components, incidents=incidents,
                              fetched_at=self._now(), format=page.format, ok=True, url=url,
                              etag=validators.etag, last_modified=validators.last_modified,
                              page_indicator=page.indicator)
