"""Voice matches: a call side whose voice an editor confirmed is the same speaker as an
attributed side inherits that attribution (basis ``voice_match``).

The speech layer writes ``voice_links`` (earshot.store.speech_models) and editors
decide them (:mod:`earshot.identity.voice_links`). Confirmed links join call sides into
groups; a group anchored on exactly one person (by call records, self-identification
or an editor) attributes its other sides to that person. A group anchored on two
persons is a conflict for an editor, never silently resolved. A proposed (not yet
confirmed) link becomes a proposal for the unattributed side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import Party, Person
from ..store.speech_models import VoiceLink
from ..vocab import AttributionBasis, VoiceLinkStatus
from .links import basis_token, propose_link, set_party_person

__all__ = ["VoiceMatch", "VoiceOutcome", "apply_voice_matches", "load_voice_matches"]

ANCHOR_BASES = frozenset(
    {AttributionBasis.CALL_RECORD, AttributionBasis.SELF_IDENTIFICATION, AttributionBasis.EDITOR}
)


@dataclass(frozen=True)
class VoiceMatch:
    """Side (call_a, party_a) and side (call_b, party_b) sound like one speaker."""

    call_a: int
    party_a: str
    call_b: int
    party_b: str
    score: float | None = None
    status: VoiceLinkStatus = VoiceLinkStatus.PROPOSED
    decided_by: str | None = None
    decided_at: datetime | None = None
    id: int | None = None  # the recorded voice link (None for a match not stored)


@dataclass
class VoiceOutcome:
    applied: int = 0
    proposed: int = 0
    conflicts: list[str] = field(default_factory=list)


def load_voice_matches(session: Session) -> list[VoiceMatch]:
    """The case's recorded voice links, oldest first."""
    return [
        VoiceMatch(
            call_a=row.call_a,
            party_a=row.party_a,
            call_b=row.call_b,
            party_b=row.party_b,
            score=row.score,
            status=VoiceLinkStatus(row.status),
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            id=row.id,
        )
        for row in session.execute(select(VoiceLink).order_by(VoiceLink.id)).scalars()
    ]


class _Groups:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def apply_voice_matches(
    session: Session, matches: Iterable[VoiceMatch] | None = None
) -> VoiceOutcome:
    """Attribute call sides through confirmed voice matches (idempotent)."""
    outcome = VoiceOutcome()
    matches = list(load_voice_matches(session) if matches is None else matches)
    if not matches:
        return outcome
    parties = {(p.call_id, p.label): p for p in session.execute(select(Party)).scalars()}
    groups = _Groups()
    via: dict[int, VoiceMatch] = {}
    for match in matches:
        a, b = (
            parties.get((match.call_a, match.party_a)),
            parties.get((match.call_b, match.party_b)),
        )
        if a is None or b is None or match.status != VoiceLinkStatus.CONFIRMED:
            continue
        groups.union(a.id, b.id)
        via.setdefault(a.id, match)
        via.setdefault(b.id, match)
    members: dict[int, list[Party]] = {}
    by_id = {p.id: p for p in parties.values()}
    for party_id in list(groups.parent):
        members.setdefault(groups.find(party_id), []).append(by_id[party_id])
    for group in members.values():
        group.sort(key=lambda p: (p.call_id, p.label))
        anchors = {
            p.person_id
            for p in group
            if p.person_id is not None and basis_token(p.person_basis) in ANCHOR_BASES
        }
        if len(anchors) > 1:
            sides = ", ".join(f"{p.call_id}:{p.label}" for p in group)
            who = ", ".join(f"#{i}" for i in sorted(a for a in anchors if a is not None))
            outcome.conflicts.append(
                f"call sides {sides} match by voice but are attributed to persons {who}; "
                "an editor must decide (reject a voice link or re-link a side)"
            )
            continue
        if not anchors:
            continue
        (person_id,) = anchors
        assert person_id is not None
        person = session.get(Person, person_id)
        if person is not None and person.merged_into is not None:
            person_id = person.merged_into
        for party in group:
            if party.person_id == person_id:
                continue
            if party.person_id is not None and basis_token(party.person_basis) in ANCHOR_BASES:
                continue
            match = via[party.id]
            set_party_person(
                session,
                party,
                person_id,
                basis=AttributionBasis.VOICE_MATCH,
                actor=match.decided_by or "voice links",
                score=match.score,
                note=(
                    f"voice confirmed the same as call {match.call_a}:{match.party_a} / "
                    f"{match.call_b}:{match.party_b}"
                ),
            )
            outcome.applied += 1
    for match in matches:
        if match.status != VoiceLinkStatus.PROPOSED:
            continue
        a, b = (
            parties.get((match.call_a, match.party_a)),
            parties.get((match.call_b, match.party_b)),
        )
        if a is None or b is None:
            continue
        for known, unknown in ((a, b), (b, a)):
            if known.person_id is not None and unknown.person_id is None:
                _, created = propose_link(
                    session,
                    unknown,
                    known.person_id,
                    basis=AttributionBasis.VOICE_MATCH,
                    actor="voice links",
                    score=match.score,
                    note=f"voice resembles call {known.call_id}:{known.label}",
                )
                outcome.proposed += int(created)
    return outcome
