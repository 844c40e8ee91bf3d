"""A resident's answer to a number question, in the question's unit.

"How many days has the vehicle been parked?" answered "about 3 weeks" is 21, not 3; "a week" is 7,
"tres semanas" 21, "两个星期" 14, "since yesterday" no number at all (the bot asks again). Only time spans
are converted: they are what 311 catalogs ask for in numbers ("how many days", "how many hours"); any other
number is taken as it is written ("4 cars", "about 10").
"""

from __future__ import annotations

import re
from typing import Final

# Each unit's length in hours (a month as 30 days, as people count it), and its words (English, Spanish,
# Chinese), longest first.
_HOURS: Final = {"minute": 1 / 60, "hour": 1.0, "day": 24.0, "week": 168.0, "month": 720.0, "year": 8760.0}
_UNIT_WORDS: Final = {
    "minute": r"minutes?|mins?|minutos?|分钟|分鐘",
    "hour": r"hours?|hrs?|horas?|小时|小時|个钟|個鐘|鐘頭|钟头",
    "day": r"days?|d[ií]as?|天|日",
    "week": r"weeks?|wks?|semanas?|星期|礼拜|禮拜|周|週",
    "month": r"months?|mos?|mes(?:es)?|个月|個月",
    "year": r"years?|yrs?|años?|anos?|年",
}
# A unit ends its word: "3 mosquitos" names no months.
_UNIT: Final = re.compile(
    "|".join(f"(?P<{unit}>(?:{words})(?![a-záéíóúñ]))" for unit, words in _UNIT_WORDS.items()), re.I
)

_WORD_NUMBERS: Final = {
    # English
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple": 2, "half": 0.5,
    # Spanish
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "medio": 0.5, "media": 0.5,
}  # fmt: skip
_HAN_DIGITS: Final = dict(zip("一二三四五六七八九", range(1, 10), strict=True)) | {"两": 2, "兩": 2}
_NUMBER: Final = re.compile(
    r"(?P<digits>-?\d+(?:[.,]\d+)?)"
    rf"|(?P<word>\b(?:{'|'.join(sorted(_WORD_NUMBERS, key=len, reverse=True))})\b)"
    r"|(?P<han>[一二两兩三四五六七八九]?十[一二三四五六七八九]?|[一二两兩三四五六七八九半])",
    re.I,
)
# A measure word between a Chinese number and its unit: "两个星期", "三個禮拜" (in 个月 it is the month's).
_MEASURES: Final = frozenset("个個只隻")


def number_answer(question: str, answer: str) -> str | None:
    """The number in ``answer`` as the core takes it ("21", "1.5"), converted to the time unit ``question``
    asks in when the answer names another one; None when the answer holds no number."""
    found = _first_number(answer)
    if found is None:
        return None
    amount, end = found
    asked = _unit_in(question)
    given = _unit_at(answer, end)
    if asked is not None and given is not None and given != asked:
        amount = amount * _HOURS[given] / _HOURS[asked]
    return _plain(amount)


def _first_number(text: str) -> tuple[float, int] | None:
    for match in _NUMBER.finditer(text):
        if match.group("digits"):
            return float(match.group("digits").replace(",", ".")), match.end()
        if match.group("word"):
            word = match.group("word").lower()
            # "a"/"un" count only before a unit: "a week", "un mes"; not "a car", "un coche".
            if word in {"a", "an", "un", "una", "uno"} and _unit_at(text, match.end()) is None:
                continue
            return float(_WORD_NUMBERS[word]), match.end()
        return _han_number(match.group("han")), match.end()
    return None


def _han_number(text: str) -> float:
    if text == "半":
        return 0.5
    if "十" not in text:
        return float(_HAN_DIGITS[text])
    tens, _, ones = text.partition("十")
    return float(_HAN_DIGITS.get(tens, 1) * 10 + _HAN_DIGITS.get(ones, 0))


def _unit_at(text: str, end: int) -> str | None:
    """The unit right after a number ("3 weeks", "3-week", "两个星期", "a couple of days")."""
    rest = text[end:]
    rest = re.sub(r"^\s*(?:-|of|de)?\s*", "", rest, flags=re.I)
    if rest[:1] in _MEASURES and rest[1:2] != "月":
        rest = rest[1:]
    match = _UNIT.match(rest)
    return None if match is None else match.lastgroup


def _unit_in(question: str) -> str | None:
    """The unit a question asks in: "How many days...", "¿Cuántas horas...?", "停泊了多少天？"."""
    match = _UNIT.search(question)
    return None if match is None else match.lastgroup


def _plain(amount: float) -> str:
    """As the core writes numbers: "21", "1.5", never "21.0" or "1e-05"."""
    rounded = round(amount, 2)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:f}".rstrip("0").rstrip(".")
