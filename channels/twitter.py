"""X (Twitter), through tweepy's API v2 client.

Two ways in:

- Polling (every tier): ``poll_mentions_once()`` reads the account's mentions newer than a persisted
  ``since_id`` and hands each to the conversation engine, oldest first, advancing the cursor after each one;
  ``poll_direct_messages_once()`` does the same for residents' direct messages (``poll_once`` runs both).
  A restart therefore neither misses a mention (the cursor only moves past handled ones) nor re-reads one
  (and if a crash falls between handling and saving, the engine deduplicates by tweet id). One the bot
  fails on holds back no one else: the ones after it are handled while the cursor stays before it, so the
  next poll reads it again (and the engine recognises the later ones); at its ``MAX_POLL_ATTEMPTS``-th
  failure it is given up to the handler's ``give_up`` (a person) and the cursor moves on. While the database
  is down (the handler ``TemporarilyUnavailable``) the poll stops at the first message, says so in one
  line and counts no try: no fault of the message's, and the next poll reads it again. The scheduler
  runs it on one worker only (leader election); the cursor store is injected because channels never import
  ``bot`` (``bot.cursors.DatabaseCursorStore`` implements it).
- The Account Activity webhook (enterprise tiers): the CRC ``GET`` is answered with the HMAC of the consumer
  secret, and event ``POST``s are accepted only with a valid ``x-twitter-webhooks-signature``. Both are the
  same HMAC, so only a token-shaped ``crc_token`` is signed (``CRC_TOKEN``): a JSON event body never is.

Both produce the same ``provider_message_id`` for a tweet, so running both never handles a mention twice.
An edited tweet (X's new version of it, ``edit_history_tweet_ids`` [original, ..., new]) is handed over as
the ``edited_message`` notice, as Telegram's edits are, not as a second report. A poll that fails in normal
operation (X unreachable, rate limited beyond the wait, refusing the credentials) raises ``PollFailed``,
one line for the log.
Retweets are passed over on both (nobody wrote to the city); a direct message's photo is X's private file,
which ``fetch_media`` gets with the account's OAuth 1.0a signature for the bot to keep its own copy.

Out: a reply is posted only in the thread where the account was mentioned (X's automation rules); with no
tweet to reply to, or when ``OutboundMessage.private`` is set, it goes by direct message. A public reply
never repeats a phone number, an email or an exact home address (``bot.redaction``), and is cut into a
thread between sentences when longer than a tweet. X refuses a text the account has posted before: such a
reply is posted again told apart (``_post_tweet``). Rate limits are waited out: the poller sleeps until
``x-rate-limit-reset`` and retries (mentions and direct messages each under their own lock, so one's wait
holds back no other); a send raises ``DeliveryError`` with ``retry_after`` so the outbox tries again then.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, TypeVar

import requests
import tweepy
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.redaction import redact_private_details
from channels.base import (
    UNAVAILABLE_STATUS,
    Channel,
    CursorStore,
    DeliveryError,
    FailureCounts,
    KeepsUnhandled,
    MessageHandler,
    RefusedWebhooks,
    SendProgress,
    SendResult,
    TemporarilyUnavailable,
    fetched_media,
    parse_json,
    render_as_text,
)
from channels.messages import Attachment, GeoPoint, InboundMessage, OutboundMessage

logger = logging.getLogger(__name__)

X_API = "https://api.twitter.com"
# Where X keeps the photos of direct messages: fetched with the account's OAuth 1.0a signature (and nothing
# else is signed so).
X_DM_MEDIA = "https://ton.twitter.com/"
SIGNATURE_HEADER = "x-twitter-webhooks-signature"
# What X sends as a CRC challenge: a short random string (base64 or base64url). The CRC answer is the same
# HMAC that signs event POSTs, so signing anything else would sign a forged event body for whoever asks.
CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{1,255}")
MAX_TWEET_LENGTH = 280
# What X answers (403) to a tweet whose text the account has posted before.
DUPLICATE_CONTENT = "duplicate content"
# Room kept in each tweet of a reply for what tells it apart from an earlier one with the same text: the
# resident's "@handle " (at most 15 characters) or " (HH:MM:SS UTC)".
DISTINGUISHING_ROOM = 17
# Residents' @handles, by id, from their mentions (replies start with one when X refuses a duplicate).
MAX_USERNAMES_KEPT = 10_000
MAX_DM_LENGTH = 10_000
# A place whose bounding box is smaller than this (degrees, about 300 m) is a point of interest precise
# enough to file at its centre; a neighbourhood or a city is not, and only its name is kept.
MAX_PLACE_SPAN_DEGREES = 0.003
MENTION_FIELDS: dict[str, list[str]] = {
    "expansions": ["author_id", "geo.place_id", "attachments.media_keys"],
    "tweet_fields": [
        "conversation_id",
        "geo",
        "entities",
        "created_at",
        "lang",
        "attachments",
        "referenced_tweets",
    ],
    "place_fields": ["geo", "full_name", "place_type"],
    "media_fields": ["url", "type"],
    "user_fields": ["username"],
}
DM_FIELDS: dict[str, Any] = {
    "dm_event_fields": [
        "id",
        "text",
        "event_type",
        "created_at",
        "sender_id",
        "dm_conversation_id",
        "attachments",
        "entities",
    ],
    "event_types": "MessageCreate",
    # A photo in a direct message: its ton.twitter.com url, fetched signed (``fetch_media``).
    "expansions": ["attachments.media_keys"],
    "media_fields": ["url", "type"],
}
# The @handles a reply starts with (its reply chain), with the colon or comma after one ("@SF311: ...").
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w+[:,]?)+\s*")
# A mention or direct message the bot fails on is read again at every poll (each ``twitter_poll_seconds``,
# a minute by default): a passing fault (the database restarting) heals within a few; one that fails this
# many times in a row (a quarter of an hour by default) is given up to a person rather than hold the
# cursor back for ever. Counted in memory: a restart gives it the full count again.
# The very first poll of an account (no cursor yet) answers only what was written this long before it: a
# new deployment on an account residents have been mentioning for years must not reply under all of them
# (X's automation rules forbid unsolicited replies), but a report sent while the bot was being set up is
# answered. Older ones only move the cursor past them, and are logged.
FIRST_POLL_LOOKBACK = timedelta(minutes=15)
MAX_POLL_ATTEMPTS = 15
MAX_POLL_FAILURES_KEPT = 1000
UNHANDLED_REASON = "the bot could not handle this message"

# Seconds a call to the X API may take to connect, and then between bytes of its answer: well under the
# outbox's two-minute lease on a message being sent.
SEND_TIMEOUT_SECONDS = 30.0

T = TypeVar("T")


class TimeoutSession(requests.Session):
    """A requests session whose calls time out (connecting, then between bytes of the answer) unless the
    caller says otherwise: tweepy passes no timeout, and an X API that hangs held a send past the outbox's
    two-minute lease on it, after which another worker sent the reply again."""

    def __init__(self, timeout_seconds: float = SEND_TIMEOUT_SECONDS) -> None:
        super().__init__()
        self.timeout_seconds = timeout_seconds

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_seconds)
        return super().request(method, url, *args, **kwargs)


class RedirectingSession(TimeoutSession):
    """A requests session that sends tweepy's ``https://api.twitter.com`` calls (and the fetches of
    direct messages' photos from ``https://ton.twitter.com``) to another base URL.

    tweepy's v2 client has no host setting; this is how it reaches a local fake of the API.
    """

    def __init__(self, base_url: str, timeout_seconds: float = SEND_TIMEOUT_SECONDS) -> None:
        super().__init__(timeout_seconds)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        target = url.decode() if isinstance(url, bytes) else url
        for host in (X_API, X_DM_MEDIA.rstrip("/")):
            if target.startswith(host + "/"):
                target = self.base_url + target[len(host) :]
        return super().request(method, target, *args, **kwargs)


class TwitterChannel(Channel):
    name: ClassVar[str] = "twitter"
    capabilities: ClassVar[frozenset[str]] = frozenset({"media", "threads", "private"})

    def __init__(
        self,
        handler: MessageHandler,
        *,
        user_id: str,
        bearer_token: str | None = None,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        access_token: str | None = None,
        access_token_secret: str | None = None,
        webhook_path: str = "/webhooks/twitter",
        api_base_url: str | None = None,
        cursor_store: CursorStore | None = None,
        max_rate_limit_wait_seconds: float = 900.0,
        page_size: int = 100,
        max_poll_attempts: int = MAX_POLL_ATTEMPTS,
        send_timeout_seconds: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(handler)
        if not user_id:
            raise ValueError("twitter.user_id (the numeric id of the city's X account) is required")
        if not (consumer_key and consumer_secret and access_token and access_token_secret):
            raise ValueError(
                "twitter needs consumer_key, consumer_secret, access_token and access_token_secret "
                "(OAuth 1.0a user context) to reply"
            )
        self.user_id = user_id
        self.webhook_path = webhook_path
        self.cursor_store = cursor_store
        self.max_rate_limit_wait_seconds = max_rate_limit_wait_seconds
        self.page_size = page_size
        self._consumer_secret = consumer_secret.encode()
        self._refused = RefusedWebhooks(logger)
        self._read_as_app = bool(bearer_token)
        self.client = tweepy.Client(
            bearer_token=bearer_token,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=dict,
            wait_on_rate_limit=False,  # waited out here, without blocking a thread for minutes
        )
        self.client.session = (
            RedirectingSession(api_base_url, send_timeout_seconds)
            if api_base_url
            else TimeoutSession(send_timeout_seconds)
        )
        # One poll of each cursor at a time in this process (the scheduler keeps it to one process); each
        # its own, so direct messages are read while the mentions wait out their rate limit.
        self._poll_locks = {self.cursor_name: asyncio.Lock(), self.dm_cursor_name: asyncio.Lock()}
        self.max_poll_attempts = max_poll_attempts
        self._poll_failures = FailureCounts(MAX_POLL_FAILURES_KEPT)
        # Ids handled while an earlier one that failed keeps the cursor before them (read again each poll;
        # after a restart the engine's inbox recognises them instead).
        self._handled_ahead: set[str] = set()
        # Per cursor, what the first poll without a cursor answers from (``FIRST_POLL_LOOKBACK``).
        self._answer_from: dict[str, datetime] = {}
        self._usernames: dict[str, str] = {}

    @classmethod
    def from_config(cls, config: Any, handler: MessageHandler, *, public_url: str) -> TwitterChannel:
        """Builds the channel from ``bot.config.TwitterSettings``; the runtime sets ``cursor_store``."""

        def secret(name: str) -> str | None:
            value = getattr(config, name)
            return value.get_secret_value() if value is not None else None

        return cls(
            handler,
            user_id=config.user_id,
            bearer_token=secret("bearer_token"),
            consumer_key=secret("consumer_key"),
            consumer_secret=secret("consumer_secret"),
            access_token=secret("access_token"),
            access_token_secret=secret("access_token_secret"),
            webhook_path=config.webhook_path,
            api_base_url=config.api_base_url,
            max_rate_limit_wait_seconds=config.max_rate_limit_wait_seconds,
        )

    @property
    def cursor_name(self) -> str:
        return f"twitter:mentions:{self.user_id}"

    @property
    def dm_cursor_name(self) -> str:
        return f"twitter:dms:{self.user_id}"

    def routes(self) -> list[BaseRoute]:
        return [
            Route(self.webhook_path, self._crc, methods=["GET"]),
            Route(self.webhook_path, self._activity, methods=["POST"]),
        ]

    # -- polling ------------------------------------------------------------------------------------------

    async def poll_mentions_once(self) -> int:
        """Reads and handles every mention newer than the saved cursor; returns how many were handled.

        A 429 is waited out (until ``x-rate-limit-reset``) and the same page asked again; if the wait
        would be longer than ``max_rate_limit_wait_seconds`` the poll stops there, cursor untouched, and the
        next run carries on. The cursor moves past a mention only after the engine has handled it (or it
        was given up, see ``MAX_POLL_ATTEMPTS``).
        """
        store = self._store()
        async with self._poll_locks[self.cursor_name]:
            since_id = await asyncio.to_thread(store.get, self.cursor_name)
            mentions = await self._fetch_mentions(since_id)
            return await self._handle_in_order(
                self.cursor_name,
                [(tweet, partial(self.mention_to_inbound, tweet, includes)) for tweet, includes in mentions],
                first_poll=since_id is None,
            )

    async def poll_direct_messages_once(self) -> int:
        """Reads and handles the direct messages residents sent since the saved cursor (the private side
        of conversations: answers to questions the bot asked by DM); returns how many were handled.

        Same guarantees as the mentions: oldest first, the cursor moved past each only once handled.
        """
        store = self._store()
        async with self._poll_locks[self.dm_cursor_name]:
            after = await asyncio.to_thread(store.get, self.dm_cursor_name)
            events = await self._fetch_direct_messages(after)
            return await self._handle_in_order(
                self.dm_cursor_name,
                [(event, partial(self._event_to_inbound, event, includes)) for event, includes in events],
                first_poll=after is None,
            )

    async def _handle_in_order(
        self,
        cursor_name: str,
        items: Sequence[tuple[Mapping[str, Any], Callable[[], InboundMessage | None]]],
        *,
        first_poll: bool = False,
    ) -> int:
        """Hands each item (X's tweet or event, and how to make it a message: None to skip it) to the
        engine, oldest first. The cursor follows the handled ones until the first that fails and is not
        given up yet; the ones after it are still handled (the engine's inbox recognises them when they
        are read again). One the handler is ``TemporarilyUnavailable`` for (the database down) ends the
        round, not counted as a try. On the ``first_poll`` of an account, what is older than
        ``FIRST_POLL_LOOKBACK`` is passed over."""
        store = self._store()
        handled = 0
        held_back = False
        # Fixed at this process's first poll, so a first poll tried again (its first item failed, the
        # cursor still unset) passes over no more than the first did.
        oldest_answered = self._answer_from.setdefault(cursor_name, datetime.now(UTC) - FIRST_POLL_LOOKBACK)
        passed_over = {
            str(raw["id"])
            for raw, _ in items
            if first_poll and _parse_time(raw.get("created_at")) < oldest_answered
        }
        if passed_over:
            logger.info(
                "X %s: first poll; %d written before %s passed over (not answered)",
                cursor_name,
                len(passed_over),
                oldest_answered.isoformat(timespec="seconds"),
            )
        for raw, to_inbound in items:
            item_id = str(raw["id"])
            if item_id in passed_over:
                pass  # only the cursor moves past it
            elif item_id not in self._handled_ahead:
                try:
                    inbound = to_inbound()
                    if inbound is not None:
                        await self.handler.handle(inbound)
                        handled += 1
                except TemporarilyUnavailable as exc:
                    # The database is down: no fault of this one's, so not a try towards giving it up,
                    # and the ones after it would meet the same database. The cursor stays before it and
                    # the next poll reads it (and them) again.
                    logger.warning("X message %s not handled: %s; read again at the next poll", item_id, exc)
                    break
                except Exception as exc:
                    if not await self._after_failure(item_id, raw, to_inbound, exc):
                        held_back = True
                        continue
                self._poll_failures.settled(item_id)
            if held_back:
                self._handled_ahead.add(item_id)  # not handed over again while the cursor waits
            else:
                await asyncio.to_thread(store.set, cursor_name, item_id)
                self._handled_ahead.discard(item_id)
        return handled

    async def _after_failure(
        self,
        item_id: str,
        raw: Mapping[str, Any],
        to_inbound: Callable[[], InboundMessage | None],
        error: Exception,
    ) -> bool:
        """Counts a failed try of a mention or direct message; at ``max_poll_attempts`` it is given up to
        the handler's ``give_up``. True when it is settled (given up), False to read it again next poll."""
        attempts = self._poll_failures.failed(item_id)
        if attempts < self.max_poll_attempts:
            logger.warning(
                "X message %s failed (try %d of %d); read again at the next poll",
                item_id,
                attempts,
                self.max_poll_attempts,
                exc_info=error,
            )
            return False
        keeper = self.handler if isinstance(self.handler, KeepsUnhandled) else None
        try:
            message = to_inbound()
        except Exception:
            message = self._bare_inbound(item_id, raw)  # the conversion itself is what fails
        if keeper is not None and message is not None:
            try:
                await keeper.give_up(message, UNHANDLED_REASON)
            except TemporarilyUnavailable as exc:
                logger.warning("X message %s not kept for review: %s; read again next poll", item_id, exc)
                return False
            except Exception:
                logger.exception("X message %s could not be kept for review; read again next poll", item_id)
                return False
        logger.error(
            "X message %s given up after %d tries (%s: %s); %s",
            item_id,
            attempts,
            type(error).__name__,
            error,
            "kept for review" if keeper is not None and message is not None else "it is not kept anywhere",
        )
        return True

    def _bare_inbound(self, item_id: str, raw: Mapping[str, Any]) -> InboundMessage | None:
        """What a person is shown of a tweet or direct message that could not even be converted: who sent
        it and its words. None when not even the sender is known."""
        sender = str(raw.get("author_id") or raw.get("sender_id") or "")
        if not sender:
            return None
        is_tweet = "author_id" in raw
        return InboundMessage(
            channel=self.name,
            resident_id=sender,
            provider_message_id=f"{'tweet' if is_tweet else 'dm'}:{item_id}",
            text=html.unescape(str(raw.get("text", ""))),
            reply_to=item_id if is_tweet else None,
            metadata={"public": "true" if is_tweet else "false"},
        )

    def _event_to_inbound(
        self, event: Mapping[str, Any], includes: Mapping[str, Any]
    ) -> InboundMessage | None:
        """A polled direct-message event (with its page's ``includes``) as the engine's message; None for our
        own and for other events. A photo it carries is kept, and the t.co link standing for it removed
        (before, a polled direct message's photo was lost and its dead link published)."""
        sender = str(event.get("sender_id", ""))
        if (
            not sender
            or sender == self.user_id
            or event.get("event_type", "MessageCreate") != "MessageCreate"
        ):
            return None
        keys = set((event.get("attachments") or {}).get("media_keys", []))
        photos = tuple(
            Attachment(url=str(m["url"]), content_type=_image_type(str(m["url"])), needs_auth=True)
            for m in includes.get("media", [])
            if m.get("media_key") in keys
            and m.get("type") == "photo"
            and str(m.get("url", "")).startswith(X_DM_MEDIA)
        )
        links = [
            u["url"] for u in (event.get("entities") or {}).get("urls", []) if u.get("media_key") in keys
        ]
        text = _clean_text(str(event.get("text", "")), links if photos else [])
        return self._direct_message(str(event["id"]), sender, text, photos)

    async def poll_once(self) -> int:
        """One run of the polling job: mentions, then direct messages."""
        return await self.poll_mentions_once() + await self.poll_direct_messages_once()

    def _store(self) -> CursorStore:
        if self.cursor_store is None:
            raise RuntimeError("TwitterChannel.cursor_store is not set (the runtime injects it)")
        return self.cursor_store

    async def _fetch_direct_messages(self, after: str | None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """DM events newer than ``after``, oldest first, each with the includes of its page (the endpoint
        has no since_id: pages are read newest first until one reaches the cursor). Without a cursor only
        the newest page is read."""
        found: list[tuple[dict[str, Any], dict[str, Any]]] = []
        token: str | None = None
        while True:
            page: dict[str, Any] = await self._rate_limited(
                partial(
                    self.client.get_direct_message_events,
                    max_results=self.page_size,
                    pagination_token=token,
                    user_auth=True,
                    **DM_FIELDS,
                )
            )
            events = page.get("data", [])
            newer = [e for e in events if after is None or int(e["id"]) > int(after)]
            found.extend((event, page.get("includes", {})) for event in newer)
            token = page.get("meta", {}).get("next_token")
            if not token or after is None or len(newer) < len(events):
                break
        found.sort(key=lambda pair: int(pair[0]["id"]))
        return found

    async def _fetch_mentions(self, since_id: str | None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Every mention after ``since_id``, oldest first, each with the includes of its page.

        Without a cursor (the very first poll) only the newest page is read, not the account's history.
        """
        found: list[tuple[dict[str, Any], dict[str, Any]]] = []
        token: str | None = None
        while True:
            page: dict[str, Any] = await self._rate_limited(
                partial(
                    self.client.get_users_mentions,
                    self.user_id,
                    since_id=since_id,
                    pagination_token=token,
                    max_results=self.page_size,
                    user_auth=not self._read_as_app,
                    **MENTION_FIELDS,
                )
            )
            includes = page.get("includes", {})
            found.extend((tweet, includes) for tweet in page.get("data", []))
            token = page.get("meta", {}).get("next_token")
            if not token or since_id is None:
                break
        found.sort(key=lambda pair: int(pair[0]["id"]))
        return found

    async def _rate_limited(self, call: Callable[[], T]) -> T:
        """A read of X, its rate limit waited out up to ``max_rate_limit_wait_seconds``. What ends a poll in
        normal operation (X unreachable or failing, rate limited for longer, refusing the credentials) is a
        ``PollFailed`` saying so in one line."""
        while True:
            try:
                return await asyncio.to_thread(call)
            except tweepy.TooManyRequests as exc:
                wait = _seconds_until_reset(exc)
                if wait > self.max_rate_limit_wait_seconds:
                    until = datetime.now(UTC) + timedelta(seconds=wait)
                    raise PollFailed(f"rate limited until {until:%H:%M} UTC") from exc
                logger.warning("X rate limit reached; waiting %.0f s for the reset", wait)
                await asyncio.sleep(wait)
            except tweepy.Unauthorized as exc:
                raise PollFailed("X refused the credentials (401)") from exc
            except tweepy.Forbidden as exc:
                raise PollFailed(f"X refused the request (403): {_describe(exc)}") from exc
            except tweepy.TwitterServerError as exc:
                raise PollFailed(f"X failed ({exc.response.status_code})") from exc
            except requests.RequestException as exc:
                raise PollFailed("X unreachable") from exc

    # -- mentions and events → InboundMessage ------------------------------------------------------------

    def mention_to_inbound(
        self, tweet: Mapping[str, Any], includes: Mapping[str, Any]
    ) -> InboundMessage | None:
        """An API v2 tweet (with its page's ``includes``) as the engine's message; None for our own and for
        retweets (someone passing a tweet on, the bot's own replies too, writes nothing to the city).

        A quote is the quoter's own words: the quoted tweet, and the link to it, are not part of them."""
        author = str(tweet.get("author_id", ""))
        if not author or author == self.user_id:
            return None
        referenced = tweet.get("referenced_tweets") or []
        if any(r.get("type") == "retweeted" for r in referenced):
            return None
        quoted = {str(r.get("id")) for r in referenced if r.get("type") == "quoted"}
        entities = tweet.get("entities", {})
        media_links = [
            u["url"]
            for u in entities.get("urls", [])
            if u.get("media_key") or _status_id(u.get("expanded_url")) in quoted
        ]
        own_handles = [
            str(m.get("username", ""))
            for m in entities.get("mentions", [])
            if str(m.get("id")) == self.user_id
        ]
        geo = tweet.get("geo") or {}
        point = _v2_point(geo)
        metadata = {"public": "true", "conversation_id": str(tweet.get("conversation_id", tweet["id"]))}
        if str(tweet["id"]) != str((tweet.get("edit_history_tweet_ids") or [tweet["id"]])[0]):
            # An edit: a new tweet with edit_history_tweet_ids [original, ..., this one]. The original was
            # read already (and may be a report since), so it is answered as a Telegram edit is (the
            # dispatcher's notices), not read as a second report.
            metadata["notice"] = "edited_message"
        place = next((p for p in includes.get("places", []) if p.get("id") == geo.get("place_id")), None)
        if place is not None:
            metadata["place"] = str(place.get("full_name", ""))
            bbox = (place.get("geo") or {}).get("bbox")
            point = point or _bbox_centre(bbox)
        user = next((u for u in includes.get("users", []) if u.get("id") == author), None)
        if user is not None:
            metadata["username"] = str(user.get("username", ""))
            self._remember_username(author, metadata["username"])
        keys = set((tweet.get("attachments") or {}).get("media_keys", []))
        photos = tuple(
            Attachment(url=str(m["url"]), content_type=_image_type(str(m["url"])))
            for m in includes.get("media", [])
            if m.get("media_key") in keys and m.get("type") == "photo" and m.get("url")
        )
        return InboundMessage(
            channel=self.name,
            resident_id=author,
            provider_message_id=f"tweet:{tweet['id']}",
            text=_clean_text(str(tweet.get("text", "")), media_links, own_handles),
            attachments=photos,
            point=point,
            reply_to=str(tweet["id"]),
            language_hint=_language(tweet.get("lang")),
            received_at=_parse_time(tweet.get("created_at")),
            metadata=metadata,
        )

    def activity_to_inbound(self, payload: Mapping[str, Any]) -> list[InboundMessage]:
        """An Account Activity event (API v1.1 shapes) as messages: mentions and direct messages to us."""
        if str(payload.get("for_user_id", "")) != self.user_id:
            return []
        messages: list[InboundMessage] = []
        for tweet in payload.get("tweet_create_events", []):
            inbound = self._v1_tweet_to_inbound(tweet)
            if inbound is not None:
                messages.append(inbound)
        for event in payload.get("direct_message_events", []):
            create = event.get("message_create") or {}
            sender = str(create.get("sender_id", ""))
            if event.get("type") != "message_create" or not sender or sender == self.user_id:
                continue
            data = create.get("message_data") or {}
            media = (data.get("attachment") or {}).get("media") or {}
            photos = _v1_photos([media])
            messages.append(
                self._direct_message(
                    str(event["id"]),
                    sender,
                    _clean_text(str(data.get("text", "")), [str(media.get("url", ""))] if photos else []),
                    photos,
                )
            )
        return messages

    def _direct_message(
        self, event_id: str, sender: str, text: str, photos: tuple[Attachment, ...] = ()
    ) -> InboundMessage:
        # The same id whether it came by polling or by the Account Activity webhook.
        return InboundMessage(
            channel=self.name,
            resident_id=sender,
            provider_message_id=f"dm:{event_id}",
            text=text,
            attachments=photos,
            metadata={"public": "false"},
        )

    def _v1_tweet_to_inbound(self, tweet: Mapping[str, Any]) -> InboundMessage | None:
        user = tweet.get("user") or {}
        author = str(user.get("id_str", ""))
        if not author or author == self.user_id or tweet.get("retweeted_status"):
            return None
        extended = tweet.get("extended_tweet") or {}
        entities = extended.get("entities") or tweet.get("entities") or {}
        mentions = entities.get("user_mentions", [])
        own_handles = [
            str(m.get("screen_name", "")) for m in mentions if str(m.get("id_str")) == self.user_id
        ]
        if not own_handles and str(tweet.get("in_reply_to_user_id_str")) != self.user_id:
            return None  # the account's followers' other tweets: not addressed to us
        media = (extended.get("extended_entities") or tweet.get("extended_entities") or entities).get(
            "media", []
        )
        text = str(extended.get("full_text") or tweet.get("full_text") or tweet.get("text", ""))
        point = _v2_point({"coordinates": tweet.get("coordinates")}) if tweet.get("coordinates") else None
        metadata = {"public": "true", "username": str(user.get("screen_name", ""))}
        original = (tweet.get("edit_history") or {}).get("initial_tweet_id")
        if original and str(original) != tweet["id_str"]:
            metadata["notice"] = "edited_message"  # an edit, answered as ``mention_to_inbound`` answers one
        self._remember_username(author, metadata["username"])
        place = tweet.get("place")
        if place:
            metadata["place"] = str(place.get("full_name", ""))
            corners = ((place.get("bounding_box") or {}).get("coordinates") or [[]])[0]
            if corners and point is None:
                longs, lats = [c[0] for c in corners], [c[1] for c in corners]
                point = _bbox_centre([min(longs), min(lats), max(longs), max(lats)])
        return InboundMessage(
            channel=self.name,
            resident_id=author,
            provider_message_id=f"tweet:{tweet['id_str']}",
            text=_clean_text(text, [str(m.get("url", "")) for m in media], own_handles),
            attachments=_v1_photos(media),
            point=point,
            reply_to=str(tweet["id_str"]),
            language_hint=_language(tweet.get("lang")),
            metadata=metadata,
        )

    async def fetch_media(self, attachment: Attachment) -> tuple[bytes, str]:
        """A direct message's photo: X serves it (from ``ton.twitter.com``) only to a GET signed with the
        account's OAuth 1.0a user context, as tweepy signs its calls. Nothing else is ever signed."""
        if not attachment.url.startswith(X_DM_MEDIA):
            raise DeliveryError(f"not a direct message's photo on X: {attachment.url}", retryable=False)
        client = self.client
        auth = tweepy.OAuth1UserHandler(
            client.consumer_key, client.consumer_secret, client.access_token, client.access_token_secret
        ).apply_auth()
        try:
            response = await asyncio.to_thread(client.session.get, attachment.url, auth=auth, timeout=30)
        except requests.RequestException as exc:
            raise DeliveryError(f"fetching {attachment.url} failed: {exc}") from exc
        content_type = response.headers.get("content-type") or attachment.content_type or "image/jpeg"
        return fetched_media(attachment.url, response.status_code, response.content, content_type)

    # -- the Account Activity webhook ----------------------------------------------------------------------

    async def _crc(self, request: Request) -> Response:
        token = request.query_params.get("crc_token")
        if not token:
            return JSONResponse({"error": "crc_token is required"}, status_code=400)
        if not CRC_TOKEN.fullmatch(token):
            return JSONResponse(
                {"error": "crc_token must be 1 to 255 of A-Z a-z 0-9 + / = _ -, as X sends"}, status_code=400
            )
        return JSONResponse({"response_token": webhook_signature(self._consumer_secret, token.encode())})

    async def _activity(self, request: Request) -> Response:
        body = await request.body()
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), webhook_signature(self._consumer_secret, body).encode()):
            self._refused.refused(
                "x webhook refused (403): %s x-twitter-webhooks-signature on a POST to %s "
                "(twitter.webhook_path); X signs each event with the app's consumer secret: "
                "twitter.consumer_secret is another app's, or the request is not from X",
                "a wrong" if given else "no",
                self.webhook_path,
            )
            return JSONResponse({"error": "wrong or missing x-twitter-webhooks-signature"}, status_code=403)
        try:
            payload = parse_json(body)
            if not isinstance(payload, dict):  # a JSON array, string, number or null
                raise TypeError(f"the body is a JSON {type(payload).__name__}, not an object")
            messages = self.activity_to_inbound(payload)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": f"not an Account Activity event: {exc}"}, status_code=400)
        try:
            for message in messages:
                await self.handler.handle(message)
        except TemporarilyUnavailable as exc:
            # X delivers the event again; the messages of it already handled are recognised then.
            logger.warning(
                "X event not handled: %s; answered %d, X delivers it again", exc, UNAVAILABLE_STATUS
            )
            return JSONResponse(
                {"error": "the event cannot be handled just now"}, status_code=UNAVAILABLE_STATUS
            )
        return JSONResponse({"handled": len(messages)})

    # -- outbound -------------------------------------------------------------------------------------------

    async def send_text(self, resident_id: str, text: str, *, reply_to: str | None = None) -> SendResult:
        return await self.send(
            OutboundMessage(channel=self.name, resident_id=resident_id, text=text, reply_to=reply_to)
        )

    async def send(self, message: OutboundMessage, progress: SendProgress | None = None) -> SendResult:
        progress = progress or SendProgress()
        text = render_as_text(message)
        if message.media_urls:
            text = "\n".join([text, *message.media_urls])
        reply_to = _tweet_id(message.reply_to)
        if message.private or reply_to is None:
            # Private details, or nothing to reply under (X forbids unsolicited mentions): a direct message.
            if progress.parts_sent:
                return SendResult(provider_message_id=progress.last_id)  # sent by an earlier try
            response = await self._send(
                partial(
                    self.client.create_direct_message,
                    participant_id=message.resident_id,
                    text=text[:MAX_DM_LENGTH],
                    user_auth=True,
                )
            )
            progress.part_sent(str(response["data"]["dm_event_id"]))
            return SendResult(provider_message_id=progress.last_id)
        chunks = split_for_tweets(redact_private_details(text), MAX_TWEET_LENGTH - DISTINGUISHING_ROOM)
        # A long reply continues as a thread under itself: resumed, under the last tweet an earlier try
        # posted.
        last = progress.last_id if progress.parts_sent else reply_to
        for chunk in chunks[progress.parts_sent :]:
            response = await self._post_tweet(chunk, last, message.resident_id)
            last = str(response["data"]["id"])
            progress.part_sent(last)
        return SendResult(provider_message_id=last)

    async def _post_tweet(self, text: str, reply_to: str | None, resident_id: str) -> dict[str, Any]:
        """Posts ``text`` under ``reply_to``. X refuses a text the account has posted before, and the bot
        says the same to many ("Where is it? ...", one status update to a report's followers): then the
        resident's @handle goes first, as a reply on X reads, and if that was posted too (the same resident
        asked the same again), the time is added instead."""
        handle = self._usernames.get(resident_id)
        variants = [text]
        if handle and not text.lower().startswith(f"@{handle.lower()}"):
            variants.append(f"@{handle} {text}")
        variants.append(f"{text} ({datetime.now(UTC):%H:%M:%S} UTC)")
        for variant in variants:
            try:
                return await self._send(
                    partial(
                        self.client.create_tweet, text=variant, in_reply_to_tweet_id=reply_to, user_auth=True
                    )
                )
            except _DuplicateContent as exc:
                refused = exc
        raise refused

    def _remember_username(self, resident_id: str, username: str) -> None:
        if not username:
            return
        if len(self._usernames) >= MAX_USERNAMES_KEPT:
            self._usernames.clear()  # only the ones writing now are needed
        self._usernames[resident_id] = username

    async def _send(self, call: Callable[[], Any]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await asyncio.to_thread(call)
            return result
        except tweepy.TooManyRequests as exc:
            raise DeliveryError("X rate limit reached", retry_after=_seconds_until_reset(exc)) from exc
        except (tweepy.BadRequest, tweepy.Unauthorized, tweepy.Forbidden, tweepy.NotFound) as exc:
            # Refused for good: too long, not allowed to reply there, DMs closed, bad credentials.
            if any(DUPLICATE_CONTENT in message for message in exc.api_messages):
                raise _DuplicateContent(f"X refused: {_describe(exc)}", retryable=False) from exc
            raise DeliveryError(f"X refused: {_describe(exc)}", retryable=False) from exc
        except tweepy.TwitterServerError as exc:
            raise DeliveryError(f"X server error: {_describe(exc)}") from exc
        except (tweepy.HTTPException, requests.RequestException) as exc:
            raise DeliveryError(f"X unreachable: {exc}") from exc


class PollFailed(Exception):
    """A poll of X ended on a failure that happens in normal operation (X unreachable, rate limited beyond
    the wait, refusing the credentials); the message says which in one line, for the log."""


class _DuplicateContent(DeliveryError):
    """X refused a tweet whose text the account has already posted."""


def webhook_signature(consumer_secret: bytes, payload: bytes) -> str:
    """``sha256=`` + base64(HMAC-SHA256(consumer secret, payload)): the CRC answer and the event signature."""
    digest = hmac.new(consumer_secret, payload, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def split_for_tweets(text: str, limit: int = MAX_TWEET_LENGTH) -> list[str]:
    """Cuts a reply into tweets of at most ``limit`` (X counts CJK characters and emoji twice): between
    sentences (after . ! ? 。！？ or at a line break) as far as they fit, a sentence longer than a tweet
    between words, and a run with no space longer than a tweet (Chinese) after a comma, else where it must.
    Before, it was cut at the last space that fitted: mid-sentence, "Reply" apart from "UNFOLLOW 25", and
    Chinese anywhere inside a word."""
    parts: list[str] = []
    current = ""
    for piece in _pieces(text.strip(), limit):
        if current and _weight((current + piece).strip()) > limit:
            parts.append(current.strip())
            current = ""
        current += piece
    if current.strip():
        parts.append(current.strip())
    return parts or [text[:limit]]


# A sentence and the spaces after it: up to . ! ? … before a space (closing quotes or brackets included),
# 。！？ (no space after them in Chinese), a line break, or the end.
_SENTENCE = re.compile(r".+?(?:[.!?…]+[\"')\]”’]*(?=\s|$)|[。！？]+[」』）】”’]*|\n|$)\s*", re.DOTALL)
# A word and the spaces after it; a clause of a run with no spaces (up to a comma, Chinese ones included).
_WORD = re.compile(r"\S+\s*")
_CLAUSE = re.compile(r".+?(?:[，、；：,;:]|$)", re.DOTALL)


def _pieces(text: str, limit: int) -> Iterator[str]:
    """``text`` in order, as the largest pieces ``split_for_tweets`` may cut between, each fitting in
    ``limit`` (with the spaces after it)."""
    for sentence in _SENTENCE.findall(text):
        if _weight(sentence.strip()) <= limit:
            yield sentence
            continue
        for word in _WORD.findall(sentence):
            if _weight(word.strip()) <= limit:
                yield word
                continue
            for clause in _CLAUSE.findall(word):
                while _weight(clause.strip()) > limit:
                    cut = len(clause)
                    while _weight(clause[:cut]) > limit:
                        cut -= 1
                    yield clause[:cut]
                    clause = clause[cut:]
                yield clause


def _weight(text: str) -> int:
    # X's counting: URLs are 23, characters beyond Latin/Greek/Cyrillic and common punctuation count 2.
    urls = re.findall(r"https?://\S+", text)
    rest = re.sub(r"https?://\S+", "", text)
    return 23 * len(urls) + sum(1 if ord(ch) <= 0x10FF or 0x2000 <= ord(ch) <= 0x200D else 2 for ch in rest)


def _tweet_id(value: str | None) -> str | None:
    return value if value and value.isdigit() else None


def _seconds_until_reset(exc: tweepy.TooManyRequests) -> float:
    reset = getattr(exc, "reset_time", None) or exc.response.headers.get("x-rate-limit-reset")
    if reset is None:
        return 60.0  # no header: X's windows are 15 minutes; try again in a minute
    return max(0.0, float(reset) - time.time()) + 0.5


def _describe(exc: tweepy.HTTPException) -> str:
    messages: Sequence[str] = getattr(exc, "api_messages", []) or []
    return "; ".join(messages) or str(exc)


def _v2_point(geo: Mapping[str, Any]) -> GeoPoint | None:
    coordinates = (geo.get("coordinates") or {}).get("coordinates")
    if not coordinates or len(coordinates) != 2:
        return None
    longitude, latitude = float(coordinates[0]), float(coordinates[1])  # GeoJSON order: long, lat
    return GeoPoint(lat=latitude, long=longitude)


def _bbox_centre(bbox: Sequence[float] | None) -> GeoPoint | None:
    """The centre of a place's [west, south, east, north] box, when the box is small enough to mean a spot."""
    if not bbox or len(bbox) != 4:
        return None
    west, south, east, north = (float(v) for v in bbox)
    if east - west > MAX_PLACE_SPAN_DEGREES or north - south > MAX_PLACE_SPAN_DEGREES:
        return None
    return GeoPoint(lat=(south + north) / 2, long=(west + east) / 2)


def _clean_text(text: str, links: Sequence[str], own_handles: Sequence[str] = ()) -> str:
    """The resident's words: HTML entities decoded; the links that stand for an attached photo or a quoted
    tweet, the leading @mentions (a reply's chain) and the account's own @handle wherever it is, removed.

    Anyone else's @handle after the first word is part of what the resident says ("the pothole @bob
    reported"); the account's is not ("STOP @SF311", "Thanks @SF311!", "hi @SF311").
    """
    text = html.unescape(text)
    for link in links:
        if link:
            text = text.replace(link, "")
    text = _LEADING_MENTIONS.sub("", text)
    for handle in {h.lower() for h in own_handles if h}:
        text = re.sub(rf"\s*(?<![\w@])@{re.escape(handle)}(?!\w)", "", text, flags=re.IGNORECASE)
    return text.strip()


def _status_id(url: Any) -> str | None:
    """The tweet id of a link to a tweet (``https://x.com/maria_sf/status/186...``), else None."""
    found = re.search(r"/status(?:es)?/(\d+)", str(url or ""))
    return found.group(1) if found else None


def _v1_photos(media: Sequence[Mapping[str, Any]]) -> tuple[Attachment, ...]:
    """The photos of API v1.1 media objects (a tweet's, or a direct message's attachment). A direct
    message's are on ``ton.twitter.com`` and need the account's signature to fetch (``fetch_media``)."""
    return tuple(
        Attachment(
            url=str(m["media_url_https"]),
            content_type=_image_type(str(m["media_url_https"])),
            needs_auth=str(m["media_url_https"]).startswith(X_DM_MEDIA),
        )
        for m in media
        if m.get("type") == "photo" and m.get("media_url_https")
    )


def _image_type(url: str) -> str | None:
    lowered = url.lower().split("?", 1)[0]
    for extension, content_type in ((".jpg", "image/jpeg"), (".jpeg", "image/jpeg"), (".png", "image/png")):
        if lowered.endswith(extension):
            return content_type
    return None


def _language(value: Any) -> str | None:
    # X says "und" when it cannot tell, "qme" for media-only tweets and so on: not languages.
    return str(value) if isinstance(value, str) and len(value) == 2 else None


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)
