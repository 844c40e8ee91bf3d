"""operator_account: a unique index on lower(name), so "Alice" and "alice" cannot both be accounts

Revision ID: 0016_operator_names_any_case
Revises: 0015_resident_usernames
Create Date: 2026-11-30 12:00:00

Accounts made before names were case-insensitive may already be such twins. Failing the upgrade over them
would stop the whole bot from starting; dropping or renaming one would lock a person out of the name they
sign in with. So the index leaves out every twin but the oldest of each name (a partial index, ``WHERE id
NOT IN (...)``, which SQLite and PostgreSQL both have): those accounts keep working as before (each signs in
by its exact name), every account made from now on is checked against all the others, and a warning names
the twins so the deployer can disable the ones that should not be there.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0016_operator_names_any_case"
down_revision = "0015_resident_usernames"
branch_labels = None
depends_on = None

INDEX = "uq_operator_account_lower_name"
log = logging.getLogger("bot.migrations")


def upgrade() -> None:
    twins = _case_twins()
    # The ids are integers read from the table, never text from outside: safe to write into the statement.
    later = sorted(int(operator_id) for group in twins for operator_id, _ in group[1:])
    where = f" WHERE id NOT IN ({', '.join(str(operator_id) for operator_id in later)})" if later else ""
    op.execute(f"CREATE UNIQUE INDEX {INDEX} ON operator_account (lower(name)){where}")
    for group in twins:
        names = ", ".join(repr(name) for _, name in group)
        log.warning(
            "operator accounts %s differ only in case: each still signs in by its exact name, and no new "
            "account can take that name in any case; disable the ones that should not be there "
            "(`open311-bot operators disable NAME`)",
            names,
        )


def _case_twins() -> list[list[tuple[int, str]]]:
    """Accounts whose names are equal once lowered (by the database's own lower(), as the index will be),
    oldest first in each group."""
    rows = op.get_bind().execute(sa.text("SELECT id, name, lower(name) FROM operator_account ORDER BY id"))
    groups: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
    for operator_id, name, lowered in rows:
        groups[lowered].append((operator_id, name))
    return [group for group in groups.values() if len(group) > 1]


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
