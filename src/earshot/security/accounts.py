"""User accounts, password sign-in with lockout, and roles granted per case.

Accounts live outside every case (one install, many cases) in a small SQLite file,
by default ``~/.local/share/earshot/accounts.db`` (setting ``accounts``), created on
first use with owner-only permissions. Passwords are stored as argon2id hashes
(argon2-cffi) and re-hashed at the next sign-in when the parameters change.

Sign-in is deliberately uninformative: an unknown user, a wrong password and a
disabled account give the same :class:`AuthenticationError`, and an unknown user
costs the same time as a known one (a dummy hash is verified). Failed attempts are
counted per username and per client (e.g. the remote address); too many within the
lockout window lock that username or client out for a while.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from ..errors import ConfigError
from ..settings import Settings
from .errors import (
    AuthenticationError,
    LockedOutError,
    PasswordPolicyError,
    UnknownUserError,
    UserExistsError,
)
from .roles import Role

if TYPE_CHECKING:
    from .tokens import TokenStore

__all__ = ["AccountPolicy", "AccountStore", "User", "normalize_username"]

_USERNAME = re.compile(r"^[\w.@+-]{1,64}$")
_MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is an attack
_SIGN_IN_FAILED = "sign-in failed: unknown user, wrong password or disabled account"

_metadata = MetaData()
_users = Table(
    "users",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", Text),
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("password_changed_at", Float, nullable=False),
)
_roles = Table(
    "case_roles",
    _metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("granted_at", Float, nullable=False),
)
_failures = Table(
    "login_failures",
    _metadata,
    Column("scope", String(10), primary_key=True),  # "user" | "client"
    Column("key", String(300), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("first_at", Float, nullable=False),
    Column("locked_until", Float),
)


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str | None
    disabled: bool


@dataclass(frozen=True)
class AccountPolicy:
    """Password rules, lockout and argon2id cost (defaults: RFC 9106 low-memory profile)."""

    min_password_length: int = 12
    max_failures: int = 5
    lockout_minutes: float = 15.0
    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountPolicy:
        return cls(
            min_password_length=settings.password_min_length,
            max_failures=settings.login_max_failures,
            lockout_minutes=settings.login_lockout_minutes,
        )


def normalize_username(username: str) -> str:
    """NFC, case-folded, checked: letters, digits and ``. @ + - _``, at most 64."""
    name = unicodedata.normalize("NFC", username.strip()).casefold()
    if not _USERNAME.match(name):
        raise ConfigError(
            f"invalid username {username[:80]!r}: use 1-64 letters, digits or . @ + - _"
        )
    return name


class AccountStore:
    """The install's accounts database. Thread-safe; cheap to construct."""

    def __init__(
        self,
        path: Path,
        *,
        policy: AccountPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path).expanduser()
        self.policy = policy or AccountPolicy()
        self._clock = clock
        self._hasher = PasswordHasher(
            time_cost=self.policy.time_cost,
            memory_cost=self.policy.memory_cost_kib,
            parallelism=self.policy.parallelism,
        )
        self._dummy_hash: str | None = None
        self._engine = self._open()

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountStore:
        return cls(Path(settings.accounts), policy=AccountPolicy.from_settings(settings))

    def _open(self) -> Engine:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the accounts database {self.path} ({exc.strerror}); "
                "set EARSHOT_ACCOUNTS to a writable path"
            ) from None
        engine = create_engine(f"sqlite:///{self.path}", connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        _metadata.create_all(engine)
        return engine

    def close(self) -> None:
        self._engine.dispose()

    # -- for the API tokens kept in the same database (earshot.security.tokens) ----------
    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def users_table(self) -> Table:
        return _users

    def now(self) -> float:
        return self._clock()

    @property
    def tokens(self) -> TokenStore:
        """This install's personal API tokens."""
        from .tokens import TokenStore

        return TokenStore(self)

    # -- users ---------------------------------------------------------------------
    def add_user(self, username: str, password: str, *, display_name: str | None = None) -> User:
        name = normalize_username(username)
        self._check_password(name, password)
        hashed = self._hasher.hash(password)
        now = self._clock()
        with self._engine.begin() as conn:
            if self._row(conn, name) is not None:
                raise UserExistsError(f"user {name!r} already exists; pick another username")
            conn.execute(
                insert(_users).values(
                    username=name,
                    display_name=display_name,
                    password_hash=hashed,
                    disabled=False,
                    created_at=now,
                    password_changed_at=now,
                )
            )
        return self.get(name)

    def set_password(self, username: str, password: str) -> None:
        """Set a new password; also re-enables nothing and clears the user's lockout."""
        name = normalize_username(username)
        self._check_password(name, password)
        hashed = self._hasher.hash(password)
        with self._engine.begin() as conn:
            self._require(conn, name)
            conn.execute(
                update(_users)
                .where(_users.c.username == name)
                .values(password_hash=hashed, password_changed_at=self._clock())
            )
            conn.execute(
                delete(_failures).where(_failures.c.scope == "user", _failures.c.key == name)
            )

    def disable(self, username: str) -> None:
        """Disable an account: it can no longer sign in and holds no role anywhere."""
        name = normalize_username(username)
        with self._engine.begin() as conn:
            self._require(conn, name)
            conn.execute(update(_users).where(_users.c.username == name).values(disabled=True))

    def get(self, username: str) -> User:
        name = normalize_username(username)
        with self._engine.connect() as conn:
            row = self._require(conn, name)
        return User(row.id, row.username, row.display_name, bool(row.disabled))

    def users(self) -> list[User]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_users).order_by(_users.c.username)).all()
        return [User(r.id, r.username, r.display_name, bool(r.disabled)) for r in rows]

    # -- sign-in -------------------------------------------------------------------
    def authenticate(self, username: str, password: str, *, client: str = "") -> User:
        """The user, if the password is right and nothing is locked; else an error.

        Raises :class:`LockedOutError` while the username or the client is locked out
        (the password is not even checked), otherwise one generic
        :class:`AuthenticationError` for every kind of failure.
        """
        try:
            name = normalize_username(username)
        except ConfigError:
            name = ""
        client = client[:300]
        now = self._clock()
        with self._engine.begin() as conn:
            self._check_locks(conn, name, client, now)
            row = self._row(conn, name) if name else None
        ok = False
        if row is None or len(password) > _MAX_PASSWORD:
            self._verify(self._dummy(), password[:_MAX_PASSWORD])
        else:
            ok = self._verify(row.password_hash, password) and not row.disabled
        if not ok or row is None:
            self._record_failure(name, client, now)
            raise AuthenticationError(_SIGN_IN_FAILED)
        with self._engine.begin() as conn:
            conn.execute(
                delete(_failures).where(_failures.c.scope == "user", _failures.c.key == name)
            )
            if self._hasher.check_needs_rehash(row.password_hash):
                conn.execute(
                    update(_users)
                    .where(_users.c.id == row.id)
                    .values(password_hash=self._hasher.hash(password))
                )
        return User(row.id, row.username, row.display_name, False)

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(os.urandom(16).hex())
        return self._dummy_hash

    def _check_locks(self, conn: Connection, name: str, client: str, now: float) -> None:
        for scope, key in (("user", name), ("client", client)):
            if not key:
                continue
            until = conn.execute(
                select(_failures.c.locked_until).where(
                    _failures.c.scope == scope, _failures.c.key == key
                )
            ).scalar_one_or_none()
            if until is not None and until > now:
                minutes = max(1, round((until - now) / 60))
                who = "for this user" if scope == "user" else "from here"
                raise LockedOutError(
                    f"too many failed sign-ins {who}; try again in {minutes} minute(s)"
                )

    def _record_failure(self, name: str, client: str, now: float) -> None:
        window = self.policy.lockout_minutes * 60
        locked = False
        with self._engine.begin() as conn:
            conn.execute(
                delete(_failures).where(
                    _failures.c.first_at < now - window,
                    (_failures.c.locked_until.is_(None)) | (_failures.c.locked_until < now),
                )
            )
            for scope, key in (("user", name), ("client", client)):
                if not key:
                    continue
                row = conn.execute(
                    select(_failures).where(_failures.c.scope == scope, _failures.c.key == key)
                ).one_or_none()
                if row is None or (row.locked_until is not None and row.locked_until <= now):
                    count, first_at = 1, now
                    conn.execute(
                        delete(_failures).where(_failures.c.scope == scope, _failures.c.key == key)
                    )
                    conn.execute(
                        insert(_failures).values(scope=scope, key=key, count=0, first_at=now)
                    )
                else:
                    count, first_at = int(row._mapping["count"]) + 1, float(row.first_at)
                lock_until = now + window if count >= self.policy.max_failures else None
                locked = locked or lock_until is not None
                conn.execute(
                    update(_failures)
                    .where(_failures.c.scope == scope, _failures.c.key == key)
                    .values(
                        count=0 if lock_until else count,
                        first_at=first_at,
                        locked_until=lock_until,
                    )
                )
        if locked:
            raise LockedOutError(
                f"too many failed sign-ins; locked out for {self.policy.lockout_minutes:g} minutes"
            )

    # -- roles ---------------------------------------------------------------------
    def grant(self, username: str, case_id: str, role: Role) -> None:
        """Give `username` `role` on the case (replacing any role held there)."""
        role = Role(role)
        name = normalize_username(username)
        with self._engine.begin() as conn:
            row = self._require(conn, name)
            conn.execute(
                delete(_roles).where(_roles.c.user_id == row.id, _roles.c.case_id == case_id)
            )
            conn.execute(
                insert(_roles).values(
                    user_id=row.id, case_id=case_id, role=role.value, granted_at=self._clock()
                )
            )

    def revoke(self, username: str, case_id: str) -> None:
        name = normalize_username(username)
        with self._engine.begin() as conn:
            row = self._require(conn, name)
            conn.execute(
                delete(_roles).where(_roles.c.user_id == row.id, _roles.c.case_id == case_id)
            )

    def role(self, username: str, case_id: str) -> Role | None:
        """The user's role on the case; None if none, or if the account is disabled."""
        try:
            name = normalize_username(username)
        except ConfigError:
            return None
        with self._engine.connect() as conn:
            value = conn.execute(
                select(_roles.c.role)
                .join(_users, _users.c.id == _roles.c.user_id)
                .where(
                    _users.c.username == name,
                    _users.c.disabled.is_(False),
                    _roles.c.case_id == case_id,
                )
            ).scalar_one_or_none()
        return Role(value) if value is not None else None

    def roles(self, username: str) -> dict[str, Role]:
        """Every case id the user holds a role on, with the role."""
        name = normalize_username(username)
        with self._engine.connect() as conn:
            row = self._require(conn, name)
            rows = conn.execute(
                select(_roles.c.case_id, _roles.c.role).where(_roles.c.user_id == row.id)
            ).all()
        return {case_id: Role(role) for case_id, role in rows}

    # -- helpers -------------------------------------------------------------------
    def _check_password(self, name: str, password: str) -> None:
        minimum = self.policy.min_password_length
        normalized = unicodedata.normalize("NFC", password)
        if len(normalized) < minimum:
            raise PasswordPolicyError(
                f"password too short: use at least {minimum} characters (a passphrase of "
                "several words is easiest)"
            )
        if len(normalized) > _MAX_PASSWORD:
            raise PasswordPolicyError(f"password too long: at most {_MAX_PASSWORD} characters")
        if normalized.strip().casefold() == name:
            raise PasswordPolicyError("the password must not be the username")

    @staticmethod
    def _row(conn: Connection, name: str) -> Any:
        return conn.execute(select(_users).where(_users.c.username == name)).one_or_none()

    def _require(self, conn: Connection, name: str) -> Any:
        row = self._row(conn, name)
        if row is None:
            raise UnknownUserError(
                f"no user {name!r} in {self.path}; list them with `earshot user list`"
            )
        return row


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
