"""The core's errors: a small typed hierarchy with no HTTP in it (api.py maps them to status codes)."""

from __future__ import annotations

from collections.abc import Sequence


class Open311Error(Exception):
    """A request the core refuses; ``field`` names the offending input when there is one.

    ``errors`` is every refusal this error stands for, in order: the error itself, or for a submission
    with several independent problems (``InvalidInput.of``) each of them, which the HTTP layer answers
    as the spec's error list.
    """

    def __init__(self, description: str, field: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.field = field
        self.errors: tuple[Open311Error, ...] = (self,)


class InvalidInput(Open311Error):
    """The input is malformed or breaks the service definition."""

    @classmethod
    def of(cls, errors: Sequence[InvalidInput]) -> InvalidInput:
        """One error standing for ``errors`` (at least one): a single error is itself; several make one
        whose ``errors`` are all of them, ``description`` their descriptions joined with "; " and
        ``field`` the first one's."""
        every = [each for error in errors for each in error.errors]
        if len(errors) == 1:
            return errors[0]
        combined = cls("; ".join(each.description for each in every), field=every[0].field)
        combined.errors = tuple(every)
        return combined


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
