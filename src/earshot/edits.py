"""Every change a person makes to a case, in one place, for the CLI and the web alike.

Each function takes the session, the :class:`~earshot.security.roles.Actor` (name and
role on the case) and the decision; it checks the role's permission, calls the domain
layer that holds the rule (identity, language, publish), and appends the audit entry
in the same transaction. Custody entries are the domain layer's. The CLI and the web
app call these and nothing else, so a refusal in one is a refusal in the other (the
same exception, the same message) and a decision leaves the same rows, custody and
audit trail whichever way it was made. Results are typed records with ``as_dict()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import EditRefusedError
from .identity.errors import IdentityNotFoundError
from .identity.verification import set_verification
from .identity.voice_links import decide_voice_link as _decide_voice_link
from .identity.voice_links import voice_link_sides
from .language.overrides import set_entity_person, set_theme
from .language.translation import workflow
from .language.translation.records import TranslationRecord, translation_record
from .publish.pseudonyms import assign_pseudonyms
from .publish.pseudonyms import set_pseudonym as _set_pseudonym
from .publish.quotes import create_quote as _create_quote
from .publish.quotes import quote_dict
from .security.roles import Actor, Permission
from .store.audit import audit
from .store.language_models import CallTheme, SegmentEntity, Translation
from .store.models import Call, Party, Person, Segment
from .vocab import TranslationStatus, VerificationStatus, VoiceLinkStatus

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "MAX_TEXT",
    "CallThemes",
    "EditRefusedError",
    "EntityLink",
    "PseudonymRecord",
    "TranslationRecord",
    "VerificationRecord",
    "VoiceLinkRecord",
    "create_quote",
    "current_translation",
    "decide_voice_link",
    "link_entity",
    "save_translation",
    "set_call_theme",
    "set_pseudonym",
    "translation_record",
    "verify",
]

MAX_TEXT = 20_000


class _Record:
    """What every result record shares: ``as_dict()`` for --json, the API and writers."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(cast("DataclassInstance", self))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _audit(
    session: Session, actor: Actor, action: str, kind: str, object_id: int, detail: dict[str, Any]
) -> None:
    audit(
        session,
        user=actor.name,
        action=action,
        object_type=kind,
        object_id=str(object_id),
        detail={**detail, "role": actor.role.value},
    )


# -- verification --------------------------------------------------------------------
@dataclass(frozen=True)
class VerificationRecord(_Record):
    """One verification decision (the history keeps every one)."""

    id: int
    person_id: int | None
    party_id: int | None
    status: VerificationStatus
    reason: str
    evidence_ids: list[int]
    actor: str
    actor_role: str
    at: str | None


def verify(
    session: Session,
    actor: Actor,
    *,
    status: VerificationStatus | str,
    reason: str,
    evidence_ids: Iterable[int],
    person_id: int | None = None,
    party_id: int | None = None,
) -> VerificationRecord:
    """Set the verification status of a person or a call side, citing evidence.

    Refused without evidence (any status but unverified), without a reason, or for
    a role that may not verify; written to the history, custody and the audit log.
    """
    actor.require(Permission.VERIFY, what="set verification status")
    if person_id is not None and session.get(Person, person_id) is None:
        raise IdentityNotFoundError(f"no person #{person_id}; see `earshot person list`")
    if party_id is not None and session.get(Party, party_id) is None:
        raise IdentityNotFoundError(f"no call side #{party_id}")
    event = set_verification(
        session,
        actor,
        status=status,
        reason=reason,
        evidence_ids=list(evidence_ids),
        person_id=person_id,
        party_id=party_id,
    )
    record = VerificationRecord(
        id=event.id,
        person_id=event.person_id,
        party_id=event.party_id,
        status=VerificationStatus(event.status),
        reason=event.reason,
        evidence_ids=list(event.evidence_ids),
        actor=event.actor,
        actor_role=event.actor_role,
        at=_iso(event.at),
    )
    kind, object_id = ("person", person_id) if person_id is not None else ("party", party_id)
    _audit(
        session,
        actor,
        "verify",
        kind,
        object_id or 0,
        {"status": record.status.value, "evidence_ids": record.evidence_ids, "event_id": event.id},
    )
    return record


# -- voice links -----------------------------------------------------------------------
@dataclass(frozen=True)
class VoiceLinkRecord(_Record):
    """An editor's decision on two call sides that may be one voice."""

    id: int
    call_a: int
    party_a: str
    call_b: int
    party_b: str
    score: float | None
    status: VoiceLinkStatus
    decided_by: str | None
    note: str | None


def decide_voice_link(
    session: Session,
    actor: Actor,
    *,
    confirm: bool,
    link_id: int | None = None,
    sides: tuple[tuple[int, str], tuple[int, str]] | None = None,
    note: str | None = None,
) -> VoiceLinkRecord:
    """Confirm (links both sides to one person, basis ``voice_match``) or reject a voice
    match, named by its id (the web) or by its two sides (the CLI)."""
    actor.require(Permission.VERIFY, what="decide a voice match")
    if (link_id is None) == (sides is None):
        raise EditRefusedError("name the voice match by its id or by its two sides, not both")
    if link_id is not None:
        first, second = voice_link_sides(session, link_id)
    else:
        assert sides is not None
        first, second = sides
    link = _decide_voice_link(session, actor, first, second, confirm=confirm, note=note)
    record = VoiceLinkRecord(
        id=link.id,
        call_a=link.call_a,
        party_a=link.party_a,
        call_b=link.call_b,
        party_b=link.party_b,
        score=link.score,
        status=VoiceLinkStatus(link.status),
        decided_by=link.decided_by,
        note=link.note,
    )
    _audit(session, actor, "verify", "voice_link", link.id, {"decision": record.status.value})
    return record


# -- themes and entity links --------------------------------------------------------------
@dataclass(frozen=True)
class CallThemes(_Record):
    call_id: int
    themes: list[str]


def set_call_theme(
    session: Session, actor: Actor, *, call_id: int, theme: str, present: bool
) -> CallThemes:
    """Add or remove a theme tag of a call, kept as an override across re-analysis."""
    actor.require(Permission.TAG, what="tag a call")
    theme = " ".join(theme.split())
    if not theme or len(theme) > 60:
        raise EditRefusedError("a theme tag must be 1 to 60 characters")
    if session.get(Call, call_id) is None:
        raise IdentityNotFoundError(f"no call #{call_id}; see `earshot calls`")
    set_theme(session, call_id=call_id, theme=theme, present=present, actor=actor.name)
    themes = list(
        session.execute(
            select(CallTheme.theme).where(CallTheme.call_id == call_id).order_by(CallTheme.theme)
        ).scalars()
    )
    _audit(session, actor, "tag", "call", call_id, {"theme": theme, "present": present})
    return CallThemes(call_id, themes)


@dataclass(frozen=True)
class EntityLink(_Record):
    entity_id: int
    call_id: int
    person_id: int | None


def link_entity(
    session: Session, actor: Actor, *, call_id: int, entity_id: int, person_id: int | None
) -> EntityLink:
    """Link a name heard in a call to a person (None unlinks), kept across re-analysis."""
    actor.require(Permission.TAG, what="link a name to a person")
    row = session.get(SegmentEntity, entity_id)
    if row is None or row.call_id != call_id:
        raise IdentityNotFoundError(f"entity {entity_id} is not part of call {call_id}")
    if person_id is not None and session.get(Person, person_id) is None:
        raise IdentityNotFoundError(f"person {person_id} does not exist in this case")
    set_entity_person(session, row, person_id=person_id, actor=actor.name)
    _audit(session, actor, "link", "entity", entity_id, {"person_id": person_id})
    return EntityLink(entity_id, call_id, person_id)


# -- translations ------------------------------------------------------------------------
def current_translation(session: Session, segment_id: int) -> TranslationRecord | None:
    """The translation as saved now (for an editor to compare after a conflict)."""
    row = session.execute(
        select(Translation).where(Translation.segment_id == segment_id)
    ).scalar_one_or_none()
    return None if row is None else translation_record(row)


def save_translation(
    session: Session,
    actor: Actor,
    *,
    segment_id: int,
    text: str | None,
    status: TranslationStatus | str,
    expected_version: int,
    four_eyes: bool = True,
    call_id: int | None = None,
    note: str | None = None,
) -> TranslationRecord:
    """Save the English of one segment and move it to `status`, in one transaction.

    Goes through the review workflow (``earshot.language.translation``): changed text is
    an edit; "reviewed" and "approved" are the next steps, one at a time, so approval
    always follows a review. Marking a draft or an edit "reviewed" reviews it (with the
    reviewer's corrections, if any). Under the four-eyes rule nobody reviews their own
    translation or approves their own review. `text` None keeps the saved text;
    `expected_version` 0 means "there was none". A stale version raises
    :class:`~earshot.language.translation.workflow.StaleEditError`.
    """
    target = TranslationStatus(status)
    actor.require(
        Permission.VERIFY if target == TranslationStatus.APPROVED else Permission.EDIT_TRANSLATION,
        what=f"mark a translation {target.value}",
    )
    if text is not None and len(text) > MAX_TEXT:
        raise EditRefusedError(f"translation is {len(text)} characters; the limit is {MAX_TEXT}")
    segment = session.get(Segment, segment_id)
    if segment is None or (call_id is not None and segment.call_id != call_id):
        where = f" of call {call_id}" if call_id is not None else ""
        raise EditRefusedError(f"no segment {segment_id}{where} in this case")
    row = session.execute(
        select(Translation).where(Translation.segment_id == segment_id)
    ).scalar_one_or_none()
    changed = text is not None and (row is None or text != row.text)
    name = actor.name
    if (
        target == TranslationStatus.REVIEWED
        and row is not None
        and row.status in ("draft", "edited")
    ):
        # A reviewer's corrections are part of the review (the translator stays the
        # translator), so the four-eyes rule still sees who translated it.
        row = workflow.review_translation(
            session,
            segment_id,
            actor=name,
            expected_version=expected_version,
            text=text if changed else None,
            note=note,
            four_eyes=four_eyes,
        )
    elif changed:
        assert text is not None
        if row is None and not text.strip():
            raise EditRefusedError("nothing to save: the translation is empty")
        row = workflow.edit_translation(
            session, segment_id, text, actor=name, expected_version=expected_version, note=note
        )
        if target == TranslationStatus.REVIEWED:
            row = workflow.review_translation(
                session, segment_id, actor=name, expected_version=row.version, four_eyes=four_eyes
            )
    elif row is None:
        raise EditRefusedError(f"segment {segment_id} has no translation yet; write one first")
    elif row.version != expected_version:
        raise workflow.StaleEditError(
            f"translation of segment {segment_id} is at version {row.version}, not "
            f"{expected_version}: someone changed it since you read it; reload and redo"
        )
    if target == TranslationStatus.APPROVED and row.status != TranslationStatus.APPROVED:
        row = workflow.approve_translation(
            session,
            segment_id,
            actor=name,
            expected_version=row.version,
            note=note,
            four_eyes=four_eyes,
        )
    session.flush()
    record = translation_record(row)
    _audit(
        session,
        actor,
        "edit",
        "translation",
        segment_id,
        {"status": record.status.value, "version": record.version},
    )
    return record


# -- pseudonyms ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PseudonymRecord(_Record):
    person_id: int
    pseudonym: str
    kind: str
    set_by: str | None


def set_pseudonym(
    session: Session, actor: Actor, *, person_id: int, pseudonym: str
) -> PseudonymRecord:
    """Give a person an editorial pseudonym (unique in the case, case-insensitively).

    Defaults are assigned to everyone first, exactly as the next export would, so an
    editor's name never collides with a default given later.
    """
    actor.require(Permission.PUBLISH_REDACTED, what="set a pseudonym")
    assign_pseudonyms(session, operator=actor.name)
    row = _set_pseudonym(session, person_id, pseudonym, operator=actor.name)
    _audit(session, actor, "pseudonym", "person", person_id, {"pseudonym": row.pseudonym})
    return PseudonymRecord(person_id, row.pseudonym, row.kind, row.set_by)


# -- quotes -------------------------------------------------------------------------------
def create_quote(
    session: Session,
    actor: Actor,
    *,
    call_id: int,
    first: int,
    last: int,
    text: str,
    allow_rewrite: bool = False,
    allow_unapproved: bool = False,
) -> dict[str, Any]:
    """Save a quote of segments `first`..`last` edited to `text` (cuts only, unless
    `allow_rewrite`; approved translations only, unless `allow_unapproved`).

    Returns the quote with its provenance (``earshot.publish.quotes.quote_dict``).
    """
    actor.require(Permission.PUBLISH_REDACTED, what="save a quote")
    quote = _create_quote(
        session,
        call_id,
        first,
        last,
        text,
        actor=actor.name,
        allow_rewrite=allow_rewrite,
        allow_unapproved=allow_unapproved,
    )
    row = quote_dict(session, quote)
    _audit(
        session,
        actor,
        "quote",
        "quote",
        quote.id,
        {
            "call_id": call_id,
            "segments": [first, last],
            "rewritten": row["rewritten"],
            "unapproved": row["unapproved"],
        },
    )
    return row
