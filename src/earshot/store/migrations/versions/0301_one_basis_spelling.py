"""One spelling of the attribution basis: ``call_record`` and ``voice_match`` everywhere.

Ingest wrote ``parties.person_basis = 'call record'`` and the voice decision wrote
``'voice match'``, while the identity history spells bases ``call_record`` /
``voice_match``. A side linked by a confirmed voice match was then recorded in
``party_person_links`` as ``call_record`` ("from the call records"): wrong
provenance. This rewrites the parties' spelling and corrects those history rows
(the link is the one the identity layer synthesised for a side whose party said
"voice match"); the correction is noted on the row.

Revision ID: 0301
Revises: 0300
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0301"
down_revision = "0300"
branch_labels = None
depends_on = None

_SPELLINGS = {"call record": "call_record", "voice match": "voice_match"}
_NOTE = "voice match (basis corrected from call_record by migration 0301)"


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE party_person_links SET basis = 'voice_match', note = :note "
            "WHERE basis = 'call_record' AND actor = 'call records' "
            "AND party_id IN (SELECT id FROM parties WHERE person_basis = 'voice match')"
        ),
        {"note": _NOTE},
    )
    for old, new in _SPELLINGS.items():
        bind.execute(
            sa.text("UPDATE parties SET person_basis = :new WHERE person_basis = :old"),
            {"new": new, "old": old},
        )


def downgrade() -> None:
    bind = op.get_bind()
    for old, new in _SPELLINGS.items():
        bind.execute(
            sa.text("UPDATE parties SET person_basis = :old WHERE person_basis = :new"),
            {"new": new, "old": old},
        )
