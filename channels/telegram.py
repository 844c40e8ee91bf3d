"""Telegram, through python-telegram-bot, inside our own event loop.

Two ways in, chosen by ``telegram.mode``:

- ``webhook``: Telegram POSTs updates to our app. The ``Application`` is built with ``updater(None)``; the
  route checks ``X-Telegram-Bot-Api-Secret-Token``, puts ``Update.de_json(...)`` on
  ``application.update_queue`` and answers only once the update has been handled, so a failure becomes a
  non-200 and Telegram delivers the update again (the dispatcher deduplicates it). As Telegram holds the
  later updates back behind a refused one, an update that fails 8 times in a row (counted per worker, in
  memory) is given up as in polling (below) and answered 200, so the ones behind it come through. An update
  the handler is ``TemporarilyUnavailable`` for (the database down) is answered 503, said in one log line
  and not counted: it is no fault of the update's, and the ones behind it could not be handled either.
- ``polling``: our own ``bot.get_updates(offset=..., timeout=...)`` loop runs as a task of the app's loop
  and hands each update to the same queue and handler as the webhook. python-telegram-bot's ``Updater`` is
  not used: it acknowledges an update (asks for the next offset) before it has been handled, so a crash in
  between would lose the resident's message. Here an update is acknowledged only once handled: its
  ``update_id`` is saved in the injected ``CursorStore`` (the database) after the dispatcher committed it,
  and the next ``getUpdates`` starts after the saved one, also after a restart. A crash between handling
  and saving makes Telegram hand the update out again, and the dispatcher's inbox recognises it.
  ``run_polling`` / ``run_webhook`` are never used: they take over and close the event loop.

  One update that fails holds back no one else: it is tried again on its own (after 5 s, doubling up to
  5 min) while the updates after it are handled as they come. The saved cursor stays before it, so
  ``getUpdates`` keeps handing it out (and a restart tries it again); the later ones come back with it
  and are skipped here, or recognised by the inbox after a restart. As Telegram then answers at once,
  the poller asks once a second instead of long-polling. After 18 tries (about an hour; Telegram keeps
  an update a day) it is given up: logged at ERROR and handed to the handler's ``give_up``
  (``KeepsUnhandled``: the dispatcher puts it on the review queue and tells the resident), then the
  cursor moves on. Telegram hands out at most 100 updates from the offset, so when 99 handled ones pile
  up behind a failing update it is given up at its next failure rather than stall the intake. A try the
  handler is ``TemporarilyUnavailable`` for (the database down) is one WARNING line and not counted: the
  update is tried again on the same schedule, however long the outage, and handled once the database is
  back. The poller's own use of the database, reading the cursor as it starts and saving it, meets an
  outage as the store's ``TemporarilyUnavailable``: one WARNING line a try, tried again after 5 s doubling
  up to 5 min (as for Telegram unreachable), and polling goes on once the database is back.

Every update becomes one ``InboundMessage`` whose ``provider_message_id`` is built from Telegram's
``update_id``, so a redelivered update is recognised. Its resident is the private chat, or in a group each
member (``<chat id>:<user id>``: replies go to the group, under the member's message); the bot's own
@username is taken out of the words. Photos are referenced by Telegram file id only:
the download URL contains the bot token, so it never leaves this module (``fetch_media`` downloads
through the library and the bot serves the bytes from its own URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import os
import re
import time
import warnings
from collections.abc import Awaitable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from bot.resident_commands import WORDS as COMMAND_WORDS
from channels.base import (
    UNAVAILABLE_STATUS,
    Channel,
    ChannelRefused,
    CursorStore,
    DeliveryError,
    FailureCounts,
    KeepsUnhandled,
    MessageHandler,
    RefusedWebhooks,
    SendProgress,
    SendResult,
    TemporarilyUnavailable,
    parse_json,
    render_as_text,
)
from channels.local import SentMessageLog
from channels.messages import Attachment, GeoPoint, InboundMessage, OutboundMessage

logger = logging.getLogger(__name__)

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta, as in v23): without it every
# RetryAfter the library builds emits a deprecation warning. Only this library reads the variable.
os.environ.setdefault("PTB_TIMEDELTA", "true")


@runtime_checkable
class QuestionLog(Protocol):
    """What the channel asks of its handler (the dispatcher) to judge a button pressed: the last message
    delivered to the resident that is no notice, as the question open is."""

    async def last_question(self, channel: str, resident_id: str) -> OutboundMessage | None: ...


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# What Telegram accepts as a webhook secret token.
SECRET_TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")
# How an attachment names a Telegram file without its token-bearing URL.
FILE_URL_PREFIX = "telegram-file:"
# Telegram's limits: message text length, callback_data bytes.
MAX_TEXT = 4096
MAX_CALLBACK_DATA_BYTES = 64
# Telegram's own webhook gives up after about a minute; answer before that so a slow update is retried.
WEBHOOK_WAIT_SECONDS = 50.0
# Slash commands: Telegram residents type the engine's command words as commands (``/stop``,
# ``/unsubscribe``, ``/follow 123``), so every word the engine knows (``resident_commands.WORDS``, the
# Latin-script ones: a command is ``[a-z0-9_]``) is one, sent on as the word itself (``/ayuda`` keeps
# telling Spanish). ``/start`` is START whatever follows it (a deep link's payload).
COMMANDS: frozenset[str] = frozenset(
    word for words in COMMAND_WORDS.values() for word in words if re.fullmatch(r"[a-z0-9_]+", word)
)
COMMAND_DESCRIPTIONS: dict[str, str] = {
    "start": "Report a problem to 311",
    "help": "What I can do",
    "status": "Status of your report: /status <id>",
    "cancel": "Forget the report in progress",
    "stop": "Get no more messages from me",
}
# Edits are asked for only to tell the resident they are not read (see _notice).
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# Reconnection after Telegram was unreachable backs off up to this.
MAX_RECONNECT_SECONDS = 300.0
# Polling: an update that fails is tried again on its own, first after ``retry_seconds``, then twice as
# long each time up to this, while the updates after it go ahead.
MAX_UPDATE_RETRY_SECONDS = 300.0
# ... and given up after this many tries: about an hour at the default delays (5, 10, ... 160 s, then
# every 300 s: 3,615 s), well inside the 24 hours Telegram keeps an update nobody acknowledged.
MAX_UPDATE_ATTEMPTS = 18
# While an update waits for its retry, getUpdates (asked from that update on) answers at once: poll at
# this pace instead, so later updates still arrive within about a second without a busy loop.
PENDING_POLL_SECONDS = 1.0
# getUpdates hands out at most this many updates from the offset (Telegram's own limit).
GET_UPDATES_LIMIT = 100
# Webhook: Telegram delivers a refused update again and holds the later ones back behind it, so an update
# that keeps failing is given up after this many deliveries. Telegram does not document its schedule; the
# open-source Bot API server (tdlib/telegram-bot-api, WebhookActor) tries again at once, then after 2, 4,
# ... 64 s, then every 60-120 s, and drops an update only when it expires after a day. The 8th delivery
# then comes about 2 minutes after the first: a dependency's brief outage is ridden out, the resident's
# next messages are not held back for long, and Telegram is far from dropping the update.
MAX_WEBHOOK_ATTEMPTS = 8
# Webhook failures remembered at most; an update settled by another worker never comes back to this one.
MAX_WEBHOOK_FAILURES_KEPT = 1000
UNHANDLED_REASON = "the bot could not handle this message"

T = TypeVar("T")
TelegramApplication = Application[Any, Any, Any, Any, Any, Any]


class _TokenRedactor(logging.Filter):
    """Keeps bot tokens out of httpx's log: it logs every request's URL at INFO (as a worker logs), and a
    Bot API URL carries the token (``/bot<token>/sendMessage``, ``/file/bot<token>/...``). Installed once
    at import on the "httpx" logger; each channel adds its token."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.tokens:
            return True
        message = record.getMessage()
        redacted = message
        for token in self.tokens:
            redacted = redacted.replace(token, "<token>")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR = _TokenRedactor()
logging.getLogger("httpx").addFilter(_REDACTOR)


class TelegramChannel(Channel):
    name: ClassVar[str] = "telegram"
    capabilities: ClassVar[frozenset[str]] = frozenset({"buttons", "media", "threads"})

    def __init__(
        self,
        handler: MessageHandler,
        *,
        token: str,
        mode: Literal["webhook", "polling"] = "webhook",
        secret_token: str | None = None,
        webhook_path: str = "/webhooks/telegram",
        webhook_url: str | None = None,
        base_url: str = "https://api.telegram.org/bot",
        base_file_url: str = "https://api.telegram.org/file/bot",
        register_webhook: bool = True,
        poll_timeout_seconds: float = 10.0,
        reconnect_seconds: float = 5.0,
        retry_seconds: float = 5.0,
        max_attempts: int | None = None,
        pending_poll_seconds: float = PENDING_POLL_SECONDS,
        cursor_store: CursorStore | None = None,
    ) -> None:
        super().__init__(handler)
        if not token:
            raise ValueError("telegram.token is required (set OPEN311_BOT_TELEGRAM__TOKEN)")
        if mode == "webhook" and not secret_token:
            # Without it anyone who learns the URL could post fake updates.
            raise ValueError("telegram.secret_token is required in webhook mode")
        if secret_token and not SECRET_TOKEN_FORMAT.fullmatch(secret_token):
            raise ValueError("telegram.secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        _REDACTOR.tokens.update({token, quote(token, safe="")})  # file URLs carry it percent-encoded
        self.mode = mode
        self.webhook_path = webhook_path
        self.webhook_url = webhook_url
        self.register_webhook = register_webhook
        self.poll_timeout_seconds = poll_timeout_seconds
        self.reconnect_seconds = reconnect_seconds
        # Polling: how a failing update is retried; both modes: after how many tries it is given up.
        self.retry_seconds = retry_seconds
        default_attempts = MAX_WEBHOOK_ATTEMPTS if mode == "webhook" else MAX_UPDATE_ATTEMPTS
        self.max_attempts = max_attempts if max_attempts is not None else default_attempts
        self.pending_poll_seconds = pending_poll_seconds
        # Polling mode: where the last handled update_id is kept (the runtime injects the database's).
        self.cursor_store = cursor_store
        self._secret = (secret_token or "").encode()
        self._refused = RefusedWebhooks(logger)
        # No Updater in either mode: webhook updates come through our route, polled ones through _poll.
        builder = ApplicationBuilder().token(token).base_url(base_url).base_file_url(base_file_url)
        self.application: TelegramApplication = builder.updater(None).build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        # Webhook requests waiting for their update to be handled, by id() of the Update object.
        self._waiting: dict[int, tuple[Update, asyncio.Future[None]]] = {}
        # Webhook: how many deliveries of each update failed in a row in this process.
        self._webhook_failures = FailureCounts(MAX_WEBHOOK_FAILURES_KEPT)
        # Groups upgraded to supergroups since start-up: the old chat id -> the new one.
        self._moved_chats: dict[int, int] = {}
        self._started = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._polling: asyncio.Task[None] | None = None

    @classmethod
    def from_config(cls, config: Any, handler: MessageHandler, *, public_url: str) -> TelegramChannel:
        """Builds the channel from ``bot.config.TelegramSettings``."""
        token = config.token.get_secret_value() if config.token else ""
        secret = config.secret_token.get_secret_value() if config.secret_token else None
        return cls(
            handler,
            token=token,
            mode=config.mode,
            secret_token=secret,
            webhook_path=config.webhook_path,
            webhook_url=public_url.rstrip("/") + config.webhook_path,
            base_url=config.base_url,
            base_file_url=config.base_file_url,
            register_webhook=config.register_webhook,
            poll_timeout_seconds=config.poll_timeout_seconds,
        )

    # -- lifecycle -------------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        if self.mode != "webhook":
            return []
        return [Route(self.webhook_path, self._webhook, methods=["POST"])]

    async def start(self) -> None:
        if self.mode == "polling":
            self._cursors()  # a missing store is a wiring error: say so at start-up, not in the poller
        self._loop = asyncio.get_running_loop()
        self._started = True
        try:
            await self._connect()
        except (InvalidToken, BadRequest) as exc:
            # A configuration error (token, webhook URL, secret): say so at start-up, without the token
            # (python-telegram-bot's own message quotes it, and start-up errors reach the log).
            raise ChannelRefused(_refusal(exc)) from None
        except (NetworkError, RetryAfter) as exc:
            # Telegram unreachable: the rest of the bot (the Open311 API, other channels) still starts,
            # and this channel keeps trying in the background.
            logger.warning("telegram not reachable at start-up (%s); retrying in the background", exc)
            self._reconnecting = asyncio.create_task(self._keep_connecting())

    async def _connect(self) -> None:
        await self.application.initialize()  # getMe: a wrong token fails here, loudly
        await self.application.bot.set_my_commands(
            [BotCommand(name, description) for name, description in COMMAND_DESCRIPTIONS.items()]
        )
        if self.mode == "webhook":
            if self.register_webhook and self.webhook_url:
                await self.application.bot.set_webhook(
                    url=self.webhook_url,
                    secret_token=self._secret.decode(),
                    allowed_updates=ALLOWED_UPDATES,
                )
        else:
            # getUpdates is refused while a webhook is set; pending updates are kept.
            await self.application.bot.delete_webhook(drop_pending_updates=False)
        if not self.application.running:
            await self.application.start()
        if self.mode == "polling" and self._polling is None:
            self._polling = asyncio.create_task(self._poll(), name="telegram-polling")

    async def _keep_connecting(self) -> None:
        delay = self.reconnect_seconds
        while True:
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except (InvalidToken, BadRequest) as exc:
                logger.error("%s; the channel stays off", _refusal(exc))
                return
            except (NetworkError, RetryAfter) as exc:
                delay = min(delay * 2, MAX_RECONNECT_SECONDS)
                logger.warning("telegram still not reachable (%s); next try in %.0f s", exc, delay)
                continue
            logger.info("telegram connected")
            return

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._loop = None
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
            self._reconnecting = None
        if self._polling is not None:
            # Nothing is acknowledged on the way out: the saved cursor already says what was handled.
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def _in_bot_loop(self, work: Coroutine[Any, Any, T]) -> T:
        """Runs ``work`` on the loop the bot was started in.

        The library's HTTP connections belong to that loop; an outbox sender running elsewhere (another
        thread's loop) hands its sends over instead of sharing them across loops.
        """
        loop = self._loop
        if loop is None or not loop.is_running() or loop is asyncio.get_running_loop():
            return await work
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, loop))

    # -- inbound -------------------------------------------------------------------------------------------

    @property
    def cursor_name(self) -> str:
        # By the bot's numeric id (public, unlike the token), so two bots sharing a database keep apart.
        return f"telegram:{self.application.bot.id}:update_id"

    async def _poll(self) -> None:
        """Long-polls getUpdates and handles each update before acknowledging it (see the module doc)."""
        # Read in the loop, not before it: a start that met a database outage retries with the rest (it
        # ended the task, and nothing was polled until a restart). Nothing is read until it is known.
        backlog: _Backlog | None = None
        delay = self.reconnect_seconds
        while True:
            try:
                if backlog is None:
                    backlog = await self._backlog()
                updates = await self.application.bot.get_updates(
                    offset=backlog.offset,
                    # Asked from a failing update, Telegram answers at once anyway: no long poll then.
                    timeout=timedelta(seconds=0 if backlog.failing else self.poll_timeout_seconds),
                    allowed_updates=ALLOWED_UPDATES,
                )
                for gone in backlog.seen([update.update_id for update in updates]):
                    logger.warning("telegram no longer holds update %s; it was never handled", gone)
                for update in updates:
                    await self._take(update, backlog)
                # Saved before the next getUpdates acknowledges it to Telegram.
                moved_to = backlog.acknowledgeable()
                if moved_to is not None:
                    await asyncio.to_thread(self._cursors().set, self.cursor_name, str(moved_to))
                    backlog.acknowledged(moved_to)
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc))
                continue
            except InvalidToken as exc:
                logger.error("telegram refused the bot token (%s); polling stops", exc)
                return
            except Conflict as exc:  # another poller with this token, or a webhook set meanwhile
                logger.warning("telegram polling conflict (%s); retrying in %.0f s", exc, delay)
            except NetworkError as exc:
                logger.warning("telegram not reachable (%s); retrying in %.0f s", exc, delay)
            except TemporarilyUnavailable as exc:  # the cursor store's database is down: no fault of ours
                if backlog is None:
                    logger.warning("telegram polling not started: %s; retrying in %.0f s", exc, delay)
                else:  # the cursor not saved: handed out again, the handled ones are skipped, and saved
                    logger.warning(
                        "telegram updates up to %s handled but not acknowledged: %s; retrying in %.0f s",
                        backlog.acknowledgeable(),
                        exc,
                        delay,
                    )
            except Exception:  # the cursor could not be saved: the handled updates are not acknowledged
                logger.exception("telegram polling failed; retrying in %.0f s", delay)
            else:
                delay = self.reconnect_seconds
                if backlog.failing:
                    await asyncio.sleep(backlog.wait(time.monotonic(), self.pending_poll_seconds))
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RECONNECT_SECONDS)

    async def _backlog(self) -> _Backlog:
        """Where the poller left off: the saved cursor, or without one whatever Telegram still holds (it
        keeps unacknowledged updates a day)."""
        saved = await asyncio.to_thread(self._cursors().get, self.cursor_name)
        return _Backlog(int(saved) if saved else None)

    async def _take(self, update: Update, backlog: _Backlog) -> None:
        """Handles one update getUpdates returned, unless it is handled already or waiting for its retry.

        A failure only schedules that update's own retry; the caller goes on with the next update.
        """
        update_id = update.update_id
        if not backlog.due(update_id, time.monotonic()):
            return
        try:
            await self._handled(update)
        except Exception as exc:  # logged with its traceback where it happened (_on_update)
            if backlog.is_old(update_id):
                return  # handed out again below the saved cursor: it was handled once already
            if isinstance(exc, TemporarilyUnavailable):
                # The database is down: no fault of the update's, so not a try towards giving it up. It
                # is tried again on the same schedule, and handled at the first try after it is back.
                retry = backlog.failed(update_id, time.monotonic(), self.retry_seconds, counted=False)
                logger.warning(
                    "telegram update %s not handled: %s; next try in %.0f s",
                    update_id,
                    exc,
                    retry.delay,
                )
                return
            retry = backlog.failed(update_id, time.monotonic(), self.retry_seconds)
            settled = await self._after_failure(
                update,
                retry.attempts,
                exc,
                # Behind a full window nothing new can come until this one is settled: no more waiting.
                last_try=backlog.stalled,
                next_try=f"next try in {retry.delay:.0f} s, later updates go ahead",
            )
            if not settled:
                return
        backlog.handled(update_id)

    async def _after_failure(
        self, update: Update, attempts: int, error: Exception, *, last_try: bool = False, next_try: str
    ) -> bool:
        """What follows the ``attempts``-th failed try of ``update`` in either mode: below ``max_attempts``
        (and unless ``last_try``) a warning saying what happens next; at the bound it is given up
        (``_gave_up``). True when the update is settled, False when it is to be tried again."""
        if attempts < self.max_attempts and not last_try:
            logger.warning(
                "telegram update %s failed (try %d of %d); %s",
                update.update_id,
                attempts,
                self.max_attempts,
                next_try,
            )
            return False
        return await self._gave_up(update, attempts, error)

    async def _gave_up(self, update: Update, attempts: int, error: Exception) -> bool:
        """Stops retrying ``update``: logged, and handed to the handler to keep for a person if it can.
        False when even that failed (the database is down, say): the update is then tried again later."""
        cause = self._redacted(f"{type(error).__name__}: {error}")
        keeper = self.handler if isinstance(self.handler, KeepsUnhandled) else None
        message = self._inbound_for_person(update)
        if keeper is None or message is None:
            logger.error(
                "telegram update %s given up after %d tries (%s); it is not kept anywhere",
                update.update_id,
                attempts,
                cause,
            )
            return True
        try:
            await keeper.give_up(message, UNHANDLED_REASON)
        except TemporarilyUnavailable as exc:
            logger.warning(
                "telegram update %s not kept for review: %s; trying it again", update.update_id, exc
            )
            return False
        except Exception:
            logger.exception(
                "telegram update %s could not be kept for review; trying it again", update.update_id
            )
            return False
        logger.error(
            "telegram update %s given up after %d tries (%s); kept for review",
            update.update_id,
            attempts,
            cause,
        )
        return True

    def _redacted(self, text: str) -> str:
        """``text`` without the bot token (a file URL or a request URL in an error carries it)."""
        token = self.application.bot.token
        for form in (token, quote(token, safe="")):
            text = text.replace(form, "<token>")
        return text

    def _cursors(self) -> CursorStore:
        if self.cursor_store is None:
            raise RuntimeError("TelegramChannel.cursor_store is not set (the runtime injects it)")
        return self.cursor_store

    async def _handled(self, update: Update) -> None:
        """Hands ``update`` to the application's queue (the handler below) and waits until it is handled."""
        await (await self._enqueue(update))

    async def _enqueue(self, update: Update) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[id(update)] = (update, done)
        await self.application.update_queue.put(update)
        return done

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self._refused.refused(
                "telegram webhook refused (403): %s X-Telegram-Bot-Api-Secret-Token; Telegram sends "
                "telegram.secret_token with each update to the webhook set for the bot's token, here %s "
                "(server.public_url + telegram.webhook_path): a webhook set by another deployment of the "
                "same bot, or with another secret, or a request not from Telegram",
                "a wrong" if given else "no",
                self.webhook_url,
            )
            return JSONResponse({"error": "wrong or missing secret token"}, status_code=403)
        try:
            payload = parse_json(await request.body())
            if not isinstance(payload, dict):  # a JSON array, string, number or null
                raise TypeError(f"the body is a JSON {type(payload).__name__}, not an object")
            update = Update.de_json(payload, self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # AttributeError: the library reads a nested object that is a list, a string or a number.
            return JSONResponse({"error": f"not a Telegram update: {exc}"}, status_code=400)
        if update is None:
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        done = await self._enqueue(update)
        try:
            await asyncio.wait_for(asyncio.shield(done), WEBHOOK_WAIT_SECONDS)
        except TimeoutError:
            # Still being handled: a non-200 makes Telegram try again, and the retry is deduplicated.
            done.add_done_callback(lambda f: f.cancelled() or f.exception())  # outcome already logged
            return JSONResponse({"error": "still handling the update"}, status_code=503)
        except TemporarilyUnavailable:  # said in one line where it happened (_on_update)
            return JSONResponse(
                {"error": "the update cannot be handled just now"}, status_code=UNAVAILABLE_STATUS
            )
        except Exception as exc:  # logged with its traceback where it happened (_on_update)
            attempts = self._webhook_failures.failed(update.update_id)
            if not await self._after_failure(update, attempts, exc, next_try="Telegram delivers it again"):
                # Telegram keeps it and tries again (a non-200 also when it could not be kept: nothing lost).
                return JSONResponse({"error": "the update could not be handled"}, status_code=500)
            # Given up: a 200 lets Telegram move on to the updates it holds back behind this one.
        self._webhook_failures.settled(update.update_id)
        return JSONResponse({"ok": True})

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        waiting = self._waiting.pop(id(update), None)
        try:
            inbound = await self._to_inbound(update)
            if inbound is not None:
                await self.handler.handle(inbound)
        except Exception as exc:
            if isinstance(exc, TemporarilyUnavailable):
                if self.mode == "webhook":  # the poller says it with its next try (_take)
                    logger.warning(
                        "telegram update %s not handled: %s; Telegram delivers it again",
                        update.update_id,
                        exc,
                    )
            else:
                logger.exception("telegram update %s failed", update.update_id)
            if waiting is not None and not waiting[1].done():
                # The webhook answers non-200, the poller keeps its cursor: Telegram delivers it again.
                waiting[1].set_exception(exc)
            return
        if waiting is not None and not waiting[1].done():
            waiting[1].set_result(None)

    async def _to_inbound(self, update: Update) -> InboundMessage | None:
        query = update.callback_query
        if query is not None:
            inbound = self._button_inbound(update)
            closed = await self._question_closed(inbound.resident_id, query.message)
            try:
                await query.answer()  # stops the spinner on the resident's button
                if closed:
                    await query.edit_message_reply_markup(reply_markup=None)
                elif isinstance(query.message, Message) and query.message.text:
                    # Shows what was chosen and removes the buttons so they cannot be pressed twice.
                    await query.edit_message_text(f"{query.message.text}\n\n→ {inbound.text}")
            except TelegramError as exc:  # a redelivered, too-old query: the choice itself still counts
                logger.info("telegram callback query %s not answered: %s", query.id, exc)
            if closed:
                # Not the answer to what the bot asks now: the resident is told so (the dispatcher's notice).
                return dataclasses.replace(
                    inbound, metadata={**inbound.metadata, "notice": "question_closed"}
                )
            return inbound
        return self._message_inbound(update)

    async def _question_closed(self, resident: str, question: object) -> bool:
        """Whether the buttons pressed belong to a question that is no longer open: the last message the bot
        delivered to the resident is not that question (the report was filed or dropped since, or the
        question asked again). A notice in between ("I can't read edited messages…") leaves it open, where
        the handler tells notices apart (``QuestionLog``): after one, the open question's buttons were
        refused and removed. Read from the outbox through the handler (the dispatcher), so it holds after a
        restart and across workers; without that log every press counts, as before."""
        markup = question.reply_markup if isinstance(question, Message) else None
        if markup is None:
            return False
        offered = [button.callback_data for row in markup.inline_keyboard for button in row]
        if isinstance(self.handler, QuestionLog):
            last = await self.handler.last_question(self.name, resident)
        elif isinstance(self.handler, SentMessageLog):
            delivered = await self.handler.sent_messages(self.name, resident)
            last = delivered[-1][1] if delivered else None
        else:
            return False
        if last is None:
            return False  # nothing kept of what was sent (forgotten since): the engine judges the answer
        return [choice.value for choice in last.choices] != offered

    def _message_inbound(self, update: Update) -> InboundMessage | None:
        message = update.message or update.edited_message
        if message is None or message.chat is None:
            return None  # channel posts, ...: not a resident talking to the bot
        if not self._addressed_to_us(message):
            return None  # another bot's command, or group members talking among themselves
        user = message.from_user
        app_language = user.language_code if user else None
        words = message.text or message.caption or ""
        metadata = {"chat_type": str(message.chat.type)}
        if app_language:
            metadata["app_language"] = app_language
        notice = _notice(update, message)
        if notice is not None:
            metadata["notice"] = notice
        text = _command_text(message.text) if message.text else (message.caption or "")
        return InboundMessage(
            channel=self.name,
            resident_id=resident_id(message.chat.id, message.chat.type, user.id if user else None),
            provider_message_id=_provider_id(update),
            text=self._without_own_mention(text),
            attachments=_attachments(message),
            point=(
                GeoPoint(lat=message.location.latitude, long=message.location.longitude)
                if message.location
                else None
            ),
            reply_to=str(message.message_id),
            # The app's language is the resident's language only when there are no words to tell by: many
            # people write in one language with their phone set to another.
            language_hint=app_language if not words or words.startswith("/") else None,
            received_at=message.date,
            metadata=metadata,
        )

    def _button_inbound(self, update: Update) -> InboundMessage:
        query = update.callback_query
        assert query is not None
        label = _button_label(query.message, query.data)
        chat = query.message.chat if query.message else None
        user_id = query.from_user.id
        resident = resident_id(chat.id, chat.type, user_id) if chat else str(user_id)
        return InboundMessage(
            channel=self.name,
            resident_id=resident,
            provider_message_id=_provider_id(update),
            text=label or query.data or "",
            choice_value=query.data,
            language_hint=query.from_user.language_code,
            metadata={"chat_type": str(chat.type) if chat else "private"},
        )

    def _inbound_for_person(self, update: Update) -> InboundMessage | None:
        """What a person is shown of an update given up on; built without calling Telegram, and from the
        bare chat when the full conversion is what fails. None when not even a chat is known."""
        try:
            if update.callback_query is not None:
                return self._button_inbound(update)
            return self._message_inbound(update)
        except Exception:
            chat, user = update.effective_chat, update.effective_user
            if chat is not None:
                resident = resident_id(chat.id, chat.type, user.id if user else None)
            elif user is not None:
                resident = str(user.id)
            else:
                return None
            return InboundMessage(
                channel=self.name, resident_id=resident, provider_message_id=_provider_id(update)
            )

    def _addressed_to_us(self, message: Message) -> bool:
        """Whether the resident speaks to this bot. A command naming another bot (``/stop@music_bot``) is
        that bot's, in any chat. In a group (where the bot may see every message: privacy mode off, or an
        admin) only a command, a message mentioning the bot or a reply to one of its messages is; the
        members' talk among themselves ("see you at the bbq at Dolores Park") is no report."""
        try:
            me = self.application.bot
            username, bot_id = str(me.username), me.id
        except RuntimeError:  # getMe not answered yet: there is no update to read before it either
            return True
        text = message.text or message.caption or ""
        command = _COMMAND.match(message.text or "")
        in_group = str(message.chat.type) in GROUP_CHAT_TYPES
        if command is not None:
            addressee: str | None = command.group("bot")
            if addressee is not None:
                return addressee.lower() == username.lower()
            # "/roll" in a group is some other bot's; ours are the engine's words.
            return not in_group or str(command.group("command")).lower() in COMMANDS
        if not in_group:
            return True
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
            return True
        return _mention(username).search(text) is not None

    def _without_own_mention(self, text: str) -> str:
        """The resident's words without "@city311_bot" (how a group member addresses the bot): the bot's
        own name is no part of the report."""
        if "@" not in text:
            return text
        try:
            username = self.application.bot.username
        except RuntimeError:  # getMe not answered yet: there is no update to read before it either
            return text
        return re.sub(r"[ \t]{2,}", " ", _mention(username).sub("", text)).strip()

    # -- outbound -------------------------------------------------------------------------------------------

    async def send_text(self, resident_id: str, text: str, *, reply_to: str | None = None) -> SendResult:
        return await self.send(
            OutboundMessage(channel=self.name, resident_id=resident_id, text=text, reply_to=reply_to)
        )

    async def send(self, message: OutboundMessage, progress: SendProgress | None = None) -> SendResult:
        return await self._in_bot_loop(self._send(message, progress or SendProgress()))

    async def _send(self, message: OutboundMessage, progress: SendProgress) -> SendResult:
        """Sends the text in chunks, then the photos: each one a part, those ``progress`` says were sent
        by an earlier try skipped."""
        chat_id = _chat_id(message.resident_id)
        keyboard = _keyboard(message)
        text = message.text if keyboard is not None else render_as_text(message)
        chunks = _split(text, MAX_TEXT)
        reply = (
            ReplyParameters(message_id=int(message.reply_to), allow_sending_without_reply=True)
            if message.reply_to and message.reply_to.isdigit()
            else None
        )
        parts: list[partial[Awaitable[Message]]] = [
            partial(
                self.application.bot.send_message,
                chat_id=chat_id,
                text=chunk,
                reply_parameters=reply if number == 0 else None,
                reply_markup=keyboard if number == len(chunks) - 1 else None,
            )
            for number, chunk in enumerate(chunks)
        ]
        parts += [
            partial(self.application.bot.send_photo, chat_id=chat_id, photo=url) for url in message.media_urls
        ]
        for part in parts[progress.parts_sent :]:
            sent = await _delivered(self._to_current_chat(part))
            progress.part_sent(str(sent.message_id))
        return SendResult(provider_message_id=progress.last_id)

    async def _to_current_chat(self, part: partial[Awaitable[Message]]) -> Message:
        """Sends ``part``; to a group upgraded to a supergroup (Telegram gives it a new chat id and refuses
        the old one), to the supergroup instead: a member's status update still reaches them there. Known
        moves are remembered, so later messages go straight to the new chat."""
        chat_id = part.keywords["chat_id"]
        current = self._moved_chats.get(chat_id, chat_id)
        try:
            return await part(chat_id=current)
        except ChatMigrated as exc:
            moved_to = int(exc.new_chat_id)
            self._moved_chats[chat_id] = moved_to
            logger.info("telegram chat %s became supergroup %s; sending there", chat_id, moved_to)
            return await part(chat_id=moved_to)

    async def fetch_media(self, attachment: Attachment) -> tuple[bytes, str]:
        return await self._in_bot_loop(self._fetch_media(attachment))

    async def _fetch_media(self, attachment: Attachment) -> tuple[bytes, str]:
        if not attachment.url.startswith(FILE_URL_PREFIX):
            raise DeliveryError(f"not a Telegram file: {attachment.url}", retryable=False)
        file_id = attachment.url.removeprefix(FILE_URL_PREFIX)
        try:
            file = await self.application.bot.get_file(file_id)
        except BadRequest as exc:
            # Telegram names the file it just sent us: "wrong file_id or the file is temporarily
            # unavailable" passes. A file over the Bot API's 20 MB download limit ("file is too big") never
            # will be downloadable.
            retryable = "too big" not in exc.message.lower()
            raise DeliveryError(
                f"Telegram did not give the file: {exc.message}", retryable=retryable
            ) from exc
        except TelegramError as exc:
            raise _delivery_error(exc) from exc
        content = await _delivered(file.download_as_bytearray())
        return bytes(content), attachment.content_type or "image/jpeg"


def _provider_id(update: Update) -> str:
    # From Telegram's update_id: a redelivered update carries the same one, so the dispatcher knows it.
    return f"update:{update.update_id}"


@dataclass(slots=True)
class _Retry:
    attempts: int  # the failed tries counted towards giving the update up
    delay: float
    due: float  # time.monotonic() of the next try
    # Every failed try, the database's outages included: the delay doubles with these.
    tries: int = 1


class _Backlog:
    """What the poller knows beyond its saved cursor (the last update_id acknowledged to Telegram).

    getUpdates is always asked from the update after the cursor, and the cursor moves only over updates
    that were handled (or given up), so a failing update holds it where it is and comes back in every
    answer. The updates after it that are handled meanwhile are remembered here so each is handed over
    once; after a restart they come back too and the dispatcher's inbox recognises them.
    """

    def __init__(self, cursor: int | None) -> None:
        self.cursor = cursor
        self.done: set[int] = set()
        self.failing: dict[int, _Retry] = {}
        # The last answer was a full window of updates all handled or failing: nothing new can come in
        # until the failing ones are settled.
        self.stalled = False

    @property
    def offset(self) -> int | None:
        return None if self.cursor is None else self.cursor + 1

    def is_old(self, update_id: int) -> bool:
        return self.cursor is not None and update_id <= self.cursor

    def seen(self, update_ids: Sequence[int]) -> list[int]:
        """Takes in one getUpdates answer; returns (and forgets) the failing updates Telegram no longer
        holds: it hands out every update from the offset on, so one missing from the answer is gone."""
        fresh = [update_id for update_id in update_ids if not self.is_old(update_id)]
        first = min(fresh, default=None)
        gone = [update_id for update_id in self.failing if first is None or update_id < first]
        for update_id in gone:
            del self.failing[update_id]
        known = all(update_id in self.done or update_id in self.failing for update_id in fresh)
        self.stalled = len(update_ids) >= GET_UPDATES_LIMIT and known
        return gone

    def due(self, update_id: int, now: float) -> bool:
        if update_id in self.done:
            return False
        retry = self.failing.get(update_id)
        return retry is None or retry.due <= now

    def failed(self, update_id: int, now: float, first_delay: float, *, counted: bool = True) -> _Retry:
        """Schedules the next try of a failed update; ``counted``: the failure is a try towards giving it
        up (not when the database was down)."""
        previous = self.failing.get(update_id)
        attempts = (0 if previous is None else previous.attempts) + (1 if counted else 0)
        tries = 1 if previous is None else previous.tries + 1
        delay = min(first_delay * 2 ** (tries - 1), MAX_UPDATE_RETRY_SECONDS)
        retry = _Retry(attempts=attempts, delay=delay, due=now + delay, tries=tries)
        self.failing[update_id] = retry
        return retry

    def handled(self, update_id: int) -> None:
        self.failing.pop(update_id, None)
        if not self.is_old(update_id):
            self.done.add(update_id)

    def acknowledgeable(self) -> int | None:
        """The update_id the cursor may move to: the last handled one with no failing update before it."""
        first_failing = min(self.failing, default=None)
        ready = [d for d in self.done if first_failing is None or d < first_failing]
        return max(ready, default=None)

    def acknowledged(self, cursor: int) -> None:
        self.cursor = cursor
        self.done = {update_id for update_id in self.done if update_id > cursor}

    def wait(self, now: float, interval: float) -> float:
        """How long to wait before asking again while updates wait for their retries: until the next retry
        is due, at most ``interval`` (new updates still come in at that pace)."""
        soonest = min((retry.due for retry in self.failing.values()), default=now + interval)
        return min(interval, max(soonest - now, interval / 10))


GROUP_CHAT_TYPES = frozenset({"group", "supergroup"})


def resident_id(chat_id: int, chat_type: str, user_id: int | None) -> str:
    """Who a conversation is with: in a private chat the chat (the person); in a group or supergroup each
    member on their own, as ``<chat id>:<user id>`` (replies go to the group chat, under the member's own
    message), so two residents' messages in one group never make one report."""
    if str(chat_type) in GROUP_CHAT_TYPES and user_id is not None:
        return f"{chat_id}:{user_id}"
    return str(chat_id)


def _chat_id(resident_id: str) -> int:
    """The chat to send to: the resident id itself, or the group of a group member's ``<chat>:<user>``."""
    try:
        return int(resident_id.split(":", 1)[0])
    except ValueError:
        raise DeliveryError(f"{resident_id!r} is not a Telegram chat id", retryable=False) from None


async def _delivered(call: Awaitable[T]) -> T:
    """Awaits a Bot API call, turning the library's errors into the channel interface's."""
    try:
        return await call
    except TelegramError as exc:
        raise _delivery_error(exc) from exc


def _delivery_error(exc: TelegramError) -> DeliveryError:
    if isinstance(exc, RetryAfter):
        return DeliveryError(f"Telegram flood control: {exc}", retry_after=_seconds(exc))
    if isinstance(exc, Forbidden):
        # The resident blocked the bot (or deleted the chat): this message cannot go, but it is no opt-out.
        # Recorded as one, a resident who unblocked and wrote again was silenced until START, which they
        # had no reason to send: everything they reported was dropped.
        return DeliveryError(f"Telegram refused: {exc.message}", retryable=False)
    if isinstance(exc, ChatMigrated):  # moved again while being sent to its new id: not followed twice
        return DeliveryError(f"Telegram chat moved to {exc.new_chat_id}", retryable=False)
    if isinstance(exc, InvalidToken):
        return DeliveryError(f"Telegram rejected the bot token: {exc}", retryable=False)
    if isinstance(exc, BadRequest):
        return DeliveryError(f"Telegram refused the message: {exc.message}", retryable=False)
    if isinstance(exc, NetworkError):  # includes TimedOut
        return DeliveryError(f"Telegram unreachable: {exc}")
    return DeliveryError(f"Telegram error: {exc}")


def _seconds(exc: RetryAfter) -> float:
    # retry_after is an int or a timedelta depending on PTB_TIMEDELTA; reading it warns until v23.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# A slash command at the start of a message, with the bot it names if it names one ("/help@city311_bot").
_COMMAND = re.compile(r"/(?P<command>\w+)(?:@(?P<bot>\w+))?(?!\S)")


def _mention(username: str) -> re.Pattern[str]:
    """``@username`` in a message, not inside a longer name or an e-mail address."""
    return re.compile(rf"(?<![\w@])@{re.escape(username)}(?!\w)", re.IGNORECASE)


def _command_text(text: str) -> str:
    """``/status@city311_bot 123`` → ``STATUS 123``: slash commands become the engine's command words."""
    if not text.startswith("/"):
        return text
    head, *rest = text.split(None, 1)
    command = head[1:].split("@", 1)[0].lower()
    if command not in COMMANDS:
        return text
    if command == "start":
        return "START"  # a deep-link payload after /start is not the resident's words
    return " ".join([command.upper(), *rest])


def _notice(update: Update, message: Message) -> str | None:
    """What the resident is told instead of the message being read (the dispatcher's ``NOTICES``): an edit
    (the report may have gone on since, so the change is not taken in silently, nor left unanswered), or
    something with nothing the bot reads in it (a voice note, a document, a contact, a sticker)."""
    if update.edited_message is not None:
        return "edited_message"
    readable = message.text or message.caption or message.location or _attachments(message)
    if not readable and message.effective_attachment is not None:
        return "unreadable_message"
    return None


def _attachments(message: Message) -> tuple[Attachment, ...]:
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return (
            Attachment(url=FILE_URL_PREFIX + largest.file_id, content_type="image/jpeg", needs_auth=True),
        )
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        # A photo sent "as a file" keeps its original quality and type.
        return (
            Attachment(
                url=FILE_URL_PREFIX + document.file_id, content_type=document.mime_type, needs_auth=True
            ),
        )
    return ()


def _keyboard(message: OutboundMessage) -> InlineKeyboardMarkup | None:
    """One button per row; None (numbered lines instead) when a value cannot be callback data."""
    if not message.choices:
        return None
    if any(len(choice.value.encode()) > MAX_CALLBACK_DATA_BYTES for choice in message.choices):
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(choice.label, callback_data=choice.value)] for choice in message.choices]
    )


def _button_label(message: object, data: str | None) -> str | None:
    markup = message.reply_markup if isinstance(message, Message) else None
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def _split(text: str, limit: int) -> list[str]:
    """Splits at paragraph, then line, then word boundaries so no chunk exceeds ``limit``."""
    chunks: list[str] = []
    rest = text.strip() or text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    chunks.append(rest)
    return chunks


def _refusal(exc: TelegramError) -> str:
    """What Telegram refused at start-up, in words naming the setting, never the token."""
    if isinstance(exc, InvalidToken):
        return "telegram.token was rejected by Telegram (getMe): check the token BotFather gave the bot"
    return f"Telegram refused the channel's configuration (telegram.mode, server.public_url): {exc.message}"
