"""remote_submission: the review item a report the city refused went to, so its reference follows it

Revision ID: 0012_remote_refusals
Revises: 0011_outbox_parts_sent
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_remote_refusals"
down_revision = "0011_outbox_parts_sent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remote_submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_item_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("remote_submission", schema=None) as batch_op:
        batch_op.drop_column("review_item_id")
