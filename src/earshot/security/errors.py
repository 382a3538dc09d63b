"""Typed errors of the security layer, shared by every layer that checks who may act.

Also the errors of accounts and sign-in, and of encryption at rest.
"""

from __future__ import annotations

from ..errors import ConfigError, EarshotError, IntegrityError

__all__ = [
    "AuthenticationError",
    "EncryptionKeyError",
    "KeyRequiredError",
    "LockedOutError",
    "PasswordPolicyError",
    "PermissionDeniedError",
    "TamperedMediaError",
    "UnknownUserError",
    "UserExistsError",
    "WrongKeyError",
]


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
