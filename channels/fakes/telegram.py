"""A local fake of the Telegram Bot API, spoken over real HTTP.

python-telegram-bot is pointed at it with ``base_url`` / ``base_file_url`` (see ``base_url()`` and
``base_file_url()``), so every request our channel makes goes through the real library and a real socket.
The fake plays Telegram's side too: it injects residents' updates (text, a shared location, a photo with a
caption, an edit of one, a pressed inline button; each in a private chat or from a group's member), hands
them out through ``getUpdates`` (long polling honouring ``offset`` and ``timeout``) or POSTs them to the
registered webhook with the ``X-Telegram-Bot-Api-Secret-Token`` header, and answers 429 with
``parameters.retry_after`` or refuses to serve a file when a test asks for it. Like Telegram, it delivers
to a webhook in order: an update the webhook refused is kept first in line, the later ones wait behind it,
and ``redeliver_pending`` is Telegram's next try (tests choose when it comes).

Wire facts it follows: every method is ``POST /bot<token>/<method>``, form-encoded (multipart for uploads)
with nested values (``reply_markup``, ``reply_parameters``) as JSON strings and numbers as strings;
success is ``{"ok": true, "result": ...}``; files are downloaded from ``GET /file/bot<token>/<file_path>``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# python-telegram-bot sends these objects and lists as JSON strings inside the form.
_JSON_FIELDS = frozenset(
    {"reply_markup", "reply_parameters", "allowed_updates", "commands", "entities", "link_preview_options"}
)
# Long polls check for new updates this often; small enough that tests stay quick.
_POLL_STEP_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class SentCall:
    """One Bot API call the bot made that changes something a resident sees."""

    method: str
    params: dict[str, Any]


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str | None


@dataclass(slots=True)
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    redelivered: list[dict[str, Any]] = field(default_factory=list)
    sent: list[SentCall] = field(default_factory=list)
    # Every message in every chat (residents' and the bot's), by (chat_id, message_id).
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, _StoredFile] = field(default_factory=dict)
    webhook: _Webhook | None = None
    # Method name → retry_after seconds of the 429s still to answer.
    rate_limits: dict[str, list[int | None]] = field(default_factory=dict)
    # HTTP status of every webhook delivery attempt, in order.
    webhook_statuses: list[int] = field(default_factory=list)
    # Method name → HTTP status of the outages still to answer.
    outages: dict[str, list[int]] = field(default_factory=dict)
    # Chats whose resident blocked the bot: sending there is Forbidden.
    blocked: set[int] = field(default_factory=set)
    # Groups upgraded to supergroups: the old chat id -> the supergroup's (sending to the old one fails).
    migrated: dict[int, int] = field(default_factory=dict)
    # File id → how many more getFile calls are refused (None: all of them, until served again).
    withheld: dict[str, int | None] = field(default_factory=dict)
    # File id → how many times the bot asked for it with getFile.
    file_requests: dict[str, int] = field(default_factory=dict)
    get_updates_calls: int = 0
    # The offset of every getUpdates call (0 when none was given), in order.
    get_updates_offsets: list[int] = field(default_factory=list)


class FakeTelegram:
    """The fake Bot API for one bot (one token). ``app`` is the ASGI app to serve."""

    def __init__(self, token: str = "123456:TEST-token", *, bot_username: str = "city311_bot") -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.server_url = ""
        self._lock = threading.Lock()
        self._state = _State()
        # From the clock (milliseconds), not a fixed number: a bot that saved its cursor keeps getting the
        # updates of a fake started again (one starting lower would have them all taken as handled).
        self._update_ids = itertools.count(int(time.time() * 1000))
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._download, methods=["GET"]),
                # Playing the residents over HTTP, for demos (``python -m channels.fakes telegram``).
                Route("/fake/messages", self._control_message, methods=["POST"]),
                Route("/fake/edits", self._control_edit, methods=["POST"]),
                Route("/fake/buttons", self._control_button, methods=["POST"]),
                # A str, read as an int below: Starlette's int convertor takes no minus sign (groups' ids).
                Route("/fake/chats/{chat_id}", self._control_chat, methods=["GET"]),
            ]
        )

    # -- where the library points ----------------------------------------------------------------------

    def base_url(self) -> str:
        """The ``base_url`` for python-telegram-bot (the token is appended by the library)."""
        return f"{self._require_server()}/bot"

    def base_file_url(self) -> str:
        return f"{self._require_server()}/file/bot"

    def _require_server(self) -> str:
        if not self.server_url:
            raise RuntimeError("set FakeTelegram.server_url to the URL the fake is served at")
        return self.server_url.rstrip("/")

    # -- the resident's side -----------------------------------------------------------------------------

    def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        language_code: str = "en",
        from_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A resident sends text; returns the update (already handed to the bot if a webhook is set).

        ``from_id``: a member of the group ``chat_id`` (a negative id, as Telegram's groups have) sends it.
        ``reply_to``: the id of the message in the chat it answers (Telegram's "Reply").
        """
        message = self._resident_message(chat_id, language_code, from_id=from_id, reply_to=reply_to)
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._push({"message": message})

    def edit_text(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The resident edits a message they sent (a photo's caption, for a photo): Telegram sends the bot an
        ``edited_message`` update. A LookupError when the chat has no such message of a resident."""
        with self._lock:
            message = self._state.messages.get((chat_id, message_id))
            if message is None or message["from"]["id"] == self.bot_id:
                raise LookupError(f"no message {message_id} of a resident in chat {chat_id}")
            words = "caption" if "photo" in message else "text"
            edited = {**message, words: text, "edit_date": int(time.time())}
            self._state.messages[(chat_id, message_id)] = edited
        return self._push({"edited_message": edited})

    def send_other(self, chat_id: int, kind: str) -> dict[str, Any]:
        """The resident sends what is neither text, a photo nor a location: ``kind`` is ``voice``,
        ``document`` (a PDF), ``contact`` or ``sticker``."""
        message = self._resident_message(chat_id)
        number = next(self._file_ids)
        file = {"file_id": f"BQAC-file-{number}", "file_unique_id": f"unique-{number}"}
        message[kind] = {
            "voice": {**file, "duration": 4, "mime_type": "audio/ogg"},
            "document": {**file, "file_name": "complaint.pdf", "mime_type": "application/pdf"},
            "contact": {"phone_number": "+14155550123", "first_name": "Ana"},
            "sticker": {
                **file,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            },
        }[kind]
        return self._push({"message": message})

    def send_location(
        self,
        chat_id: int,
        latitude: float,
        longitude: float,
        *,
        from_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A resident shares a location (``from_id``, ``reply_to``: as for ``send_text``)."""
        message = self._resident_message(chat_id, from_id=from_id, reply_to=reply_to)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        return self._push({"message": message})

    def send_photo(
        self,
        chat_id: int,
        content: bytes,
        *,
        caption: str = "",
        thumbnail: bytes = b"thumbnail",
        withhold: int | None = 0,
        from_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A resident sends a photo: like Telegram, the update lists several sizes, largest last.

        ``withhold``: getFile refuses the largest size this many times first (None: until ``serve_file``),
        as ``withhold_file`` does, but already for the update's first delivery to a webhook.
        ``from_id``, ``reply_to``: as for ``send_text``.
        """
        message = self._resident_message(chat_id, from_id=from_id, reply_to=reply_to)
        small = self._store_file(thumbnail, "jpg")
        large = self._store_file(content, "jpg")
        if withhold != 0:
            self.withhold_file(large.file_id, times=withhold)
        message["photo"] = [
            {
                "file_id": small.file_id,
                "file_unique_id": small.file_unique_id,
                "width": 90,
                "height": 67,
                "file_size": len(thumbnail),
            },
            {
                "file_id": large.file_id,
                "file_unique_id": large.file_unique_id,
                "width": 1280,
                "height": 960,
                "file_size": len(content),
            },
        ]
        if caption:
            message["caption"] = caption
        return self._push({"message": message})

    def press_button(
        self, chat_id: int, message_id: int, data: str, *, from_id: int | None = None
    ) -> dict[str, Any]:
        """A resident (``from_id``: a member of the group ``chat_id``) presses an inline button of one of the
        bot's messages."""
        with self._lock:
            message = self._state.messages.get((chat_id, message_id))
        if message is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
        offered = [button.get("callback_data") for row in keyboard for button in row]
        if data not in offered:
            raise LookupError(f"message {message_id} has no button with callback_data {data!r}: {offered}")
        query = {
            "id": str(next(self._callback_ids)),
            "from": self._user(chat_id if from_id is None else from_id),
            "chat_instance": f"instance-{chat_id}",
            "message": message,
            "data": data,
        }
        return self._push({"callback_query": query})

    def deliver(self, update: dict[str, Any]) -> None:
        """Hands an update to the bot again, as Telegram does when a webhook was slow or failed."""
        with self._lock:
            webhook = self._state.webhook
            if webhook is None:
                # As after a poller died before acknowledging it: handed out once more whatever the offset.
                self._state.redelivered.append(update)
                return
        status = self._post_to_webhook(webhook, update)
        with self._lock:
            if status != 200 and update not in self._state.updates:  # Telegram keeps it and tries again
                self._state.updates.append(update)

    def redeliver_pending(self) -> None:
        """Telegram's next try: the updates the webhook has not accepted yet are posted oldest first until
        one is refused again, which stays first in line with the later ones waiting behind it."""
        with self._lock:
            webhook = self._state.webhook
        if webhook is None:
            raise RuntimeError("no webhook is set")
        self._deliver_in_order(webhook)

    def outage(self, method: str, *, times: int = 1, status: int = 502) -> None:
        """The next ``times`` calls of ``method`` fail as when Telegram is down (a 5xx, no JSON)."""
        with self._lock:
            self._state.outages.setdefault(method, []).extend([status] * times)

    def rate_limit(self, method: str, retry_after: int = 5, *, times: int = 1, after: int = 0) -> None:
        """The next ``times`` calls of ``method`` are answered 429 with ``parameters.retry_after`` (once
        ``after`` more calls have gone through: a long message's second chunk, say)."""
        with self._lock:
            self._state.rate_limits.setdefault(method, []).extend([None] * after + [retry_after] * times)

    def withhold_file(self, file_id: str, *, times: int | None = None) -> None:
        """getFile refuses ``file_id`` the next ``times`` times (None: until ``serve_file``), as Telegram
        does for a file it cannot serve (400 "wrong file_id or the file is temporarily unavailable")."""
        with self._lock:
            self._state.withheld[file_id] = times

    def serve_file(self, file_id: str) -> None:
        """Serves a withheld file again."""
        with self._lock:
            self._state.withheld.pop(file_id, None)

    def file_requests(self, file_id: str) -> int:
        """How many times the bot asked for ``file_id`` (getFile), served or refused."""
        with self._lock:
            return self._state.file_requests.get(file_id, 0)

    def block(self, chat_id: int) -> None:
        """The resident blocks the bot: from now on sending to the chat fails with 403 Forbidden."""
        with self._lock:
            self._state.blocked.add(chat_id)

    def migrate(self, chat_id: int, to_chat_id: int) -> None:
        """The group is upgraded to a supergroup with a new id: from now on sending to the old id fails with
        400 and ``parameters.migrate_to_chat_id``, as Telegram answers."""
        with self._lock:
            self._state.migrated[chat_id] = to_chat_id

    def unblock(self, chat_id: int) -> None:
        """The resident unblocks the bot: sending to the chat works again."""
        with self._lock:
            self._state.blocked.discard(chat_id)

    # -- what the bot did --------------------------------------------------------------------------------

    @property
    def sent(self) -> list[SentCall]:
        with self._lock:
            return list(self._state.sent)

    def sent_to(self, chat_id: int, method: str = "sendMessage") -> list[dict[str, Any]]:
        """The parameters of every ``method`` call addressed to ``chat_id``, oldest first."""
        return [c.params for c in self.sent if c.method == method and int(c.params["chat_id"]) == chat_id]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in a chat as they stand now (edits applied), oldest first."""
        with self._lock:
            found = [
                m
                for (chat, _), m in self._state.messages.items()
                if chat == chat_id and m["from"]["id"] == self.bot_id
            ]
        return sorted(found, key=lambda m: int(m["message_id"]))

    @property
    def webhook_url(self) -> str | None:
        with self._lock:
            return self._state.webhook.url if self._state.webhook else None

    @property
    def webhook_statuses(self) -> list[int]:
        with self._lock:
            return list(self._state.webhook_statuses)

    @property
    def get_updates_offsets(self) -> list[int]:
        """The offset each getUpdates call asked from (0: none given), oldest first."""
        with self._lock:
            return list(self._state.get_updates_offsets)

    @property
    def pending_update_count(self) -> int:
        with self._lock:
            return len(self._state.updates)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Waits until ``condition()`` holds (the bot works in another thread); fails loudly if never."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s; bot calls so far: {self.sent}")
            time.sleep(0.02)

    # -- the residents' side over HTTP (demos) ----------------------------------------------------------

    async def _control_message(self, request: Request) -> Response:
        """A resident writes: ``{"chat_id": 42, "text": "..."}``; or shares a location, ``"location":
        {"lat": .., "long": ..}`` (or top-level ``latitude``/``longitude``); or sends a photo, ``"photo_url":
        "https://..."`` (fetched by the fake, ``text`` its caption). ``from_id`` makes any of them a group
        member's (a negative ``chat_id``), ``reply_to`` a reply to that message of the chat."""
        try:
            send = self._resident_act(await request.json())
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return JSONResponse({"error": f"not a resident's message: {exc!r}"}, status_code=400)
        # In a thread: with a webhook set, delivering waits for the bot, which calls this server back.
        try:
            return JSONResponse(await run_in_threadpool(send))
        except (httpx.HTTPError, LookupError) as exc:
            return JSONResponse({"error": f"could not send it: {exc!r}"}, status_code=400)

    def _resident_act(self, body: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        """What ``POST /fake/messages`` asks a resident to do, as a call of the resident's side."""
        chat_id = int(body["chat_id"])
        text = str(body.get("text", ""))
        # Who sends it and what it answers, whatever it is (text, a location or a photo).
        from_id = int(body["from_id"]) if body.get("from_id") is not None else None
        reply_to = int(body["reply_to"]) if body.get("reply_to") is not None else None
        location = body.get("location")
        point: tuple[float, float] | None = None
        if isinstance(location, dict):
            point = float(location["lat"]), float(location["long"])
        elif "latitude" in body and "longitude" in body:
            point = float(body["latitude"]), float(body["longitude"])
        if point is not None:
            return partial(self.send_location, chat_id, *point, from_id=from_id, reply_to=reply_to)
        if body.get("photo_url"):
            url = str(body["photo_url"])
            return lambda: self.send_photo(
                chat_id, _download(url), caption=text, from_id=from_id, reply_to=reply_to
            )
        return partial(self.send_text, chat_id, text, from_id=from_id, reply_to=reply_to)

    async def _control_edit(self, request: Request) -> Response:
        """``{"chat_id": 42, "message_id": 7, "text": "..."}``: the resident edits a message they sent; the
        bot gets Telegram's ``edited_message`` update."""
        try:
            body = await request.json()
            edit = partial(self.edit_text, int(body["chat_id"]), int(body["message_id"]), str(body["text"]))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return JSONResponse({"error": f"not an edit: {exc!r}"}, status_code=400)
        try:
            return JSONResponse(await run_in_threadpool(edit))
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except httpx.HTTPError as exc:
            return JSONResponse({"error": f"could not send it: {exc!r}"}, status_code=400)

    async def _control_button(self, request: Request) -> Response:
        """``{"chat_id": 42, "message_id": 7, "data": "pothole"}``: a resident presses a button."""
        body = await request.json()
        press = partial(self.press_button, int(body["chat_id"]), int(body["message_id"]), str(body["data"]))
        try:
            return JSONResponse(await run_in_threadpool(press))
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    async def _control_chat(self, request: Request) -> Response:
        try:
            chat_id = int(request.path_params["chat_id"])
        except ValueError:
            return JSONResponse({"error": "a chat id is a whole number"}, status_code=400)
        return JSONResponse({"messages": self.bot_messages(chat_id)})

    # -- internals: building updates ---------------------------------------------------------------------

    def _user(self, chat_id: int, language_code: str = "en") -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Resident", "language_code": language_code}

    def _resident_message(
        self,
        chat_id: int,
        language_code: str = "en",
        *,
        from_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A new message of a resident: in their private chat, or (``from_id``) of a member of the group
        ``chat_id``; ``reply_to``: answering that message of the chat (a KeyError when there is none)."""
        if from_id is None:
            chat = {"id": chat_id, "type": "private", "first_name": "Resident"}
        else:
            chat = {"id": chat_id, "type": "supergroup", "title": "Mission neighbours"}
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self._user(chat_id if from_id is None else from_id, language_code),
        }
        if reply_to is not None:
            with self._lock:
                message["reply_to_message"] = self._state.messages[(chat_id, reply_to)]
        return message

    def _store_file(self, content: bytes, extension: str) -> _StoredFile:
        number = next(self._file_ids)
        stored = _StoredFile(
            file_id=f"AgAC-file-{number}",
            file_unique_id=f"unique-{number}",
            file_path=f"photos/file_{number}.{extension}",
            content=content,
        )
        with self._lock:
            self._state.files[stored.file_id] = stored
        return stored

    def _push(self, body: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **body}
        with self._lock:
            message = body.get("message")
            if message is not None:
                self._state.messages[(message["chat"]["id"], message["message_id"])] = message
            webhook = self._state.webhook
            self._state.updates.append(update)
            # Behind an update the webhook refused, a new one waits for the next try (redeliver_pending).
            first_in_line = len(self._state.updates) == 1
        if webhook is not None and first_in_line:
            self._deliver_in_order(webhook)
        return update

    def _deliver_in_order(self, webhook: _Webhook) -> None:
        """Posts the held updates oldest first; stops at one the webhook refuses (it is kept)."""
        while True:
            with self._lock:
                if not self._state.updates:
                    return
                update = self._state.updates[0]
            if self._post_to_webhook(webhook, update) != 200:
                return
            with self._lock:
                if update in self._state.updates:
                    self._state.updates.remove(update)

    def _post_to_webhook(self, webhook: _Webhook, update: dict[str, Any]) -> int:
        headers = {SECRET_HEADER: webhook.secret_token} if webhook.secret_token else {}
        try:
            status = httpx.post(webhook.url, json=update, headers=headers, timeout=30).status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self._state.webhook_statuses.append(status)
        return status

    # -- internals: the Bot API ----------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params = await _read_params(request)
        with self._lock:
            limits = self._state.rate_limits.get(method)
            retry_after = limits.pop(0) if limits else None
            outages = self._state.outages.get(method)
            outage = outages.pop(0) if outages else None
        if outage is not None:
            return Response(
                "<html><body>Bad Gateway</body></html>", status_code=outage, media_type="text/html"
            )
        if retry_after is not None:
            return _error(
                429, f"Too Many Requests: retry after {retry_after}", parameters={"retry_after": retry_after}
            )
        handler = self._methods().get(method)
        if handler is None:
            return _error(404, "Not Found")
        try:
            result = await handler(params)
        except _ApiError as exc:
            return _error(exc.status, exc.description, **exc.extra)
        return JSONResponse({"ok": True, "result": result})

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "getMe": self._get_me,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
        }

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "City 311",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url", ""))
        if not url.startswith(("https://", "http://")):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token") or None
        with self._lock:
            self._state.webhook = _Webhook(url=url, secret_token=secret)
            self._record("setWebhook", params)
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._state.webhook = None
            if _truthy(params.get("drop_pending_updates")):
                self._state.updates.clear()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            webhook, pending = self._state.webhook, len(self._state.updates)
        return {
            "url": webhook.url if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._state.webhook is not None:
                raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
            self._state.get_updates_calls += 1
            self._state.get_updates_offsets.append(offset)
        while True:
            with self._lock:
                # An offset acknowledges (forgets) every update before it, as on Telegram.
                self._state.updates = [u for u in self._state.updates if int(u["update_id"]) >= offset]
                ready = (self._state.redelivered + self._state.updates)[:limit]
                self._state.redelivered.clear()
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(_POLL_STEP_SECONDS)

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if not str(params.get("text", "")).strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        message = self._bot_message(params)
        message["text"] = params["text"]
        return self._remember(message, "sendMessage", params)

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if not photo:
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        message = self._bot_message(params)
        message["photo"] = [{"file_id": "sent-photo", "file_unique_id": "sent", "width": 1, "height": 1}]
        if params.get("caption"):
            message["caption"] = params["caption"]
        return self._remember(message, "sendPhoto", params)

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._lock:
            message = self._state.messages.get(key)
            if message is None:
                raise _ApiError(400, "Bad Request: message to edit not found")
            edited = {**message, "text": params["text"], "edit_date": int(time.time())}
            edited.pop("reply_markup", None)
            if "reply_markup" in params:
                edited["reply_markup"] = params["reply_markup"]
            self._state.messages[key] = edited
            self._record("editMessageText", params)
        return edited

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replaces a message's inline keyboard; without ``reply_markup`` removes it."""
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._lock:
            message = self._state.messages.get(key)
            if message is None:
                raise _ApiError(400, "Bad Request: message to edit not found")
            edited = {**message, "edit_date": int(time.time())}
            edited.pop("reply_markup", None)
            if isinstance(params.get("reply_markup"), dict) and params["reply_markup"].get("inline_keyboard"):
                edited["reply_markup"] = params["reply_markup"]
            self._state.messages[key] = edited
            self._record("editMessageReplyMarkup", params)
        return edited

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise _ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        with self._lock:
            self._record("answerCallbackQuery", params)
        return True

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        with self._lock:
            stored = self._state.files.get(file_id)
            self._state.file_requests[file_id] = self._state.file_requests.get(file_id, 0) + 1
            withheld = file_id in self._state.withheld
            if withheld:
                left = self._state.withheld[file_id]
                if left is not None and left <= 1:
                    del self._state.withheld[file_id]
                elif left is not None:
                    self._state.withheld[file_id] = left - 1
        if withheld:
            raise _ApiError(400, "Bad Request: wrong file_id or the file is temporarily unavailable")
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._record("setMyCommands", params)
        return True

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.path_params["file_path"]
        with self._lock:
            stored = next((f for f in self._state.files.values() if f.file_path == path), None)
        if stored is None:
            return _error(404, "Not Found")
        return Response(stored.content, media_type="image/jpeg")

    def _bot_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        with self._lock:
            if chat_id in self._state.blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id in self._state.migrated:
                raise _ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    parameters={"migrate_to_chat_id": self._state.migrated[chat_id]},
                )
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Resident"},
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "City 311",
                "username": self.bot_username,
            },
        }
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            with self._lock:
                quoted = self._state.messages.get((chat_id, int(reply["message_id"])))
            if quoted is None and not reply.get("allow_sending_without_reply"):
                raise _ApiError(400, "Bad Request: message to be replied not found")
            if quoted is not None:
                message["reply_to_message"] = quoted
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _remember(self, message: dict[str, Any], method: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._state.messages[(message["chat"]["id"], message["message_id"])] = message
            self._record(method, {**params, "message_id": message["message_id"]})
        return message

    def _record(self, method: str, params: dict[str, Any]) -> None:
        self._state.sent.append(SentCall(method, params))


class _ApiError(Exception):
    def __init__(self, status: int, description: str, **extra: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.extra = extra  # more fields of the error body (``parameters``)


def _error(status: int, description: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error_code": status, "description": description, **extra}, status_code=status
    )


def _download(url: str) -> bytes:
    """A demo's photo, fetched as a resident's phone would have it."""
    response = httpx.get(url, follow_redirects=True, timeout=30)
    response.raise_for_status()
    return response.content


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1")


async def _read_params(request: Request) -> dict[str, Any]:
    """Reads a Bot API call's parameters: form or multipart fields, nested JSON values decoded."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        data: dict[str, Any] = json.loads(body) if body else {}
        return data
    form = await request.form()
    params: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            params[key] = {"filename": value.filename, "content": await value.read()}
            continue
        params[key] = json.loads(value) if key in _JSON_FIELDS else value
    params.update({k: v for k, v in request.query_params.items() if k not in params})
    return params
