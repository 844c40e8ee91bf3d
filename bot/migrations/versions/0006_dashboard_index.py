"""operator dashboard: a covering index for request volumes by day, channel and service

Revision ID: 0006_dashboard_index
Revises: 0005_operator_console
Create Date: 2026-11-25 19:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0006_dashboard_index"
down_revision = "0005_operator_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_requests_requested_channel_code",
            ["requested_datetime", "channel", "service_code"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_service_requests_requested_channel_code")
