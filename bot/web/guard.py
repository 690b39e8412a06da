"""The last resort of the web app: no request ever gets a traceback or a dropped connection.

Why a middleware of our own: Starlette's ``ServerErrorMiddleware`` answers an unhandled
exception with a 500 and then *re-raises* it, so uvicorn logs a full traceback ("Exception in
ASGI application") and closes the keep-alive connection. Bad input is turned into a 4xx where
it is parsed (``bot.web.ingest``); this guard is for the bug nobody foresaw: it answers
``500 {"error": "internal error"}``, logs one line naming the exception, the method and the
path, and returns normally, so the client's connection stays open.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("bot.web")

_BODY = json.dumps({"error": "internal error"}).encode()


class LastResort:
    """Pure ASGI middleware: catches every exception of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the point of this class
            # One line, no traceback, no exception text (it may quote the request body).
            log.error("web: unhandled %s on %s %s%s", type(exc).__name__, scope.get("method"),
                      scope.get("path"), " (after the response started)" if started else "")
            if started:
                return
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(_BODY)).encode())]})
            await send({"type": "http.response.body", "body": _BODY})


__all__ = ["LastResort"]
