"""Storage: SQLAlchemy 2 models, Alembic migrations shipped in this package, and the Store.

    store = open_store(settings.DATABASE_URL)   # StoreError (one line) if bad or unreachable
    store.upgrade()                             # or store.check_schema()
    store.add_probe_result(target="openai", kind="auth", ok=True, http_status=200, ...)
"""

from bot.store.db import head_revision, mask_url
from bot.store.evidence import NewErrorEvent
from bot.store.incidents import (
    SUBSCRIPTION_WANTS,
    IncidentAlreadyOpen,
    IncidentNotOpen,
    dedupe_key,
    notice_payload,
)
from bot.store.models import (
    Base,
    Budget,
    ChannelSetting,
    DeliveryAttempt,
    ErrorEvent,
    Incident,
    IncidentEvent,
    JobRun,
    Mute,
    Outbox,
    ProbeResult,
    StatusSnapshot,
    Subscription,
)
from bot.store.store import Store, open_store

__all__ = [
    "Base", "Budget", "ChannelSetting", "DeliveryAttempt", "ErrorEvent", "Incident",
    "IncidentAlreadyOpen", "IncidentEvent", "IncidentNotOpen", "JobRun", "Mute",
    "NewErrorEvent", "Outbox", "ProbeResult", "SUBSCRIPTION_WANTS", "StatusSnapshot", "Store",
    "Subscription", "dedupe_key", "head_revision", "mask_url", "notice_payload", "open_store",
]
