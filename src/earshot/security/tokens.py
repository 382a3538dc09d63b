"""Personal API tokens: a script or another program calls ``/api`` as a user, without a
browser, with ``Authorization: Bearer <token>``.

A token is 256 random bits shown once, when it is made; only its SHA-256 is kept
(the secret is as strong as a key, so a slow password hash adds nothing), in the
accounts database beside the user it belongs to. It acts with that user's roles as
they are at each request (never more; ``read_only`` caps every role at viewer), dies
when revoked, when it expires and when the user is disabled, and is never written to
a log or a case: the audit log records the user, as for a browser login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)

from ..errors import AuthenticationError, ConfigError, UnknownUserError
from .accounts import AccountStore, normalize_username
from .roles import Role

__all__ = ["PREFIX", "ApiToken", "NewToken", "TokenStore", "effective_role"]

PREFIX = "esk_"  # recognisable in a leaked file or a secret scanner's rules
_DAY = 86_400.0
_MAX_DAYS = 366

_metadata = MetaData()
_tokens = Table(
    "api_tokens",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),  # users.id of the same database
    Column("name", String(100), nullable=False),
    Column("hint", String(16), nullable=False),  # the first characters, to recognise it
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("read_only", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
)


_ready: set[int] = set()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiToken:
    """A token as listed: never its secret."""

    id: int
    username: str
    name: str
    hint: str
    read_only: bool
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None

    def active(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "hint": self.hint,
            "read_only": self.read_only,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True)
class NewToken:
    """A token just made, with the secret to show once (it cannot be shown again)."""

    token: ApiToken
    secret: str


def effective_role(role: Role | None, token: ApiToken | None) -> Role | None:
    """The role a request holds on a case: the user's, capped at viewer for a read-only
    token (a token never adds a role the user does not have)."""
    if role is None or token is None or not token.read_only:
        return role
    return Role.VIEWER


class TokenStore:
    """The API tokens of an account store (same database, one more table)."""

    def __init__(self, accounts: AccountStore) -> None:
        self.accounts = accounts
        self._engine = accounts.engine
        if id(self._engine) not in _ready:  # once per database, not on every request
            _metadata.create_all(self._engine)
            _ready.add(id(self._engine))

    def _now(self) -> float:
        return self.accounts.now()

    def create(
        self, username: str, name: str, *, days: int | None = 90, read_only: bool = False
    ) -> NewToken:
        """Make a token for `username`, valid `days` (None: until revoked)."""
        user = self.accounts.get(username)
        if user.disabled:
            raise ConfigError(f"user {user.username!r} is disabled; enable them first")
        label = " ".join(name.split())
        if not label or len(label) > 100:
            raise ConfigError("give the token a name of 1 to 100 characters (what uses it)")
        if days is not None and not 1 <= days <= _MAX_DAYS:
            raise ConfigError(f"a token lives 1 to {_MAX_DAYS} days (or --no-expiry); not {days}")
        secret = PREFIX + secrets.token_urlsafe(32)
        now = self._now()
        with self._engine.begin() as conn:
            inserted = conn.execute(
                insert(_tokens).values(
                    user_id=user.id,
                    name=label,
                    hint=secret[: len(PREFIX) + 6],
                    token_hash=_digest(secret),
                    read_only=read_only,
                    created_at=now,
                    expires_at=None if days is None else now + days * _DAY,
                )
            ).inserted_primary_key
        assert inserted is not None
        return NewToken(self._get(int(inserted[0])), secret)

    def list(self, username: str) -> list[ApiToken]:
        user = self.accounts.get(username)
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(_tokens).where(_tokens.c.user_id == user.id).order_by(_tokens.c.id)
            ).all()
        return [self._token(row, user.username) for row in rows]

    def revoke(self, username: str, token_id: int) -> ApiToken:
        user = self.accounts.get(username)
        with self._engine.begin() as conn:
            done = conn.execute(
                update(_tokens)
                .where(
                    _tokens.c.id == token_id,
                    _tokens.c.user_id == user.id,
                    _tokens.c.revoked_at.is_(None),
                )
                .values(revoked_at=self._now())
            )
        if done.rowcount == 0:
            raise UnknownUserError(
                f"user {user.username!r} has no active token #{token_id}; "
                f"see `earshot user token list {user.username}`"
            )
        return self._get(token_id)

    def authenticate(self, secret: str) -> ApiToken:
        """The active token whose secret this is (and mark it used), or AuthenticationError
        (one message for unknown, revoked, expired, and a disabled user)."""
        refused = AuthenticationError("invalid, expired or revoked API token")
        if not secret.startswith(PREFIX) or len(secret) > 200:
            raise refused
        digest = _digest(secret)
        with self._engine.begin() as conn:
            row = conn.execute(select(_tokens).where(_tokens.c.token_hash == digest)).one_or_none()
            if row is None or not hmac.compare_digest(row.token_hash, digest):
                raise refused
            owner = conn.execute(
                select(self.accounts.users_table).where(
                    self.accounts.users_table.c.id == row.user_id
                )
            ).one()
            token = self._token(row, owner.username)
            now = self._now()
            if owner.disabled or not token.active(now):
                raise refused
            conn.execute(update(_tokens).where(_tokens.c.id == row.id).values(last_used_at=now))
        return token

    def _get(self, token_id: int) -> ApiToken:
        with self._engine.connect() as conn:
            row = conn.execute(select(_tokens).where(_tokens.c.id == token_id)).one()
            owner = conn.execute(
                select(self.accounts.users_table.c.username).where(
                    self.accounts.users_table.c.id == row.user_id
                )
            ).scalar_one()
        return self._token(row, owner)

    @staticmethod
    def _token(row: Any, username: str) -> ApiToken:
        return ApiToken(
            id=row.id,
            username=normalize_username(username),
            name=row.name,
            hint=row.hint,
            read_only=bool(row.read_only),
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )
