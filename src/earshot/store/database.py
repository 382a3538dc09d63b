"""Engines and migrations for the case database (SQLite by default, PostgreSQL for teams)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..errors import CaseError
from .hooks import load_session_hooks

__all__ = ["current_revision", "head_revision", "make_engine", "migrate"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the web app) work while an ingest writes; FULL sync because
    # this is evidence and a power cut must not lose a committed custody entry.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


SQLCIPHER_CACHE_KIB = 64 * 1024


def _sqlcipher_module() -> Any:
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        raise CaseError(
            "this case's database is encrypted and needs SQLCipher: "
            "pip install sqlcipher3-binary (part of Earshot's dependencies), then run again"
        ) from None
    return dbapi2


def _keyed(key: bytes) -> Any:
    """A connect hook that gives SQLCipher the raw 256-bit key before anything else runs."""
    pragma = f"PRAGMA key = \"x'{key.hex()}'\""

    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(pragma)
        # Every page read from disk (or the OS cache) is decrypted and authenticated;
        # a 64 MiB page cache per connection keeps the hot search index decrypted.
        cursor.execute(f"PRAGMA cache_size = -{SQLCIPHER_CACHE_KIB}")
        cursor.close()

    return apply


def make_engine(url: str, *, sqlite_key: bytes | None = None) -> Engine:
    """An engine for `url` with the settings Earshot relies on.

    With `sqlite_key` the SQLite file is an SQLCipher database (AES-256, every page
    including the WAL), opened with that raw key: the case's transcripts, names and
    numbers are as protected at rest as its media.
    """
    load_session_hooks()
    try:
        if url.startswith("sqlite"):
            extra: dict[str, Any] = {}
            if sqlite_key is not None:
                extra["module"] = _sqlcipher_module()
            engine = create_engine(url, connect_args={"check_same_thread": False}, **extra)
            if sqlite_key is not None:
                event.listen(engine, "connect", _keyed(sqlite_key))
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            engine = create_engine(url, pool_pre_ping=True)
        with engine.connect():
            pass
    except (OperationalError, SQLAlchemyError) as exc:
        if sqlite_key is not None and "not a database" in str(exc):
            raise CaseError(
                f"the case database {_redact(url)} does not open with this case's key: it "
                "is damaged, or was replaced by an unencrypted copy; restore it from a backup"
            ) from None
        safe = _redact(url)
        raise CaseError(
            f"cannot connect to the case database {safe}: {exc.__class__.__name__}: "
            f"{str(exc.orig if hasattr(exc, 'orig') else exc).strip().splitlines()[0]}; "
            "check that the server runs and the URL is right"
        ) from None
    return engine


def _redact(url: str) -> str:
    """Hide a password in a URL so that it never reaches a log or a message."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("earshot.store") / "migrations"))
    return cfg


def head_revision(engine: Engine) -> str | None:
    """The schema revision(s) this Earshot expects, as one comparable string.

    Layers keep their migrations on branches from the core revision, so there may be
    several heads; they are joined in sorted order.
    """
    heads = ScriptDirectory.from_config(_config(engine)).get_heads()
    return "+".join(sorted(heads)) or None


def current_revision(engine: Engine) -> str | None:
    """The revision(s) the database is at (joined like :func:`head_revision`), or None."""
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) or None


def migrate(engine: Engine, revision: str = "heads") -> tuple[str | None, str | None]:
    """Upgrade the schema to `revision` (all branch heads by default); returns (before, after)."""
    before = current_revision(engine)
    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return before, current_revision(engine)
