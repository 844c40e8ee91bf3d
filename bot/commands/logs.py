"""Logging for the long-running commands (``serve``, ``worker``): the bot's own lines (which process runs
the scheduler, jobs started, channels connecting) on stderr from ``log_level`` up, without the per-request
chatter of the libraries under it. uvicorn's access log (``serve``) keeps each request's path and query
string, with only the values of the app's harmless parameters (``LOGGED_QUERY_PARAMETERS``: codes, numbers,
dates) as written; every other value (an API key, the console's search words, a resident's number) reads
``<redacted>``, and a phone number or an email address in the path ``[phone]``, ``[email]``.

No secret reaches the log at any level, in two ways:

- the libraries whose lines carry secrets or residents' words are held at WARNING whatever the level
  (python-telegram-bot's own advice for httpx; at DEBUG, telegram logs the Bot API URL with the token and
  every call's parameters, tweepy the ``Authorization`` header and each response's body, oauthlib the
  signing keys); the others stay at INFO, so ``log_level = "debug"`` is the bot's own debug lines only;
- every record is made with the settings' secrets (and their URL-encoded forms) written as ``<redacted>``
  (``SecretRedactor``, a log record factory: it sees the records of every logger, uvicorn's too, before any
  handler), for a secret a warning or a traceback would still carry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, unquote_plus

from bot.redaction import mask_contact_details

if TYPE_CHECKING:
    from bot.config import Settings

# Query parameters whose values the access log keeps: the app's own whose values are codes, numbers, dates
# and flags (the Open311 API's search, the console's filters and pages, the local channel's cursor). Every
# other value reads <redacted>: a secret (the Open311 ``api_key``, which GeoReport clients may send in the
# query string), words a person typed (the console's search ``q``, which operators fill with a resident's
# number), a resident's id (the local channel's ``to``), a redirect's ``next`` (a page with its query), or
# what a GeoReport client puts in a POST's query string (``address_string``, ``phone``, ``lat``...).
LOGGED_QUERY_PARAMETERS = frozenset(
    {
        "page",
        "page_size",
        "status",
        "service_code",
        "service_request_id",
        "start_date",
        "end_date",
        "jurisdiction_id",
        "extensions",
        "start",
        "end",
        "channel",
        "days",
        "done",
        "after",
    }
)
# What a kept name or value may look like: a code, a number, a date (``2026-01-02T00:00:00Z``), a list of
# them; no space (words), no run of 7 digits (a phone number without punctuation), at most 64 characters.
_HARMLESS = re.compile(r"[\w.,:+\[\]-]{0,64}", re.ASCII)
_LONG_NUMBER = re.compile(r"\d{7}")
REDACTED = "<redacted>"
# Loggers held at WARNING at every level: their INFO or DEBUG lines carry tokens, Authorization headers,
# signing keys, request URLs with their query or message bodies (or, for apscheduler's executors, a line
# per run of seconds-apart jobs).
QUIET_LIBRARIES = (
    "httpx",
    "httpcore",
    "hpack",
    "telegram",
    "tweepy",
    "oauthlib",
    "requests_oauthlib",
    "urllib3",
    "twilio",
    "geopy",
    "apscheduler.executors",
)
# Libraries whose INFO lines only repeat, less clearly, what the bot says itself: alembic writes a line per
# plugin it loads (before a start-up error too) and per migration it runs, where the bot says once that it
# created or upgraded the schema (bot.db.migrate). Held at WARNING but at log_level "debug".
CHATTY_LIBRARIES = ("alembic",)
# The bot's own loggers, which follow log_level (the libraries' stay at INFO at most).
OWN_LOGGERS = ("bot", "channels", "intents")
# A secret shorter than this is not redacted: "a" or "test" (a demo's X keys) would blot out every line.
MIN_SECRET_LENGTH = 8


def configure_logging(settings: Settings) -> None:
    level = settings.log_level.upper()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Set here, not by basicConfig, which changes nothing when something configured logging already.
    logging.getLogger().setLevel(max(logging.INFO, logging.getLevelName(level)))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if level == "DEBUG" else logging.WARNING)
    redact_secrets(settings.secret_values)
    # On the logger itself: uvicorn's own logging set-up replaces the handlers, not a logger's filters.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecretParameters) for f in access.filters):
        access.addFilter(RedactSecretParameters())


def redact_secrets(secrets: Iterable[str]) -> None:
    """Makes every log record from now on with ``secrets`` written as ``<redacted>`` (added to those
    already given: ``serve`` and the tests may configure logging more than once in a process)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, SecretRedactor):
        factory = SecretRedactor(factory)
        logging.setLogRecordFactory(factory)
    factory.add(secrets)


class SecretRedactor:
    """A log record factory that writes known secrets as ``<redacted>``: in the message and its arguments,
    and in the traceback and stack of the record (formatted here, so every handler shows the redacted one)."""

    def __init__(self, make_record: Any) -> None:
        self.make_record = make_record
        self.forms: set[str] = set()

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LENGTH:
                # As written, and as a URL carries it (a Telegram token's ":" is "%3A" in a file URL).
                self.forms |= {secret, quote(secret, safe=""), quote(secret)}

    def redact(self, text: str) -> str:
        for form in self.forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.make_record(*args, **kwargs)
        if self.forms:
            self._redact(record)
        return record

    def _redact(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: logging reports it, with the arguments
            record.msg, record.args = self.redact(str(record.msg)), None
            return
        if self.redact(message) != message:
            # The arguments one by one first: a formatter may need them as they are (uvicorn's access
            # formatter unpacks its five); when a secret hides in one that is no string, the whole line.
            if isinstance(record.args, tuple):
                record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
            if isinstance(record.msg, str):
                record.msg = self.redact(record.msg)
            now = _formatted(record)
            if self.redact(now) != now:
                record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)


def _formatted(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        return str(record.msg)


class RedactSecretParameters(logging.Filter):
    """Rewrites the path of an access-log record (``'%s - "%s %s HTTP/%s" %d'``, the path with its query
    string among the arguments) so that it holds no secret and no resident's words (``redact_query``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_query(target: str) -> str:
    """``/path?q=+14155550142&page=2&api_key=abc`` → ``/path?q=<redacted>&page=2&api_key=<redacted>``: a
    value is kept only when its name is one of ``LOGGED_QUERY_PARAMETERS`` and it looks like a code, a
    number or a date. Names and values are judged decoded, as the app reads them (``api%5Fkey`` is
    ``api_key``), and each ``;``-separated piece on its own (``page_size=1;api_key=abc``: the app reads the
    pairs split at ``&`` only, but the second is still the client's secret). A phone number or an email
    address in the path (a client's made-up ``/local/messages/+14155550142``) is masked as ``[phone]``."""
    path, question, query = target.partition("?")
    path = _masked_path(path)
    if not question:
        return path
    pairs = (";".join(_kept_piece(piece) for piece in pair.split(";")) for pair in query.split("&"))
    return f"{path}?{'&'.join(pairs)}"


def _masked_path(path: str) -> str:
    plain = unquote(path)
    masked = mask_contact_details(plain)
    return path if masked == plain else masked


def _kept_piece(piece: str) -> str:
    """One ``name=value``: the value ``<redacted>`` unless the name is a logged one and the value is
    harmless; the whole piece when its name itself does not look like a parameter's."""
    if not piece:  # ``a=1&&b=2``
        return piece
    name, equals, value = piece.partition("=")
    if not _harmless(name):
        return REDACTED
    if not equals:
        # A bare word is a value too (``?Maria``): kept only as a logged parameter's name.
        return piece if _logged_name(name) else REDACTED
    if _logged_name(name) and _harmless(value):
        return piece
    return f"{name}={REDACTED}"


def _logged_name(name: str) -> bool:
    plain = unquote_plus(name).strip().lower()
    return plain.removesuffix("[]") in LOGGED_QUERY_PARAMETERS


def _harmless(text: str) -> bool:
    plain = unquote_plus(text)
    return (
        _HARMLESS.fullmatch(plain) is not None
        and _LONG_NUMBER.search(plain) is None
        and mask_contact_details(plain) == plain
    )
