"""The core's errors: a small typed hierarchy with no HTTP in it (api.py maps them to status codes)."""

from __future__ import annotations


class Open311Error(Exception):
    """A request the core refuses; ``field`` names the offending input when there is one."""

    def __init__(self, description: str, field: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.field = field


class InvalidInput(Open311Error):
    """The input is malformed or breaks the service definition."""


class Forbidden(Open311Error):
    """A missing, unknown or revoked API key."""


class NotFound(Open311Error):
    """An unknown service, request, token or jurisdiction."""


class Conflict(Open311Error):
    """The operation does not fit the current state (e.g. accepting a token that is already accepted)."""


def shown(value: str, limit: int = 80) -> str:
    """A client's value quoted in an error description, cut to ``limit`` characters (with an ellipsis):
    an error names what was wrong without echoing a 100,000-character value back."""
    if len(value) > limit:
        value = value[:limit] + "…"
    return repr(value)
