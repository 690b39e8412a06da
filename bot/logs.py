"""Logging for operators: one line per event, secrets redacted before anything is written."""

from __future__ import annotations

import logging
import sys
from typing import TextIO


class RedactingFilter(logging.Filter):
    """Masks secrets in every record (message and args) before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        from bot.diagnosis.redact import redact

        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if redact(str(exc)) != str(exc):
                record.exc_info = None
                record.msg = f"{record.msg} ({type(exc).__name__}: {redact(str(exc))})"
        return True


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str = "INFO", stream: TextIO | None = None, *, file: str | None = None) -> None:
    """Log at ``level`` to ``stream`` (stderr); with ``file``, the full log goes to that file
    and the stream only gets warnings (an interactive terminal chat stays readable)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_sora_bot", False):
            root.removeHandler(h)
    console = logging.StreamHandler(stream or sys.stderr)
    handlers: list[logging.Handler] = [console]
    if file is not None:
        console.setLevel(logging.WARNING)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RedactingFilter())
        handler._sora_bot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # Libraries that log request URLs, headers or chatter at INFO are kept at WARNING.
    lib_level = max(logging.WARNING, root.level)
    for noisy in ("httpx", "httpcore", "apscheduler", "uvicorn", "uvicorn.error", "uvicorn.access",
                  "slack_bolt", "slack_sdk", "discord", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(lib_level)
    # "skipped: maximum number of running instances reached" is the no-overlap rule working
    # (a slow probe round), not a problem; APScheduler logs it at WARNING on every tick.
    logging.getLogger("apscheduler.scheduler").setLevel(max(logging.ERROR, root.level))
    # "PyNaCl is not installed, voice will NOT be supported": the bot has no voice features.
    logging.getLogger("discord.client").setLevel(max(logging.ERROR, root.level))
