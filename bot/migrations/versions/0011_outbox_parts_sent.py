"""outbox: how many parts of a message split in several went out, so a retry resumes after them

Revision ID: 0011_outbox_parts_sent
Revises: 0010_inbox_per_sender
Create Date: 2026-11-27 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_outbox_parts_sent"
down_revision = "0010_inbox_per_sender"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_part_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("last_part_id")
        batch_op.drop_column("parts_sent")
