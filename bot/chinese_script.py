"""Chinese replies in the script the resident writes: traditional characters for "街燈壞咗", simplified for
"路灯坏了".

The classifier says only "zh" (``intents/`` knows no scripts); the bot keeps the resident's language as
``zh-Hant`` once they write traditional characters, and renders its Chinese replies (the bundled ones, a
city's ``[zh]`` table, the catalog's ``zh`` names) converted to traditional for them with OpenCC. Once
chosen, the script changes only with a message that has two characters or more only the other script
writes: "係呀" or "2" in answer to a question does not change it.
"""

from __future__ import annotations

import functools
from typing import Literal

import opencc

from bot.small_talk import HAN

# The language of a resident who reads traditional characters (BCP 47: Chinese in the Han traditional
# script), as stored in ``Resident.language`` and taken by ``Templates``.
TRADITIONAL = "zh-Hant"
# Tags that mean traditional characters: the script itself, and the regions that write them (an app set to
# zh-TW or zh-HK).
_TRADITIONAL_SUBTAGS = frozenset({"hant", "tw", "hk", "mo"})
# A resident whose replies are in one script already keeps it until a message has this many characters
# that only the other script writes ("我個報告" has two, "係呀" one: a Cantonese yes any reader may type).
_MIN_TO_CHANGE = 2

Script = Literal["traditional", "simplified"]


def is_traditional(language: str | None) -> bool:
    """Whether ``language`` ("zh-Hant", "zh-TW", "zh_HK") is Chinese in traditional characters."""
    subtags = (language or "").replace("_", "-").lower().split("-")
    return subtags[0] == "zh" and any(subtag in _TRADITIONAL_SUBTAGS for subtag in subtags[1:])


def written_script(text: str) -> Script | None:
    """The script ``text`` is written in, by the characters only one of them has ("燈", "壞" / "灯", "坏");
    None when it has none of them ("2", "你好", "Clement街"), or as many of each."""
    return _script_of(text, at_least=1)


def _script_of(text: str, *, at_least: int) -> Script | None:
    """The script of ``text`` when it has at least ``at_least`` characters only that script writes, and
    more of them than of the other's."""
    traditional = sum(a != b for a, b in zip(text, _convert("t2s", text), strict=False))
    simplified = sum(a != b for a, b in zip(text, _convert("s2tw", text), strict=False))
    if traditional >= at_least and traditional > simplified:
        return "traditional"
    if simplified >= at_least and simplified > traditional:
        return "simplified"
    return None


def with_script(language: str | None, text: str, before: str | None) -> str | None:
    """The language to keep for a resident whose language is now ``language`` (the one they had before this
    message: ``before``) after writing ``text``: Chinese becomes ``zh-Hant`` when they write traditional
    characters, plain "zh" when they write simplified ones; a message that says neither, or too little to
    change a script chosen before ("係呀"), keeps the one they had (or the one ``language`` names: an app
    set to zh-TW). Other languages are returned as they are."""
    if language is None or language.replace("_", "-").split("-")[0].lower() != "zh":
        return language
    chose_before = before is not None and before.split("-")[0] == "zh"
    said = _script_of(text, at_least=_MIN_TO_CHANGE if chose_before else 1)
    if said is not None:
        return TRADITIONAL if said == "traditional" else "zh"
    return TRADITIONAL if is_traditional(language) or (chose_before and is_traditional(before)) else "zh"


def to_traditional(text: str) -> str:
    """``text`` in traditional characters, in Taiwan's standard forms (為, 裡, 著), which Hong Kong readers
    read as well. A character already traditional is kept as written: a city's own ``[zh-Hant]`` wording in
    Hong Kong forms (裏), or a resident's words quoted back, are not changed."""
    converted = _convert("s2tw", text)
    simplified = _convert("t2s", text)
    if not len(text) == len(converted) == len(simplified):
        return converted  # OpenCC's s2tw and t2s map character to character; should one not, take it whole
    return "".join(
        kept if kept != plain else new for kept, plain, new in zip(text, simplified, converted, strict=True)
    )


def _convert(config: str, text: str) -> str:
    if not HAN.search(text):
        return text  # no Chinese, nothing to convert (and no dictionaries to load)
    converted: str = _converter(config).convert(text)
    return converted


@functools.cache
def _converter(config: str) -> opencc.OpenCC:
    # Loading the dictionaries takes a tenth of a second: once per process, on the first Chinese message.
    return opencc.OpenCC(config)
