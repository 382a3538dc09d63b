"""Self-identification: "Это Андрей", "это я, Игорь" proposes who is speaking.

A speaker who names himself is good evidence of who is on that side of the call,
but a name is not an identity (two Андреи in one case), so this only *proposes* a
link, with the segment as its basis, for an editor to accept or reject.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..language.names import KnownPerson, PersonDirectory, first_names, self_identification
from ..stages import StageInfo, StageOutcome
from ..store.models import Call, Party, Person, PersonPhone, Segment, Transcript
from ..vocab import StageStatus
from .links import propose_link

if TYPE_CHECKING:
    from ..store.case import Case

__all__ = [
    "SelfIdProposal",
    "SelfIdentificationStage",
    "current_verbatim",
    "propose_self_identifications",
]

ACTOR = "self-identification"
MIN_SCORE = 0.45
_INITIAL = re.compile(r"(?<![А-ЯЁа-яёA-Za-z])([А-ЯЁ])\.")


@dataclass(frozen=True)
class SelfIdProposal:
    link_id: int
    call_id: int
    party: str
    person_id: int
    segment_id: int
    said: str
    score: float
    created: bool


def current_verbatim(session: Session, call_id: int) -> Transcript | None:
    """The call's current verbatim transcript: the latest one made."""
    return session.execute(
        select(Transcript)
        .where(Transcript.call_id == call_id, Transcript.kind == "verbatim")
        .order_by(Transcript.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _live_persons(session: Session) -> list[Person]:
    return list(
        session.execute(
            select(Person).where(Person.merged_into.is_(None)).order_by(Person.id)
        ).scalars()
    )


def _by_initial(persons: list[Person], said: str) -> list[tuple[int, float]]:
    """Persons written with an initial ("Селезнёв А.") whose initial fits the name said."""
    letters = {name[0].upper() for name in first_names(said)}
    return [
        (p.id, 0.3) for p in persons if letters & {m.group(1) for m in _INITIAL.finditer(p.name)}
    ]


def _candidates(
    directory: PersonDirectory, persons: list[Person], said: str, phone_users: set[int]
) -> list[tuple[int, float]]:
    found = [(int(m.person_id), m.score) for m in directory.match(said) if m.score >= MIN_SCORE]
    if not found:
        found = _by_initial(persons, said)
    if not found:
        return []
    # A person known to use this side's phone is the likelier speaker.
    ranked = sorted(found, key=lambda c: (-(c[1] + (0.1 if c[0] in phone_users else 0)), c[0]))
    best = ranked[0][1] + (0.1 if ranked[0][0] in phone_users else 0)
    return [c for c in ranked if c[1] + (0.1 if c[0] in phone_users else 0) >= best - 1e-9][:3]


def propose_self_identifications(
    session: Session, call_ids: Iterable[int] | None = None
) -> list[SelfIdProposal]:
    """Scan current verbatim segments for self-identification; record proposals.

    Idempotent: a segment already proposed for a person is not proposed again. A side
    already attributed to the person named gets no proposal (nothing to decide).
    """
    persons = _live_persons(session)
    if not persons:
        return []
    directory = PersonDirectory(
        KnownPerson(id=str(p.id), names=(p.name,), aliases=tuple(p.aliases or ())) for p in persons
    )
    ids = (
        list(call_ids)
        if call_ids is not None
        else list(session.execute(select(Call.id).order_by(Call.id)).scalars())
    )
    out: list[SelfIdProposal] = []
    for call_id in ids:
        transcript = current_verbatim(session, call_id)
        if transcript is None:
            continue
        parties = {
            p.label: p
            for p in session.execute(select(Party).where(Party.call_id == call_id)).scalars()
        }
        segments = session.execute(
            select(Segment).where(Segment.transcript_id == transcript.id).order_by(Segment.idx)
        ).scalars()
        for segment in segments:
            party = parties.get(segment.party or "")
            if party is None:
                continue  # unknown speaker: diarization must say who talks first
            for _start, _end, said in self_identification(segment.text):
                users = (
                    set(
                        session.execute(
                            select(PersonPhone.person_id).where(
                                PersonPhone.phone_id == party.phone_id
                            )
                        ).scalars()
                    )
                    if party.phone_id is not None
                    else set()
                )
                for person_id, score in _candidates(directory, persons, said, users):
                    if party.person_id == person_id:
                        continue
                    link, created = propose_link(
                        session,
                        party,
                        person_id,
                        basis="self_identification",
                        actor=ACTOR,
                        segment_id=segment.id,
                        score=score,
                        note=f"speaker says {segment.text.strip()!r}",
                    )
                    out.append(
                        SelfIdProposal(
                            link.id,
                            call_id,
                            party.label,
                            person_id,
                            segment.id,
                            said,
                            score,
                            created,
                        )
                    )
    return out


class SelfIdentificationStage:
    """Pipeline stage "identity": proposals from self-identification, after transcripts."""

    name = "identity"
    after: tuple[str, ...] = ("transcript",)
    wants_gpu = False

    def info(self) -> StageInfo:
        return StageInfo(
            stage=self.name,
            engine="earshot.identity.self_identification",
            version="1",
            options={"min_score": MIN_SCORE},
        )

    def inputs(self, session: Session, call_id: int) -> str:
        transcript = current_verbatim(session, call_id)
        people = session.execute(
            select(Person.id, Person.name, Person.aliases, Person.merged_into).order_by(Person.id)
        ).all()
        body = repr((transcript.id if transcript else None, [tuple(map(str, p)) for p in people]))
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def run(self, case: Case, call_id: int) -> StageOutcome:
        with case.session() as session:
            proposals = propose_self_identifications(session, [call_id])
        created = sum(p.created for p in proposals)
        if not proposals:
            return StageOutcome(status=StageStatus.DONE, detail={"proposed": 0})
        return StageOutcome(
            status=StageStatus.DONE, detail={"proposed": created, "seen": len(proposals)}
        )
