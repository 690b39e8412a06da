"""Team memory's queries: remember events, notes, corrections, ``top`` and the status trend.

Every method names its team and touches nothing of another's. A chat paste is one write
transaction that does everything its reply needs: the team error stream's row
(``error_events``), the memory row beside it, every counter, and the read-back of the kind
(count, first and last seen, correction, newest notes). Reads (``top``, ``trend``) are index
seeks over the precomputed counters (``bot/memory/buckets.py``), never a scan of events.

Windows roll lazily: a write, or a ``top`` that finds its window behind, first subtracts the
buckets that left the window. The team's roll rows are locked while that happens (``FOR
UPDATE`` on PostgreSQL; SQLite has one writer), so replicas never subtract a bucket twice. The
retention job rolls every team before it prunes old buckets (``prune_memory``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Row,
    String,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)

from bot.clock import as_utc
from bot.memory.buckets import (
    SPANS,
    TEAM_TOTAL,
    TREND,
    WINDOWS,
    Window,
    binned,
    bucket_start,
    epoch,
    from_epoch,
    spark_range,
    window_low,
)
from bot.memory.model import NOTE_MAX, Correction, Note, Recall, TopEntry, TopReport, Trend
from bot.store.base import StoreBase, dialect_insert
from bot.store.evidence import NewErrorEvent, error_event_values
from bot.store.models import (
    REDACTED_MAX,
    ErrorEvent,
    MemoryBucket,
    MemoryCorrection,
    MemoryEvent,
    MemoryKind,
    MemoryNote,
    MemoryRoll,
    MemoryWindow,
)

NOTES_SHOWN = 3  # newest notes on a diagnosis; ``/sora note <fp>`` lists more
NOTES_LISTED = 20
TOP_LIMIT = 10
# Spans the team-wide counter (fingerprint ``*``) is kept in: the status trend (minutes) and
# the windows' totals (their roll spans).
TEAM_SPANS = tuple(dict.fromkeys((TREND.spark, *(w.roll for w in WINDOWS.values()))))

Event = NewErrorEvent | Mapping[str, Any]


@dataclass(frozen=True)
class _Seen:
    at: int
    fingerprint: str
    category: str
    sample: str


def _notes(rows: Sequence[Row[str, datetime, str, int]]) -> tuple[tuple[Note, ...], int]:
    """Note rows (author, at, text, total) → the notes and how many the kind has."""
    notes = tuple(Note(author=author, at=at, text=text) for author, at, text, _ in rows)
    return notes, int(rows[0][3]) if rows else 0


@dataclass(frozen=True)
class _Statements:
    """The hot path's statements, built once per dialect: executed with parameter lists, they
    compile once and are served from SQLAlchemy's cache (a paste is one short transaction)."""

    event: Any
    memory_event: Any
    kind: Any
    bucket: Any
    window: Any
    lows_locked: Any
    create_rolls: Any
    head: Any
    before: Any
    notes: Any
    count_note: Any


@lru_cache(maxsize=4)
def _statements(dialect: str) -> _Statements:
    team: BindParameter[str] = bindparam("team", type_=String())
    fp: BindParameter[str] = bindparam("fingerprint", type_=String())
    kind = dialect_insert(dialect, MemoryKind)
    new = kind.excluded
    k = MemoryKind.__table__.c
    newer = new.last_seen >= k.last_seen
    kind = kind.on_conflict_do_update(
        index_elements=["team", "fingerprint"],
        set_={"count": k.count + new.count,
              "first_seen": case((new.first_seen < k.first_seen, new.first_seen),
                                 else_=k.first_seen),
              "last_seen": case((newer, new.last_seen), else_=k.last_seen),
              "category": case((newer, new.category), else_=k.category),
              "sample": case((newer, new.sample), else_=k.sample)})

    def add_counts(table: type[MemoryBucket] | type[MemoryWindow], keys: list[str]) -> Any:
        ins = dialect_insert(dialect, table)
        return ins.on_conflict_do_update(index_elements=keys,
                                         set_={"count": table.count + ins.excluded.count})

    lows = select(MemoryRoll.window, MemoryRoll.low).where(MemoryRoll.team == team)
    corrections = MemoryCorrection.__table__.c
    known = (k.count.label("n"), k.first_seen, k.last_seen, k.notes, corrections.category,
             corrections.was, corrections.by, corrections.at)
    r = MemoryRoll.__table__.c
    # A write's first statement: the team's roll rows (locked: replicas never roll a window
    # twice) with what the team knows of the kind, in one round trip.
    head = (select(r.window, r.low, *known).select_from(
                MemoryRoll.__table__
                .outerjoin(MemoryKind.__table__, (k.team == r.team) & (k.fingerprint == fp))
                .outerjoin(MemoryCorrection.__table__,
                           (corrections.team == r.team) & (corrections.fingerprint == fp)))
            .where(r.team == team))
    if dialect == "postgresql":
        head = head.with_for_update(of=MemoryRoll.__table__)
    return _Statements(
        event=insert(ErrorEvent).returning(ErrorEvent.id, sort_by_parameter_order=True),
        memory_event=insert(MemoryEvent),
        kind=kind,
        bucket=add_counts(MemoryBucket, ["team", "fingerprint", "span", "start"]),
        window=add_counts(MemoryWindow, ["team", "window", "fingerprint"]),
        lows_locked=lows.with_for_update() if dialect == "postgresql" else lows,
        create_rolls=dialect_insert(dialect, MemoryRoll).on_conflict_do_nothing(),
        head=head,
        before=(select(*known)
                .select_from(MemoryKind.__table__.outerjoin(
                    MemoryCorrection.__table__, (corrections.team == k.team)
                    & (corrections.fingerprint == k.fingerprint)))
                .where(k.team == team, k.fingerprint == fp)),
        # (an UPDATE may not bind parameters named like its columns)
        count_note=(update(MemoryKind).where(MemoryKind.team == bindparam("of_team"),
                                             MemoryKind.fingerprint == bindparam("of_kind"))
                    .values(notes=MemoryKind.notes + 1)),
        notes=(select(MemoryNote.author, MemoryNote.at, MemoryNote.text,
                      func.count().over().label("total"))
               .where(MemoryNote.team == team, MemoryNote.fingerprint == fp)
               .order_by(MemoryNote.at.desc(), MemoryNote.id.desc()).limit(NOTES_SHOWN)),
    )


def _read_statements() -> tuple[Any, ...]:
    """``top`` and ``trend``: prebuilt, dialect-free reads (bound parameters only)."""
    team = bindparam("team", type_=String())
    window = bindparam("window", type_=String())
    w, k, c, b = MemoryWindow, MemoryKind, MemoryCorrection, MemoryBucket
    low = select(MemoryRoll.low).where(MemoryRoll.team == team, MemoryRoll.window == window)
    ranked = (select(w.fingerprint, w.count.label("n"), k.category, k.first_seen, k.last_seen,
                     c.category.label("corrected"), k.notes)
              .join(k, (k.team == w.team) & (k.fingerprint == w.fingerprint))
              .outerjoin(c, (c.team == w.team) & (c.fingerprint == w.fingerprint))
              .where(w.team == team, w.window == window)
              .order_by(w.count.desc(), w.fingerprint).limit(bindparam("limit")))
    total = select(func.sum(b.count)).where(b.team == team, b.fingerprint == TEAM_TOTAL,
                                            b.span == bindparam("roll"),
                                            b.start >= bindparam("low"))
    buckets = select(b.fingerprint, b.start, b.count).where(
        b.team == team, b.fingerprint.in_(bindparam("fps", expanding=True)),
        b.span == bindparam("spark"), b.start >= bindparam("start"))
    team_buckets = select(b.start, b.count).where(
        b.team == team, b.fingerprint == TEAM_TOTAL, b.span == bindparam("span"),
        b.start >= bindparam("start"))
    return low, ranked, total, buckets, team_buckets


_TOP_LOW, _TOP_RANKED, _TOP_TOTAL, _TOP_BUCKETS, _TEAM_BUCKETS = _read_statements()


class MemoryMixin(StoreBase):
    # -- writing ---------------------------------------------------------------------------

    @property
    def _sql(self) -> _Statements:
        return _statements(self.dialect)

    def remember(self, team: str, event: Event, *, author: str | None = None,
                 record: bool = True) -> Recall:
        """Remember one chat event and say what the team knows about its kind.

        ``record=False`` (counting is off where it was pasted): nothing is written, the
        answer is what the team knew before."""
        row = error_event_values(event, self.now())
        fingerprint = row["fingerprint"] or ""
        key = {"team": team, "fingerprint": fingerprint}
        sql = self._sql
        with self._tx(read_only=not record) as s:
            conn = s.connection()
            lows: dict[str, int] | None = None
            if record:
                head = conn.execute(sql.head, key).all()
                lows = {h.window: int(h.low) for h in head} or None
                before = head[0] if head else conn.execute(sql.before, key).first()
            else:
                before = conn.execute(sql.before, key).first()
            count, first, last, noted = 0, None, None, 0
            if before is not None and before.n is not None:  # the team has seen the kind
                count, noted = int(before.n), int(before.notes)
                first, last = from_epoch(before.first_seen), from_epoch(before.last_seen)
            if record:
                self._write(conn, team, [row], [author], lows=lows)
                count += 1
                at = from_epoch(epoch(row["at"]))
                first = min(first, at) if first is not None else at
            shown, total = _notes(conn.execute(sql.notes, key).all()) if noted else ((), 0)
        correction = None
        if before is not None and before.category is not None:
            correction = Correction(category=before.category, was=before.was, by=before.by,
                                    at=before.at)
        return Recall(fingerprint=fingerprint, count=count, first_seen=first, last_seen=last,
                      counted=record, notes=shown, notes_total=total, correction=correction)

    def remember_batch(self, team: str, events: Sequence[Event]) -> int:
        """Store a batch of team events (the ingest API) in the team error stream and in the
        team's memory, in one transaction: all of them or none."""
        now = self.now()
        rows = [error_event_values(e, now) for e in events]
        if rows:
            with self._tx() as s:
                self._write(s.connection(), team, rows, [None] * len(rows))
        return len(rows)

    def remember_ingest(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Events of several requests, each naming its ``team`` (the ingest API's group
        commit): the stream and every team's memory in one transaction, all or none."""
        now = self.now()
        by_team: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in events:
            by_team[str(event["team"])].append(error_event_values(event, now))
        if by_team:
            with self._tx() as s:
                for team, rows in by_team.items():
                    self._write(s.connection(), team, rows, [None] * len(rows))
        return sum(len(rows) for rows in by_team.values())

    def _write(self, conn: Connection, team: str, rows: Sequence[dict[str, Any]],
               authors: Sequence[str | None], *, lows: dict[str, int] | None = None) -> None:
        """Error-event values → the stream, the memory rows and every counter. ``lows``: the
        team's roll rows when the caller already read (and locked) them."""
        sql = self._sql
        lows = self._rolled(conn, team, epoch(self.now()), lows)
        ids = conn.execute(sql.event, list(rows)).scalars().all()
        seen = [_Seen(epoch(r["at"]), r["fingerprint"] or "", r["category"], r["redacted"] or "")
                for r in rows]
        conn.execute(sql.memory_event, [
            {"event_id": i, "team": team, "fingerprint": e.fingerprint,
             "author": a[:100] if a else None} for i, e, a in zip(ids, seen, authors, strict=True)])
        kinds: dict[str, dict[str, Any]] = {}
        buckets: dict[tuple[str, str, int], int] = defaultdict(int)
        windows: dict[tuple[str, str], int] = defaultdict(int)
        for e in seen:
            k = kinds.get(e.fingerprint)
            if k is None:
                kinds[e.fingerprint] = {"team": team, "fingerprint": e.fingerprint,
                                        "category": e.category, "count": 1, "first_seen": e.at,
                                        "last_seen": e.at, "sample": e.sample[:REDACTED_MAX],
                                        "notes": 0}
            else:
                k["count"] += 1
                k["first_seen"] = min(k["first_seen"], e.at)
                if e.at >= k["last_seen"]:
                    k.update(last_seen=e.at, category=e.category, sample=e.sample[:REDACTED_MAX])
            for span in SPANS:
                buckets[(e.fingerprint, span, bucket_start(e.at, span))] += 1
            for span in TEAM_SPANS:
                buckets[(TEAM_TOTAL, span, bucket_start(e.at, span))] += 1
            for name, window in WINDOWS.items():
                if bucket_start(e.at, window.roll) >= lows[name]:
                    windows[(name, e.fingerprint)] += 1
        conn.execute(sql.kind, list(kinds.values()))
        conn.execute(sql.bucket, [
            {"team": team, "fingerprint": fp, "span": span, "start": start, "count": n}
            for (fp, span, start), n in buckets.items()])
        if windows:
            conn.execute(sql.window, [{"team": team, "window": name, "fingerprint": fp,
                                       "count": n} for (name, fp), n in windows.items()])

    # -- rolling windows -------------------------------------------------------------------

    def _rolled(self, conn: Connection, team: str, now_s: int,
                lows: dict[str, int] | None = None) -> dict[str, int]:
        """The team's windows rolled to ``now_s`` (created on its first event); returns each
        window's low edge, under the lock for the rest of the transaction."""
        sql = self._sql
        if lows is None:
            lows = {w: int(low) for w, low in conn.execute(sql.lows_locked, {"team": team})}
        missing = [w for w in WINDOWS if w not in lows]
        if missing:
            conn.execute(sql.create_rolls, [
                {"team": team, "window": w, "low": window_low(now_s, WINDOWS[w])} for w in missing])
            # a concurrent first event may have won: read (and lock) what is there now
            lows = {w: int(low) for w, low in conn.execute(sql.lows_locked, {"team": team})}
        for name, low in lows.items():
            target = window_low(now_s, WINDOWS[name])
            if low < target:
                self._roll(conn, team, WINDOWS[name], low, target)
                lows[name] = target
        return lows

    @staticmethod
    def _roll(conn: Connection, team: str, window: Window, low: int, target: int) -> None:
        """Subtract the buckets in [low, target) from the window: only the kinds that had
        events in them are touched."""
        b, w = MemoryBucket, MemoryWindow
        gone = (b.team == team, b.span == window.roll, b.start >= low, b.start < target)
        expired = (select(func.coalesce(func.sum(b.count), 0))
                   .where(*gone, b.fingerprint == w.fingerprint).scalar_subquery())
        mine = (w.team == team, w.window == window.name)
        conn.execute(update(w).where(*mine, w.fingerprint.in_(select(b.fingerprint).where(*gone)))
                     .values(count=w.count - expired))
        conn.execute(delete(w).where(*mine, w.count <= 0))
        conn.execute(update(MemoryRoll).where(MemoryRoll.team == team,
                                              MemoryRoll.window == window.name)
                     .values(low=target))

    def roll_windows(self, team: str) -> None:
        with self._tx() as s:
            self._rolled(s.connection(), team, epoch(self.now()))

    def prune_memory(self) -> dict[str, int]:
        """Retention for the counters: roll every team's windows (so no bucket a window still
        has to subtract is lost), then drop the buckets older than their span keeps them.
        The kinds, their totals and the quarter-day history stay."""
        now_s = epoch(self.now())
        with self._tx() as s:
            teams = list(s.scalars(select(MemoryRoll.team).distinct()))
        deleted = 0
        for team in teams:
            with self._tx() as s:
                self._rolled(s.connection(), team, now_s)
                for span in SPANS.values():
                    if span.keep_s is None:
                        continue
                    deleted += self._affected(s, delete(MemoryBucket).where(
                        MemoryBucket.team == team, MemoryBucket.span == span.name,
                        MemoryBucket.start < now_s - span.keep_s))
        return {"memory_buckets": deleted}

    # -- reading ---------------------------------------------------------------------------

    def last_kind(self, team: str, author: str | None) -> str | None:
        """``last``: the kind this person pasted most recently in the team, else the kind the
        team saw most recently."""
        with self._tx(read_only=True) as s:
            if author:
                mine = s.scalar(select(MemoryEvent.fingerprint)
                                .where(MemoryEvent.team == team, MemoryEvent.author == author)
                                .order_by(MemoryEvent.event_id.desc()).limit(1))
                if mine:
                    return mine
            return s.scalar(select(MemoryKind.fingerprint).where(MemoryKind.team == team)
                            .order_by(MemoryKind.last_seen.desc()).limit(1))

    def is_author(self, team: str, fingerprint: str, user: str | None) -> bool:
        """Has ``user`` pasted an error of this kind in this team (within retention)?"""
        if not user:
            return False
        with self._tx(read_only=True) as s:
            return s.scalar(select(MemoryEvent.event_id).where(
                MemoryEvent.team == team, MemoryEvent.fingerprint == fingerprint,
                MemoryEvent.author == user).limit(1)) is not None

    def top(self, team: str, window: Window, *, limit: int = TOP_LIMIT) -> TopReport:
        """The team's most frequent kinds in the window: an index read of the window counts,
        then the kinds, their sparkline buckets and note counts for just those rows, and the
        window's total from the team's own buckets (nothing here grows with the kinds)."""
        now_s = epoch(self.now())
        low = window_low(now_s, window)
        start, _ = spark_range(now_s, window)
        params = {"team": team, "window": window.name, "limit": limit, "low": low,
                  "spark": window.spark, "start": start, "roll": window.roll}
        per: dict[str, dict[int, int]] = defaultdict(dict)
        with self.read_connection() as conn:
            rolled = conn.scalar(_TOP_LOW, params)
            behind = rolled is not None and rolled < low
            if not behind:
                rows = conn.execute(_TOP_RANKED, params).all()
                total = int(conn.scalar(_TOP_TOTAL, params) or 0)
                if rows:
                    for fp, at, n in conn.execute(_TOP_BUCKETS, {
                            **params, "fps": [r.fingerprint for r in rows]}):
                        per[fp][int(at)] = int(n)
        if behind:  # nothing has rolled the window lately: roll it (a write), then read
            self.roll_windows(team)
            return self.top(team, window, limit=limit)
        entries = tuple(TopEntry(
            fingerprint=r.fingerprint, category=r.corrected or r.category,
            corrected=r.corrected is not None, count=int(r.n),
            first_seen=from_epoch(r.first_seen), last_seen=from_epoch(r.last_seen),
            bins=tuple(binned(per[r.fingerprint], now_s, window)), notes=int(r.notes))
            for r in rows)
        return TopReport(window=window.name, entries=entries, total=total)

    def trend(self, team: str) -> Trend:
        """The team's errors per minute over the last 15 minutes (the status sparkline)."""
        now_s = epoch(self.now())
        start, _ = spark_range(now_s, TREND)
        with self.read_connection() as conn:
            counts = {int(at): int(n) for at, n in conn.execute(
                _TEAM_BUCKETS, {"team": team, "span": TREND.spark, "start": start})}
        return Trend(window=TREND.name, bins=tuple(binned(counts, now_s, TREND)))

    # -- notes and corrections -------------------------------------------------------------

    def add_note(self, team: str, fingerprint: str, text: str, *, author_id: str | None,
                 author: str) -> Note | None:
        """Attach a note (already redacted) to a kind the team has seen; None if it has not."""
        at = self.now()
        with self._tx() as s:
            if not self._affected(s, self._sql.count_note, {"of_team": team, "of_kind": fingerprint}):
                return None
            s.add(MemoryNote(team=team, fingerprint=fingerprint, author_id=author_id,
                             author=author[:200], text=text[:NOTE_MAX], at=at))
        return Note(author=author[:200], at=at, text=text[:NOTE_MAX])

    def notes(self, team: str, fingerprint: str, *,
              limit: int = NOTES_LISTED) -> tuple[tuple[Note, ...], int] | None:
        """A kind's notes, newest first, and how many there are; None for an unknown kind."""
        with self._tx(read_only=True) as s:
            if s.scalar(select(MemoryKind.count).where(MemoryKind.team == team,
                                                       MemoryKind.fingerprint == fingerprint)) is None:
                return None
            rows = s.execute(
                select(MemoryNote.author, MemoryNote.at, MemoryNote.text,
                       func.count().over().label("total"))
                .where(MemoryNote.team == team, MemoryNote.fingerprint == fingerprint)
                .order_by(MemoryNote.at.desc(), MemoryNote.id.desc()).limit(limit)).all()
        return _notes(rows)

    def correct(self, team: str, fingerprint: str, category: str, *, by_id: str | None,
                by: str) -> Correction | None:
        """Record the team's category for a kind it has seen (replacing an earlier one);
        None if the team has not seen it."""
        at = self.now()
        with self._tx() as s:
            was = s.scalar(select(MemoryKind.category).where(MemoryKind.team == team,
                                                             MemoryKind.fingerprint == fingerprint))
            if was is None:
                return None
            values = {"team": team, "fingerprint": fingerprint, "category": category, "was": was,
                      "by_id": by_id, "by": by[:200], "at": at}
            ins = self._insert(MemoryCorrection).values(values)
            s.execute(ins.on_conflict_do_update(
                index_elements=["team", "fingerprint"],
                set_={k: ins.excluded[k] for k in ("category", "was", "by_id", "by", "at")}))
        return Correction(category=category, was=was, by=by[:200], at=at)

    def corrections(self) -> Iterator[dict[str, Any]]:
        """Every team's corrections, oldest first, with the latest redacted text of the kind:
        what ``sora-bot corrections export`` prints."""
        c, k = MemoryCorrection, MemoryKind
        stmt = (select(c.team, c.fingerprint, c.category, c.was, c.by, c.by_id, c.at, k.sample)
                .join(k, (k.team == c.team) & (k.fingerprint == c.fingerprint))
                .order_by(c.at, c.team, c.fingerprint))
        with self.read_connection() as conn:
            for r in conn.execute(stmt):
                yield {"team": r.team, "fingerprint": r.fingerprint, "category": r.category,
                       "was": r.was, "by": r.by, "by_id": r.by_id, "at": _iso(r.at),
                       "redacted": r.sample}


def _iso(at: datetime) -> str:
    return as_utc(at).isoformat().replace("+00:00", "Z")


__all__ = ["MemoryMixin", "NOTES_LISTED", "NOTES_SHOWN", "TOP_LIMIT"]
