"""The read behind `/sora status`: everything the verdict needs in one short transaction.

Why a dedicated read: status is the hot path (every `/sora status`, every diagnosis in chat), so
it must cost about as much as a trivial select however long the history grows. Each part is an
index seek — the newest snapshot (``ix_status_snapshots_fetched_at``), the newest result per
(target, kind) as one UNION ALL of LIMIT-1 seeks (``ix_probe_results_target_kind_at``), and the
error counts of the window (``ix_error_events_at``) — all on one connection with prebuilt Core
statements, instead of a window function over the whole probe history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import CompoundSelect, bindparam, func, select, union_all

from bot.store.base import StoreBase
from bot.store.models import ErrorEvent, ProbeResult, StatusSnapshot

_PROBE_COLS = (ProbeResult.target, ProbeResult.kind, ProbeResult.ok, ProbeResult.http_status,
               ProbeResult.latency_ms, ProbeResult.category, ProbeResult.at, ProbeResult.failure,
               ProbeResult.detail)
_SNAP_COLS = (StatusSnapshot.fetched_at, StatusSnapshot.ok, StatusSnapshot.indicator,
              StatusSnapshot.components, StatusSnapshot.incidents, StatusSnapshot.failure,
              StatusSnapshot.error)


@dataclass(frozen=True)
class StatusRead:
    snapshot: Any | None                 # row: fetched_at, ok, indicator, components, incidents,
    #                                      failure, error
    probes: tuple[Any, ...]              # newest row per (target, kind), ordered
    error_counts: dict[str, int]


@lru_cache(maxsize=32)
def _latest_probes_stmt(pairs: tuple[tuple[str, str], ...]) -> CompoundSelect[Any]:
    parts = [select(*_PROBE_COLS).where(ProbeResult.target == t, ProbeResult.kind == k)
             .order_by(ProbeResult.at.desc(), ProbeResult.id.desc()).limit(1).subquery()
             for t, k in pairs]
    return union_all(*(select(p) for p in parts))


_SNAP_STMT = select(*_SNAP_COLS).order_by(StatusSnapshot.fetched_at.desc(),
                                          StatusSnapshot.id.desc()).limit(1)


_COUNTS_STMT = (select(ErrorEvent.category, func.count())
                .where(ErrorEvent.at >= bindparam("since", type_=ErrorEvent.__table__.c.at.type))
                .group_by(ErrorEvent.category))


def read_status(store: StoreBase, targets: Sequence[str], kinds: Sequence[str],
                errors_since: datetime) -> StatusRead:
    """Snapshot, newest probe per (target, kind) and error counts, in one transaction."""
    pairs = tuple((t, k) for t in targets for k in kinds)
    order = {pair: i for i, pair in enumerate(pairs)}
    with store.read_connection() as conn:
        snap = conn.execute(_SNAP_STMT).first()
        probes = list(conn.execute(_latest_probes_stmt(pairs))) if pairs else []
        counts = {c: int(n) for c, n in conn.execute(_COUNTS_STMT, {"since": errors_since})}
    probes.sort(key=lambda r: order[(r.target, r.kind)])
    return StatusRead(snapshot=snap, probes=tuple(probes), error_counts=counts)
