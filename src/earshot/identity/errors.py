"""Errors of the identity layer."""

from __future__ import annotations

from ..errors import EarshotError

__all__ = ["IdentityError", "IdentityNotFoundError"]


class IdentityError(EarshotError):
    """An identity change cannot be made as asked (the message says why and what to do)."""


class IdentityNotFoundError(IdentityError):
    """A person, phone, call, party, evidence item or proposal named does not exist."""
