"""resident: their public name on the channel (an X @username), so an operator can reach a resident no
reply reached

Revision ID: 0015_resident_usernames
Revises: 0014_private_conversations
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_resident_usernames"
down_revision = "0014_private_conversations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("username")
