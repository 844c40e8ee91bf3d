"""conversation: whether the report in progress was told privately (an X direct message), so a public
mention is not answered about it in public

Revision ID: 0014_private_conversations
Revises: 0013_remote_unanswered_posts
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_private_conversations"
down_revision = "0013_remote_unanswered_posts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("private")
