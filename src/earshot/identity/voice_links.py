"""Same voice, different calls: rank party voiceprints across calls and record decisions.

A soldier calls from several numbers; his voice links the calls.  Cosine similarity of the
parties' Resemblyzer voiceprints (never two parties of one call) gives candidate pairs; an
editor confirms or rejects each, and confirming links both parties to one Person through
:func:`earshot.identity.links.set_party_person` (basis ``voice_match``, with the link
history and custody every attribution gets).  An anchored attribution (call records,
self-identification, an editor) is never replaced by a voice match: the conflict is
written into the decision's note instead.  The CLI (`earshot voices --confirm`) and the
web (a voice link's id) both decide through :func:`decide_voice_link`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import VoiceLinkError
from ..security.roles import Actor
from ..store.custody import append_custody
from ..store.models import Call, Party, Person, utcnow
from ..store.speech_models import VoiceLink, VoiceprintRow
from ..vocab import AttributionBasis, VoiceLinkStatus
from .actor import EDITOR_ROLES, require_role
from .errors import IdentityNotFoundError
from .links import basis_token, set_party_person
from .names import name_key
from .voice import ANCHOR_BASES

__all__ = [
    "DEFAULT_MIN_SCORE",
    "VoiceCandidate",
    "VoiceLinkError",
    "decide_voice_link",
    "voice_link_sides",
    "voice_matches",
]

DEFAULT_MIN_SCORE = 0.96
"""Equal-error-rate threshold of cross-call party matching on the sample corpus (see
docs/benchmarks.md, "Speech pipeline"): pairs scoring at least this are shown by default."""


@dataclass(frozen=True)
class VoiceCandidate:
    """Two sides of different calls whose voiceprints score `score`, and any decision."""

    call_a: int
    party_a: str
    call_b: int
    party_b: str
    score: float
    status: VoiceLinkStatus | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "call_a": self.call_a,
            "party_a": self.party_a,
            "call_b": self.call_b,
            "party_b": self.party_b,
            "score": round(self.score, 4),
            "status": self.status,
        }


def _latest_prints(session: Session) -> dict[tuple[int, str], np.ndarray]:
    """The newest voiceprint of every (call, party) (one engine version per party)."""
    prints: dict[tuple[int, str], np.ndarray] = {}
    for row in session.execute(select(VoiceprintRow).order_by(VoiceprintRow.id)).scalars():
        vector = np.asarray(row.vector, dtype=np.float64)
        norm = float(np.linalg.norm(vector))
        if norm > 0:
            prints[(row.call_id, row.party)] = vector / norm
    return prints


def _ordered(a: tuple[int, str], b: tuple[int, str]) -> tuple[tuple[int, str], tuple[int, str]]:
    return (a, b) if a <= b else (b, a)


def voice_matches(
    session: Session, *, min_score: float = DEFAULT_MIN_SCORE, include_rejected: bool = False
) -> list[VoiceCandidate]:
    """Pairs of parties of different calls whose voiceprints score at least `min_score`,
    best first, with the recorded decision (confirmed/rejected) if any."""
    prints = _latest_prints(session)
    keys = sorted(prints)
    if len(keys) < 2:
        return []
    matrix = np.stack([prints[k] for k in keys])
    scores = matrix @ matrix.T
    decisions = {
        ((d.call_a, d.party_a), (d.call_b, d.party_b)): VoiceLinkStatus(d.status)
        for d in session.execute(select(VoiceLink)).scalars()
    }
    matches = []
    for i, a in enumerate(keys):
        for j in range(i + 1, len(keys)):
            b = keys[j]
            score = float(scores[i, j])
            if a[0] == b[0] or score < min_score:
                continue
            status = decisions.get(_ordered(a, b))
            if status == VoiceLinkStatus.REJECTED and not include_rejected:
                continue
            matches.append(VoiceCandidate(a[0], a[1], b[0], b[1], score, status))
    matches.sort(key=lambda m: (-m.score, m.call_a, m.party_a, m.call_b, m.party_b))
    return matches


def _party(session: Session, call_id: int, label: str) -> Party:
    party = session.execute(
        select(Party).where(Party.call_id == call_id, Party.label == label)
    ).scalar_one_or_none()
    if party is None:
        raise VoiceLinkError(
            f"call {call_id} has no party {label!r}; parties are A (caller) and B (callee), "
            "see `earshot calls`"
        )
    return party


def voice_link_sides(session: Session, link_id: int) -> tuple[tuple[int, str], tuple[int, str]]:
    """The two call sides of the recorded voice link `link_id` (the web names links by id)."""
    link = session.get(VoiceLink, link_id)
    if link is None:
        raise IdentityNotFoundError(
            f"no voice match #{link_id}; see `earshot voices CASE` for the candidates"
        )
    return (link.call_a, link.party_a), (link.call_b, link.party_b)


def decide_voice_link(
    session: Session,
    actor: Actor,
    first: tuple[int, str],
    second: tuple[int, str],
    *,
    confirm: bool,
    note: str | None = None,
) -> VoiceLink:
    """An editor records that two call sides are (confirm) or are not the same voice.

    Confirming links both sides to one Person (an existing one on either side, else a
    new "Unknown speaker") with basis ``voice_match``; each side changed gets its link
    history and a ``party-linked`` custody entry, and the decision its own custody entry.
    """
    require_role(actor, EDITOR_ROLES, "decide whether two voices are the same speaker")
    if first[0] == second[0]:
        raise VoiceLinkError(
            f"both parties are in call {first[0]}; voice links join parties of different calls"
        )
    a, b = _ordered(first, second)
    party_a, party_b = _party(session, *a), _party(session, *b)
    prints = _latest_prints(session)
    score = (
        float(prints[a] @ prints[b]) if a in prints and b in prints else None
    )  # a person may link parties we could not fingerprint
    link = session.execute(
        select(VoiceLink).where(
            VoiceLink.call_a == a[0],
            VoiceLink.party_a == a[1],
            VoiceLink.call_b == b[0],
            VoiceLink.party_b == b[1],
        )
    ).scalar_one_or_none()
    if link is None:
        link = VoiceLink(
            call_a=a[0], party_a=a[1], call_b=b[0], party_b=b[1], status=VoiceLinkStatus.PROPOSED
        )
        session.add(link)
    notes = [note.strip()[:2000]] if note and note.strip() else []
    link.score = score
    link.status = VoiceLinkStatus.CONFIRMED if confirm else VoiceLinkStatus.REJECTED
    link.decided_by = actor.name
    link.decided_at = utcnow()
    session.flush()
    person_id = None
    if confirm:
        person_id, conflicts = _link_persons(session, actor, party_a, party_b, a, b, score)
        notes.extend(conflicts)
    link.note = "; ".join(notes) or None
    session.flush()
    call_a = session.get(Call, a[0])
    append_custody(
        session,
        operator=actor.name,
        action="voice-link-confirmed" if confirm else "voice-link-rejected",
        sha256=call_a.sha256 if call_a else None,
        detail={
            "voice_link_id": link.id,
            "call_a": a[0],
            "party_a": a[1],
            "call_b": b[0],
            "party_b": b[1],
            "score": score,
            "person_id": person_id,
            "role": actor.role.value,
            "note": link.note,
        },
    )
    return link


def _anchored(party: Party) -> bool:
    return party.person_id is not None and basis_token(party.person_basis) in ANCHOR_BASES


def _link_persons(
    session: Session,
    actor: Actor,
    party_a: Party,
    party_b: Party,
    a: tuple[int, str],
    b: tuple[int, str],
    score: float | None,
) -> tuple[int, list[str]]:
    """Put both sides on one Person; returns it and notes about what was not plain.

    The person of an anchored side wins (call records, self-identification, an editor);
    a side attributed only by an earlier voice match follows it, and the note says so;
    two anchored sides on different persons are a conflict, noted and left alone.
    """
    anchored = [p for p in (party_a, party_b) if _anchored(p)]
    source = anchored[0] if anchored else (party_a if party_a.person_id else party_b)
    person_id = source.person_id
    if person_id is None:
        name = f"Unknown speaker (call {a[0]} party {a[1]})"
        person = Person(name=name, name_key=name_key(name))
        session.add(person)
        session.flush()
        person_id = person.id
    else:
        merged = session.get(Person, person_id)
        if merged is not None and merged.merged_into is not None:
            person_id = merged.merged_into
    notes = []
    for party, key, other in ((party_a, a, b), (party_b, b, a)):
        if party.person_id == person_id:
            continue
        if _anchored(party):
            notes.append(
                f"conflict: call {key[0]} party {key[1]} stays with person {party.person_id} "
                f"(basis {party.person_basis!r}); the voice match points to person {person_id}"
            )
            continue
        if party.person_id is not None:
            notes.append(
                f"call {key[0]} party {key[1]} moved from person {party.person_id} "
                f"(basis {party.person_basis!r}) to person {person_id}"
            )
        set_party_person(
            session,
            party,
            person_id,
            basis=AttributionBasis.VOICE_MATCH,
            actor=actor.name,
            score=score,
            note=f"voice confirmed the same as call {other[0]}:{other[1]}",
        )
    return person_id, notes
