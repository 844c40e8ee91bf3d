"""open311: list indexes that include the id, so newest-first pages are read in index order

Revision ID: 0007_open311_list_indexes
Revises: 0006_dashboard_index
Create Date: 2026-11-25 19:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0007_open311_list_indexes"
down_revision = "0006_dashboard_index"
branch_labels = None
depends_on = None

_OLD = {
    "ix_service_requests_requested": ["requested_datetime"],
    "ix_service_requests_code_requested": ["service_code", "requested_datetime"],
    "ix_service_requests_status_requested": ["status", "requested_datetime"],
}
_NEW = {
    "ix_service_requests_requested_id": ["requested_datetime", "id"],
    "ix_service_requests_code_requested_id": ["service_code", "requested_datetime", "id"],
    "ix_service_requests_status_requested_id": ["status", "requested_datetime", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        for name in _OLD:
            batch_op.drop_index(name)
        for name, columns in _NEW.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        for name in _NEW:
            batch_op.drop_index(name)
        for name, columns in _OLD.items():
            batch_op.create_index(name, columns, unique=False)
