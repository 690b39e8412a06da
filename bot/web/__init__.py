"""The web app of ``sora-bot run``: ingest API, /healthz, /metrics, and the mounted Slack route.

    from bot.web import Metrics, WebServer, build_web_app
    metrics = Metrics(store)
    app = build_web_app(store=store, settings=settings, health=scheduler, metrics=metrics,
                        on_events=monitor.feed_error_events, extra_routes=slack_routes)
    server = WebServer(app, host="0.0.0.0", port=settings.PORT); await server.start()
"""

from __future__ import annotations

from bot.web.app import EventsCallback, HealthSource, build_web_app
from bot.web.metrics import Metrics
from bot.web.server import WebServer

__all__ = ["build_web_app", "HealthSource", "EventsCallback", "Metrics", "WebServer"]
