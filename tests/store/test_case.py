"""The case directory: layout, backends, configuration, migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from earshot.errors import CaseError, CaseExistsError, CaseNotFoundError, ConfigError
from earshot.store.case import Case
from earshot.store.database import current_revision, head_revision, make_engine, migrate
from earshot.store.models import CustodyEntry
from earshot.store.schema import metadata


def test_init_creates_layout_and_database(case: Case, db_url: str) -> None:
    for sub in ("media/originals", "media/working", "tmp", "earshot.toml"):
        assert (case.path / sub).exists(), sub
    assert current_revision(case.engine) == head_revision(case.engine)
    assert case.engine.dialect.name == ("postgresql" if db_url else "sqlite")
    assert case.info()["case_id"] == case.case_id
    with case.session() as session:
        first = session.query(CustodyEntry).order_by(CustodyEntry.id).first()
    assert first is not None and first.action == "case-created"


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    Case.init(tmp_path / "c").close()
    with sqlite3.connect(tmp_path / "c" / "earshot.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_schema_matches_models(case: Case) -> None:
    with case.engine.connect() as conn:
        # FTS5's virtual table and its shadow tables are the search index, not models.
        context = MigrationContext.configure(
            conn,
            opts={"include_name": lambda name, kind, _p: not str(name).startswith("segment_fts")},
        )
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_open_missing_case_says_how_to_create(tmp_path: Path) -> None:
    with pytest.raises(CaseNotFoundError, match="earshot init"):
        Case.open(tmp_path / "nothing")


def test_init_twice_refused(case_dir: Path) -> None:
    with pytest.raises(CaseExistsError):
        Case.init(case_dir)


def test_postgres_database_of_another_case_refused(tmp_path: Path, pg_url: str) -> None:
    Case.init(tmp_path / "one", db=pg_url).close()
    with pytest.raises(CaseExistsError, match="already holds case"):
        Case.init(tmp_path / "two", db=pg_url)


def test_password_never_stored_in_case(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="password"):
        Case.init(tmp_path / "c", db="postgresql://user:s3cret@127.0.0.1:5432/test")
    assert "s3cret" not in "".join(
        p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file()
    )


def test_env_reference_for_database_url(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASE_DB", pg_url)
    Case.init(tmp_path / "c", db="env:CASE_DB").close()
    assert "env:CASE_DB" in (tmp_path / "c" / "earshot.toml").read_text()
    with Case.open(tmp_path / "c") as case:
        assert case.engine.dialect.name == "postgresql"
    monkeypatch.delenv("CASE_DB")
    with pytest.raises(ConfigError, match="CASE_DB"):
        Case.open(tmp_path / "c")


def test_unknown_setting_in_config_is_an_error(case_dir: Path) -> None:
    config = case_dir / "earshot.toml"
    config.write_text(config.read_text() + "bogus = 1\n".replace("bogus", "\n[settings.x]\ny"))
    with pytest.raises(ConfigError, match="unknown setting 'x'"):
        Case.open(case_dir)


def test_environment_overrides_config(case_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARSHOT_REGION", "UA")
    with Case.open(case_dir) as case:
        assert case.settings.region == "UA"


def test_custody_log_is_append_only(case: Case) -> None:
    """The database itself refuses to change or remove custody entries."""
    from sqlalchemy.exc import DBAPIError

    for statement in ("UPDATE custody_log SET operator = 'mallory'", "DELETE FROM custody_log"):
        with pytest.raises(DBAPIError, match="append-only"), case.engine.begin() as conn:
            conn.execute(text(statement))


def test_database_unreachable_is_a_clear_error() -> None:
    with pytest.raises(CaseError, match="cannot connect"):
        make_engine("postgresql://nobody@127.0.0.1:1/none")


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert migrate(engine)[1] == migrate(engine)[1]


def test_explicit_option_beats_environment_beats_config(
    case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from earshot.settings import Settings

    monkeypatch.setenv("EARSHOT_OPERATOR", "from-env")
    with Case.open(case_dir) as case:
        assert case.settings.operator == "from-env"
    chosen = Settings().with_environment().merged({"operator": "from-option"}, "--operator")
    with Case.open(case_dir, settings=chosen) as case:
        assert case.settings.operator == "from-option"
        assert case.settings.region == "RU"  # from the case config, untouched


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("false", False), ("No", False), ("0", False), ("off", False), (False, False)],
        *[("true", True), ("YES", True), ("1", True), ("on", True), (True, True)],
    ],
)
def test_boolean_settings_from_environment_and_toml(raw: object, expected: bool) -> None:
    from earshot.settings import Settings

    assert Settings().merged({"translation_four_eyes": raw}, "test").translation_four_eyes is (
        expected
    )


def test_boolean_setting_rejects_other_words(monkeypatch: pytest.MonkeyPatch) -> None:
    from earshot.settings import Settings

    monkeypatch.setenv("EARSHOT_TRANSLATION_FOUR_EYES", "maybe")
    with pytest.raises(ConfigError, match="translation_four_eyes' must be bool, got 'maybe'"):
        Settings().with_environment()


def test_case_settings_are_checked_and_kept_in_the_case(tmp_path: Path) -> None:
    with Case.init(tmp_path / "c", case_settings={"translation_four_eyes": "no"}) as case:
        assert case.settings.translation_four_eyes is False
    with Case.open(tmp_path / "c") as case:
        assert case.settings.translation_four_eyes is False
    with pytest.raises(ConfigError, match="unknown setting 'four_eyes'"):
        Case.init(tmp_path / "d", case_settings={"four_eyes": False})
    with pytest.raises(ConfigError, match="not case settings"):
        Case.init(tmp_path / "e", case_settings={"db": "postgresql://u:pw@h/db"})
    assert not (tmp_path / "d").exists() and not (tmp_path / "e").exists()
