"""Logging for the long-running commands (``serve``, ``worker``): the bot's own lines (which process runs
the scheduler, jobs started, channels connecting) on stderr from ``log_level`` up, without the per-request
chatter of the libraries under it. uvicorn's access log (``serve``) keeps each request's path and query
string, with the value of a secret parameter (``SECRET_QUERY_PARAMETERS``) written as ``<redacted>``.

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
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus

if TYPE_CHECKING:
    from bot.config import Settings

# Query parameters the app accepts whose value is a secret: the Open311 API key (GeoReport clients may send
# it in the query string of POST requests).
SECRET_QUERY_PARAMETERS = frozenset({"api_key"})
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
    string among the arguments) so that no secret parameter's value is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_query(target: str) -> str:
    """``/path?api_key=abc&x=1`` → ``/path?api_key=<redacted>&x=1``, in every form a client may write it:
    the name compared decoded, as the app reads it (``api%5Fkey`` is ``api_key`` too), in any case and
    with a trailing ``[]``; and after a ``;`` (``page_size=1;api_key=abc``: the app reads pairs split at
    ``&`` only, so not that key, but it is still the client's secret)."""
    path, question, query = target.partition("?")
    if not question:
        return target
    return f"{path}?{'&'.join(_redact_pair(pair) for pair in query.split('&'))}"


def _redact_pair(pair: str) -> str:
    """A pair split at ``&``: its whole value redacted when its name is a secret's (the app reads
    ``api_key=abc;def`` as the key ``abc;def``), else any ``;``-separated pair in it that is one."""
    name, equals, _value = pair.partition("=")
    if equals and _secret_name(name):
        return f"{name}={REDACTED}"
    if ";" not in pair:
        return pair
    pieces = pair.split(";")
    for index, piece in enumerate(pieces[1:], start=1):
        name, equals, _value = piece.partition("=")
        if equals and _secret_name(name):
            pieces[index] = f"{name}={REDACTED}"
    return ";".join(pieces)


def _secret_name(name: str) -> bool:
    plain = unquote_plus(name).strip().lower()
    return plain.removesuffix("[]") in SECRET_QUERY_PARAMETERS
