"""Logging for operators: one line per event, secrets redacted before anything is written.

Two formats. Text for a person at a terminal; JSON when standard error is not a terminal (a
container, systemd, a log shipper): one object a line with ``ts`` (UTC, ISO 8601, ms),
``level``, ``logger`` and ``message``, plus ``exc_type`` and ``exc`` when an exception is
attached, so log pipelines need no multi-line parsing. ``LOG_FORMAT`` overrides the choice.
Redaction happens before either formatter runs (``RedactingFilter``).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
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


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        from bot.diagnosis.redact import redact

        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
        return json.dumps(entry, ensure_ascii=False, default=str)


def wants_json(fmt: str, stream: TextIO) -> bool:
    """``json``/``text`` as asked; ``auto``: JSON unless ``stream`` is a terminal."""
    if fmt != "auto":
        return fmt == "json"
    isatty = getattr(stream, "isatty", None)
    try:
        return not (callable(isatty) and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return True


def setup_logging(level: str = "INFO", stream: TextIO | None = None, *, file: str | None = None,
                  fmt: str = "text") -> None:
    """Log at ``level`` to ``stream`` (stderr); with ``file``, the full log goes to that file
    and the stream only gets warnings (an interactive terminal chat stays readable).
    ``fmt``: ``text``, ``json`` or ``auto`` (see the module docstring); all handlers share it."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_sora_bot", False):
            root.removeHandler(h)
    console_stream = stream or sys.stderr
    console = logging.StreamHandler(console_stream)
    handlers: list[logging.Handler] = [console]
    if file is not None:
        console.setLevel(logging.WARNING)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    json_lines = wants_json(fmt, console_stream)
    for handler in handlers:
        handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(FORMAT))
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
