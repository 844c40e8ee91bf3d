"""A rejected report's photos: deleted, so the public media route no longer serves them.

The bot serves every photo it stores at an unguessable but permanent public URL, since a filed request's
``media_url`` must be readable by anyone. A report an operator rejects is filed nowhere, so its photos
belong to no public request: they are deleted once the rejection is committed (a rejection rolled back
deletes nothing). A photo something else still links to is kept: a request (its ``media_url``, or the
photos listed at the end of its description), a batch submission waiting to be accepted, a report sent
to the city in remote mode, another review item not rejected.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, String, cast, event, or_
from sqlalchemy.orm import Session
from sqlmodel import col, select

from bot.open311.media import MediaStore
from bot.open311.models import RequestTokenRow, ServiceRequestRow
from bot.remote.records import RemoteSubmission
from bot.review.models import ReviewItem

log = logging.getLogger(__name__)
_PENDING_KEY = "review_photos_to_delete"
# A report sent to the city in these states was refused there: it publishes nothing.
_REFUSED_BY_THE_CITY = ("review", "rejected")


def delete_after_commit(session: Session, media: MediaStore, item: ReviewItem) -> None:
    """Deletes the photos of the rejected ``item`` that the bot stored and nothing else links to, when (and
    only if) ``session`` commits."""
    names = {name for url in item.media_urls if (name := media.name_in(url)) and media.has(name)}
    unlinked = [name for name in sorted(names) if not _linked_elsewhere(session, name, item.id)]
    if not unlinked:
        return
    pending: list[tuple[MediaStore, str]] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _delete)
        event.listen(session, "after_rollback", _discard)
    pending.extend((media, name) for name in unlinked)


def deleted_photos(media: MediaStore | None, item: ReviewItem) -> set[str]:
    """The URLs among a rejected ``item``'s photos that name a file of the store that is gone (for its
    page to say so rather than show a broken image)."""
    if media is None or item.status != "rejected":
        return set()
    return {url for url in item.media_urls if (name := media.name_in(url)) and not media.has(name)}


def _linked_elsewhere(session: Session, name: str, item_id: int | None) -> bool:
    def mentions(column: Any) -> ColumnElement[bool]:
        return cast(column, String).contains(name, autoescape=True)

    linking = (
        select(ServiceRequestRow.id).where(
            or_(mentions(ServiceRequestRow.media_url), mentions(ServiceRequestRow.description))
        ),
        select(RequestTokenRow.token).where(
            col(RequestTokenRow.request_id).is_(None), mentions(RequestTokenRow.payload)
        ),
        select(RemoteSubmission.id).where(
            col(RemoteSubmission.state).not_in(_REFUSED_BY_THE_CITY), mentions(RemoteSubmission.fields)
        ),
        select(ReviewItem.id).where(
            col(ReviewItem.id) != item_id,
            col(ReviewItem.status) != "rejected",
            mentions(ReviewItem.media_urls),
        ),
    )
    return any(session.execute(query.limit(1)).first() is not None for query in linking)


def _delete(session: Session) -> None:
    for media, name in session.info.pop(_PENDING_KEY, None) or []:
        try:
            media.delete(name)
        except OSError as exc:  # the rejection is committed: say so, and the file is still to delete
            log.error("the photo %s of a rejected report could not be deleted: %s", name, exc)


def _discard(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
