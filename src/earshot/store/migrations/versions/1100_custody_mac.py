"""custody log entries carry an HMAC under the case's chain key; INSERT without one refused

Revision ID: 1100
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from earshot.store.migrations._sealed_log import add_mac, drop_mac

revision = "1100"
down_revision = "0002"
branch_labels = ("custody",)
depends_on = None


def upgrade() -> None:
    add_mac("custody_log")


def downgrade() -> None:
    drop_mac("custody_log")
