"""Outbox queries for the delivery worker (bot.notify): claim, attempt, finish, reconcile.

Claiming is the one place that differs by database: PostgreSQL locks candidate rows with
``FOR UPDATE SKIP LOCKED`` so replicas never wait on or share a row; SQLite (one writer at a
time, BEGIN IMMEDIATE) relies on a compare-and-set UPDATE per row, checked by its rowcount.

Only the head of each channel's queue is claimable (no earlier row of that channel still pending
or sending), so a channel's notices go out in order — an incident's updates never overtake its
'opened' notice — while different channels proceed in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from bot.store.base import StoreBase
from bot.store.models import DETAIL_MAX, DeliveryAttempt, Outbox, UTCDateTime

IN_FLIGHT = ("pending", "sending")


def _blocked() -> Any:
    """True for a row with an earlier row of its channel still pending or being sent."""
    earlier = aliased(Outbox, name="earlier")
    return exists().where(
        earlier.platform == Outbox.platform, earlier.workspace == Outbox.workspace,
        earlier.channel == Outbox.channel, earlier.id < Outbox.id,
        earlier.status.in_(IN_FLIGHT))


# Built once: these run several times a second, and building them costs more than running them.
_AT = bindparam("at", type_=UTCDateTime())
_PLATFORMS: BindParameter[str] = bindparam("platforms", expanding=True)
_CLAIMABLE = (
    select(Outbox)
    .where(Outbox.platform.in_(_PLATFORMS),
           or_(and_(Outbox.status == "pending", Outbox.next_attempt_at <= _AT, ~_blocked()),
               and_(Outbox.status == "sending", Outbox.locked_until < _AT)))
    .order_by(Outbox.id)
)
_SET_CLAIMED = {"status": "sending", "locked_by": bindparam("me"),
                "locked_until": bindparam("until", type_=UTCDateTime())}
_CAS_PENDING = (update(Outbox).where(Outbox.id == bindparam("row_id"),
                                     Outbox.status == "pending")
                .values(**_SET_CLAIMED).execution_options(synchronize_session=False))
_CAS_EXPIRED = (update(Outbox).where(Outbox.id == bindparam("row_id"),
                                     Outbox.status == "sending", Outbox.locked_until < _AT)
                .values(**_SET_CLAIMED).execution_options(synchronize_session=False))
# ORDER BY .. LIMIT 1 (not MIN): walks the (status, next_attempt_at) index and stops at the
# first head-of-channel row instead of testing every pending row.
_NEXT_PENDING = select(Outbox.next_attempt_at).where(
    Outbox.status == "pending", ~_blocked()).order_by(Outbox.next_attempt_at).limit(1)
_NEXT_LEASE = select(Outbox.locked_until).where(Outbox.status == "sending").order_by(
    Outbox.locked_until).limit(1)


class OutboxMixin(StoreBase):
    def claim_outbox(self, worker_id: str, *, platforms: Iterable[str], limit: int = 100,
                     lease_s: float = 60.0,
                     now: datetime | None = None) -> list[tuple[Outbox, bool]]:
        """Claim due rows for ``worker_id``; returns (row, reclaimed) pairs in id order.

        ``reclaimed`` is True for a row taken over from a worker whose lease ran out (it may
        have crashed mid-send): the caller must reconcile before sending it again.
        """
        at = now or self.now()
        platforms = list(platforms)
        if not platforms or limit <= 0:
            return []
        stmt = _CLAIMABLE.limit(limit).with_for_update(skip_locked=True, of=Outbox)
        until = at + timedelta(seconds=lease_s)
        claimed: list[tuple[Outbox, bool]] = []
        with self._tx() as s:
            for row in list(s.scalars(stmt, {"at": at, "platforms": platforms})):
                reclaimed = row.status == "sending"
                cas = _CAS_EXPIRED if reclaimed else _CAS_PENDING
                won = self._affected(s, cas, {"row_id": row.id, "me": worker_id, "until": until,
                                      "at": at})
                if won == 1:
                    set_committed_value(row, "status", "sending")
                    set_committed_value(row, "locked_by", worker_id)
                    set_committed_value(row, "locked_until", until)
                    claimed.append((row, reclaimed))
        return claimed

    def last_attempt(self, outbox_id: int) -> DeliveryAttempt | None:
        with self._tx(read_only=True) as s:
            return s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.outbox_id == outbox_id)
                             .order_by(DeliveryAttempt.id.desc()).limit(1)).first()

    def attempts_of(self, outbox_id: int) -> list[DeliveryAttempt]:
        with self._tx(read_only=True) as s:
            return list(s.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.outbox_id == outbox_id).order_by(DeliveryAttempt.id)))

    def thread_parent(self, incident_id: int, platform: str, workspace: str,
                      channel: str) -> str | None:
        """Message id of the incident's sent 'opened' notice in that channel (to reply under)."""
        with self._tx(read_only=True) as s:
            return s.scalars(select(Outbox.platform_message_id).where(
                Outbox.incident_id == incident_id, Outbox.platform == platform,
                Outbox.workspace == workspace, Outbox.channel == channel,
                Outbox.notice_kind == "opened", Outbox.status == "sent")).first()

    def begin_attempt(self, outbox_id: int, worker_id: str, *, thread_id: str | None = None,
                      now: datetime | None = None) -> int | None:
        """Record (and commit) an attempt BEFORE the sink is called; None if the lease was lost.

        An attempt left with ``finished_at`` NULL means "maybe sent": whoever picks the row up
        next asks the sink whether the message exists before sending again.
        """
        at = now or self.now()
        with self._tx() as s:
            won = self._affected(s, update(Outbox).where(
                Outbox.id == outbox_id, Outbox.status == "sending", Outbox.locked_by == worker_id)
                .values(attempts=Outbox.attempts + 1, thread_id=thread_id)
                .execution_options(synchronize_session=False))
            if won != 1:
                return None
            attempt = DeliveryAttempt(outbox_id=outbox_id, started_at=at)
            s.add(attempt)
            s.flush()
            return attempt.id

    def _finish(self, outbox_id: int, worker_id: str, attempt_id: int | None,
                attempt_values: dict[str, object], *,
                also: Callable[[Session], None] | None = None, **row_values: object) -> bool:
        with self._tx() as s:
            won = self._affected(s, update(Outbox).where(
                Outbox.id == outbox_id, Outbox.status == "sending", Outbox.locked_by == worker_id)
                .values(locked_by=None, locked_until=None, **row_values)
                .execution_options(synchronize_session=False))
            if attempt_id is not None and attempt_values:
                s.execute(update(DeliveryAttempt).where(DeliveryAttempt.id == attempt_id)
                          .values(**attempt_values)
                          .execution_options(synchronize_session=False))
            if won == 1 and also is not None:
                also(s)
        return won == 1

    def mark_sent(self, outbox_id: int, worker_id: str, *, message_id: str,
                  thread_id: str | None = None, attempt_id: int | None = None,
                  reason: str | None = None, now: datetime | None = None,
                  channel_interval_s: float = 0.0) -> bool:
        """The notice is delivered (or was found delivered); False if the lease was lost.

        ``channel_interval_s`` paces the channel: its next pending row is not due before
        ``now + interval`` (Slack allows about one message per second per channel), so the
        worker does not provoke a 429 it could foresee.
        """
        at = now or self.now()
        values: dict[str, object] = {"status": "sent", "platform_message_id": message_id,
                                     "sent_at": at, "last_error": reason}
        if thread_id is not None:
            values["thread_id"] = thread_id
        not_before = at + timedelta(seconds=channel_interval_s)

        def pace(s: Session) -> None:
            sent = s.get(Outbox, outbox_id)
            assert sent is not None
            s.execute(update(Outbox).where(
                Outbox.platform == sent.platform, Outbox.workspace == sent.workspace,
                Outbox.channel == sent.channel, Outbox.status == "pending",
                Outbox.next_attempt_at < not_before)
                .values(next_attempt_at=not_before)
                .execution_options(synchronize_session=False))

        return self._finish(outbox_id, worker_id, attempt_id,
                            {"finished_at": at, "outcome": "sent",
                             "platform_message_id": message_id},
                            also=pace if channel_interval_s > 0 else None, **values)

    def mark_retry(self, outbox_id: int, worker_id: str, *, next_attempt_at: datetime,
                   error: str, attempt_id: int | None = None, maybe_sent: bool = False,
                   refund: bool = False, now: datetime | None = None) -> bool:
        """Back to pending until ``next_attempt_at``.

        ``maybe_sent`` leaves the attempt's finished_at NULL (an ambiguous failure such as a
        timeout: reconcile before resending); ``refund`` does not count the attempt toward the
        dead-letter bound (the platform said "rate limited", so nothing was wrong with it).
        """
        at = now or self.now()
        attempt: dict[str, object] = {"outcome": "retry", "error": error[:DETAIL_MAX]}
        if not maybe_sent:
            attempt["finished_at"] = at
        row: dict[str, object] = {"status": "pending", "next_attempt_at": next_attempt_at,
                                  "last_error": error[:DETAIL_MAX]}
        if refund and attempt_id is not None:
            row["attempts"] = func.max(Outbox.attempts - 1, 0) if self.dialect == "sqlite" \
                else func.greatest(Outbox.attempts - 1, 0)
        return self._finish(outbox_id, worker_id, attempt_id, attempt, also=None, **row)

    def mark_dead(self, outbox_id: int, worker_id: str, *, error: str,
                  attempt_id: int | None = None, now: datetime | None = None) -> bool:
        at = now or self.now()
        return self._finish(outbox_id, worker_id, attempt_id,
                            {"finished_at": at, "outcome": "dead", "error": error[:DETAIL_MAX]},
                            status="dead", last_error=error[:DETAIL_MAX])

    def mark_suppressed(self, outbox_id: int, worker_id: str, *, reason: str) -> bool:
        """Final: the notice was not sent on purpose (e.g. the channel is muted), with why."""
        return self._finish(outbox_id, worker_id, None, {}, status="suppressed",
                            last_error=reason[:DETAIL_MAX])

    def release_claims(self, worker_id: str) -> int:
        """Give back rows this worker claimed but never started sending (graceful shutdown).

        Rows with an attempt in flight stay claimed; after the lease they are reconciled.
        """
        started = exists().where(DeliveryAttempt.outbox_id == Outbox.id,
                                 DeliveryAttempt.finished_at.is_(None))
        with self._tx() as s:
            return self._affected(s, update(Outbox).where(
                Outbox.status == "sending", Outbox.locked_by == worker_id, ~started)
                .values(status="pending", locked_by=None, locked_until=None)
                .execution_options(synchronize_session=False))

    # -- views for operators, metrics and tests -------------------------------------------

    def outbox_counts(self) -> dict[str, int]:
        with self._tx(read_only=True) as s:
            return {status: int(n) for status, n in s.execute(
                select(Outbox.status, func.count()).group_by(Outbox.status))}

    def outbox_pending_count(self) -> int:
        """Rows not yet delivered nor given up on (pending or being sent): the outbox depth."""
        with self._tx(read_only=True) as s:
            return int(s.scalar(select(func.count()).select_from(Outbox).where(
                Outbox.status.in_(IN_FLIGHT))) or 0)

    def outbox_rows(self, *, incident_id: int | None = None, status: str | None = None,
                    limit: int | None = None) -> list[Outbox]:
        stmt = select(Outbox).order_by(Outbox.id)
        if incident_id is not None:
            stmt = stmt.where(Outbox.incident_id == incident_id)
        if status is not None:
            stmt = stmt.where(Outbox.status == status)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._tx(read_only=True) as s:
            return list(s.scalars(stmt))

    def next_outbox_due(self, platforms: Iterable[str] | None = None) -> datetime | None:
        """When the next row becomes claimable: the earliest due time of a channel's head row,
        or the end of a lease; None if nothing is waiting."""
        pending, leased = _NEXT_PENDING, _NEXT_LEASE
        params: dict[str, object] = {}
        if platforms is not None:
            pending = pending.where(Outbox.platform.in_(_PLATFORMS))
            leased = leased.where(Outbox.platform.in_(_PLATFORMS))
            params["platforms"] = list(platforms)
        with self._tx(read_only=True) as s:
            times = [s.scalar(pending, params), s.scalar(leased, params)]
        present = [t for t in times if t is not None]
        return min(present) if present else None
