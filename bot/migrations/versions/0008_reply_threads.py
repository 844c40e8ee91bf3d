"""conversation: remember the message a report was made in, so status updates answer in its thread

Revision ID: 0008_reply_threads
Revises: 0007_open311_list_indexes
Create Date: 2026-11-25 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_reply_threads"
down_revision = "0007_open311_list_indexes"
branch_labels = None
depends_on = None

_TABLES = ("follow", "review_item")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("reply_to", sa.String(length=128), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("reply_to")
