"""review_item: whether the resident's words sound like an emergency, so the console flags and lists it first

Revision ID: 0017_review_emergencies
Revises: 0016_operator_names_any_case
Create Date: 2026-11-28 09:10:00

Items already in the table are flagged from their words by the same cues the bot uses
(``bot.emergencies``): one waiting when the release is installed ("I smell gas near 16th and Valencia")
is listed first at once, not only the items queued after it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.emergencies import sounds_like_an_emergency

revision = "0017_review_emergencies"
down_revision = "0016_operator_names_any_case"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency", sa.Boolean(), nullable=False, server_default=sa.false()))
    connection = op.get_bind()
    items = sa.table("review_item", sa.column("id", sa.Integer), sa.column("emergency", sa.Boolean))
    flagged = [
        item_id
        for item_id, words in connection.execute(sa.text("SELECT id, text FROM review_item"))
        if words and sounds_like_an_emergency(words)
    ]
    for item_id in flagged:
        connection.execute(sa.update(items).where(items.c.id == item_id).values(emergency=True))


def downgrade() -> None:
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.drop_column("emergency")
