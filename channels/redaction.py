"""Keeps private details out of public posts.

A public reply (a tweet) never repeats a phone number, an email address or an exact home address: those
go by direct message. Street addresses are not removed but widened to their block ("the 1400 block of
Valencia St"), as cities publish them, so the reply still says where the problem is.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Phone numbers with some punctuation or a leading +, so plain ids (a request number) stay readable:
# 415-555-0134, (415) 555 0134, 415.555.0134, +1 415 555 0134, +14155550134.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\w)|\+\d{10,14}(?!\w)"
)
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


def redact_private_details(text: str) -> str:
    """The text with emails and phone numbers replaced and street addresses widened to their block."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    return _ADDRESS.sub(_block, text)


def has_private_details(text: str) -> bool:
    return redact_private_details(text) != text


def _block(match: re.Match[str]) -> str:
    block = int(match.group("number")) // 100 * 100
    return f"the {block} block of {match.group('street').strip()}"
