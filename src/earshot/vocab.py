"""The case's vocabulary: every status and basis a row can hold, spelled once.

These are ``StrEnum``s, so a member *is* its string: it compares equal to the value
stored in the database, serialises to JSON as that value, and documents itself in
the API schema. Tables store ``member.value``; code compares against members, never
against a literal, so a misspelling is a mypy error instead of a silent
"no match" (as "voice match" against ``voice_match`` once was).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AttributionBasis",
    "JobKind",
    "JobStatus",
    "LinkStatus",
    "StageStatus",
    "TranslationStatus",
    "VerificationStatus",
    "VoiceLinkStatus",
]


class AttributionBasis(StrEnum):
    """Why a call side is attributed to a person (``parties.person_basis``,
    ``party_person_links.basis``)."""

    CALL_RECORD = "call_record"  # the call records named the person (ingest)
    VOICE_MATCH = "voice_match"  # an editor confirmed the voice matches an attributed side
    SELF_IDENTIFICATION = "self_identification"  # the speaker names himself in the call
    EDITOR = "editor"  # an editor decided, on evidence


class VerificationStatus(StrEnum):
    """An editor's verification decision on a person or a call side."""

    UNVERIFIED = "unverified"
    PARTLY_VERIFIED = "partly_verified"
    VERIFIED = "verified"
    DISPUTED = "disputed"


class TranslationStatus(StrEnum):
    """Where a segment's English stands in review (each step after the one before)."""

    DRAFT = "draft"
    EDITED = "edited"
    REVIEWED = "reviewed"
    APPROVED = "approved"


class LinkStatus(StrEnum):
    """A proposed attribution of a call side to a person, and the editor's decision."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class VoiceLinkStatus(StrEnum):
    """Two call sides that may be one voice, and the editor's decision."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class StageStatus(StrEnum):
    """How one processing stage ended on one call (``stage_runs.status``)."""

    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


class JobStatus(StrEnum):
    """Where a long-running job (a drop-folder watch, a background ingest or processing run)
    stands (``jobs.status``)."""

    QUEUED = "queued"  # waiting for a worker (a new job, a retry, a requeued interrupted one)
    RUNNING = "running"  # a running job whose process is gone was killed; a new watch resumes it
    DONE = "done"
    STOPPED = "stopped"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class JobKind(StrEnum):
    """What a job does (``jobs.kind``)."""

    WATCH = "watch"  # `earshot ingest --watch`: a drop folder
    INGEST = "ingest"  # a background ingest of an upload (the browser's intake)
    PROCESS = "process"  # a background `earshot process` run on some calls
