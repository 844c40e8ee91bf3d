"""What is wrong with a form the console refused, field by field, in the words of the fields' labels.

A page that refuses a form shows each problem next to its field (``aria-invalid`` and ``aria-describedby``
point to the message) and lists them at the top of the page, where the focus goes (``base.html``). The
messages name fields as their labels do ("Latitude", "About how many items are there?"), never by the
names in the form or the core ("lat", "attribute[item_count]"): the JSON endpoints keep those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.backend import AttributeSpec
from bot.open311.errors import Open311Error


class FieldProblems(ValueError):
    """A form refused for what is in some of its fields. ``str()`` is one line for the JSON endpoints, in
    their field names; ``fields`` maps the page's field ids to messages in the labels' words."""

    def __init__(self, message: str, fields: Mapping[str, str]) -> None:
        super().__init__(message)
        self.fields = dict(fields)


# A core field name -> (the id of the page's field for it, that field's label).
FieldLabels = Mapping[str, tuple[str, str]]

ITEM_FIELDS: dict[str, tuple[str, str]] = {
    "service_code": ("other_service", "Another service"),
    "address_string": ("address_string", "Address or intersection"),
    "lat": ("lat", "Latitude"),
    "long": ("long", "Longitude"),
    "reason": ("reason", "Reason for rejecting"),
    "description": ("description", "Description"),
    "note": ("note", "Note"),
}
REQUEST_FIELDS: dict[str, tuple[str, str]] = {
    "status": ("status", "Status"),
    "status_notes": ("status_notes", "Status notes"),
    "agency_responsible": ("agency_responsible", "Agency responsible"),
    "expected_datetime": ("expected_datetime", "Expected by"),
    "description": ("description", "Description"),
}


def attribute_id(code: str) -> str:
    """The id of the item page's field for a service's question (attribute)."""
    return f"attr-{code}"


def item_fields(attributes: Sequence[AttributeSpec]) -> dict[str, tuple[str, str]]:
    """The item page's fields, with the questions (attributes) of the service it is being filed as."""
    fields = dict(ITEM_FIELDS)
    for attribute in attributes:
        fields[f"attribute[{attribute.code}]"] = (attribute_id(attribute.code), attribute.description)
    return fields


def sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def in_label_words(description: str, field: str, label: str) -> str:
    """The core's message about ``field`` with the field's label in place of its name."""
    if not description.startswith(field):
        return sentence(description)
    rest = description[len(field) :]
    # "attribute[lane] is required: Where on the road is it?": the label already says the question.
    rest = rest.removesuffix(f": {label}")
    return sentence(f"\u201c{label}\u201d{rest}")


def core_problems(exc: BaseException, fields: FieldLabels) -> tuple[dict[str, str], list[str]]:
    """The core's refusals behind ``exc`` (an ``Open311Error``, itself or the cause of the error that
    wrapped it): those about a field on the page as (field id -> message), and the others' messages.
    Neither when no refusal of the core is behind ``exc``."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, Open311Error):
        cause = cause.__cause__
    if cause is None:
        return {}, []
    problems: dict[str, str] = {}
    others: list[str] = []
    for error in cause.errors:
        known = fields.get(error.field or "")
        if known is None or error.field is None:
            others.append(sentence(error.description))
            continue
        field_id, label = known
        problems.setdefault(field_id, in_label_words(error.description, error.field, label))
    return problems, others
