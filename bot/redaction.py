"""Keeps residents' private details out of what the bot publishes.

Two places publish a resident's words to the world: the public replies on X and the GeoReport v2 API
(``description``, ``status_notes``, ``notes``). Neither repeats a phone number, an email address or a
number written like a US Social Security number (``mask_contact_details``). A public reply on X also
widens a street address to its block ("the 1400 block of Valencia St", as cities publish them), so it
still says where the problem is (``redact_private_details``); the API keeps the address, as its
``address`` field does.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Phone numbers with some punctuation or a leading +, so plain ids (a request number) stay readable:
# 415-555-0134, (415) 555 0134, 415.555.0134, +1 415 555 0134, +14155550134.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\w)|\+\d{10,14}(?!\w)"
)
# 123-45-6789 or 123 45 6789 (the same separator twice): a Social Security number's shape.
_SSN = re.compile(r"(?<![\w-])\d{3}([-\s])\d{2}\1\d{4}(?![\w-])")
_SUFFIXES = (
    "Street|St|Avenue|Ave|Boulevard|Blvd|Road|Rd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|Terrace|Ter|"
    "Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Alley|Aly|Plaza|Row"
)
# "1450 Valencia St", "22 N. Main Street, Apt 4B", "301 Van Ness Avenue #12", and the geocoder's own
# capitals, "1400 VALENCIA ST" (the type in any case; the name still capitalised, so "3 cats on the way"
# is no address).
_ADDRESS = re.compile(
    rf"\b(?P<number>\d{{1,6}})[A-Za-z]?\s+"
    rf"(?P<street>(?:[NSEW]\.?\s+)?(?:[A-Z0-9][\w'.-]*\s+){{0,3}}(?i:{_SUFFIXES})\b\.?)"
    r"(?:,?\s*(?i:Apt\.?|Apartment|Unit|Suite|Ste\.?|#)\s*[\w-]+)?"
)


def mask_contact_details(text: str) -> str:
    """The text with emails, phone numbers and SSN-like numbers replaced by [email], [phone], [id number]."""
    text = _EMAIL.sub("[email]", text)
    text = _SSN.sub("[id number]", text)
    return _PHONE.sub("[phone]", text)


def redact_private_details(text: str) -> str:
    """The text with contact details masked and street addresses widened to their block."""
    return _ADDRESS.sub(_block, mask_contact_details(text))


def has_private_details(text: str) -> bool:
    return redact_private_details(text) != text


def _block(match: re.Match[str]) -> str:
    block = int(match.group("number")) // 100 * 100
    return f"the {block} block of {match.group('street').strip()}"
