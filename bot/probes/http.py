"""The one HTTP seam shared by probes and the status watcher.

Callers may hand in a transport (``httpx.MockTransport``, a loopback-bound transport, a proxy);
each run opens its own ``AsyncClient`` around it so no connection outlives the event loop that
made it, and the borrowed transport is never closed by our client (its owner closes it).

Clients trust the environment (``trust_env=True``): ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
``ALL_PROXY`` and ``NO_PROXY`` apply to probes and to the status page, as they do to curl, so
a bot behind a corporate proxy reaches its targets the way the rest of the host does (httpx
applies them only when no transport is handed in: a borrowed transport is its own route).

``classify`` turns a transport error into one word (``bot.connectivity.FAILURES``): the
own-connectivity rule needs to know whether a request reached an HTTP server at all.
"""

from __future__ import annotations

import errno
import socket
import ssl

import httpx

from bot import connectivity as conn


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
    """A client with an explicit timeout on every phase, no redirects followed silently, and
    the environment's proxy settings honoured."""
    return httpx.AsyncClient(
        transport=None if transport is None else BorrowedTransport(transport),
        timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=True,
        headers={"User-Agent": user_agent})


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first (httpx wraps the OS error twice)."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNABORTED})


def classify(exc: BaseException, *, responded: bool = False) -> str:
    """One word for why a request failed (``responded``: the status line had arrived).

    Order matters: an overall deadline (``TimeoutError``) or a read/write/pool timeout is
    ``timeout`` (connected, no complete answer), a connect timeout is ``connect_timeout``;
    then the cause chain decides — ``socket.gaierror`` is ``dns``, a refused or unreachable
    connect ``refused``, any ``ssl`` error ``tls``, a reset (or a server that hung up) before
    the answer began ``reset``; anything else broken on the wire is ``protocol``.
    """
    if isinstance(exc, httpx.ConnectTimeout):
        return conn.CONNECT_TIMEOUT
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return conn.READ_TIMEOUT
    causes = chain(exc)
    if any(isinstance(e, socket.gaierror) for e in causes):
        return conn.DNS
    if any(isinstance(e, ConnectionRefusedError) for e in causes):
        return conn.REFUSED
    if any(isinstance(e, ssl.SSLError) for e in causes):
        return conn.TLS
    if any(isinstance(e, OSError) and e.errno in _UNREACHABLE for e in causes):
        return conn.REFUSED
    if responded:
        return conn.PROTOCOL  # the answer began, then broke: something did answer
    if any(isinstance(e, (ConnectionResetError, BrokenPipeError)) for e in causes) or \
            isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return conn.RESET
    if isinstance(exc, httpx.ConnectError):
        low = " ".join(str(e) for e in causes).lower()
        if "name or service" in low or "name resolution" in low or "nodename" in low:
            return conn.DNS
        return conn.REFUSED
    return conn.PROTOCOL
