"""In-process status-change events: listeners are called after the change is committed.

The durable record is the ``status_changes`` table (ids only grow; a notification job scans it with a
cursor for exactly-once delivery across workers). These in-process events are the fast path for whatever
lives in the same process, and are never emitted for a change that was rolled back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.open311.models import StatusChangeEvent

Listener = Callable[[StatusChangeEvent], None]
_PENDING_KEY = "open311_pending_events"
log = logging.getLogger(__name__)


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Adds a listener; returns a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, change: StatusChangeEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(change)
            except Exception:  # one broken listener must not stop the others or undo a commit
                log.exception("status-change listener %r failed", listener)

    def publish_after_commit(self, session: Session, change: StatusChangeEvent) -> None:
        """Queues ``change`` on the session; it is published when (and only if) the session commits."""
        pending: list[StatusChangeEvent] | None = session.info.get(_PENDING_KEY)
        if pending is None:
            pending = session.info[_PENDING_KEY] = []
            event.listen(session, "after_commit", self._flush)
            event.listen(session, "after_rollback", _discard)
        pending.append(change)

    def _flush(self, session: Session) -> None:
        pending: list[StatusChangeEvent] = session.info.get(_PENDING_KEY) or []
        session.info[_PENDING_KEY] = []
        for change in pending:
            self.publish(change)


def _discard(session: Session) -> None:
    if session.info.get(_PENDING_KEY):
        session.info[_PENDING_KEY] = []
