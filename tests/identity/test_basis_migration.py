"""Migration 0301: old spellings of the attribution basis are rewritten, and history rows
that recorded a confirmed voice match as "from the call records" get basis voice_match."""

from __future__ import annotations

import importlib.util
from importlib.resources import files

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select

from earshot.identity import bring_up_to_date, person_report
from earshot.store.case import Case
from earshot.store.identity_models import PartyPersonLink
from earshot.store.models import Party, Person


def _upgrade_0301(case: Case) -> None:
    path = files("earshot.store") / "migrations" / "versions" / "0301_one_basis_spelling.py"
    spec = importlib.util.spec_from_file_location("migration_0301", str(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.revision == "0301" and module.down_revision == "0300"
    with (
        case.engine.begin() as connection,
        Operations.context(MigrationContext.configure(connection)),
    ):
        module.upgrade()


def test_old_spellings_and_wrong_history_are_corrected(sample_case: Case) -> None:
    with sample_case.session() as session:
        bring_up_to_date(session)
        parties = (
            session.execute(select(Party).where(Party.person_id.is_not(None)).order_by(Party.id))
            .scalars()
            .all()
        )
        record_side, voice_side = parties[0], parties[1]
        # What the old code left behind: ingest's "call record", the voice decision's
        # "voice match" on the party, and the history row synthesised from it.
        record_side.person_basis = "call record"
        voice_side.person_basis = "voice match"
        wrong = session.execute(
            select(PartyPersonLink).where(
                PartyPersonLink.party_id == voice_side.id, PartyPersonLink.superseded_at.is_(None)
            )
        ).scalar_one()
        assert wrong.basis == "call_record" and wrong.actor == "call records"
        ids = (record_side.id, voice_side.id, wrong.id)
    _upgrade_0301(sample_case)
    with sample_case.session() as session:
        record_side = session.get(Party, ids[0])
        voice_side = session.get(Party, ids[1])
        fixed = session.get(PartyPersonLink, ids[2])
        assert record_side is not None and voice_side is not None and fixed is not None
        assert record_side.person_basis == "call_record"
        assert voice_side.person_basis == "voice_match"
        assert fixed.basis == "voice_match" and "migration 0301" in (fixed.note or "")
        person = session.get(Person, voice_side.person_id)
        assert person is not None
        side = next(
            c
            for c in person_report(session, person).calls
            if (c["call_id"], c["party"]) == (voice_side.call_id, voice_side.label)
        )
        assert side["basis"] == "voice_match" and side["attribution"]["basis"] == "voice_match"
