"""Durable named cursors for channels that read a provider's feed by position (X's ``since_id``, Telegram's
last handled ``update_id``).

A channel (which never imports ``bot``) takes a ``channels.base.CursorStore``; this is the database
implementation. Values are the provider's opaque strings: X ids are 64-bit snowflakes, too big for the
``job_cursor`` table's integer positions (and never compared here, only stored).

A database that does not answer (``bot.db_outage.unreachable``) is ``channels.base.TemporarilyUnavailable``
here, as from the dispatcher: the channels (which know no SQLAlchemy) say it in one line and try again. Any
other database error (a table missing) is raised as it is.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel

from bot.clock import utcnow
from bot.db import SessionFactory
from bot.db_outage import unavailable_while_the_database_is_down
from bot.open311.models import UTCDateTime


class ChannelCursor(SQLModel, table=True):
    __tablename__ = "channel_cursor"

    name: str = Field(primary_key=True, max_length=128)
    value: str = Field(max_length=256)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DatabaseCursorStore:
    """``CursorStore`` over the ``channel_cursor`` table; each ``set`` commits on its own."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def get(self, name: str) -> str | None:
        with unavailable_while_the_database_is_down(), self._sessions() as session:
            row = session.get(ChannelCursor, name)
            return row.value if row is not None else None

    def set(self, name: str, value: str) -> None:
        with unavailable_while_the_database_is_down(), self._sessions() as session, session.begin():
            save(session, name, value)


def save(session: Session, name: str, value: str) -> None:
    """Writes a cursor inside the caller's transaction."""
    row = session.get(ChannelCursor, name)
    if row is None:
        session.add(ChannelCursor(name=name, value=value))
    else:
        row.value = value
        row.updated_at = utcnow()
        session.add(row)
