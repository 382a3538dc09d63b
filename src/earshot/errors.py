"""Typed exceptions: the library raises these, the CLI and web app translate them.

Every message is written for the person at the keyboard: what failed, the offending
file/row/value, and what to do next. Library code never prints or exits.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AnalysisWorkerError",
    "AudioDecodeError",
    "AudioTooLongError",
    "AudioUnavailableError",
    "AuthenticationError",
    "CaseError",
    "CaseExistsError",
    "CaseLexiconError",
    "CaseNotFoundError",
    "ChainKeyError",
    "ClipAudioError",
    "ClipError",
    "ConfigError",
    "CorruptAudioError",
    "EarshotError",
    "EditRefusedError",
    "EmptyAudioError",
    "EncodingRefused",
    "EncryptionKeyError",
    "ExportRefusedError",
    "FourEyesError",
    "IdentityError",
    "IdentityNotFoundError",
    "IngestError",
    "IntegrityError",
    "JobCancelledError",
    "JobError",
    "JobNotFoundError",
    "KeyRequiredError",
    "LeakDetectedError",
    "LexiconError",
    "LockedOutError",
    "ModelMissingError",
    "ModelStoreError",
    "NicknameError",
    "NicknameReviewError",
    "NoReferenceError",
    "PasswordPolicyError",
    "PermissionDeniedError",
    "PolicyError",
    "ProposedAttributionError",
    "PseudonymError",
    "QuerySyntaxError",
    "QuoteError",
    "QuoteRefusedError",
    "RangeNotSatisfiableError",
    "RecordError",
    "SearchError",
    "SessionStoreError",
    "SidecarError",
    "SpeechInputError",
    "StageInputError",
    "StaleEditError",
    "TamperedMediaError",
    "TimestampError",
    "TooLargeError",
    "TranslationEngineError",
    "TranslationStateError",
    "TruncatedAudioError",
    "UnknownUserError",
    "UnsafeArchiveError",
    "UnsupportedAudioError",
    "UploadError",
    "UploadTooLargeError",
    "UserExistsError",
    "VoiceLinkError",
    "WorkingCopyAlteredError",
    "WorkingCopyWriteError",
    "WrongKeyError",
]


class EarshotError(Exception):
    """Base class of every error Earshot raises on purpose."""


class ConfigError(EarshotError):
    """A setting or configuration file is invalid."""


class CaseError(EarshotError):
    """A case directory cannot be used."""


class CaseNotFoundError(CaseError):
    """The path given is not an Earshot case."""


class CaseExistsError(CaseError):
    """`init` was asked to create a case where one already exists."""


class IngestError(EarshotError):
    """One input of an ingest could not be taken in (the batch goes on)."""


class AudioDecodeError(IngestError):
    """Audio is corrupt, empty, truncated or in an unsupported format."""


class UnsafeArchiveError(IngestError):
    """A zip archive has a member that escapes its folder or decompresses too far."""


class RecordError(IngestError):
    """A call-records CSV row is invalid."""


class SidecarError(IngestError):
    """A sidecar transcript (VTT, SRT, JSON, TXT) is malformed."""


class JobError(EarshotError):
    """A background job cannot be submitted, cancelled or retried as asked."""


class JobNotFoundError(JobError):
    """No job with the id given in this case."""


class JobCancelledError(JobError):
    """Raised inside a running job when someone cancelled it (or its worker is stopping)."""


class UploadError(EarshotError):
    """An upload cannot be stored as sent (bad path, unknown upload, already started)."""


class UploadTooLargeError(UploadError):
    """An uploaded file is larger than the configured limit (``upload_max_bytes``)."""


class IntegrityError(EarshotError):
    """A stored original is missing or no longer matches its SHA-256."""


class LexiconError(EarshotError):
    """A YAML data file (slang lexicon, themes, diminutives, policy) is invalid."""


class CaseLexiconError(EarshotError):
    """A case-lexicon entry cannot be added or removed as asked."""


class ModelMissingError(EarshotError):
    """An engine's model is not installed locally; the message says how to get one."""


class SessionStoreError(EarshotError):
    """The web login session store cannot be used: an unknown or malformed setting, or a
    Redis server that cannot be reached or refuses the login. Messages never hold a password."""


class WorkingCopyAlteredError(IntegrityError):
    """A working copy no longer matches the SHA-256 recorded when it was made."""


# -- raised by earshot.identity.errors ------------------------------------------


class IdentityError(EarshotError):
    """An identity change cannot be made as asked (the message says why and what to do)."""


class IdentityNotFoundError(IdentityError):
    """A person, phone, call, party, evidence item or proposal named does not exist."""


# -- raised by earshot.identity.voice_links -------------------------------------


class VoiceLinkError(IdentityError):
    """A voice-link decision names a party that does not exist or has no voiceprint."""


# -- raised by earshot.edits ----------------------------------------------------


class EditRefusedError(EarshotError):
    """The edit is not possible as asked (unknown object, bad value, empty text)."""


# -- raised by earshot.audio.playback-------------------------------------------


class AudioUnavailableError(EarshotError):
    """The call has no playable working copy (not decoded yet, or files missing)."""


class RangeNotSatisfiableError(EarshotError):
    """The Range header asks for bytes outside the stream."""


# -- raised by earshot.web.publishing -------------------------------------------


class QuoteRefusedError(EarshotError):
    """The quote library refused a quote; `reason` says which override would allow it.

    reason: ``rewrite`` (words added), ``unmarked_cut`` (a cut without an ellipsis;
    also allowed as a marked rewrite), ``unapproved`` (translation not approved), or
    ``invalid`` (no override: empty text, untranslated segments, no such span).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# -- raised by earshot.publish.clip_audio ---------------------------------------


class ClipAudioError(EarshotError):
    """A clip cannot be processed or written (unknown format, unwritable file)."""


# -- raised by earshot.publish.output -------------------------------------------


class ExportRefusedError(EarshotError):
    """An export that identifies people was asked for without the right to make one."""


# -- raised by earshot.publish.quotes -------------------------------------------


class QuoteError(EarshotError):
    """A quote cannot be made or found as asked."""


# -- raised by earshot.publish.pseudonyms ---------------------------------------


class PseudonymError(EarshotError):
    """A pseudonym cannot be set (taken, empty, or the person is unknown)."""


# -- raised by earshot.publish.policy -------------------------------------------


class PolicyError(LexiconError):
    """The redaction policy YAML is invalid."""


# -- raised by earshot.publish.clip ---------------------------------------------


class ClipError(EarshotError):
    """A clip cannot be made as asked (bad window, no transcript to redact from...)."""


# -- raised by earshot.publish.leakguard ----------------------------------------


class LeakDetectedError(EarshotError):
    """A redacted export still holds protected terms; it was not written."""

    def __init__(self, leaks: Sequence[object], what: str) -> None:
        self.leaks = tuple(leaks)
        shown = "; ".join(str(leak) for leak in self.leaks[:20])
        more = f" (and {len(self.leaks) - 20} more)" if len(self.leaks) > 20 else ""
        super().__init__(
            f"{what} refused: {len(self.leaks)} protected term(s) survived redaction: "
            f"{shown}{more}. Nothing was written; fix the redaction policy or the "
            "person's names/aliases, then export again."
        )


# -- raised by earshot.audio.decode_errors --------------------------------------


class EmptyAudioError(AudioDecodeError):
    """The file has 0 bytes, or not a single audio sample decodes from it."""


class UnsupportedAudioError(AudioDecodeError):
    """The file is not audio FFmpeg can open, has no audio stream, or its codec is unknown."""


class CorruptAudioError(AudioDecodeError):
    """The decoder rejected audio data in the middle of the recording."""


class TruncatedAudioError(AudioDecodeError):
    """The recording ends early: its header promises more, or it stops inside a frame."""


class AudioTooLongError(AudioDecodeError):
    """The recording is longer than the configured limit (protects disk and time)."""


class WorkingCopyWriteError(AudioDecodeError):
    """The original is fine but the working copies could not be written (disk, permissions)."""


# -- raised by earshot.pipeline.speech_stages -----------------------------------


class StageInputError(EarshotError):
    """A stage found the output it reads missing (its earlier stage has not run)."""


# -- raised by earshot.search.query ---------------------------------------------


class SearchError(EarshotError):
    """A search cannot be run (missing index, missing tables for a filter...)."""


class QuerySyntaxError(SearchError):
    """A search query is malformed; the message gives the position and a hint."""

    def __init__(self, query: str, position: int, problem: str, hint: str) -> None:
        self.query = query
        self.position = position
        self.problem = problem
        self.hint = hint
        shown = query if len(query) <= 120 else query[:117] + "..."
        super().__init__(
            f"bad search query at character {position + 1}: {problem} ({hint}) in {shown!r}"
        )


# -- raised by earshot.speech.info ----------------------------------------------


class SpeechInputError(EarshotError):
    """Audio handed to a speech engine is not a 16 kHz float32 mono working copy."""


# -- raised by earshot.store.media ----------------------------------------------


class TooLargeError(IngestError):
    """An input is larger than the configured limit."""


# -- raised by earshot.language.pool --------------------------------------------


class AnalysisWorkerError(EarshotError):
    """A language worker process died (killed, out of memory)."""


# -- raised by earshot.language.translation.engines -----------------------------


class TranslationEngineError(EarshotError):
    """A translation engine failed on its input (bad reply, unreachable endpoint)."""


# -- raised by earshot.language.translation.workflow ----------------------------


class StaleEditError(EarshotError):
    """Someone changed the translation since the writer read it (version mismatch)."""


class TranslationStateError(EarshotError):
    """A review step asked of a translation that is not at the step before it."""


class FourEyesError(TranslationStateError):
    """Someone tried to review their own translation or approve their own review."""


# -- raised by earshot.security.errors ------------------------------------------


class PermissionDeniedError(EarshotError):
    """The acting user's role does not allow this action; the message names both."""


class AuthenticationError(EarshotError):
    """Sign-in failed. One message for unknown user, wrong password and disabled account."""


class LockedOutError(AuthenticationError):
    """Too many failed sign-ins for this user or from this client; wait and retry.

    ``retry_after``: seconds to wait (the web answers with a Retry-After header)."""

    retry_after: int = 0


class PasswordPolicyError(ConfigError):
    """A new password is too short or equals the username."""


class UnknownUserError(EarshotError):
    """An account-management command named a user that does not exist."""


class UserExistsError(EarshotError):
    """`user add` named a user that already exists."""


class EncryptionKeyError(EarshotError):
    """Base of key problems of an encrypted case."""


class KeyRequiredError(EncryptionKeyError):
    """The case is encrypted and no passphrase or key file was given."""


class WrongKeyError(EncryptionKeyError):
    """The passphrase or key file does not unlock this case."""


class TamperedMediaError(IntegrityError):
    """An encrypted media file fails authentication: altered, truncated or swapped."""


# -- raised by earshot.ingest.encodings -----------------------------------------


class EncodingRefused(EarshotError, ValueError):
    """No encoding tried gives plausible text; the message names them and what to do."""


# -- raised by earshot.pipeline.asr_eval ----------------------------------------


class NoReferenceError(EarshotError):
    """No call of the case has a reference transcript to score against."""


# -- raised by earshot.publish.attribution --------------------------------------


class ProposedAttributionError(ExportRefusedError):
    """A publication would have to name a side whose attribution is only proposed."""


# -- raised by earshot.publish.nicknames ----------------------------------------


class NicknameReviewError(ExportRefusedError):
    """A redacted export has terms of address no editor has decided yet."""

    def __init__(self, message: str, pending: Sequence[object]) -> None:
        super().__init__(message)
        self.pending = list(pending)


# -- raised by earshot.publish.nicknames ----------------------------------------


class NicknameError(EarshotError):
    """A nickname decision cannot be recorded as asked."""


# -- raised by earshot.security.timestamp ---------------------------------------


class TimestampError(EarshotError):
    """The time-stamp authority could not be reached or did not grant a token."""


# -- raised by earshot.speech.models.store --------------------------------------


class ModelStoreError(EarshotError):
    """A model could not be fetched, imported or verified; the message names the file."""


# -- raised by earshot.store.chainkey -------------------------------------------


class ChainKeyError(CaseError):
    """The chain key is missing or unreadable while the logs need it."""
