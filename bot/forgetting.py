"""Answering a resident's deletion request: everything the bot holds about one resident (a channel and their
id there), found (``find``), then deleted or anonymised (``forget``), in the caller's transaction.

What goes, and why the rest stays:

- their messages and the bot's replies (``inbox``, ``outbox``), their dialogue in progress, their follows:
  deleted. A provider's redelivery of a message they sent moments before would be handled as new, so
  forget a resident once they have stopped writing.
- their resident row: deleted, unless they sent STOP and did not send START. Then it stays, holding only
  the channel, the id and when they opted out: the law (TCPA and the carriers' rules for SMS) keeps an
  opt-out standing until the person opts back in, and this row is what keeps the bot silent if they write
  again. ``keep_opt_out=False`` drops it too.
- review items of their reports: anonymised, not deleted (the dashboard's figures and the audit log's
  entries point at them): their words, photos, places, answers and ids go, and the emergency flag read
  from those words with them; one still waiting for a person is closed as rejected. The operators'
  labelled examples of them (their words, for training) are deleted.
- requests they filed (by the bot's records: the filer's follow, their last request, their review items,
  and for SMS every request whose ``phone`` is their number): the request stays, as the city's record, with
  its service, place and status, but its ``phone``/``email``/name/device/account fields are emptied and the
  photos they sent deleted (``media_url`` emptied, a "More photos" list taken off the description). The
  description (their words, public on the API) is replaced only when asked (``redact_descriptions``).
  A batch token's waiting submission and, in remote mode, the report as sent to the city are treated alike;
  the city's own copy is the city's to change.
- photo files they sent (of those reports, review items and dialogue): deleted from the media store.
- audit entries about their review items: the places and words in their before/after values are blanked
  (and a request's description, when descriptions are redacted); who did what, and when, stays.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, delete, or_, select

from bot.clock import utcnow
from bot.follows import Follow
from bot.open311.errors import NotFound
from bot.open311.media import MediaStore, more_photos
from bot.open311.models import RequestTokenRow, ServiceRequestRow
from bot.outbox import OutboxMessage
from bot.remote.records import RemoteSubmission
from bot.review.audit import AuditEntry
from bot.review.learning import LabelledExample
from bot.review.models import ReviewItem
from bot.state import ConversationRecord, InboxRecord, Resident

# What a redacted description reads on the API.
REDACTED_DESCRIPTION = "[removed at the resident's request]"
REJECTION = "removed at the resident's request"
# A request's fields that say who filed it (GeoReport v2's submitter fields; never published).
IDENTITY_FIELDS = ("email", "phone", "first_name", "last_name", "device_id", "account_id")
# Values in audit entries about a review item that are the resident's words or places.
AUDITED_PLACES_AND_WORDS = ("text", "description", "location_text", "address_string", "lat", "long")
_DIGITS = re.compile(r"\D")
_DROP = object()


@dataclass(slots=True)
class Holdings:
    """What the bot holds about one resident."""

    channel: str
    resident_id: str
    resident: Resident | None = None
    conversation: ConversationRecord | None = None
    inbox: int = 0
    outbox: int = 0
    follows: list[Follow] = field(default_factory=list)
    review_items: list[ReviewItem] = field(default_factory=list)
    examples: list[LabelledExample] = field(default_factory=list)
    requests: list[ServiceRequestRow] = field(default_factory=list)
    tokens: list[RequestTokenRow] = field(default_factory=list)
    submissions: list[RemoteSubmission] = field(default_factory=list)
    photos: list[Path] = field(default_factory=list)
    audit_entries: list[AuditEntry] = field(default_factory=list)

    @property
    def known(self) -> bool:
        """True when anything at all is held about the resident."""
        rows = (self.follows, self.review_items, self.requests, self.tokens, self.submissions)
        return (
            self.resident is not None
            or self.conversation is not None
            or bool(self.inbox or self.outbox)
            or any(rows)
        )

    @property
    def opted_out(self) -> bool:
        return self.resident is not None and self.resident.opted_out


def find(session: Session, media: MediaStore, channel: str, resident_id: str, *, remote: bool) -> Holdings:
    """Everything held about ``resident_id`` on ``channel`` (read only). ``remote``: the deployment files at
    a city ([remote] enabled), so the numbers it holds are the city's, not the embedded core's."""
    found = Holdings(channel, resident_id)
    found.resident = session.get(Resident, (channel, resident_id))
    found.conversation = session.get(ConversationRecord, (channel, resident_id))
    found.inbox = _count(session, InboxRecord, channel, resident_id)
    found.outbox = _count(session, OutboxMessage, channel, resident_id)
    found.follows = list(
        session.exec(
            select(Follow)
            .where(Follow.channel == channel, Follow.resident_id == resident_id)
            .order_by(col(Follow.id))
        ).all()
    )
    found.review_items = list(
        session.exec(
            select(ReviewItem)
            .where(ReviewItem.channel == channel, ReviewItem.resident_id == resident_id)
            .order_by(col(ReviewItem.id))
        ).all()
    )
    item_ids = [str(item.id) for item in found.review_items]
    if item_ids:
        found.examples = list(
            session.exec(
                select(LabelledExample).where(col(LabelledExample.review_item_id).in_(item_ids))
            ).all()
        )
        found.audit_entries = list(
            session.exec(
                select(AuditEntry).where(
                    AuditEntry.subject_type == "review_item", col(AuditEntry.subject_id).in_(item_ids)
                )
            ).all()
        )
    references = _filed_references(found)
    if remote:
        found.submissions = _remote_submissions(session, references)
        references = set()  # the city's numbers and the bot's R<n>: no request of the embedded core
    found.requests = _filed_requests(session, references, channel, resident_id)
    found.tokens = list(
        session.exec(select(RequestTokenRow).where(col(RequestTokenRow.token).in_(sorted(references)))).all()
    )
    known_ids = {row.id for row in found.requests}
    for token in found.tokens:  # a batch report the core has numbered since
        if token.request_id is not None and token.request_id not in known_ids:
            row = session.get(ServiceRequestRow, token.request_id)
            if row is not None:
                found.requests.append(row)
                known_ids.add(row.id)
    found.photos = _photo_files(media, _photo_urls(found))
    return found


def forget(
    session: Session, found: Holdings, *, redact_descriptions: bool = False, keep_opt_out: bool = True
) -> None:
    """Deletes or anonymises what ``find`` found, in ``session`` (the caller commits, then deletes the
    photo files with ``delete_photos``: a failed commit leaves them all in place)."""
    channel, resident_id = found.channel, found.resident_id
    now = utcnow()
    if found.resident is not None:
        if found.opted_out and keep_opt_out:
            resident = found.resident
            resident.language = resident.last_request_id = resident.last_token = resident.username = None
            resident.created_at = resident.updated_at = resident.opted_out_at or now
            session.add(resident)
        else:
            session.delete(found.resident)
    if found.conversation is not None:
        session.delete(found.conversation)
    session.exec(
        delete(InboxRecord).where(
            col(InboxRecord.channel) == channel, col(InboxRecord.resident_id) == resident_id
        )
    )
    session.exec(
        delete(OutboxMessage).where(
            col(OutboxMessage.channel) == channel, col(OutboxMessage.resident_id) == resident_id
        )
    )
    for follow in found.follows:
        session.delete(follow)
    for example in found.examples:
        session.delete(example)
    for item in found.review_items:
        _anonymise_item(item, now)
        session.add(item)
    for row in found.requests:
        _anonymise_request(row, redact_descriptions, now)
        session.add(row)
    for token in found.tokens:  # NewRequest's fields: each stays, empty
        token.payload = _anonymised_fields(token.payload, redact_descriptions, empty=None)
        session.add(token)
    for submission in found.submissions:  # a form to POST: an empty field is not sent at all
        submission.fields = _anonymised_fields(submission.fields, redact_descriptions, empty=_DROP)
        session.add(submission)
    for entry in found.audit_entries:
        entry.before_json = _blanked(entry.before_json, AUDITED_PLACES_AND_WORDS)
        entry.after_json = _blanked(entry.after_json, AUDITED_PLACES_AND_WORDS)
        session.add(entry)
    if redact_descriptions and found.requests:
        request_ids = [str(row.id) for row in found.requests]
        for entry in session.exec(
            select(AuditEntry).where(
                AuditEntry.subject_type == "request", col(AuditEntry.subject_id).in_(request_ids)
            )
        ).all():
            entry.before_json = _blanked(entry.before_json, ("description",))
            entry.after_json = _blanked(entry.after_json, ("description",))
            session.add(entry)


def delete_photos(paths: Iterable[Path]) -> int:
    """Deletes the photo files; returns how many were there to delete."""
    deleted = 0
    for path in paths:
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
    return deleted


def near_misses(session: Session, channel: str, resident_id: str) -> list[str]:
    """Residents of ``channel`` whose id ends with the digits of ``resident_id`` (7 or more of them): the
    number as a resident wrote it ("(415) 555-0142") for the id the bot knows (+14155550142)."""
    digits = _DIGITS.sub("", resident_id)
    if len(digits) < 7:
        return []
    ids = session.exec(select(Resident.resident_id).where(Resident.channel == channel)).all()
    return sorted(other for other in ids if _DIGITS.sub("", other).endswith(digits) and other != resident_id)


def channels_with_residents(session: Session) -> list[str]:
    return sorted(set(session.exec(select(Resident.channel)).all()))


def who(session: Session, service_request_id: str) -> list[tuple[str, str, str]]:
    """(channel, resident id, how) of each resident the bot links to a request: who filed it, who follows
    it."""
    found: dict[tuple[str, str], str] = {}
    for follow in session.exec(select(Follow).where(Follow.service_request_id == service_request_id)).all():
        how = "filed it" if follow.reason == "filed" else "follows it"
        found.setdefault((follow.channel, follow.resident_id), how)
    for item in session.exec(
        select(ReviewItem).where(ReviewItem.service_request_id == service_request_id)
    ).all():
        if item.resident_id:
            found[(item.channel, item.resident_id)] = "filed it"
    for resident in session.exec(
        select(Resident).where(Resident.last_request_id == service_request_id)
    ).all():
        found[(resident.channel, resident.resident_id)] = "filed it"
    if service_request_id.isdigit():
        row = session.get(ServiceRequestRow, int(service_request_id))
        if row is not None and row.channel == "sms" and row.phone:
            found[("sms", row.phone)] = "filed it"
    return sorted((channel, resident_id, how) for (channel, resident_id), how in found.items())


# -- inside -----------------------------------------------------------------------------------------------


def _count(session: Session, table: Any, channel: str, resident_id: str) -> int:
    rows = session.exec(select(table.id).where(table.channel == channel, table.resident_id == resident_id))
    return len(rows.all())


def _filed_references(found: Holdings) -> set[str]:
    """The request numbers and tokens (R<n> of a remote report) the resident filed, by the bot's records."""
    references = {f.service_request_id for f in found.follows if f.reason == "filed"}
    for item in found.review_items:
        references |= {reference for reference in (item.service_request_id, item.token) if reference}
    if found.resident is not None:
        references |= {r for r in (found.resident.last_request_id, found.resident.last_token) if r}
    return references


def _filed_requests(
    session: Session, references: set[str], channel: str, resident_id: str
) -> list[ServiceRequestRow]:
    numbers = sorted(int(reference) for reference in references if reference.isdigit())
    conditions: list[ColumnElement[bool]] = [col(ServiceRequestRow.id).in_(numbers)] if numbers else []
    if channel == "sms":
        conditions.append(col(ServiceRequestRow.phone) == resident_id)
    if not conditions:
        return []
    return list(
        session.exec(
            select(ServiceRequestRow).where(or_(*conditions)).order_by(col(ServiceRequestRow.id))
        ).all()
    )


def _remote_submissions(session: Session, references: set[str]) -> list[RemoteSubmission]:
    local = sorted(int(reference[1:]) for reference in references if re.fullmatch(r"R\d+", reference))
    conditions = [col(RemoteSubmission.service_request_id).in_(sorted(references))]
    if local:
        conditions.append(col(RemoteSubmission.id).in_(local))
    return list(
        session.exec(
            select(RemoteSubmission).where(or_(*conditions)).order_by(col(RemoteSubmission.id))
        ).all()
    )


def _photo_urls(found: Holdings) -> set[str]:
    urls: set[str] = set()
    for item in found.review_items:
        urls |= set(item.media_urls)
    if found.conversation is not None:
        urls |= {url for url in found.conversation.state.get("media_urls", []) if isinstance(url, str)}
    for row in found.requests:
        urls |= {row.media_url} if row.media_url else set()
        urls |= set(more_photos(row.description or "")[1])
    for fields in [token.payload for token in found.tokens] + [s.fields for s in found.submissions]:
        for key in ("media_url", "media_urls"):
            value = fields.get(key)
            urls |= {value} if isinstance(value, str) else {v for v in value or () if isinstance(v, str)}
    return urls


def _photo_files(media: MediaStore, urls: Iterable[str]) -> list[Path]:
    """The files of the photos the bot stores among ``urls`` (others, at a provider or the city, are not
    the bot's to delete)."""
    paths = []
    for url in sorted(urls):
        name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        try:
            paths.append(media.open(name).path)
        except NotFound:
            continue
    return paths


def _anonymise_item(item: ReviewItem, now: Any) -> None:
    item.resident_id = ""
    item.provider_message_id = item.reply_to = None
    item.text = ""
    # The flag was read from those words (``ReviewItem.emergency``): with them gone it would say "sounds like
    # an emergency" of nothing, "call them back" of a resident the bot no longer knows. No queue order is
    # lost: a waiting item is closed below.
    item.emergency = False
    item.media_urls = []
    item.attributes = {}
    item.location_text = item.address_string = None
    item.lat = item.long = None
    if item.status in ("pending", "claimed"):
        item.status, item.rejection_reason = "rejected", REJECTION
        item.claimed_by = item.claimed_at = None
        item.decided_at = now
    item.updated_at = now


def _anonymise_request(row: ServiceRequestRow, redact_description: bool, now: Any) -> None:
    for name in IDENTITY_FIELDS:
        setattr(row, name, None)
    public_before = (row.description, row.media_url)
    row.media_url = None
    if redact_description:
        row.description = REDACTED_DESCRIPTION
    elif row.description:
        row.description = more_photos(row.description)[0]  # the photos listed at its end are deleted
    if (row.description, row.media_url) != public_before:
        # What the API publishes changed: clients that sync by updated_datetime fetch it again.
        row.updated_datetime = now


def _anonymised_fields(fields: dict[str, Any], redact_description: bool, *, empty: Any) -> dict[str, Any]:
    """A submission's fields without who sent it and their photos (each emptied as ``empty``, or left out
    for ``_DROP``), its description redacted or without its "More photos" list."""
    kept = dict(fields)
    for key in (*IDENTITY_FIELDS, "media_url", "media_urls"):
        if key in kept:
            if empty is _DROP:
                del kept[key]
            else:
                kept[key] = empty
    description = kept.get("description")
    if isinstance(description, str):
        kept["description"] = REDACTED_DESCRIPTION if redact_description else more_photos(description)[0]
    return kept


def _blanked(values_json: str, keys: Iterable[str]) -> str:
    try:
        values = json.loads(values_json)
    except ValueError:
        return values_json
    if not isinstance(values, dict):
        return values_json
    for key in keys:
        if values.get(key) is not None:
            values[key] = None
    return json.dumps(values, default=str, ensure_ascii=False, sort_keys=True)
