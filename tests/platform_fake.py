"""What the loopback platform fakes (Slack, Discord) share: call recording, failure injection,
"the platform said no" bookkeeping, and waiting without sleeps.

Both fakes run an aiohttp server on the test's own event loop (127.0.0.1, port 0) and are used
the same way:

- ``fake.calls`` / ``fake.calls_to(name)``: every request, in order (``name`` is the Slack Web
  API method or the Discord route name);
- ``fake.fail(name, status=..., error=..., retry_after=..., times=..., applied=..., omit=...)``:
  the next ``times`` calls of ``name`` fail this way (``applied``: do the work, then answer with
  the failure, a lost answer; ``omit``: answer success without these fields, a malformed answer);
- ``fake.rejections``: every request the fake refused *on its own* (a platform rule broken:
  invalid blocks, an invalid form body, a second ack…), as opposed to failures a test injected.
  The fixtures assert it is empty after each test, so a test passes only if the code under test
  sent nothing the platform would refuse; a test that provokes a refusal on purpose takes it
  with ``fake.take_rejections()``. Bad credentials are not counted: tests use them on purpose.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


@dataclass
class Call:
    """One request a fake received."""

    name: str  # Slack method ("chat.postMessage") or Discord route ("create_message")
    http_method: str
    path: str
    query: dict[str, str]
    body: Any  # the parsed body (JSON, or a form as a dict)
    raw: bytes
    auth: str | None  # the Authorization header as sent
    token: str | None = None  # the credential in it (scheme stripped)
    params: dict[str, str] = field(default_factory=dict)  # path parameters
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Failure:
    status: int = 200
    error: str | int | None = None  # Slack error code / Discord JSON error code
    message: str | None = None
    retry_after: float | None = None
    header_retry_after: str | None = None
    is_global: bool = False
    applied: bool = False  # do the work, then answer with the failure (a lost response)
    omit: tuple[str, ...] = ()  # answer success without these fields (a malformed answer)


@dataclass(frozen=True)
class Rejection:
    """A request the platform would refuse, and what the fake answered."""

    name: str
    error: str  # e.g. "invalid_blocks", "50035 Invalid Form Body"
    detail: str = ""


class PlatformFake:
    """Base of the loopback fakes: an aiohttp app on 127.0.0.1:0 plus the shared bookkeeping."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.rejections: list[Rejection] = []
        self._failures: dict[str, list[Failure]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Life cycle -------------------------------------------------------------------------------

    def build_app(self) -> web.Application:  # pragma: no cover - each fake has its routes
        raise NotImplementedError

    async def start(self: T) -> T:
        fake: Any = self
        fake._runner = web.AppRunner(fake.build_app(), access_log=None)
        await fake._runner.setup()
        site = web.TCPSite(fake._runner, "127.0.0.1", 0)
        await site.start()
        fake.port = site._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # Failure injection ------------------------------------------------------------------------

    def fail(self, name: str, *, status: int = 200, error: str | int | None = None,
             message: str | None = None, retry_after: float | None = None,
             header_retry_after: str | None = None, is_global: bool = False,
             applied: bool = False, omit: tuple[str, ...] | str = (), times: int = 1) -> None:
        """Make the next ``times`` calls of ``name`` fail this way."""
        omitted = (omit,) if isinstance(omit, str) else tuple(omit)
        if omitted:
            applied = True  # a malformed success: the work was done
        f = Failure(status, error, message, retry_after, header_retry_after, is_global, applied,
                    omitted)
        self._failures.setdefault(name, []).extend([f] * times)

    def take_failure(self, name: str) -> Failure | None:
        pending = self._failures.get(name)
        return pending.pop(0) if pending else None

    # Rejections -------------------------------------------------------------------------------

    def reject(self, name: str, error: str, detail: str = "") -> None:
        self.rejections.append(Rejection(name, error, detail))

    def take_rejections(self) -> list[Rejection]:
        out, self.rejections = self.rejections, []
        return out

    def assert_no_rejections(self) -> None:
        assert not self.rejections, ("the platform would have refused: "
                                     + "; ".join(f"{r.name}: {r.error} {r.detail}".strip()
                                                 for r in self.rejections))

    # Reading what was sent --------------------------------------------------------------------

    def calls_to(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def received_text(self) -> str:
        """Everything the fake was sent (paths, queries, bodies), for "no secret anywhere"."""
        return "\n".join(f"{c.path} {json.dumps(c.query)} {c.raw.decode('utf-8', 'replace')}"
                         for c in self.calls)

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy (re-checked whenever the fake's state changes)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
        return predicate()

    async def wait_calls(self, name: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        await self.wait_for(lambda: len(self.calls_to(name)) >= count, timeout)
        return self.calls_to(name)

    async def notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
