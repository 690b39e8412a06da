"""sora-bot core: diagnosis, live status, alerting. Knows no chat platform.

The public names are loaded lazily so ``import bot.config`` (and the CLI) stay cheap.
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["diagnose", "Diagnosis", "Reply", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("diagnose", "Diagnosis"):
        from bot import diagnosis

        return getattr(diagnosis, name)
    if name == "Reply":
        from bot.commands.reply import Reply

        return Reply
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
