"""audit log entries carry an HMAC under the case's chain key; INSERT without one refused

Revision ID: 0501
Revises: 0500
Create Date: 2026-12-06
"""

from __future__ import annotations

from earshot.store.migrations._sealed_log import add_mac, drop_mac

revision = "0501"
down_revision = "0500"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_mac("audit_log")


def downgrade() -> None:
    drop_mac("audit_log")
