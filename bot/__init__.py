"""sora-bot core: diagnosis, live status, alerting. Knows no chat platform."""

from bot.commands.reply import Reply
from bot.diagnosis import Diagnosis, diagnose

__version__ = "0.1.0"

__all__ = ["diagnose", "Diagnosis", "Reply", "__version__"]
