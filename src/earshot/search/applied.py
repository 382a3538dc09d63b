"""Which outbox rows an in-memory index has taken in, so that every process of an
encrypted case keeps its own index current (:mod:`.indexer` does the looking).

A disk index is one for all the processes of a case: whoever applies an outbox row to it
deletes the row. An in-memory index (an encrypted case) belongs to one process, and every
other process of the case (each web server worker, a job worker that searches) holds its
own: a row that one of them has applied is still news to the others. So in-memory
indexes leave the rows in place, and each remembers what it has taken in
(:class:`Applied`):

* every row up to :attr:`Applied.upto`, the highest id it took in, except
* its *gaps*: ids below ``upto`` it has not seen. On PostgreSQL ids come from a sequence
  in the order transactions ask for them, not the order they commit, so a lower id may
  still be on its way. A gap is asked for again at every look until its row arrives, or
  until every transaction that was running when it was found (a few seconds after, to
  be sure the one holding the id had begun writing) has ended: then that transaction
  was rolled back. SQLite has one writer at a time, which commits in id order: no gaps.

Rows are pruned in bulk, oldest first, once more than twice :data:`KEEP` are kept: rows
up to an id F are deleted and F is recorded (``case_info``, :data:`PRUNED_KEY`). A
process that had not taken in every row up to F (one that did not look while more than
:data:`KEEP` rows were written) rebuilds its index from the database, which is about what
applying that many rows costs anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["GAP_SETTLE_S", "KEEP", "PRUNED_KEY", "Applied", "Gap"]

PRUNED_KEY = "search_outbox_pruned"
KEEP = 50_000
GAP_SETTLE_S = 5.0
# More separate gaps than this are asked for as "everything from the lowest gap up".
_MAX_RANGES = 32


@dataclass
class Gap:
    """Outbox ids ``lo``..``hi`` not seen yet, found at monotonic time `found`;
    `horizon` is the server's next transaction id when the gap was first looked at again
    after :data:`GAP_SETTLE_S` (PostgreSQL): once the oldest running transaction is past
    it, no row of the gap can still come."""

    lo: int
    hi: int
    found: float
    horizon: int | None = None


@dataclass
class Applied:
    """The outbox rows an in-memory index reflects (see the module docstring)."""

    upto: int = 0
    gaps: list[Gap] = field(default_factory=list)

    # -- asking ---------------------------------------------------------------------------
    def where(self) -> tuple[str, list[int]]:
        """A SQL condition on ``id`` (with ``?`` markers, and its parameters) that holds
        every outbox row this index may not have taken in (and maybe some it has:
        filter with :meth:`is_new`)."""
        if not self.gaps:
            return "id > ?", [self.upto]
        if len(self.gaps) > _MAX_RANGES:
            return "id >= ?", [self.gaps[0].lo]
        ranges = " OR ".join(["id BETWEEN ? AND ?"] * len(self.gaps))
        return f"(id > ? OR {ranges})", [self.upto, *(v for g in self.gaps for v in (g.lo, g.hi))]

    def _gap_of(self, row_id: int) -> int | None:
        """The position of the gap holding `row_id`, if one does (gaps are few)."""
        return next((at for at, g in enumerate(self.gaps) if g.lo <= row_id <= g.hi), None)

    def is_new(self, row_id: int) -> bool:
        """Whether the row `row_id` is one this index has not taken in."""
        return row_id > self.upto or self._gap_of(row_id) is not None

    def lowest_unseen(self) -> int:
        """The lowest id this index may still need."""
        return self.gaps[0].lo if self.gaps else self.upto + 1

    def behind(self, low: int, high: int) -> bool:
        """Whether the outbox's lowest and highest ids say rows this index needed may be
        gone: pruned past what it saw (then the recorded frontier tells), or the table
        emptied (ids below what it applied)."""
        return low > self.lowest_unseen() or high < self.upto

    # -- recording ------------------------------------------------------------------------
    def reset(self, ids: Iterable[int], floor: int, now: float, *, ordered: bool) -> None:
        """After a build from the database that saw exactly the rows `ids`: every row up
        to the highest is in, except (unless the backend commits in id order, `ordered`)
        the ids above `floor` (the pruned frontier) it did not see."""
        seen = sorted(set(ids))
        self.upto = seen[-1] if seen else floor
        self.gaps = []
        if ordered:
            return
        last = floor
        for i in seen:
            if i > last + 1:
                self.gaps.append(Gap(last + 1, i - 1, now))
            last = max(last, i)

    def take(self, ids: Iterable[int], now: float, *, ordered: bool) -> None:
        """Record the rows `ids` as taken in: ids skipped above ``upto`` become gaps
        (unless `ordered`), ids inside a gap leave it."""
        for i in sorted(set(ids)):
            if i > self.upto:
                if not ordered and i > self.upto + 1:
                    self.gaps.append(Gap(self.upto + 1, i - 1, now))
                self.upto = i
                continue
            at = self._gap_of(i)
            if at is None:
                continue
            gap = self.gaps.pop(at)
            parts = [Gap(gap.lo, i - 1, gap.found, gap.horizon)] if i > gap.lo else []
            if i < gap.hi:
                parts.append(Gap(i + 1, gap.hi, gap.found, gap.horizon))
            self.gaps[at:at] = parts

    def needs_horizon(self, now: float) -> bool:
        """Whether a gap is old enough to be settled (ask the server's snapshot)."""
        return any(now - g.found >= GAP_SETTLE_S for g in self.gaps)

    def settle(self, now: float, oldest_running: int, next_xid: int) -> None:
        """Drop the gaps no row can fill any more: those looked at again after
        :data:`GAP_SETTLE_S` (their `horizon` is then `next_xid`) whose horizon the
        oldest running transaction (`oldest_running`) has passed."""
        kept: list[Gap] = []
        for gap in self.gaps:
            if now - gap.found < GAP_SETTLE_S:
                kept.append(gap)
            elif gap.horizon is None:
                gap.horizon = next_xid
                kept.append(gap)
            elif oldest_running < gap.horizon:
                kept.append(gap)
        self.gaps = kept
