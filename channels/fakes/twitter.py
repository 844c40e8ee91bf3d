"""A local fake of the X API v2 endpoints the bot uses, spoken over real HTTP.

tweepy's v2 ``Client`` hard-codes ``https://api.twitter.com``; it is pointed here through its
``session`` (``channels.twitter.RedirectingSession``), so every call goes through tweepy and a real socket.

Endpoints: ``GET /2/users/:id/mentions`` (``since_id``, ``max_results``, ``pagination_token``; fields and
``includes`` — places, media, users — only when asked for, newest first, ``meta.newest_id``; replies,
quotes and retweets carry ``referenced_tweets`` when it is asked for), ``POST /2/tweets`` (replies; like a
self-serve tier, a reply is refused unless the account was mentioned in that conversation, and a text
the account has posted before is refused as duplicate content),
``POST /2/dm_conversations/with/:participant_id/messages``, and the photos of direct messages at
``ton.twitter.com`` (``GET /1.1/ton/data/dm/...``, for an OAuth 1.0a-signed request only); 429 with
``x-rate-limit-reset`` on demand. It also plays X's side of the Account Activity webhook: the CRC check and
signed event POSTs (``direct_message_event`` builds a direct message's, photo included).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
MAX_TWEET_LENGTH = 280
DM_MEDIA_URL = "https://ton.twitter.com/1.1/ton/data/dm"
_HANDLE = re.compile(r"(?<![\w@])@(\w{1,15})")
# X's words when the account posts a text it has posted before (the same 403 for a reply).
DUPLICATE_CONTENT = "You are not allowed to create a Tweet with duplicate content."


@dataclass(frozen=True, slots=True)
class Posted:
    """Something the bot posted: a tweet (``kind="tweet"``) or a direct message (``kind="dm"``)."""

    kind: str
    id: str
    text: str
    # The tweet replied to (tweets) or the recipient (DMs).
    in_reply_to_tweet_id: str | None = None
    participant_id: str | None = None


@dataclass(slots=True)
class _Tweet:
    data: dict[str, Any]
    place: dict[str, Any] | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    author: dict[str, Any] | None = None


@dataclass(slots=True)
class _State:
    # Residents' tweets (all mention the account) and the account's own, kept apart.
    tweets: dict[str, _Tweet] = field(default_factory=dict)
    own_tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    # Direct-message events of the account's conversations, both ways, oldest first.
    dm_events: list[dict[str, Any]] = field(default_factory=list)
    posted: list[Posted] = field(default_factory=list)
    # Endpoint name ("mentions", "tweets", "dm") → the seconds-until-reset of the 429s still to answer.
    rate_limits: dict[str, list[float | None]] = field(default_factory=dict)
    mention_requests: list[dict[str, str]] = field(default_factory=list)
    # The path under ``/1.1/ton/data/dm/`` → (bytes, content type) of a direct message's photo.
    dm_media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # A polled direct message's photo as API v2 lists it in ``includes.media``, by its media_key.
    dm_media_objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every call answered 401 (``refuse_credentials``).
    credentials_refused: bool = False


class FakeX:
    """The fake API for one account (the city's). ``app`` is the ASGI app to serve."""

    def __init__(self, *, user_id: str = "1500000000", username: str = "SF311") -> None:
        self.user_id = user_id
        self.username = username
        # Where the fake is served; the bot's ``twitter.api_base_url``.
        self.server_url = ""
        self._lock = threading.Lock()
        self._state = _State()
        # Snowflake-like ids: increasing, far beyond 2**53 like the real ones (kept as strings).
        self._ids = itertools.count(1_860_000_000_000_000_000, 4096)
        self._media_keys = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/2/users/{user_id}/mentions", self._mentions, methods=["GET"]),
                Route("/2/tweets", self._create_tweet, methods=["POST"]),
                Route("/2/dm_events", self._dm_events, methods=["GET"]),
                Route("/1.1/ton/data/dm/{path:path}", self._dm_media, methods=["GET"]),
                Route(
                    "/2/dm_conversations/with/{participant_id}/messages", self._create_dm, methods=["POST"]
                ),
                # Playing the residents over HTTP, for demos (``python -m channels.fakes x``).
                Route("/fake/mentions", self._control_mention, methods=["POST"]),
                Route("/fake/direct_messages", self._control_direct_message, methods=["POST"]),
                Route("/fake/posted", self._control_posted, methods=["GET"]),
            ]
        )

    # -- the residents' side -------------------------------------------------------------------------------

    def mention(
        self,
        author_id: str,
        text: str = "",
        *,
        username: str = "resident",
        coordinates: tuple[float, float] | None = None,
        place: dict[str, Any] | None = None,
        photo_urls: tuple[str, ...] = (),
        in_reply_to_tweet_id: str | None = None,
        quoted_tweet_id: str | None = None,
        retweeted_tweet_id: str | None = None,
        lang: str = "en",
        created_at: datetime | None = None,
    ) -> str:
        """A resident tweets at the city's account; returns the tweet id.

        ``coordinates`` is (lat, long) of a precise geotag; ``place`` is an X place object
        (``{"id", "full_name", "place_type", "geo": {"bbox": [w, s, e, n]}}``); ``created_at`` backdates it
        (a mention from before the bot was running). ``in_reply_to_tweet_id`` answers a tweet (a resident's
        or one of the account's replies) in its thread; ``quoted_tweet_id`` quotes one (``text`` then ends
        with the link to it, as on X); ``retweeted_tweet_id`` retweets one: ``"RT @maria_sf: "`` and its
        text (``text`` is not used), as X shows a retweet to the API.
        """
        tweet_id = str(next(self._ids))
        with self._lock:
            # An account has one username: the first one a test gives for an id sticks.
            username = self._state.usernames.setdefault(author_id, username)
            replied = self._stored(in_reply_to_tweet_id)
            shared = self._stored(retweeted_tweet_id or quoted_tweet_id)
        if retweeted_tweet_id:
            if shared is None:
                raise KeyError(f"no tweet {retweeted_tweet_id} to retweet")
            body = f"RT @{shared['username']}: {html.unescape(shared['text'])}"
            lang = str(shared.get("lang", lang))
        else:
            body = text if f"@{self.username}".lower() in text.lower() else f"@{self.username} {text}"
        media: list[dict[str, Any]] = []
        for url in photo_urls:
            key = f"3_{next(self._media_keys)}"
            media.append({"media_key": key, "type": "photo", "url": url, "width": 1200, "height": 900})
            body += f" https://t.co/{key}"
        urls = [
            {
                "url": f"https://t.co/{m['media_key']}",
                "expanded_url": f"https://x.com/{username}/status/{tweet_id}/photo/1",
                "display_url": "pic.x.com/…",
                "media_key": m["media_key"],
            }
            for m in media
        ]
        referenced: list[dict[str, str]] = []
        if in_reply_to_tweet_id:
            referenced.append({"type": "replied_to", "id": in_reply_to_tweet_id})
        if quoted_tweet_id:
            link = f"https://t.co/q{tweet_id[-6:]}"
            body += f" {link}"
            author = shared["username"] if shared else "i"
            urls.append(
                {
                    "url": link,
                    "expanded_url": f"https://x.com/{author}/status/{quoted_tweet_id}",
                    "display_url": f"x.com/{author}/status/…",
                }
            )
            referenced.append({"type": "quoted", "id": quoted_tweet_id})
        if retweeted_tweet_id:
            referenced.append({"type": "retweeted", "id": retweeted_tweet_id})
        data: dict[str, Any] = {
            "id": tweet_id,
            "text": body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
            "edit_history_tweet_ids": [tweet_id],
            "author_id": author_id,
            "created_at": (created_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "lang": lang,
            "entities": {"mentions": self._mention_entities(body), "urls": urls},
            "conversation_id": replied["conversation_id"] if replied else tweet_id,
        }
        if in_reply_to_tweet_id:
            data["in_reply_to_user_id"] = replied["author_id"] if replied else self.user_id
        if referenced:
            data["referenced_tweets"] = referenced
        geo: dict[str, Any] = {}
        if coordinates is not None:
            geo["coordinates"] = {"type": "Point", "coordinates": [coordinates[1], coordinates[0]]}
        if place is not None:
            geo["place_id"] = place["id"]
        if geo:
            data["geo"] = geo
        if media:
            data["attachments"] = {"media_keys": [m["media_key"] for m in media]}
        author_object = {"id": author_id, "username": username, "name": username.title()}
        with self._lock:
            self._state.tweets[tweet_id] = _Tweet(data=data, place=place, media=media, author=author_object)
        return tweet_id

    def edit(self, tweet_id: str, text: str) -> str:
        """The resident edits their tweet ``tweet_id``; returns the new version's id. As on X, the edit is a
        new tweet (a new id, newer than everything before it, so a poll after the original reads it) with
        ``edit_history_tweet_ids`` [original, ..., this one], in the original's conversation."""
        new_id = str(next(self._ids))
        with self._lock:
            original = self._state.tweets[tweet_id]
            username = (original.author or {}).get("username", "resident")
        body = text if f"@{self.username}".lower() in text.lower() else f"@{self.username} {text}"
        data = {
            **original.data,
            "id": new_id,
            "text": body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
            "edit_history_tweet_ids": [*original.data["edit_history_tweet_ids"], new_id],
            "entities": {"mentions": self._mention_entities(body), "urls": []},
        }
        data.pop("attachments", None)
        with self._lock:
            self._state.usernames.setdefault(str(data["author_id"]), username)
            self._state.tweets[new_id] = _Tweet(data=data, place=original.place, author=original.author)
        return new_id

    def _stored(self, tweet_id: str | None) -> dict[str, Any] | None:
        """A resident's tweet or one of the account's, with its author's ``username`` (under the lock)."""
        if not tweet_id:
            return None
        if (tweet := self._state.tweets.get(tweet_id)) is not None:
            return {**tweet.data, "username": (tweet.author or {}).get("username", "resident")}
        if (own := self._state.own_tweets.get(tweet_id)) is not None:
            return {**own, "username": self.username}
        return None

    def _mention_entities(self, body: str) -> list[dict[str, Any]]:
        """Every @handle of a tweet, as X lists them: where it is, and whose it is when the account exists."""
        with self._lock:
            ids = {name.lower(): user_id for user_id, name in self._state.usernames.items()}
        ids[self.username.lower()] = self.user_id
        entities: list[dict[str, Any]] = []
        for found in _HANDLE.finditer(body):
            entity: dict[str, Any] = {"start": found.start(), "end": found.end(), "username": found.group(1)}
            if (user_id := ids.get(found.group(1).lower())) is not None:
                entity["id"] = user_id
            entities.append(entity)
        return entities

    def direct_message(
        self,
        sender_id: str,
        text: str,
        *,
        created_at: datetime | None = None,
        photo: bytes | None = None,
        content_type: str = "image/jpeg",
    ) -> str:
        """A resident sends the city's account a direct message; returns the DM event id. With a ``photo``,
        as API v2 lists one: the text ends with a t.co link standing for it (an ``entities`` url with its
        ``media_key``), the event's ``attachments.media_keys`` name it, and ``GET /2/dm_events`` with the
        ``attachments.media_keys`` expansion gives its ``ton.twitter.com`` url in ``includes.media``."""
        event_id = str(next(self._ids))
        event = self._dm_event(event_id, sender_id, sender_id, text, created_at)
        if photo is not None:
            media_id = str(next(self._ids))
            media_key = f"3_{media_id}"
            path = f"{event_id}/{media_id}/{secrets.token_urlsafe(6)}.jpg"
            link = f"https://t.co/{secrets.token_urlsafe(7)}"
            event["text"] = f"{text} {link}" if text else link
            start = len(event["text"]) - len(link)
            event["entities"] = {
                "urls": [
                    {
                        "start": start,
                        "end": len(event["text"]),
                        "url": link,
                        "expanded_url": f"https://twitter.com/messages/media/{event_id}",
                        "display_url": "pic.twitter.com/…",
                        "media_key": media_key,
                    }
                ]
            }
            event["attachments"] = {"media_keys": [media_key]}
            media = {"media_key": media_key, "type": "photo", "url": f"{DM_MEDIA_URL}/{path}"}
        with self._lock:
            if photo is not None:
                self._state.dm_media[path] = (photo, content_type)
                self._state.dm_media_objects[media_key] = media
            self._state.dm_events.append(event)
        return event_id

    def _dm_event(
        self, event_id: str, sender_id: str, resident_id: str, text: str, created_at: datetime | None = None
    ) -> dict[str, Any]:
        return {
            "id": event_id,
            "event_type": "MessageCreate",
            "text": text,
            "sender_id": sender_id,
            "dm_conversation_id": "-".join(sorted([self.user_id, resident_id])),
            "created_at": (created_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }

    def refuse_credentials(self) -> None:
        """From now on every call is answered 401, as X answers revoked or wrong keys."""
        with self._lock:
            self._state.credentials_refused = True

    def rate_limit(self, endpoint: str, *, reset_in: float = 1.0, times: int = 1, after: int = 0) -> None:
        """The next ``times`` calls to ``endpoint`` ("mentions", "tweets", "dm", "dm_events") get a 429 whose
        ``x-rate-limit-reset`` is ``reset_in`` seconds away (once ``after`` more calls have gone through:
        a thread's second tweet, say)."""
        with self._lock:
            self._state.rate_limits.setdefault(endpoint, []).extend([None] * after + [reset_in] * times)

    # -- X's side of the Account Activity webhook ------------------------------------------------------------

    @staticmethod
    def sign(consumer_secret: str, body: bytes) -> str:
        digest = hmac.new(consumer_secret.encode(), body, hashlib.sha256).digest()
        return "sha256=" + base64.b64encode(digest).decode()

    def crc_check(self, webhook_url: str, consumer_secret: str) -> bool:
        """Does what X does when a webhook is registered or re-validated: GET with a ``crc_token`` and
        compare the ``response_token``; True when the webhook proved it holds the consumer secret."""
        token = secrets.token_urlsafe(24)
        response = httpx.get(webhook_url, params={"crc_token": token}, timeout=10)
        if response.status_code != 200:
            return False
        expected = self.sign(consumer_secret, token.encode())
        return hmac.compare_digest(str(response.json().get("response_token", "")), expected)

    def direct_message_event(
        self, sender_id: str, text: str, *, photo: bytes | None = None, content_type: str = "image/jpeg"
    ) -> dict[str, Any]:
        """An Account Activity event (API v1.1 shapes) of a resident's direct message to the account, to
        ``post_activity``. With a ``photo``, as X sends one: the text ends with a t.co link standing for it,
        and ``message_data.attachment.media`` points at ``ton.twitter.com``, where the fake serves it to a
        request signed with OAuth 1.0a only."""
        event_id = str(next(self._ids))
        data: dict[str, Any] = {
            "text": text,
            "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
        }
        if photo is not None:
            media_id = str(next(self._ids))
            path = f"{event_id}/{media_id}/{secrets.token_urlsafe(6)}.jpg"
            with self._lock:
                self._state.dm_media[path] = (photo, content_type)
            link = f"https://t.co/{secrets.token_urlsafe(7)}"
            data["text"] = f"{text} {link}" if text else link
            indices = [len(data["text"]) - len(link), len(data["text"])]
            expanded = f"https://twitter.com/messages/media/{event_id}"
            data["entities"]["urls"] = [
                {
                    "url": link,
                    "expanded_url": expanded,
                    "display_url": "pic.twitter.com/…",
                    "indices": indices,
                },
            ]
            data["attachment"] = {
                "type": "media",
                "media": {
                    "id": int(media_id),
                    "id_str": media_id,
                    "indices": indices,
                    "media_url": f"{DM_MEDIA_URL}/{path}",
                    "media_url_https": f"{DM_MEDIA_URL}/{path}",
                    "url": link,
                    "display_url": "pic.twitter.com/…",
                    "expanded_url": expanded,
                    "type": "photo",
                    "sizes": {"large": {"w": 1200, "h": 900, "resize": "fit"}},
                },
            }
        return {
            "for_user_id": self.user_id,
            "direct_message_events": [
                {
                    "type": "message_create",
                    "id": event_id,
                    "created_timestamp": str(int(time.time() * 1000)),
                    "message_create": {
                        "target": {"recipient_id": self.user_id},
                        "sender_id": sender_id,
                        "message_data": data,
                    },
                }
            ],
        }

    def post_activity(
        self, webhook_url: str, payload: dict[str, Any], consumer_secret: str, *, signature: str | None = None
    ) -> httpx.Response:
        """POSTs an Account Activity event like X does, signed with the consumer secret (or ``signature``)."""
        body = json.dumps(payload).encode()
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: signature or self.sign(consumer_secret, body),
        }
        return httpx.post(webhook_url, content=body, headers=headers, timeout=30)

    # -- what the bot did -----------------------------------------------------------------------------------

    @property
    def posted(self) -> list[Posted]:
        with self._lock:
            return list(self._state.posted)

    def replies_to(self, tweet_id: str) -> list[Posted]:
        return [p for p in self.posted if p.kind == "tweet" and p.in_reply_to_tweet_id == tweet_id]

    def dms_to(self, participant_id: str) -> list[Posted]:
        return [p for p in self.posted if p.kind == "dm" and p.participant_id == participant_id]

    @property
    def mention_requests(self) -> list[dict[str, str]]:
        """The query parameters of every mentions request that was answered (not rate limited)."""
        with self._lock:
            return list(self._state.mention_requests)

    # -- the residents' side over HTTP (demos) ----------------------------------------------------------

    async def _control_mention(self, request: Request) -> Response:
        """``{"author_id": "42", "text": "...", "username": "ana_in_sf", "lat": .., "long": ..,
        "photo_url": "...", "in_reply_to": "<tweet id>", "quoted": "<tweet id>", "retweeted": "<tweet id>",
        "lang": "es", "place": {"id", "full_name", "place_type", "geo": {"bbox": [w, s, e, n]}}}``: all but
        ``author_id`` optional, as ``mention()`` takes them. A tweet id it does not know is a 404."""
        body = await request.json()
        point = (float(body["lat"]), float(body["long"])) if "lat" in body and "long" in body else None
        place = body.get("place")
        try:
            tweet_id = self.mention(
                str(body["author_id"]),
                str(body.get("text", "")),
                username=str(body.get("username", "resident")),
                coordinates=point,
                place=dict(place) if isinstance(place, dict) else None,
                photo_urls=(str(body["photo_url"]),) if body.get("photo_url") else (),
                in_reply_to_tweet_id=_tweet_id(body.get("in_reply_to")),
                quoted_tweet_id=_tweet_id(body.get("quoted")),
                retweeted_tweet_id=_tweet_id(body.get("retweeted")),
                lang=str(body.get("lang", "en")),
            )
        except KeyError as exc:
            return _problem(404, "Not Found Error", str(exc))
        return JSONResponse({"id": tweet_id})

    async def _control_direct_message(self, request: Request) -> Response:
        body = await request.json()
        return JSONResponse({"id": self.direct_message(str(body["sender_id"]), str(body.get("text", "")))})

    async def _control_posted(self, request: Request) -> Response:
        return JSONResponse({"posted": [asdict(p) for p in self.posted]})

    # -- internals ------------------------------------------------------------------------------------------

    def _limited(self, endpoint: str) -> Response | None:
        """The refusal of a call to ``endpoint`` that X would give now (401, 429), or None."""
        with self._lock:
            if self._state.credentials_refused:
                return _problem(401, "Unauthorized", "Unauthorized")
            waiting = self._state.rate_limits.get(endpoint)
            reset_in = waiting.pop(0) if waiting else None
        if reset_in is None:
            return None
        reset = int(time.time() + reset_in + 0.999)  # epoch seconds, rounded up like X's
        return JSONResponse(
            {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            },
            status_code=429,
            headers={
                "x-rate-limit-limit": "10",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        )

    async def _mentions(self, request: Request) -> Response:
        if not _authorized(request, user_context=False):
            return _problem(401, "Unauthorized", "Unauthorized")
        if request.path_params["user_id"] != self.user_id:
            return _problem(
                404, "Not Found Error", f"Could not find user with id: [{request.path_params['user_id']}]."
            )
        limited = self._limited("mentions")
        if limited is not None:
            return limited
        query = dict(request.query_params)
        since_id = int(query.get("since_id") or 0)
        max_results = int(query.get("max_results") or 10)
        if not 5 <= max_results <= 100:
            return _problem(400, "Invalid Request", "max_results must be between 5 and 100")
        start = int(query.get("pagination_token") or 0)
        with self._lock:
            self._state.mention_requests.append(query)
            matching = sorted(
                (t for t in self._state.tweets.values() if int(t.data["id"]) > since_id),
                key=lambda t: int(t.data["id"]),
                reverse=True,  # newest first, like X
            )
        page = matching[start : start + max_results]
        if not page:
            return JSONResponse({"meta": {"result_count": 0}})
        return JSONResponse(self._page(page, query, next_start=start + max_results, total=len(matching)))

    async def _dm_media(self, request: Request) -> Response:
        # X serves a direct message's photo to the account's OAuth 1.0a-signed GET, never to a bearer token.
        if not _authorized(request, user_context=True):
            return _problem(401, "Unauthorized", "Direct message media need OAuth 1.0a user context")
        with self._lock:
            found = self._state.dm_media.get(request.path_params["path"])
        if found is None:
            return _problem(404, "Not Found Error", "no such media")
        return Response(found[0], media_type=found[1])

    async def _dm_events(self, request: Request) -> Response:
        if not _authorized(request, user_context=True):
            return _problem(403, "Unsupported Authentication", "Direct messages need OAuth 1.0a user context")
        limited = self._limited("dm_events")
        if limited is not None:
            return limited
        query = dict(request.query_params)
        max_results = int(query.get("max_results") or 100)
        if not 1 <= max_results <= 100:
            return _problem(400, "Invalid Request", "max_results must be between 1 and 100")
        start = int(query.get("pagination_token") or 0)
        fields = _csv(query.get("dm_event.fields")) | {"id", "event_type", "text"}
        with self._lock:
            newest_first = list(reversed(self._state.dm_events))
        page = newest_first[start : start + max_results]
        meta: dict[str, Any] = {"result_count": len(page)}
        if start + max_results < len(newest_first):
            meta["next_token"] = str(start + max_results)
        if not page:
            return JSONResponse({"meta": meta})
        body: dict[str, Any] = {
            "data": [{k: v for k, v in e.items() if k in fields} for e in page],
            "meta": meta,
        }
        if "attachments.media_keys" in _csv(query.get("expansions")):
            media_fields = _csv(query.get("media.fields")) | {"media_key", "type"}
            keys = [key for e in page for key in (e.get("attachments") or {}).get("media_keys", [])]
            with self._lock:
                media = [
                    self._state.dm_media_objects[key] for key in keys if key in self._state.dm_media_objects
                ]
            if media:
                body["includes"] = {
                    "media": [{k: v for k, v in m.items() if k in media_fields} for m in media]
                }
        return JSONResponse(body)

    def _page(
        self, page: list[_Tweet], query: dict[str, str], *, next_start: int, total: int
    ) -> dict[str, Any]:
        tweet_fields = _csv(query.get("tweet.fields"))
        expansions = _csv(query.get("expansions"))
        default = {"id", "text", "edit_history_tweet_ids"}
        data = [{k: v for k, v in t.data.items() if k in default or k in tweet_fields} for t in page]
        for tweet in data:
            if "author_id" in expansions:
                tweet["author_id"] = next(t.data["author_id"] for t in page if t.data["id"] == tweet["id"])
            if "geo.place_id" not in expansions and "geo" not in tweet_fields:
                tweet.pop("geo", None)
        includes: dict[str, list[dict[str, Any]]] = {}
        if "geo.place_id" in expansions:
            place_fields = _csv(query.get("place.fields")) | {"id", "full_name"}
            places = {t.place["id"]: t.place for t in page if t.place}
            if places:
                includes["places"] = [
                    {k: v for k, v in p.items() if k in place_fields} for p in places.values()
                ]
        if "attachments.media_keys" in expansions:
            media_fields = _csv(query.get("media.fields")) | {"media_key", "type"}
            media = [{k: v for k, v in m.items() if k in media_fields} for t in page for m in t.media]
            if media:
                includes["media"] = media
        if "author_id" in expansions:
            includes["users"] = list({t.author["id"]: t.author for t in page if t.author}.values())
        meta: dict[str, Any] = {
            "newest_id": page[0].data["id"],
            "oldest_id": page[-1].data["id"],
            "result_count": len(page),
        }
        if next_start < total:
            meta["next_token"] = str(next_start)
        body: dict[str, Any] = {"data": data, "meta": meta}
        if includes:
            body["includes"] = includes
        return body

    async def _create_tweet(self, request: Request) -> Response:
        if not _authorized(request, user_context=True):
            return _problem(403, "Unsupported Authentication", "Posting needs OAuth 1.0a user context")
        limited = self._limited("tweets")
        if limited is not None:
            return limited
        body = await request.json()
        text = str(body.get("text", ""))
        if not text.strip() or len(text) > MAX_TWEET_LENGTH:
            return _problem(400, "Invalid Request", "text must be 1 to 280 characters")
        with self._lock:
            duplicate = any(own["text"] == text for own in self._state.own_tweets.values())
        if duplicate:
            # X refuses a tweet whose text the account has already posted, a reply to someone else included.
            return _problem(403, "Forbidden", DUPLICATE_CONTENT)
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and not self._was_mentioned_in(str(reply_to)):
            return _problem(
                403,
                "Forbidden",
                "Reply to this conversation is not allowed because you have not been mentioned or otherwise "
                "engaged by the author of the post you are replying to.",
            )
        tweet_id = str(next(self._ids))
        with self._lock:
            parent = self._state.tweets.get(str(reply_to)) if reply_to else None
            own_parent = self._state.own_tweets.get(str(reply_to)) if reply_to else None
        conversation = parent.data["conversation_id"] if parent else (own_parent or {}).get("conversation_id")
        data = {
            "id": tweet_id,
            "text": text,
            "edit_history_tweet_ids": [tweet_id],
            "author_id": self.user_id,
            "conversation_id": conversation or tweet_id,
        }
        with self._lock:
            # The bot's own tweets are kept for threading but are not mentions of it.
            self._state.own_tweets[tweet_id] = data
            self._state.posted.append(Posted("tweet", tweet_id, text, in_reply_to_tweet_id=reply_to))
        return JSONResponse(
            {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}, status_code=201
        )

    async def _create_dm(self, request: Request) -> Response:
        if not _authorized(request, user_context=True):
            return _problem(403, "Unsupported Authentication", "Direct messages need OAuth 1.0a user context")
        limited = self._limited("dm")
        if limited is not None:
            return limited
        body = await request.json()
        text = str(body.get("text", ""))
        if not text.strip():
            return _problem(400, "Invalid Request", "text must not be empty")
        participant = request.path_params["participant_id"]
        event_id = str(next(self._ids))
        with self._lock:
            self._state.posted.append(Posted("dm", event_id, text, participant_id=participant))
            self._state.dm_events.append(self._dm_event(event_id, self.user_id, participant, text))
        conversation = "-".join(sorted([self.user_id, participant]))
        return JSONResponse(
            {"data": {"dm_conversation_id": conversation, "dm_event_id": event_id}}, status_code=201
        )

    def _was_mentioned_in(self, tweet_id: str) -> bool:
        with self._lock:
            mention = self._state.tweets.get(tweet_id)
            own = self._state.own_tweets.get(tweet_id)
            if own is not None:  # continuing the bot's own reply chain
                return any(
                    t.data["conversation_id"] == own["conversation_id"] for t in self._state.tweets.values()
                )
            return mention is not None


def _authorized(request: Request, *, user_context: bool) -> bool:
    header = request.headers.get("authorization", "")
    if user_context:
        return header.startswith("OAuth ") and "oauth_signature=" in header
    return header.startswith(("Bearer ", "OAuth ")) and header not in ("Bearer None", "Bearer ")


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"title": title, "detail": detail, "type": "about:blank", "status": status}, status_code=status
    )


def _tweet_id(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _csv(value: str | None) -> set[str]:
    return {part for part in (value or "").split(",") if part}
