"""A case: one investigation's directory (config, media) and its database.

``earshot.toml`` in the directory holds the case id and settings; the metadata lives
in ``earshot.db`` (SQLite, WAL) unless the config names a PostgreSQL URL. Opening an
older case upgrades its schema first.
"""

from __future__ import annotations

import fcntl
import os
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import CaseError, CaseExistsError, CaseNotFoundError, ConfigError
from ..security.crypto import KeySource, MediaCipher, create_encryption, database_key, unlock
from ..security.private import harden_case_dir, narrow_umask
from ..settings import Settings, resolve_secret
from .chainkey import create_chain_key, resolve_key_path
from .custody import append_custody
from .database import current_revision, head_revision, make_engine, migrate
from .hashchain import seal_anchor
from .media import MediaStore
from .models import CaseInfo, CustodyEntry
from .security_models import AuditEntry

__all__ = ["CONFIG_NAME", "Case"]

CONFIG_NAME = "earshot.toml"
DB_NAME = "earshot.db"
DATABASE_CIPHER = "sqlcipher-4"  # [encryption] database = ...: the SQLite file is SQLCipher
# Made 0600 (the folder 0700) on every open, whatever the umask they were made under.
PRIVATE_FILES = (CONFIG_NAME, DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm")


@dataclass(frozen=True)
class Migration:
    before: str | None
    after: str | None


class Case:
    """An open case. Use :meth:`init` or :meth:`open`; close with :meth:`close`."""

    def __init__(
        self,
        path: Path,
        case_id: str,
        settings: Settings,
        engine: Engine,
        unlock_media: Callable[[], MediaCipher] | None = None,
    ) -> None:
        self.path = path
        self.case_id = case_id
        self.settings = settings
        self.engine = engine
        self.media = MediaStore(path, unlock=unlock_media)
        self.migration: Migration | None = None
        self.chain_key_file = resolve_key_path(path, settings.chain_key_file)
        # The log layers find the case's anchors and chain key here (earshot.store.hashchain).
        self._sessions = sessionmaker(
            engine,
            expire_on_commit=False,
            # The settings too: library rules that follow them (the translation workflow's
            # rewrite threshold) read them from the session, whoever calls.
            info={"case_dir": path, "chain_key_file": self.chain_key_file, "settings": settings},
        )

    # -- lifecycle -----------------------------------------------------------------
    @classmethod
    def init(
        cls,
        path: Path,
        *,
        db: str | None = None,
        settings: Settings | None = None,
        revision: str = "heads",
        encryption: KeySource | None = None,
        case_settings: Mapping[str, Any] | None = None,
    ) -> Case:
        """Create a new case at `path` (an empty or missing directory).

        With `encryption`, originals and working copies are stored encrypted under a
        new random key, unlocked later by the same passphrase or key file; the SQLite
        database is an SQLCipher file under a key derived from it (a PostgreSQL
        database is the server's to protect). `case_settings` are written to the
        case's ``earshot.toml`` (checked like any setting; never secrets), e.g. the
        demo case's ``translation_four_eyes = false``.
        """
        path = Path(path)
        if (path / CONFIG_NAME).exists():
            raise CaseExistsError(f"{path} is already an Earshot case; open it instead")
        if path.exists() and not path.is_dir():
            raise CaseError(f"{path} exists and is not a directory; choose another path")
        stored = dict(case_settings or {})
        if {"db", "key_file"} & set(stored):
            raise ConfigError("db and key_file are not case settings; pass them as options")
        in_case = Settings().merged(stored, "case settings")  # checked names and types
        base = in_case.with_environment().merged((settings or Settings()).explicit(), "options")
        if db is not None:
            base = base.merged({"db": db}, "--db")
        persisted = cls._persisted(base)  # refuses a literal password before anything is made
        persisted.update({name: getattr(in_case, name) for name in stored})
        case_id = uuid.uuid4().hex
        cipher = None
        config: dict[str, Any] = {"case": {"id": case_id, "format": 1}, "settings": persisted}
        sqlite_key = None
        if encryption is not None:  # a bad key source fails here, before anything is made
            config["encryption"], cipher = create_encryption(encryption, case_id)
            if not base.db:
                config["encryption"]["database"] = DATABASE_CIPHER
                sqlite_key = database_key(cipher, case_id)
        narrow_umask()  # everything below is owner-only, whatever the caller's umask
        path.mkdir(parents=True, exist_ok=True)
        harden_case_dir(path, PRIVATE_FILES)  # an existing empty folder made under 022
        engine = make_engine(cls._url(path, base.db), sqlite_key=sqlite_key)
        existing = current_revision(engine)
        if existing is not None:
            with Session(engine) as session:
                other = session.get(CaseInfo, "case_id")
            engine.dispose()
            raise CaseExistsError(
                f"the database {base.db.split('@')[-1]!r} already holds case "
                f"{other.value if other else '?'}; give each case its own database"
            )
        migrate(engine, revision)
        MediaStore(path).create()
        create_chain_key(resolve_key_path(path, base.chain_key_file))
        tmp = path / (CONFIG_NAME + ".tmp")
        tmp.write_text(tomli_w.dumps(config), encoding="utf-8")
        os.replace(tmp, path / CONFIG_NAME)
        case = cls(path, case_id, base, engine, (lambda: cipher) if cipher else None)
        with case.session() as session:
            session.add(CaseInfo(key="case_id", value=case_id))
            append_custody(
                session,
                operator=base.operator,
                action="case-created",
                detail={
                    "case_id": case_id,
                    "backend": engine.dialect.name,
                    "encrypted": cipher is not None,
                },
            )
        return case

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        settings: Settings | None = None,
        key: KeySource | None = None,
        unlocked: MediaCipher | None = None,
    ) -> Case:
        """Open an existing case, upgrading its schema if it is older than this Earshot.

        An encrypted case unlocks with `key` or else the key file setting /
        EARSHOT_PASSPHRASE: at once when its database is encrypted (SQLite cases made
        since database encryption), else when its media are first used. Worker
        processes pass `unlocked`, the cipher their parent already unlocked, so that
        the key travels in memory and the key derivation does not run again.
        """
        path = Path(path)
        config_file = path / CONFIG_NAME
        if not config_file.is_file():
            raise CaseNotFoundError(
                f"{path} is not an Earshot case (no {CONFIG_NAME}); create one with "
                f"`earshot init {path}`"
            )
        harden_case_dir(path, PRIVATE_FILES)
        try:
            config = tomllib.loads(config_file.read_text(encoding="utf-8"))
            case_id = str(config["case"]["id"])
            encryption = dict(config.get("encryption") or {})
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{config_file}: unreadable case configuration ({exc})") from None
        # Precedence: defaults < the case's earshot.toml < EARSHOT_* < explicit options.
        base = Settings().merged(config.get("settings", {}), str(config_file))
        base = base.with_environment().merged((settings or Settings()).explicit(), "options")

        def unlock_media() -> MediaCipher:
            if unlocked is not None:
                return unlocked
            return unlock(encryption, case_id, key or KeySource.from_environment(base.key_file))

        sqlite_key = None
        if encryption.get("database") is not None:
            if encryption["database"] != DATABASE_CIPHER:
                raise ConfigError(
                    f"{config_file}: unknown database encryption {encryption['database']!r}; "
                    "upgrade Earshot"
                )
            # No key, or a wrong one: refused before any file is read. Unlocked once, the
            # cipher also serves the media (unlock_media returns it from now on).
            unlocked = unlock_media()
            sqlite_key = database_key(unlocked, case_id)

        engine = make_engine(cls._url(path, base.db), sqlite_key=sqlite_key)
        before = current_revision(engine)
        if before is None:
            raise CaseError(
                f"{path}: the case database is empty; was the database URL changed? "
                f"(it is {base.db or 'the local SQLite file'})"
            )
        case = cls(path, case_id, base, engine, unlock_media if encryption else None)
        with case.session() as session:
            stored = session.get(CaseInfo, "case_id")
        if stored is None or stored.value != case_id:
            engine.dispose()
            raise CaseError(
                f"{path}: the database belongs to another case "
                f"({stored.value if stored else 'unknown'}, expected {case_id})"
            )
        if before != head_revision(engine):
            migrated = migrate(engine)
            case.migration = Migration(*migrated)
            with case.session() as session:
                append_custody(
                    session,
                    operator=base.operator,
                    action="schema-upgraded",
                    detail={"from": migrated[0], "to": migrated[1]},
                )
                # Anchor both logs now: an entry without a MAC appended from here on is
                # caught even before Earshot writes its next audit entry.
                seal_anchor(session, CustodyEntry)
                seal_anchor(session, AuditEntry)
        return case

    @staticmethod
    def _url(path: Path, db: str) -> str:
        if not db:
            return f"sqlite:///{(path / DB_NAME).resolve()}"
        return resolve_secret(db)

    @staticmethod
    def _persisted(settings: Settings) -> dict[str, Any]:
        """Settings worth keeping with the case (never the operator or a literal secret)."""
        out: dict[str, Any] = {"region": settings.region, "timezone": settings.timezone}
        if settings.chain_key_file:
            out["chain_key_file"] = settings.chain_key_file
        if settings.db:
            out["db"] = (
                settings.db if settings.db.startswith("env:") else _strip_password(settings.db)
            )
        return out

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """Hold the case's write lock (one ingest or process run at a time)."""
        narrow_umask()  # whatever the process set since: this run writes owner-only files
        lock_path = self.path / ".lock"
        with lock_path.open("a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CaseError(
                    f"{self.path}: another Earshot command is writing to this case; "
                    f"wait for it to finish before running {what}"
                ) from None
            try:
                self.media.clean_tmp()
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def info(self) -> dict[str, str]:
        with self.session() as session:
            return {row.key: row.value for row in session.execute(select(CaseInfo)).scalars()}


def _strip_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.password:
        raise ConfigError(
            "refusing to store a database password in the case; write the URL without it "
            "and use a ~/.pgpass file, or pass --db env:VARNAME and export VARNAME"
        )
    return url
