"""Team memory (Contract 5): every error kind a team has seen, its notes and corrections.

Pure parts live here — time buckets and rolling windows (``buckets``), sparklines, the values
the command layer renders (``model``), a correction applied to a diagnosis (``recategorize``),
and the team a conversation belongs to (``teams``). The queries are the store's
(``bot.store.memory``); ``bot.service.CoreServices`` runs them off the event loop.
"""

from bot.memory.buckets import DEFAULT_WINDOW, TREND, WINDOWS, Window, parse_window
from bot.memory.model import (
    NOTE_MAX,
    Correction,
    Note,
    Recall,
    TopEntry,
    TopReport,
    Trend,
    check_team,
    clean_fingerprint,
)
from bot.memory.recategorize import CORRECTABLE, recategorize
from bot.memory.sparkline import sparkline
from bot.memory.teams import team_of

__all__ = ["CORRECTABLE", "Correction", "DEFAULT_WINDOW", "NOTE_MAX", "Note", "Recall", "TREND",
           "TopEntry", "TopReport", "Trend", "WINDOWS", "Window", "check_team",
           "clean_fingerprint", "parse_window", "recategorize", "sparkline", "team_of"]
