"""The one HTTP seam shared by probes and the status watcher.

Callers may hand in a transport (``httpx.MockTransport``, a loopback-bound transport, a proxy);
each run opens its own ``AsyncClient`` around it so no connection outlives the event loop that
made it, and the borrowed transport is never closed by our client (its owner closes it).
"""

from __future__ import annotations

import httpx


class BorrowedTransport(httpx.AsyncBaseTransport):
    """Delegates requests to a caller-owned transport; ``aclose`` leaves it open."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


def make_client(transport: httpx.AsyncBaseTransport | None, timeout: float, *,
                user_agent: str) -> httpx.AsyncClient:
    """A client with an explicit timeout on every phase, no redirects followed silently."""
    return httpx.AsyncClient(
        transport=None if transport is None else BorrowedTransport(transport),
        timeout=httpx.Timeout(timeout), follow_redirects=False,
        headers={"User-Agent": user_agent})
