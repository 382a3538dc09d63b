"""Typed exceptions: the library raises these, the CLI and web app translate them.

Every message is written for the person at the keyboard: what failed, the offending
file/row/value, and what to do next. Library code never prints or exits.
"""

from __future__ import annotations

__all__ = [
    "AudioDecodeError",
    "CaseError",
    "CaseExistsError",
    "CaseNotFoundError",
    "ConfigError",
    "EarshotError",
    "IngestError",
    "IntegrityError",
    "LexiconError",
    "ModelMissingError",
    "RecordError",
    "SessionStoreError",
    "SidecarError",
    "UnsafeArchiveError",
    "WorkingCopyAlteredError",
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


class IntegrityError(EarshotError):
    """A stored original is missing or no longer matches its SHA-256."""


class LexiconError(EarshotError):
    """A YAML data file (slang lexicon, themes, diminutives, policy) is invalid."""


class ModelMissingError(EarshotError):
    """An engine's model is not installed locally; the message says how to get one."""


class SessionStoreError(EarshotError):
    """The web login session store cannot be used: an unknown or malformed setting, or a
    Redis server that cannot be reached or refuses the login. Messages never hold a password."""


class WorkingCopyAlteredError(IntegrityError):
    """A working copy no longer matches the SHA-256 recorded when it was made."""
