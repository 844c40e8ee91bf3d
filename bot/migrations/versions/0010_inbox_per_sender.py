"""inbox: a message id is unique per sender on a channel, not across all residents

Revision ID: 0010_inbox_per_sender
Revises: 0009_opt_out_confirmation
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0010_inbox_per_sender"
down_revision = "0009_opt_out_confirmation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_constraint("uq_inbox_provider_message", type_="unique")
        batch_op.create_unique_constraint(
            "uq_inbox_sender_message", ["channel", "resident_id", "provider_message_id"]
        )


def downgrade() -> None:
    # Fails where two residents' messages share an id, as the old key cannot hold them.
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_constraint("uq_inbox_sender_message", type_="unique")
        batch_op.create_unique_constraint("uq_inbox_provider_message", ["channel", "provider_message_id"])
