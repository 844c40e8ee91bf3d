"""The review queue's API: enqueue (the conversation engine), claim, approve and reject (the console).

Every method works in the caller's session and leaves committing to the caller, so a decision, the filed
request and the message telling the resident are one transaction. Approving files through the same
``RequestBackend`` the bot uses and tells the resident the id through the outbox; rejecting tells them why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select

from bot import outbox
from bot.backend import Draft, Filed, FilingRefused, RequestBackend, service_name_in
from bot.clock import utcnow
from bot.emergencies import sounds_like_an_emergency
from bot.follows import follow_filed
from bot.loop_guard import normalised, same_text
from bot.review import corrections
from bot.review.models import DECIDED_STATUSES, ReviewItem
from bot.state import get_or_create_resident
from bot.templates import Templates
from channels.messages import OutboundMessage

log = logging.getLogger(__name__)

# A rejection's reason is sent to the resident as written, inside "Your report was not filed: ...". A few
# sentences say why; over SMS 500 characters and the template's words are four parts in plain Latin text
# (153 characters each) and about nine in Chinese or with accents and emoji (67 each). Longer (a pasted
# 21,000-character text was sent whole, 140 parts) reaches no one as a message: the operator is asked to
# shorten it, as the core asks for status notes over 4000 characters (which residents are told in a
# notification they chose to follow, not one per rejection).
MAX_REASON = 500


class ReviewError(ValueError):
    """The decision does not fit the item (unknown, already decided, claimed by someone else, ...).

    ``field`` names the input the refusal is about, when it is about one (``service_code``, ``reason``,
    ``address_string``), so a page can show the message next to that field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ReviewQueue:
    def __init__(self, backend: RequestBackend, templates: Templates) -> None:
        self.backend = backend
        self.templates = templates

    def enqueue(
        self,
        session: Session,
        *,
        channel: str,
        resident_id: str,
        text: str,
        language: str = "en",
        media_urls: Sequence[str] = (),
        suggestions: Sequence[dict[str, Any]] = (),
        reason: str = "",
        location_text: str | None = None,
        location_kind: str | None = None,
        address_string: str | None = None,
        lat: float | None = None,
        long: float | None = None,
        attributes: dict[str, Any] | None = None,
        service_code: str | None = None,
        provider_message_id: str | None = None,
        reply_to: str | None = None,
    ) -> ReviewItem:
        """A new pending item; or, when the same sender's same text (``bot.loop_guard.same_text``) about the
        same place, without photos, is pending or claimed already, that item: an auto-reply sent again and
        again is one item, not many."""
        if channel and not media_urls:
            place = (location_text, address_string, lat, long)
            waiting = self._waiting_with_text(session, channel, resident_id, text, place)
            if waiting is not None:
                log.info(
                    "%s message %s not queued for review again: its sender's same text is review item %s",
                    channel,
                    provider_message_id,
                    waiting.id,
                )
                return waiting
        item = ReviewItem(
            channel=channel,
            resident_id=resident_id,
            provider_message_id=provider_message_id,
            reply_to=reply_to,
            language=language,
            text=text,
            emergency=sounds_like_an_emergency(text),
            media_urls=list(media_urls),
            suggestions=list(suggestions),
            reason=reason,
            location_text=location_text,
            location_kind=location_kind,
            address_string=address_string,
            lat=lat,
            long=long,
            attributes=dict(attributes or {}),
            service_code=service_code,
        )
        session.add(item)
        session.flush()
        return item

    def get(self, session: Session, item_id: int) -> ReviewItem:
        item = session.get(ReviewItem, item_id)
        if item is None:
            raise ReviewError(f"there is no review item {item_id}")
        return item

    def waiting_for(self, session: Session, channel: str, resident_id: str) -> ReviewItem | None:
        """The resident's latest report still waiting for a person (pending or claimed), if any."""
        query = (
            select(ReviewItem)
            .where(ReviewItem.channel == channel, ReviewItem.resident_id == resident_id)
            .where(col(ReviewItem.status).in_(("pending", "claimed")))
            .order_by(col(ReviewItem.created_at).desc(), col(ReviewItem.id).desc())
            .limit(1)
        )
        return session.exec(query).first()

    @staticmethod
    def _waiting_with_text(
        session: Session, channel: str, resident_id: str, text: str, place: tuple[object, ...]
    ) -> ReviewItem | None:
        key = normalised(text)
        if not key:
            return None
        waiting = session.exec(
            select(ReviewItem)
            .where(ReviewItem.channel == channel, ReviewItem.resident_id == resident_id)
            .where(col(ReviewItem.status).in_(("pending", "claimed")))
        ).all()
        return next(
            (
                item
                for item in waiting
                if not item.media_urls
                and (item.location_text, item.address_string, item.lat, item.long) == place
                and same_text(key, normalised(item.text))
            ),
            None,
        )

    def claim(
        self, session: Session, item_id: int, operator: str, *, stale_after: timedelta | None = None
    ) -> ReviewItem:
        """Claims a pending item for one operator; one UPDATE, so two operators cannot both win.

        An item claimed longer ago than ``stale_after`` may be taken over (the first operator went away).
        """
        now = utcnow()
        claimable: list[ColumnElement[bool]] = [
            col(ReviewItem.status) == "pending",
            col(ReviewItem.claimed_by) == operator,
        ]
        if stale_after is not None:
            claimable.append(col(ReviewItem.claimed_at) < now - stale_after)
        result = session.execute(
            update(ReviewItem)
            .where(col(ReviewItem.id) == item_id, col(ReviewItem.status).in_(("pending", "claimed")))
            .where(or_(*claimable))
            .values(status="claimed", claimed_by=operator, claimed_at=now, updated_at=now)
        )
        item = self.get(session, item_id)
        if getattr(result, "rowcount", 0) != 1:
            if item.status == "claimed":
                raise ReviewError(f"review item {item_id} is claimed by {item.claimed_by}")
            raise ReviewError(f"review item {item_id} is already {item.status}")
        session.refresh(item)
        return item

    def release(self, session: Session, item_id: int, operator: str) -> ReviewItem:
        item = self._claimed_by(session, item_id, operator)
        item.status, item.claimed_by, item.claimed_at, item.updated_at = "pending", None, None, utcnow()
        session.add(item)
        return item

    def approve(
        self,
        session: Session,
        item_id: int,
        operator: str,
        *,
        service_code: str | None = None,
        description: str | None = None,
        lat: float | None = None,
        long: float | None = None,
        address_string: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> ReviewItem:
        """Files the request (the operator's corrections win) and tells the resident its id. A resident's
        correction of a filed report's place or kind is never filed: that would be the report again."""
        item = self._decidable(session, item_id, operator)
        correction = corrections.read(item.reason)
        if correction is not None:
            raise ReviewError(
                f"review item {item_id} corrects the place of report {correction.reference}: move that report"
                " (or close the item with a note); filing it would make a second request"
            )
        kind = corrections.read_kind(item.reason)
        if kind is not None:
            raise ReviewError(
                f"review item {item_id} corrects the kind of report {kind.reference}: change that report"
                " (or keep it as it is); filing it would make a second request"
            )
        code = service_code or item.service_code or _best_suggestion(item)
        if not code:
            raise ReviewError("choose a service for this report", field="service_code")
        has_point = lat is not None and long is not None
        words = description if description is not None else item.text
        answers = attributes if attributes is not None else dict(item.attributes)
        draft = Draft(
            service_code=code,
            description=words,
            channel=item.channel,
            lat=lat if has_point else item.lat,
            long=long if has_point else item.long,
            address_string=address_string if address_string is not None else item.address_string,
            media_urls=tuple(item.media_urls),
            attributes=self.with_inferred_answers(code, words, item.language, answers),
            phone=item.resident_id if item.channel == "sms" else None,
        )
        try:
            filed = self.backend.file(draft, session)
        except FilingRefused as exc:
            raise ReviewError(f"the request was not filed: {exc}") from exc
        if item.channel:
            follow_filed(
                session,
                filed.service_request_id,
                filed.token,
                item.channel,
                item.resident_id,
                reply_to=item.reply_to,
            )
        now = utcnow()
        item.status, item.decided_by, item.decided_at, item.updated_at = "approved", operator, now, now
        item.service_code, item.service_request_id, item.token = code, filed.service_request_id, filed.token
        # Where it was filed: the operator's corrections are part of the decision (and of its audit entry).
        item.address_string, item.lat, item.long = draft.address_string, draft.lat, draft.long
        session.add(item)
        self._tell_filed(session, item, filed)
        return item

    def with_inferred_answers(
        self, service_code: str, words: str, language: str, answers: dict[str, Any]
    ) -> dict[str, Any]:
        """``answers``, with the service's questions the resident's words already answer ("a large
        pothole": its size) answered as the conversation does: the approval (or the change of a report's
        service) files what a resident who was asked would have, and only what they leave open must come
        from the operator."""
        # Here, not at the top: the conversation engine imports this module.
        from bot.conversation import infer_attribute

        filled = dict(answers)
        lang = self.templates.language_for(language)
        for spec in self.backend.attributes(service_code):
            if not spec.variable or filled.get(spec.code):
                continue
            inferred = infer_attribute(spec.in_language(lang), words) or infer_attribute(spec, words)
            if inferred is not None:
                filled[spec.code] = inferred
        return filled

    def reject(self, session: Session, item_id: int, operator: str, reason: str) -> ReviewItem:
        """Closes the item unfiled and tells the resident why (the reason is sent to them as written)."""
        if not reason.strip():
            raise ReviewError("give the resident a reason", field="reason")
        if len(reason.strip()) > MAX_REASON:
            raise ReviewError(f"reason is longer than {MAX_REASON} characters", field="reason")
        item = self._decidable(session, item_id, operator)
        now = utcnow()
        item.status, item.decided_by, item.decided_at, item.updated_at = "rejected", operator, now, now
        item.rejection_reason = reason.strip()
        session.add(item)
        self.tell(session, item, "review_rejected", reason=item.rejection_reason)
        return item

    def close(
        self,
        session: Session,
        item_id: int,
        operator: str,
        *,
        outcome: Literal["moved", "changed", "kept", "closed"],
        note: str = "",
    ) -> ReviewItem:
        """Ends a resident's correction of a filed report, filing nothing: "moved" (the operator moved the
        report), "changed" (made it one of another service), "kept" (kept it as filed, with the operator's
        ``note`` if any) or "closed" with the operator's ``note`` (required then). The note is told no one."""
        if outcome == "closed" and not note.strip():
            raise ReviewError("write a note saying why it is closed", field="note")
        item = self._decidable(session, item_id, operator)
        now = utcnow()
        item.status, item.decided_by, item.decided_at, item.updated_at = outcome, operator, now, now
        item.rejection_reason = (note.strip() or None) if outcome in ("kept", "closed") else None
        session.add(item)
        return item

    def tell(self, session: Session, item: ReviewItem, key: str, **values: object) -> None:
        """Sends the resident of ``item`` the template ``key`` in their language, in the caller's
        transaction: under the resident's own message, as status updates are (a report made in a public X
        mention heard its number only by direct message, which many residents refuse). An item nobody is
        waiting on (a refused report whose filer stopped following it) tells no one."""
        if not item.channel:
            return
        text = self.templates.render(key, item.language, **values)
        outbox.enqueue(
            session,
            OutboundMessage(
                channel=item.channel, resident_id=item.resident_id, text=text, reply_to=item.reply_to
            ),
        )

    def _claimed_by(self, session: Session, item_id: int, operator: str) -> ReviewItem:
        item = self.get(session, item_id)
        if item.status != "claimed" or item.claimed_by != operator:
            raise ReviewError(f"review item {item_id} is not claimed by {operator}")
        return item

    def _decidable(self, session: Session, item_id: int, operator: str) -> ReviewItem:
        """A pending item, or one this operator claimed (deciding without claiming first is allowed)."""
        item = self.get(session, item_id)
        if item.status in DECIDED_STATUSES:
            raise ReviewError(f"review item {item_id} is already {item.status}")
        if item.status == "claimed" and item.claimed_by != operator:
            raise ReviewError(f"review item {item_id} is claimed by {item.claimed_by}")
        return item

    def _tell_filed(self, session: Session, item: ReviewItem, filed: Filed) -> None:
        if not item.channel:
            return
        resident = get_or_create_resident(session, item.channel, item.resident_id)
        resident.last_request_id, resident.last_token = filed.service_request_id, filed.token
        session.add(resident)
        service = service_name_in(
            self.backend.services(), filed.service_name, self.templates.language_for(item.language)
        )
        if filed.service_request_id is not None:
            self.tell(session, item, "review_approved", id=filed.service_request_id, service=service)
        else:
            self.tell(session, item, "review_approved_token", token=filed.token or "", service=service)


def _best_suggestion(item: ReviewItem) -> str | None:
    """The most likely of the city's services (suggestions without one name only a classifier class)."""
    codes = [str(s["service_code"]) for s in item.suggestions if s.get("service_code")]
    return codes[0] if codes else None
