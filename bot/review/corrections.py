"""A resident's correction of the place of a report just filed ("no, valencia and 17th" after report #4 was
filed at Valencia and 16th), as the conversation engine queues it for a person: not a new report, but a
request to move one.

The item is marked by its reason, which the engine writes with ``reason`` and the console reads back with
``read``: the report to move, where it was filed and where the resident says it is. The new place is also
the item's own place (``address_string``, ``lat``, ``long``), as for any report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REASON = re.compile(
    r"^a correction of the place of report (?P<reference>\S+),"
    r" sent right after it was filed at (?P<before>.*):"
    r" move (?P=reference) to (?P<after>.*) \(not a new report\)$",
    re.DOTALL,
)


def reason(reference: str, before: str, after: str) -> str:
    """The reason of a correction item: what the operator reads, and what marks the item as one."""
    return (
        f"a correction of the place of report {reference}, sent right after it was filed at {before}:"
        f" move {reference} to {after} (not a new report)"
    )


@dataclass(frozen=True, slots=True)
class Correction:
    # The report as the resident knows it: "#4" (the embedded core's request 4), a batch token, or a
    # remote city's report "R42".
    reference: str
    # Where it was filed, and where the resident says it is.
    before: str
    after: str

    @property
    def request_id(self) -> str | None:
        """The embedded core's request id of a "#4" reference; None for a token or a remote reference."""
        number = self.reference.removeprefix("#")
        return number if self.reference.startswith("#") and number.isascii() and number.isdigit() else None

    @property
    def summary(self) -> str:
        return f"Resident corrected the place of report {self.reference}: from {self.before} to {self.after}"


def read(item_reason: str) -> Correction | None:
    """The correction an item's reason names; None for any other item."""
    found = _REASON.match(item_reason or "")
    if found is None:
        return None
    return Correction(found["reference"], found["before"].strip(), found["after"].strip())
