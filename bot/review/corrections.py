"""A resident's correction of a report just filed, as the conversation engine queues it for a person: not a
new report, but a request to change one. Of its place ("no, valencia and 17th" after report #4 was filed at
Valencia and 16th): move it. Of its kind ("sorry, it's actually a broken streetlight, not a pothole" after
report #4 was filed as Pothole): change its service.

The item is marked by its reason, which the engine writes with ``reason`` (``kind_reason``) and the console
and STATUS read back with ``read`` (``read_kind``): the report to change, what it was filed as and what the
resident says. The new place is also the item's own place (``address_string``, ``lat``, ``long``), as for any
report; the new kind is the item's ``service_code``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

_REASON = re.compile(
    r"^a correction of the place of report (?P<reference>\S+),"
    r" sent right after it was filed at (?P<before>.*):"
    r" move (?P=reference) to (?P<after>.*) \(not a new report\)$",
    re.DOTALL,
)
# What follows "at the same place" is for the operator to read: items queued before the console could change
# a report's service said "(not a new report: approving files it as Streetlight; then close #4)".
_KIND_REASON = re.compile(
    r"^a correction of the kind of report (?P<reference>\S+),"
    r" sent right after it was filed as (?P<before>.*?): it is (?P<after>.*?), at the same place",
    re.DOTALL,
)


def reason(reference: str, before: str, after: str) -> str:
    """The reason of a correction item: what the operator reads, and what marks the item as one."""
    return (
        f"a correction of the place of report {reference}, sent right after it was filed at {before}:"
        f" move {reference} to {after} (not a new report)"
    )


def kind_reason(reference: str, before: str, after: str) -> str:
    """The reason of an item correcting the kind of a filed report (``before`` and ``after`` the services'
    names): what the operator reads, and what marks the item as one."""
    return (
        f"a correction of the kind of report {reference}, sent right after it was filed as {before}: it is"
        f" {after}, at the same place (not a new report: change {reference} to {after})"
    )


@dataclass(frozen=True, slots=True)
class _Corrected:
    """What a resident's correction of a filed report names; ``Correction`` or ``KindCorrection`` says of
    what."""

    # What is corrected, as the operator reads it: "place", "kind".
    corrected: ClassVar[str]
    # The report as the resident knows it: "#4" (the embedded core's request 4), a batch token, or a
    # remote city's report "R42".
    reference: str
    # What it was filed as, and what the resident says it is.
    before: str
    after: str

    @property
    def request_id(self) -> str | None:
        """The embedded core's request id of a "#4" reference; None for a token or a remote reference."""
        number = self.reference.removeprefix("#")
        return number if self.reference.startswith("#") and number.isascii() and number.isdigit() else None

    @property
    def summary(self) -> str:
        return (
            f"Resident corrected the {self.corrected} of report {self.reference}: from {self.before} to"
            f" {self.after}"
        )


@dataclass(frozen=True, slots=True)
class Correction(_Corrected):
    """A correction of a filed report's place: ``before`` and ``after`` are where it was filed and where the
    resident says it is."""

    corrected: ClassVar[str] = "place"


@dataclass(frozen=True, slots=True)
class KindCorrection(_Corrected):
    """A correction of a filed report's kind (its service): ``before`` and ``after`` are the names of the
    service it was filed as and of the one the resident says it is."""

    corrected: ClassVar[str] = "kind"


def read(item_reason: str) -> Correction | None:
    """The correction of a place an item's reason names; None for any other item."""
    found = _REASON.match(item_reason or "")
    if found is None:
        return None
    return Correction(found["reference"], found["before"].strip(), found["after"].strip())


def read_kind(item_reason: str) -> KindCorrection | None:
    """The correction of a kind an item's reason names; None for any other item."""
    found = _KIND_REASON.match(item_reason or "")
    if found is None:
        return None
    return KindCorrection(found["reference"], found["before"].strip(), found["after"].strip())
