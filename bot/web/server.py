"""uvicorn inside an event loop the caller owns (``sora-bot run``, tests, the demo).

Why not ``uvicorn.run``: the bot runs the scheduler, adapters and the web app in one loop and
handles SIGTERM itself (graceful shutdown of deliveries), so the server must neither own the loop
nor install signal handlers. The listening socket is bound before ``start`` returns, so the port
is known and connections queue in the backlog at once: nobody has to poll for readiness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 10.0


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn Server that leaves signal handling to its host process."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # uvicorn >= 0.29
        yield


def bind_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening, non-blocking TCP socket (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only
    # when it is, and without it every response waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class WebServer:
    """Serve an ASGI app on ``host:port`` as a task of the running loop.

    >>> server = WebServer(app, host="127.0.0.1", port=0)   # doctest: +SKIP
    >>> await server.start(); server.url                      # doctest: +SKIP
    'http://127.0.0.1:43117'
    """

    def __init__(self, app: Any, *, host: str = "0.0.0.0", port: int = 3000,
                 log_level: str = "warning", shutdown_timeout: float = SHUTDOWN_TIMEOUT_S) -> None:
        self.host = host
        self.requested_port = port
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                log_level=log_level.lower(), lifespan="auto",
                                server_header=False,
                                timeout_graceful_shutdown=max(1, round(shutdown_timeout)))
        self.server = _EmbeddedServer(config)
        self.shutdown_timeout = shutdown_timeout
        self._sock: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("WebServer.start() has not been called")
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    async def start(self) -> int:
        """Bind (errors such as 'address in use' raise here, as OSError) and start serving."""
        self._sock = bind_socket(self.host, self.requested_port)
        self._task = asyncio.create_task(self.server.serve(sockets=[self._sock]),
                                         name=f"web:{self.port}")
        return self.port

    async def stop(self) -> None:
        """Finish in-flight requests (up to the shutdown timeout), then close the socket."""
        if self._task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self.shutdown_timeout + 5)
        except TimeoutError:
            self.server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        finally:
            self._task = None
            if self._sock is not None:
                self._sock.close()

    async def wait(self) -> None:
        """Until the server stops (for a host that runs nothing else)."""
        if self._task is not None:
            await asyncio.shield(self._task)


__all__ = ["WebServer", "bind_socket"]
