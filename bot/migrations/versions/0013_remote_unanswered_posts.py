"""remote_submission: when a POST of it first went unanswered, so the city is searched before it is sent
again

Revision ID: 0013_remote_unanswered_posts
Revises: 0012_remote_refusals
Create Date: 2026-11-28 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.open311.models

revision = "0013_remote_unanswered_posts"
down_revision = "0012_remote_refusals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remote_submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unanswered_at", bot.open311.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("remote_submission", schema=None) as batch_op:
        batch_op.drop_column("unanswered_at")
