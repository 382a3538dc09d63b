"""User accounts, password sign-in with back-off, and roles granted per case.

Accounts live outside every case (one install, many cases) in a small SQLite file,
by default ``~/.local/share/earshot/accounts.db`` (setting ``accounts``), created on
first use with owner-only permissions. Passwords are stored as argon2id hashes
(argon2-cffi) and re-hashed at the next sign-in when the parameters change.

Sign-in is deliberately uninformative: an unknown user, a wrong password and a
disabled account give the same :class:`AuthenticationError`, and an unknown user
costs the same time as a known one (a dummy hash is verified). Failed attempts slow
further attempts with exponential back-off (:mod:`earshot.security.throttle`) per
account and client, so that guessing is slow but nobody can lock a colleague out.
"""

from __future__ import annotations

import contextlib
import math
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
from .private import narrow_umask
from .roles import Role
from .throttle import LoginThrottle, SqlThrottle, ThrottlePolicy

if TYPE_CHECKING:
    from .tokens import TokenStore

__all__ = [
    "AccountPolicy",
    "AccountStore",
    "User",
    "normalize_username",
    "throttle_from_settings",
]

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


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str | None
    disabled: bool


@dataclass(frozen=True)
class AccountPolicy:
    """Password rules, sign-in back-off and argon2id cost (RFC 9106 low-memory profile)."""

    min_password_length: int = 12
    max_failures: int = 5  # free failures per account and client before back-off
    lockout_minutes: float = 15.0  # the longest back-off
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
        throttle: Callable[[Engine], LoginThrottle] | None = None,
    ) -> None:
        """`throttle` makes the sign-in throttle from this store's engine; by default its
        counts live in this accounts database (see :func:`throttle_from_settings`)."""
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
        make = throttle or (lambda engine: SqlThrottle(engine, self.throttle_policy))
        self.throttle = make(self._engine)

    @property
    def throttle_policy(self) -> ThrottlePolicy:
        return ThrottlePolicy(self.policy.max_failures, self.policy.lockout_minutes * 60.0)

    @classmethod
    def from_settings(cls, settings: Settings, path: Path | None = None) -> AccountStore:
        """The store the settings name (or `path`), its throttle shared through Redis when
        the session store is Redis."""
        return cls(
            Path(path or settings.accounts),
            policy=AccountPolicy.from_settings(settings),
            throttle=throttle_from_settings(settings),
        )

    def _open(self) -> Engine:
        try:
            narrow_umask()  # its -wal/-shm files and anything else written: owner-only
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            _make_owner_only(self.path)
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
        self.throttle.close()
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
        self.throttle.unlock(account=name)

    def unlock(self, *, username: str | None = None, client: str | None = None) -> int:
        """Lift the back-off of an account (from every client) or of a client address;
        returns how many counts were forgotten. The account need not exist (guesses at
        unknown names are throttled like any other)."""
        if username is not None:
            return self.throttle.unlock(account=normalize_username(username))
        if client:
            return self.throttle.unlock(client=client[:300])
        raise ConfigError("name a user or a client address to unlock")

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
        """The user, if the password is right and no back-off applies; else an error.

        Raises :class:`LockedOutError` (with ``retry_after`` seconds) while this account
        or this client must wait (the password is not even checked), otherwise one
        generic :class:`AuthenticationError` for every kind of failure.
        """
        try:
            name = normalize_username(username)
        except ConfigError:
            name = ""
        client = client[:300]
        now = self._clock()
        wait = self.throttle.wait(name, client, now)
        if wait > 0:
            seconds = math.ceil(wait)
            error = LockedOutError(
                f"too many failed sign-ins; try again in {seconds} second(s)"
                if seconds < 120
                else f"too many failed sign-ins; try again in {math.ceil(seconds / 60)} minutes"
            )
            error.retry_after = seconds
            raise error
        with self._engine.connect() as conn:
            row = self._row(conn, name) if name else None
        ok = False
        if row is None or len(password) > _MAX_PASSWORD:
            self._verify(self._dummy(), password[:_MAX_PASSWORD])
        else:
            ok = self._verify(row.password_hash, password) and not row.disabled
        if not ok or row is None:
            self.throttle.failed(name, client, now)
            raise AuthenticationError(_SIGN_IN_FAILED)
        self.throttle.succeeded(name, client, now)
        if self._hasher.check_needs_rehash(row.password_hash):
            with self._engine.begin() as conn:
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


def throttle_from_settings(settings: Settings) -> Callable[[Engine], LoginThrottle] | None:
    """A Redis throttle when the session store is Redis (servers sharing sessions share
    the counts too); None (the accounts database) otherwise."""
    from ..settings import resolve_secret

    url = resolve_secret(settings.session_store.strip()).strip()
    if not url.lower().startswith(("redis://", "rediss://", "unix://")):
        return None
    from .throttle import RedisThrottle

    policy = ThrottlePolicy(settings.login_max_failures, settings.login_lockout_minutes * 60.0)
    return lambda _engine: RedisThrottle(url, policy)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _make_owner_only(path: Path) -> None:
    """The accounts database (password hashes, roles) and its -wal/-shm: 0600 if ours."""
    for target in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = target.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            with contextlib.suppress(OSError):  # read-only media: verify reports it
                target.chmod(0o600)
