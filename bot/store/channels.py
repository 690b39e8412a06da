"""Channel-side state (subscriptions, mutes, per-channel settings) and job bookkeeping,
including the scheduler lease of PostgreSQL replicas (its rules: bot.scheduler.lease)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, text, update

from bot.store.base import StoreBase, check_platform, check_value
from bot.store.models import (
    DETAIL_MAX,
    SUBSCRIPTION_KINDS,
    Budget,
    ChannelSetting,
    JobRun,
    Mute,
    SchedulerLease,
    Subscription,
)

CHANNEL_KEY = ("platform", "workspace", "channel")


class ChannelsMixin(StoreBase):
    # -- subscriptions --------------------------------------------------------------------

    def subscribe(self, platform: str, workspace: str, channel: str, kinds: str = "all",
                  by: str | None = None) -> Subscription:
        """Subscribe a channel to notices of ``kinds``; subscribing again changes the kinds."""
        check_platform(platform)
        check_value("kinds", kinds, SUBSCRIPTION_KINDS)
        now = self.now()
        stmt = self._insert(Subscription).values(
            platform=platform, workspace=workspace, channel=channel, kinds=kinds, created_by=by,
            created_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=list(CHANNEL_KEY),
                                          set_={"kinds": stmt.excluded.kinds})
        with self._tx() as s:
            s.execute(stmt)
            return s.scalars(select(Subscription).where(
                Subscription.platform == platform, Subscription.workspace == workspace,
                Subscription.channel == channel)).one()

    def unsubscribe(self, platform: str, workspace: str, channel: str) -> bool:
        """Remove a channel's subscription; False if it had none."""
        with self._tx() as s:
            return self._affected(s, delete(Subscription).where(
                Subscription.platform == platform, Subscription.workspace == workspace,
                Subscription.channel == channel)) > 0

    def get_subscription(self, platform: str, workspace: str,
                         channel: str) -> Subscription | None:
        with self._tx(read_only=True) as s:
            return s.scalars(select(Subscription).where(
                Subscription.platform == platform, Subscription.workspace == workspace,
                Subscription.channel == channel)).first()

    def list_subscriptions(self, platform: str | None = None) -> list[Subscription]:
        stmt = select(Subscription).order_by(Subscription.id)
        if platform is not None:
            stmt = stmt.where(Subscription.platform == platform)
        with self._tx(read_only=True) as s:
            return list(s.scalars(stmt))

    # -- mutes ----------------------------------------------------------------------------

    def mute(self, platform: str, workspace: str, channel: str, until: datetime,
             by: str | None = None) -> Mute:
        """Mute a channel until ``until`` (replaces any earlier mute of that channel)."""
        check_platform(platform)
        now = self.now()
        stmt = self._insert(Mute).values(platform=platform, workspace=workspace, channel=channel,
                                         until=until, created_by=by, created_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(CHANNEL_KEY),
            set_={"until": stmt.excluded.until, "created_by": stmt.excluded.created_by,
                  "created_at": stmt.excluded.created_at})
        with self._tx() as s:
            s.execute(stmt)
            return s.scalars(select(Mute).where(
                Mute.platform == platform, Mute.workspace == workspace,
                Mute.channel == channel)).one()

    def unmute(self, platform: str, workspace: str, channel: str) -> bool:
        with self._tx() as s:
            return self._affected(s, delete(Mute).where(
                Mute.platform == platform, Mute.workspace == workspace,
                Mute.channel == channel)) > 0

    def active_mute(self, platform: str, workspace: str, channel: str,
                    now: datetime | None = None) -> Mute | None:
        """The channel's mute if it is still running at ``now`` (default: the store's clock)."""
        at = now or self.now()
        with self._tx(read_only=True) as s:
            return s.scalars(select(Mute).where(
                Mute.platform == platform, Mute.workspace == workspace, Mute.channel == channel,
                Mute.until > at)).first()

    def active_mutes(self, now: datetime | None = None) -> dict[tuple[str, str, str], Mute]:
        """Every mute still running at ``now``, keyed by (platform, workspace, channel)."""
        at = now or self.now()
        with self._tx(read_only=True) as s:
            return {(m.platform, m.workspace, m.channel): m
                    for m in s.scalars(select(Mute).where(Mute.until > at))}

    # -- per-channel settings -------------------------------------------------------------

    def set_channel_setting(self, platform: str, workspace: str, channel: str, *,
                            paste_detection: bool | None = None,
                            count_pastes: bool | None = None) -> ChannelSetting:
        """Change one or both switches; the other keeps its value (default true)."""
        check_platform(platform)
        with self._tx() as s:
            row = s.get(ChannelSetting, (platform, workspace, channel))
            if row is None:
                row = ChannelSetting(platform=platform, workspace=workspace, channel=channel,
                                     paste_detection=True, count_pastes=True)
                s.add(row)
            if paste_detection is not None:
                row.paste_detection = paste_detection
            if count_pastes is not None:
                row.count_pastes = count_pastes
        return row

    def channel_settings(self, platform: str, workspace: str, channel: str) -> ChannelSetting:
        """The channel's settings; defaults (everything on) for a channel never configured."""
        with self._tx(read_only=True) as s:
            row = s.get(ChannelSetting, (platform, workspace, channel))
        return row or ChannelSetting(platform=platform, workspace=workspace, channel=channel,
                                     paste_detection=True, count_pastes=True)

    # -- jobs and budgets -----------------------------------------------------------------

    def record_job_run(self, name: str, ok: bool, error: str | None = None, *,
                       started_at: datetime | None = None) -> JobRun:
        """Record that a job ran (for /healthz "last successful poll" ages)."""
        now = self.now()
        with self._tx() as s:
            row = s.get(JobRun, name)
            if row is None:
                row = JobRun(name=name)
                s.add(row)
            row.last_started_at = started_at or now
            if ok:
                row.last_success_at = now
                row.last_error = None
            else:
                row.last_error = (error or "failed")[:DETAIL_MAX]
        return row

    def job_runs(self) -> dict[str, JobRun]:
        with self._tx(read_only=True) as s:
            return {row.name: row for row in s.scalars(select(JobRun).order_by(JobRun.name))}

    def take_budget(self, name: str, day: str, cap: int) -> bool:
        """Use one unit of a daily budget; False (and nothing used) when the cap is reached.

        Atomic across processes: the increment is conditional on ``used < cap`` in one UPDATE.
        """
        if cap <= 0:
            return False
        with self._tx() as s:
            s.execute(self._insert(Budget).values(day=day, name=name, used=0)
                      .on_conflict_do_nothing(index_elements=["day", "name"]))
            taken = self._affected(s, update(Budget).where(
                Budget.day == day, Budget.name == name, Budget.used < cap)
                .values(used=Budget.used + 1))
        return taken == 1

    def budget_used(self, name: str, day: str) -> int:
        with self._tx(read_only=True) as s:
            row = s.get(Budget, (day, name))
        return row.used if row else 0

    # -- the scheduler lease (PostgreSQL; times from the database's own clock) ------------

    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> int | None:
        """Take the lease if it is free (expired) or already ours; a new term every time.

        Returns the term, or None when another holder's lease is still running.
        """
        stmt = text(
            "INSERT INTO scheduler_lease (name, holder, term, expires_at, acquired_at) "
            "VALUES (:name, :holder, 1, now() + make_interval(secs => :ttl), now()) "
            "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
            "term = scheduler_lease.term + 1, expires_at = EXCLUDED.expires_at, "
            "acquired_at = EXCLUDED.acquired_at "
            "WHERE scheduler_lease.expires_at <= now() "
            "OR scheduler_lease.holder = EXCLUDED.holder RETURNING term")
        with self._tx() as s:
            term = s.execute(stmt, {"name": name, "holder": holder, "ttl": ttl_s}).scalar()
        return None if term is None else int(term)

    def renew_lease(self, name: str, holder: str, term: int, ttl_s: float) -> bool:
        """Extend our running lease by ``ttl_s`` from now; False if it ran out or changed
        hands (then the leadership is over, even if nobody took it yet)."""
        stmt = text(
            "UPDATE scheduler_lease SET expires_at = now() + make_interval(secs => :ttl) "
            "WHERE name = :name AND holder = :holder AND term = :term AND expires_at > now()")
        with self._tx() as s:
            return self._affected(s, stmt, {"name": name, "holder": holder, "term": term,
                                            "ttl": ttl_s}) == 1

    def release_lease(self, name: str, holder: str, term: int) -> bool:
        """End our lease now (graceful shutdown), so another replica takes over at once."""
        stmt = text("UPDATE scheduler_lease SET expires_at = now() "
                    "WHERE name = :name AND holder = :holder AND term = :term")
        with self._tx() as s:
            return self._affected(s, stmt, {"name": name, "holder": holder,
                                            "term": term}) == 1

    def lease(self, name: str) -> SchedulerLease | None:
        with self._tx(read_only=True) as s:
            return s.get(SchedulerLease, name)
