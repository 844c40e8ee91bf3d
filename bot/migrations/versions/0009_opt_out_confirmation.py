"""outbox: the answer to STOP is sent although the resident has just opted out

Revision ID: 0009_opt_out_confirmation
Revises: 0008_reply_threads
Create Date: 2026-11-25 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_opt_out_confirmation"
down_revision = "0008_reply_threads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("opt_out_confirmation", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("opt_out_confirmation")
