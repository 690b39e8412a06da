"""The official status page: a watcher that reads both formats, and change detection."""

from bot.status_page.model import CHANGE_KINDS, INDICATORS, StatusChange, StatusSnapshot, diff_snapshots
from bot.status_page.watcher import DEFAULT_COMPONENTS, StatusWatcher, candidate_urls

__all__ = ["StatusWatcher", "StatusSnapshot", "StatusChange", "diff_snapshots",
           "candidate_urls", "DEFAULT_COMPONENTS", "INDICATORS", "CHANGE_KINDS"]
