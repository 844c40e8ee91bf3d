"""The words a resident can text instead of a report: STATUS, CANCEL, HELP, STOP/START, FOLLOW/UNFOLLOW.

Any case, light typos ("Stauts", "hlep", "cancle") and a few words in Spanish and Chinese are understood.
A command is a whole message: "stop" alone opts out, "car won't stop leaking oil" is a report. STATUS,
FOLLOW and UNFOLLOW may carry a request id or token ("status 123", "STATUS #123").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rapidfuzz.distance import OSA

CommandName = Literal["status", "cancel", "help", "stop", "start", "follow", "unfollow"]

# The words of each command. Twilio's own opt-out/opt-in keywords are included for STOP/START so the bot's
# record agrees with what the carrier does (except CANCEL, which here drops a report in progress).
WORDS: dict[CommandName, tuple[str, ...]] = {
    "status": ("status", "estado", "状态", "狀態"),
    "cancel": ("cancel", "cancelar", "取消"),
    "help": ("help", "ayuda", "帮助", "幫助", "info"),
    "stop": ("stop", "stopall", "unsubscribe", "quit", "end", "停止", "退订"),
    "start": ("start", "unstop", "subscribe", "开始", "開始"),
    "follow": ("follow", "seguir", "关注"),
    "unfollow": ("unfollow", "dejar", "取消关注"),
}
# The command words that tell the resident's language: a Spanish speaker who texts AYUDA reads the help in
# Spanish. The English words tell nothing: every resident is told to "reply STATUS".
LANGUAGE_OF_WORD: dict[str, str] = {
    **dict.fromkeys(("estado", "cancelar", "ayuda", "seguir", "dejar"), "es"),
    **{word: "zh" for words in WORDS.values() for word in words if not word.isascii()},
}
# Whole messages of a few words that mean a command: a resident who changes their mind says so in words
# (with the language they tell, where they tell one).
PHRASES: dict[str, tuple[CommandName, str | None]] = {
    **dict.fromkeys(("never mind", "nevermind", "nvm", "forget it", "forget about it"), ("cancel", None)),
    **dict.fromkeys(("no importa", "olvídalo", "olvidalo", "déjalo", "dejalo"), ("cancel", "es")),
    **dict.fromkeys(("算了", "不用了"), ("cancel", "zh")),
}
TAKES_ARGUMENT: frozenset[CommandName] = frozenset({"status", "follow", "unfollow"})
_REFERENCE = re.compile(r"^#?([A-Za-z0-9][A-Za-z0-9._-]{0,63})$")
_TRIM = " \t\r\n.!?¡¿,;:'\"。！？"


@dataclass(frozen=True, slots=True)
class ResidentCommand:
    name: CommandName
    # A request id or token, for STATUS/FOLLOW/UNFOLLOW.
    argument: str | None = None
    # The language of the word, where it tells one (``LANGUAGE_OF_WORD``).
    language: str | None = None


def parse_command(text: str) -> ResidentCommand | None:
    words = text.strip(_TRIM).split()
    phrase = PHRASES.get(" ".join(words).lower())
    if phrase is not None:
        return ResidentCommand(phrase[0], language=phrase[1])
    if not words or len(words) > 2:
        return None
    word = words[0].strip(_TRIM).lower()
    name = _match_word(word)
    if name is None:
        return None
    language = LANGUAGE_OF_WORD.get(word)
    if len(words) == 1:
        return ResidentCommand(name, language=language)
    if name not in TAKES_ARGUMENT:
        return None
    match = _REFERENCE.match(words[1].strip(_TRIM))
    return ResidentCommand(name, match.group(1), language) if match else None


def _match_word(word: str) -> CommandName | None:
    for name, words in WORDS.items():
        if word in words:
            return name
    # Light typos, first letter kept and only when exactly one command is that close: on four-letter
    # words only swapped letters ("hlep", not "shop" for STOP), on longer ones one edit ("stauts", "cancle").
    if len(word) < 4 or not word.isascii():
        return None
    close = {name for name, words in WORDS.items() for candidate in words if _is_typo_of(word, candidate)}
    return close.pop() if len(close) == 1 else None


def _is_typo_of(word: str, candidate: str) -> bool:
    if not candidate.isascii() or len(candidate) < 4 or candidate[0] != word[0]:
        return False
    if len(word) == 4 or len(candidate) == 4:
        return len(word) == len(candidate) and sorted(word) == sorted(candidate)
    return OSA.distance(word, candidate) <= 1


# A question about a report already made, in a resident's own words: "any update?", "what's the status of
# my report?", "why hasn't it been fixed yet?", "¿alguna novedad?", "进展如何".
_STATUS_QUESTION = re.compile(
    r"(?<!\w)(?:"
    r"any (?:updates?|news|progress)|(?:what'?s|what is) the status|status (?:of|on) my|updates? on my|"
    r"(?:why|when) (?:has|hasn'?t|have|haven'?t|is|isn'?t|will|won'?t) (?:it|this|that|my \w+) "
    r"(?:been |be )?(?:fixed|done|repaired|cleaned|picked up|removed|taken care of)|"
    r"alguna novedad|(?:qué|que) pasó con mi (?:reporte|queja)"
    r")(?!\w)",
    re.IGNORECASE,
)
# Chinese writes no spaces, so no word boundaries there.
_STATUS_QUESTION_CHINESE = re.compile("进展|進展|进度|進度|处理得怎么样|處理得怎麼樣")


def asks_for_status(text: str) -> bool:
    """Whether ``text`` asks how a report already made is going (the engine answers it as STATUS for a
    resident who has made one)."""
    return _STATUS_QUESTION.search(text) is not None or _STATUS_QUESTION_CHINESE.search(text) is not None
