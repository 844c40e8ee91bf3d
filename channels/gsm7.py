"""What an SMS costs: GSM-7 or UCS-2, and typography that forces UCS-2 for nothing.

A message all in the GSM 03.38 alphabet travels 160 characters a segment (153 when split); one character
outside it makes the whole message UCS-2, 70 a segment (67 when split). A curly apostrophe an operator
pasted from a word processor ("We’ll send a crew"), the "…" the bot cuts an excerpt with, an em dash: each
tripled the cost of a reply that was otherwise plain English. ``plain_typography`` replaces such
characters with their GSM-7 look-alikes, but only where that makes the whole message GSM-7: a Spanish
"está" or Chinese text stays UCS-2 either way, and keeps its typography.
"""

from __future__ import annotations

from typing import Final

# GSM 03.38: the basic alphabet, and the extension table (each of those costs two characters).
_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION: Final = frozenset("^{}\\[~]|€\f")

_LOOK_ALIKES: Final = str.maketrans(
    {
        "\u2018": "'",  # ‘
        "\u2019": "'",  # ’
        "\u201a": "'",  # ‚
        "\u201b": "'",  # ‛
        "\u2032": "'",  # ′
        "\u00b4": "'",  # ´
        "`": "'",
        "\u201c": '"',  # “
        "\u201d": '"',  # ”
        "\u201e": '"',  # „
        "\u201f": '"',  # ‟
        "\u2033": '"',  # ″
        "\u00ab": '"',  # «
        "\u00bb": '"',  # »
        "\u2010": "-",  # ‐
        "\u2011": "-",  # ‑
        "\u2012": "-",  # ‒
        "\u2013": "-",  # –
        "\u2014": "-",  # —
        "\u2015": "-",  # ―
        "\u2212": "-",  # −
        "\u2026": "...",  # …
        "\u00a0": " ",  # no-break space
        "\u2007": " ",
        "\u202f": " ",
        "\u200b": "",  # zero-width space
        "\ufeff": "",
        "\u2022": "*",  # •
        "\t": " ",
    }
)


def is_gsm7(text: str) -> bool:
    return all(char in _BASIC or char in _EXTENSION for char in text)


def plain_typography(text: str) -> str:
    """``text`` with typographic quotes, dashes and ellipses as GSM-7 characters when that makes it GSM-7;
    otherwise ``text`` unchanged."""
    if is_gsm7(text):
        return text
    plain = text.translate(_LOOK_ALIKES)
    return plain if is_gsm7(plain) else text


def segments(text: str) -> int:
    """The SMS segments ``text`` is sent in: GSM-7 160 septets alone or 153 a part (an extension character
    takes two), otherwise UCS-2 70 code units alone or 67 a part (an emoji takes two)."""
    if is_gsm7(text):
        units = sum(2 if char in _EXTENSION else 1 for char in text)
        single, part = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else -(-units // part)
