"""Logging for the long-running commands (``serve``, ``worker``): the bot's own INFO lines (which process
runs the scheduler, jobs started, channels connecting) on stderr, without the per-request chatter of the
libraries under it. uvicorn's access log (``serve``) keeps each request's path and query string, with the
value of a secret parameter (``SECRET_QUERY_PARAMETERS``) written as ``<redacted>``."""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

# Query parameters the app accepts whose value is a secret: the Open311 API key (GeoReport clients may send
# it in the query string of POST requests).
SECRET_QUERY_PARAMETERS = frozenset({"api_key"})
REDACTED = "<redacted>"


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # apscheduler logs every run of every job at INFO, httpx every request a channel makes: seconds-apart
    # jobs and long polls would drown everything else.
    for noisy in ("apscheduler.executors", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # On the logger itself: uvicorn's own logging set-up replaces the handlers, not a logger's filters.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecretParameters) for f in access.filters):
        access.addFilter(RedactSecretParameters())


class RedactSecretParameters(logging.Filter):
    """Rewrites the path of an access-log record (``'%s - "%s %s HTTP/%s" %d'``, the path with its query
    string among the arguments) so that no secret parameter's value is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_query(target: str) -> str:
    """``/path?api_key=abc&x=1`` → ``/path?api_key=<redacted>&x=1``; the name is compared decoded, as the
    app reads it (``api%5Fkey`` is ``api_key`` too)."""
    path, question, query = target.partition("?")
    if not question:
        return target
    pairs = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        secret = equals and unquote_plus(name) in SECRET_QUERY_PARAMETERS
        pairs.append(f"{name}={REDACTED}" if secret else pair)
    return f"{path}?{'&'.join(pairs)}"
