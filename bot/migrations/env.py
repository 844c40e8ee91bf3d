"""Alembic environment: runs on the connection bot.db.migrate hands over (or on a URL for the CLI)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import bot.open311.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import bot.outbox  # noqa: F401  (conversation engine: outbox; resident, conversation, inbox via bot.state)
import bot.review.models  # noqa: F401  (the review queue)

target_metadata = SQLModel.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    from bot.config import load_settings
    from bot.db import make_engine

    engine = make_engine(load_settings().effective_database_url)
    with engine.begin() as conn:
        run_with(conn)
    engine.dispose()
