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
from typing import Any

from sqlalchemy import Row, case, delete, func, select, update
from sqlalchemy.orm import Session

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
from bot.store.base import StoreBase
from bot.store.evidence import NewErrorEvent, error_event_row
from bot.store.models import (
    REDACTED_MAX,
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
# Spans the team-wide counter (fingerprint ``*``) is kept in: what the status trend reads.
TEAM_SPANS = (TREND.spark,)

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


class MemoryMixin(StoreBase):
    # -- writing ---------------------------------------------------------------------------

    def remember(self, team: str, event: Event, *, author: str | None = None,
                 record: bool = True) -> Recall:
        """Remember one chat event and say what the team knows about its kind.

        ``record=False`` (counting is off where it was pasted): nothing is written, the
        answer is what the team knew before."""
        row = error_event_row(event, self.now())
        fingerprint = row.fingerprint or ""
        with self._tx(read_only=not record) as s:
            before = s.execute(
                select(MemoryKind.count.label("n"), MemoryKind.first_seen, MemoryKind.last_seen,
                       MemoryCorrection.category, MemoryCorrection.was, MemoryCorrection.by,
                       MemoryCorrection.at)
                .select_from(MemoryKind)
                .outerjoin(MemoryCorrection, (MemoryCorrection.team == MemoryKind.team)
                           & (MemoryCorrection.fingerprint == MemoryKind.fingerprint))
                .where(MemoryKind.team == team, MemoryKind.fingerprint == fingerprint)).first()
            count = int(before.n) if before is not None else 0
            first = from_epoch(before.first_seen) if before is not None else None
            last = from_epoch(before.last_seen) if before is not None else None
            if record:
                self._write(s, team, [row], [author])
                count += 1
                at = from_epoch(epoch(row.at))
                first = min(first, at) if first is not None else at
            notes = s.execute(
                select(MemoryNote.author, MemoryNote.at, MemoryNote.text,
                       func.count().over().label("total"))
                .where(MemoryNote.team == team, MemoryNote.fingerprint == fingerprint)
                .order_by(MemoryNote.at.desc(), MemoryNote.id.desc()).limit(NOTES_SHOWN)).all()
        shown, total = _notes(notes)
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
        rows = [error_event_row(e, now) for e in events]
        if rows:
            with self._tx() as s:
                self._write(s, team, rows, [None] * len(rows))
        return len(rows)

    def _write(self, s: Session, team: str, rows: Sequence[Any],
               authors: Sequence[str | None]) -> None:
        """Error-event rows (not yet added) → the stream, the memory rows and every counter."""
        now_s = epoch(self.now())
        lows = self._rolled(s, team, now_s)
        s.add_all(rows)
        s.flush()  # the ids the memory rows point at
        seen = [_Seen(epoch(r.at), r.fingerprint or "", r.category, r.redacted or "")
                for r in rows]
        s.execute(self._insert(MemoryEvent), [
            {"event_id": r.id, "team": team, "fingerprint": e.fingerprint,
             "author": a[:100] if a else None} for r, e, a in zip(rows, seen, authors, strict=True)])
        kinds: dict[str, dict[str, Any]] = {}
        buckets: dict[tuple[str, str, int], int] = defaultdict(int)
        windows: dict[tuple[str, str], int] = defaultdict(int)
        for e in seen:
            k = kinds.get(e.fingerprint)
            if k is None:
                kinds[e.fingerprint] = {"team": team, "fingerprint": e.fingerprint,
                                        "category": e.category, "count": 1, "first_seen": e.at,
                                        "last_seen": e.at, "sample": e.sample[:REDACTED_MAX]}
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
        self._upsert_kinds(s, list(kinds.values()))
        bucket_rows = [{"team": team, "fingerprint": fp, "span": span, "start": start, "count": n}
                       for (fp, span, start), n in buckets.items()]
        self._add_counts(s, MemoryBucket, bucket_rows, ("team", "fingerprint", "span", "start"))
        window_rows = [{"team": team, "window": name, "fingerprint": fp, "count": n}
                       for (name, fp), n in windows.items()]
        if window_rows:
            self._add_counts(s, MemoryWindow, window_rows, ("team", "window", "fingerprint"))

    def _upsert_kinds(self, s: Session, rows: list[dict[str, Any]]) -> None:
        ins = self._insert(MemoryKind).values(rows)
        new = ins.excluded
        newer = new.last_seen >= MemoryKind.last_seen
        s.execute(ins.on_conflict_do_update(
            index_elements=["team", "fingerprint"],
            set_={"count": MemoryKind.count + new.count,
                  "first_seen": case((new.first_seen < MemoryKind.first_seen, new.first_seen),
                                     else_=MemoryKind.first_seen),
                  "last_seen": case((newer, new.last_seen), else_=MemoryKind.last_seen),
                  "category": case((newer, new.category), else_=MemoryKind.category),
                  "sample": case((newer, new.sample), else_=MemoryKind.sample)}))

    def _add_counts(self, s: Session, table: type[MemoryBucket] | type[MemoryWindow],
                    rows: list[dict[str, Any]], keys: tuple[str, ...]) -> None:
        ins = self._insert(table).values(rows)
        s.execute(ins.on_conflict_do_update(index_elements=list(keys),
                                            set_={"count": table.count + ins.excluded.count}))

    # -- rolling windows -------------------------------------------------------------------

    def _lows(self, s: Session, team: str, *, lock: bool) -> dict[str, int]:
        stmt = select(MemoryRoll.window, MemoryRoll.low).where(MemoryRoll.team == team)
        if lock and self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return {w: int(low) for w, low in s.execute(stmt)}

    def _rolled(self, s: Session, team: str, now_s: int) -> dict[str, int]:
        """The team's windows rolled to ``now_s`` (created on its first event); returns each
        window's low edge, under the lock for the rest of the transaction."""
        lows = self._lows(s, team, lock=True)
        missing = [w for w in WINDOWS if w not in lows]
        if missing:
            s.execute(self._insert(MemoryRoll).values([
                {"team": team, "window": w, "low": window_low(now_s, WINDOWS[w])} for w in missing
            ]).on_conflict_do_nothing())
            lows = self._lows(s, team, lock=True)  # a concurrent first event may have won
        for name, low in lows.items():
            target = window_low(now_s, WINDOWS[name])
            if low < target:
                self._roll(s, team, WINDOWS[name], low, target)
                lows[name] = target
        return lows

    @staticmethod
    def _roll(s: Session, team: str, window: Window, low: int, target: int) -> None:
        """Subtract the buckets in [low, target) from the window: only the kinds that had
        events in them are touched."""
        b = MemoryBucket
        gone = (b.team == team, b.span == window.roll, b.start >= low, b.start < target)
        expired = (select(func.coalesce(func.sum(b.count), 0))
                   .where(*gone, b.fingerprint == MemoryWindow.fingerprint).scalar_subquery())
        mine = (MemoryWindow.team == team, MemoryWindow.window == window.name)
        s.execute(update(MemoryWindow)
                  .where(*mine, MemoryWindow.fingerprint.in_(select(b.fingerprint).where(*gone)))
                  .values(count=MemoryWindow.count - expired)
                  .execution_options(synchronize_session=False))
        s.execute(delete(MemoryWindow).where(*mine, MemoryWindow.count <= 0)
                  .execution_options(synchronize_session=False))
        s.execute(update(MemoryRoll).where(MemoryRoll.team == team,
                                           MemoryRoll.window == window.name)
                  .values(low=target))

    def roll_windows(self, team: str) -> None:
        with self._tx() as s:
            self._rolled(s, team, epoch(self.now()))

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
                self._rolled(s, team, now_s)
                for span in SPANS.values():
                    if span.keep_s is None:
                        continue
                    deleted += self._affected(s, delete(MemoryBucket).where(
                        MemoryBucket.team == team, MemoryBucket.span == span.name,
                        MemoryBucket.start < now_s - span.keep_s))
        return {"memory_buckets": deleted}

    # -- reading ---------------------------------------------------------------------------

    def has_kind(self, team: str, fingerprint: str) -> bool:
        with self._tx(read_only=True) as s:
            return s.scalar(select(MemoryKind.count).where(
                MemoryKind.team == team, MemoryKind.fingerprint == fingerprint)) is not None

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
        then the kinds, their sparkline buckets and note counts for just those rows."""
        now_s = epoch(self.now())
        with self.read_connection() as conn:
            low = conn.scalar(select(MemoryRoll.low).where(MemoryRoll.team == team,
                                                           MemoryRoll.window == window.name))
        if low is not None and low < window_low(now_s, window):
            self.roll_windows(team)  # behind: roll first (a write), then read
        w, k, c = MemoryWindow, MemoryKind, MemoryCorrection
        notes = (select(func.count()).where(MemoryNote.team == team,
                                            MemoryNote.fingerprint == w.fingerprint)
                 .scalar_subquery())
        ranked = (select(w.fingerprint, w.count.label("n"), k.category, k.first_seen, k.last_seen,
                         c.category.label("corrected"), notes.label("notes"))
                  .join(k, (k.team == w.team) & (k.fingerprint == w.fingerprint))
                  .outerjoin(c, (c.team == w.team) & (c.fingerprint == w.fingerprint))
                  .where(w.team == team, w.window == window.name)
                  .order_by(w.count.desc(), w.fingerprint).limit(limit))
        totals = select(func.count(), func.coalesce(func.sum(w.count), 0)).where(
            w.team == team, w.window == window.name)
        start, _ = spark_range(now_s, window)
        with self.read_connection() as conn:
            rows = conn.execute(ranked).all()
            kinds, total = conn.execute(totals).one()
            fps = [r.fingerprint for r in rows]
            per: dict[str, dict[int, int]] = defaultdict(dict)
            if fps:
                for fp, at, n in conn.execute(
                        select(MemoryBucket.fingerprint, MemoryBucket.start, MemoryBucket.count)
                        .where(MemoryBucket.team == team, MemoryBucket.fingerprint.in_(fps),
                               MemoryBucket.span == window.spark, MemoryBucket.start >= start)):
                    per[fp][int(at)] = int(n)
        entries = tuple(TopEntry(
            fingerprint=r.fingerprint, category=r.corrected or r.category,
            corrected=r.corrected is not None, count=int(r.n),
            first_seen=from_epoch(r.first_seen), last_seen=from_epoch(r.last_seen),
            bins=tuple(binned(per[r.fingerprint], now_s, window)), notes=int(r.notes))
            for r in rows)
        return TopReport(window=window.name, entries=entries, kinds=int(kinds), total=int(total))

    def trend(self, team: str) -> Trend:
        """The team's errors per minute over the last 15 minutes (the status sparkline)."""
        now_s = epoch(self.now())
        start, _ = spark_range(now_s, TREND)
        with self.read_connection() as conn:
            counts = {int(at): int(n) for at, n in conn.execute(
                select(MemoryBucket.start, MemoryBucket.count).where(
                    MemoryBucket.team == team, MemoryBucket.fingerprint == TEAM_TOTAL,
                    MemoryBucket.span == TREND.spark, MemoryBucket.start >= start))}
        return Trend(window=TREND.name, bins=tuple(binned(counts, now_s, TREND)))

    # -- notes and corrections -------------------------------------------------------------

    def add_note(self, team: str, fingerprint: str, text: str, *, author_id: str | None,
                 author: str) -> Note | None:
        """Attach a note (already redacted) to a kind the team has seen; None if it has not."""
        at = self.now()
        with self._tx() as s:
            if s.scalar(select(MemoryKind.count).where(MemoryKind.team == team,
                                                       MemoryKind.fingerprint == fingerprint)) is None:
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
    from bot.clock import as_utc

    return as_utc(at).isoformat().replace("+00:00", "Z")


__all__ = ["MemoryMixin", "NOTES_LISTED", "NOTES_SHOWN", "TOP_LIMIT"]
