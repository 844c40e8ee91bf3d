"""The words a resident can text instead of a report: STATUS, CANCEL, HELP, STOP/START, FOLLOW/UNFOLLOW.

Any case, light typos ("Stauts", "hlep", "cancle") and a few words in Spanish and Chinese are understood.
A command is a whole message: "stop" alone opts out, "car won't stop leaking oil" is a report. STATUS,
FOLLOW, UNFOLLOW and CANCEL may carry a request id or token ("status 123", "STATUS #123", "CANCEL 109").
STOP is also a message of stop words only ("STOP STOP", "alto, alto") or a short request to stop messages
("please stop texting me", "unsubscribe me", "dejen de enviarme mensajes", "别再发了"), never a report that
only has the word in it ("stop sign missing at 5th and Market").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz.distance import OSA

from bot.information_questions import is_one_sentence
from bot.small_talk import HAN, parse_small_talk, says_it_is_gone

CommandName = Literal["status", "cancel", "help", "stop", "start", "follow", "unfollow"]

# The words of each command. Twilio's own opt-out/opt-in keywords are included for STOP/START so the bot's
# record agrees with what the carrier does (except CANCEL, which here drops a report in progress). Twilio
# has English ones only (``channels.sms.TWILIO_OPT_OUT_WORDS``); the Spanish are what residents text to
# stop messages ("ALTO", "PARAR", "BASTA") and to get them again ("INICIAR", "EMPEZAR").
WORDS: dict[CommandName, tuple[str, ...]] = {
    "status": ("status", "estado", "状态", "狀態"),
    "cancel": ("cancel", "cancelar", "取消"),
    "help": ("help", "ayuda", "帮助", "幫助", "info"),
    "stop": (
        *("stop", "stopall", "unsubscribe", "quit", "end", "revoke", "optout"),
        *("alto", "parar", "paren", "pare", "basta", "detener"),
        *("停止", "退订", "取消订阅"),
    ),
    "start": ("start", "unstop", "subscribe", "iniciar", "empezar", "comenzar", "开始", "開始"),
    "follow": ("follow", "seguir", "关注", "關注"),
    "unfollow": ("unfollow", "dejar", "取消关注", "取消關注"),
}
# The command words that tell the resident's language: a Spanish speaker who texts AYUDA reads the help in
# Spanish. The English words tell nothing: every resident is told to "reply STATUS".
LANGUAGE_OF_WORD: dict[str, str] = {
    **dict.fromkeys(("estado", "cancelar", "ayuda", "seguir", "dejar"), "es"),
    **dict.fromkeys(
        ("alto", "parar", "paren", "pare", "basta", "detener", "iniciar", "empezar", "comenzar"), "es"
    ),
    **{word: "zh" for words in WORDS.values() for word in words if not word.isascii()},
}
# Whole messages of a few words that mean a command: a resident who changes their mind says so in words
# (with the language they tell, where they tell one).
PHRASES: dict[str, tuple[CommandName, str | None]] = {
    **dict.fromkeys(("never mind", "nevermind", "nvm", "forget it", "forget about it"), ("cancel", None)),
    **dict.fromkeys(("no importa", "olvídalo", "olvidalo", "déjalo", "dejalo"), ("cancel", "es")),
    **dict.fromkeys(("算了", "不用了"), ("cancel", "zh")),
    **dict.fromkeys(("stop all", "opt out"), ("stop", None)),
    # "How does this work?": the help, not a report of it.
    **dict.fromkeys(
        ("how does this work", "how does it work", "how do i use this", "how do i use it"), ("help", None)
    ),
    **dict.fromkeys(
        (
            "como funciona",
            "cómo funciona",
            "como funciona esto",
            "cómo funciona esto",
            "como se usa",
            "cómo se usa",
        ),
        ("help", "es"),
    ),
    **dict.fromkeys(
        ("点用", "點用", "点用㗎", "點用㗎", "怎么用", "怎麼用", "点样用", "點樣用"), ("help", "zh")
    ),
    # A plea for help, or confusion, is asking how this works: right after a report was filed, "help me",
    # "no entiendo", "我不明白" were taken for more about it, added to its public description.
    **dict.fromkeys(
        (
            *("help me", "help us", "i need help", "need help", "i need some help", "i need your help"),
            *("can you help me", "can you help", "can someone help me", "can anyone help me", "please help"),
            *("what do i do", "what do i do now", "what should i do", "what should i do now", "now what"),
            *("what now", "what do i do next", "what do i have to do", "what am i supposed to do"),
            *("i don't understand", "i dont understand", "i do not understand", "don't understand"),
            *("dont understand", "i don't get it", "i dont get it", "i'm confused", "im confused"),
            *("i am confused", "confused", "i'm lost", "im lost"),
        ),
        ("help", None),
    ),
    **dict.fromkeys(
        (
            *("ayudame", "ayúdame", "ayudeme", "ayúdeme", "ayudenme", "ayúdenme", "necesito ayuda"),
            *("no entiendo", "no entendí", "no entendi", "no comprendo", "no le entiendo", "no te entiendo"),
            *("qué hago", "que hago", "qué hago ahora", "que hago ahora", "qué debo hacer", "que debo hacer"),
            *("y ahora qué", "y ahora que", "estoy confundido", "estoy confundida"),
        ),
        ("help", "es"),
    ),
    **dict.fromkeys(
        (
            *("我不明白", "不明白", "我不懂", "不懂", "看不懂", "我看不懂", "我不太明白", "我不太懂"),
            *("怎么办", "怎麼辦", "我该怎么办", "我應該怎麼辦", "我應該怎麼做", "我该怎么做"),
            *("帮帮我", "幫幫我", "请帮帮我", "請幫幫我", "我需要帮助", "我需要幫助"),
            *("唔明", "我唔明", "唔明白", "我唔明白", "点算", "點算"),
        ),
        ("help", "zh"),
    ),
}
# Commands said in several words, before a report's number: "dejar de seguir 14" is UNFOLLOW 14.
_LONG_COMMANDS: dict[tuple[str, ...], tuple[CommandName, str | None]] = {
    ("dejar", "de", "seguir"): ("unfollow", "es"),
    ("no", "seguir"): ("unfollow", "es"),
    ("stop", "following"): ("unfollow", None),
}
# A short request to stop messages, the whole message (lower case, punctuation as spaces): a verb of
# stopping with messages or "me" as its object, so "stop sign missing" or "stop the leak" is no request.
_POLITE = r"(?:please|pls|plz|ok|okay|just)"
_STOPPING = r"(?:stop|quit|cease)"
_TEXTING = r"(?:texting|txting|messaging|msging|contacting|spamming|bothering|writing)"
_MESSAGES = r"(?:messages|texts|msgs)"
_STOP_REQUEST = re.compile(
    rf"(?:{_POLITE} )*(?:"
    rf"{_STOPPING} {_TEXTING}(?: to)? me"
    rf"|{_STOPPING} (?:texting|messaging)"
    rf"|{_STOPPING} (?:all |the |these |your )?{_MESSAGES}"
    rf"|{_STOPPING} (?:texting|messaging|sending)(?: me)? (?:{_MESSAGES}|these(?: {_MESSAGES})?)"
    r"|(?:do not|don't|dont) (?:text|message|msg|contact) me"
    rf"|no more {_MESSAGES}"
    rf"|unsubscribe(?: me)?(?: from (?:this|these|all)(?: {_MESSAGES})?)?"
    r"|opt me out"
    # "REMOVE ME", "please take me off your list", "I want to unsubscribe": consent to texts may be revoked
    # by any reasonable means (the FCC's 2025 rule), not only by the keywords.
    r"|remove(?: me)?(?: from (?:this|your|the|all|these)(?: \w+)? (?:list|lists|texts|messages))?"
    r"|take me off (?:of )?(?:this|your|the|all|these)(?: \w+)? (?:list|lists|texts|messages)"
    r"|(?:i )?(?:want|would like|wanna|need) to (?:unsubscribe|opt out|be removed|be taken off"
    rf"|stop (?:getting |receiving )?(?:these |the |your )?(?:{_MESSAGES}|updates))"
    # "Cancel my subscription", "I don't want these texts", "Stop sending me updates about the pothole".
    r"|cancel (?:my |the |this )?subscription"
    rf"|(?:i )?(?:do not|don't|dont) want (?:these |your |any |more )*(?:{_MESSAGES}|updates)"
    rf"|{_STOPPING} (?:sending|texting)(?: me)? (?:(?:these|the|your) )?(?:updates|notifications|alerts)"
    r"(?: (?:about|on|for) (?:\w+ ){0,3}\w+)?"
    rf")(?: (?:{_POLITE}|anymore|any more|now|again|thanks|thank you|from this number|ever))*"
)
_SENDING_ES = r"(?:envíen|envien|manden|escriban|envíe|envie|mande|escriba)"
# Spanish politeness, one list for both places it is read: around a request to stop ("dejen de enviarme
# mensajes por favor") and around a command word ("ALTO porfa", "ayuda por favor"), where it also tells the
# language ("STOP porfa" is answered in Spanish). Spanish speakers write "please" too, which tells nothing.
_POLITE_SPANISH = ("por favor", "porfavor", "porfa", "plis", "gracias", "ya")
_POLITE_ES = rf"(?:{'|'.join(_POLITE_SPANISH)}|please)"
_STOP_REQUEST_SPANISH = re.compile(
    rf"(?:{_POLITE_ES} )*(?:"
    r"(?:deja|dejen|dejar|dejad|paren|para|parar) de (?:enviar|mandar|escribir)(?:me)?(?: (?:más )?mensajes)?"
    # "ya no me manden mensajes", "no me envíen más mensajes"
    rf"|no (?:me )?{_SENDING_ES} (?:(?:más|mas) )?mensajes|no (?:me )?{_SENDING_ES} (?:más|mas)"
    r"|no quiero (?:recibir |que me (?:manden|envíen|envien) )?(?:más |mas )?mensajes"
    r"|no (?:más|mas) mensajes"
    r"|basta(?: de mensajes)?"
    r"|(?:quiero )?dar(?:me)? de baja"
    r"|cancelar (?:la )?suscripci[oó]n"
    rf")(?: {_POLITE_ES})*"
)
# Written without spaces: "别再发了", "別再發了", "不要再给我发消息了", "请停止发送短信", and Cantonese
# "唔好再send嘢俾我", "唔該停止發送" (唔該: please).
_SEND_ZH = "(?:发|發|send|傳|传)"
_MESSAGES_ZH = "(?:消息|短信|信息|訊息|簡訊|短訊|嘢|野)"
_STOP_REQUEST_CHINESE = re.compile(
    rf"(?:请|請|唔該|唔该)?(?:不要|别|別|唔好)再?(?:给我|給我)?{_SEND_ZH}{_MESSAGES_ZH}?(?:俾我|畀我|比我|给我|給我)?(?:了|喇|啦)?"
    rf"|(?:请|請|唔該|唔该)?停止(?:发送|發送|send){_MESSAGES_ZH}?"
)
# Words around a command word that leave it the command.
_POLITE_SPANISH_WORDS = frozenset(word for phrase in _POLITE_SPANISH for word in phrase.split())
_POLITE_WORDS = (
    frozenset({"please", "pls", "plz", "it", "now", "thanks", "thank", "you"})
    | _POLITE_SPANISH_WORDS
    | frozenset({"谢谢", "謝謝", "多谢", "多謝", "唔该", "唔該", "请", "請"})
)
# Where a message's sentences part: "Please stop. I don't want these texts".
_SENTENCE_BREAK = re.compile(r"[.!?。！？;]+\s*|\n+")
# What builds emoji besides symbols: joiners, variation selectors, skin tones, keycaps.
_EMOJI_PARTS = frozenset("\u200d\ufe0e\ufe0f\u20e3") | frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))
TAKES_ARGUMENT: frozenset[CommandName] = frozenset({"status", "follow", "unfollow", "cancel"})
_LONGEST_REFERENCE = 64
_REFERENCE = re.compile(r"^#?([A-Za-z0-9][A-Za-z0-9._-]{0,63})$")
# Words too close to a command word to be taken for its typo ("alot" is no "alto").
_NO_TYPOS = frozenset({"alot"})
_TRIM = " \t\r\n.!?¡¿,;:'\"。！？"
_PUNCTUATION = re.compile(r"[.!?¡¿,;:\"。！？，、…]+")


@dataclass(frozen=True, slots=True)
class ResidentCommand:
    name: CommandName
    # A request id or token, for STATUS/FOLLOW/UNFOLLOW.
    argument: str | None = None
    # The language of the word, where it tells one (``LANGUAGE_OF_WORD``).
    language: str | None = None


def parse_command(text: str) -> ResidentCommand | None:
    # "STOP 🛑", "stop 🙏", "END ✋": a symbol beside a command word leaves it the command (each began a
    # report, and the resident kept getting messages).
    text = _without_symbols(text)
    # "退订，谢谢": Chinese punctuation parts words as spaces do.
    words = re.sub(r"[，、。！？]+", " ", text).strip(_TRIM).split()
    if phrase_command := _phrase(words):
        return phrase_command
    if dropped := _cancel_in_words(text):
        return dropped
    lowered = tuple(word.lower() for word in words)
    for opening, (long_name, long_language) in _LONG_COMMANDS.items():
        if lowered[: len(opening)] == opening and len(words) <= len(opening) + 1:
            # The command's own word before the rest ("unfollow 14") reads the number as UNFOLLOW does.
            said = parse_command(" ".join((WORDS[long_name][0], *words[len(opening) :])))
            return ResidentCommand(long_name, said.argument, long_language) if said is not None else None
    if stop := _stop_request(text):
        return stop
    # "please stop", "stop it", "Start please", "help pls", "por favor paren", "ALTO porfa": a command word
    # with only politeness around it is the command (each began a report).
    bare = [word for word in words if word.strip(_TRIM).lower() not in _POLITE_WORDS]
    if len(bare) == 1 and len(bare) < len(words):
        command = parse_command(bare[0])
        if command is not None and command.argument is None:
            spanish = any(word.strip(_TRIM).lower() in _POLITE_SPANISH_WORDS for word in words)
            return ResidentCommand(command.name, language=command.language or ("es" if spanish else None))
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
    argument = words[1].strip(_TRIM)
    match = _REFERENCE.match(argument)
    if match:
        return ResidentCommand(name, match.group(1), language)
    # "status -1", "CANCEL #1O9": a reference mistyped is still the command (answered "no such report"),
    # not a report about "-1".
    if any(character.isdigit() for character in argument) and len(argument) <= _LONGEST_REFERENCE:
        return ResidentCommand(name, argument.lstrip("#"), language)
    return None


def _phrase(words: Sequence[str]) -> ResidentCommand | None:
    """The command a whole message of ``PHRASES`` says, with politeness before or after it ("help me
    please", "ayúdame por favor": Spanish politeness tells the language, as around a command word)."""
    plain = [word.strip(_TRIM).lower().replace("’", "'") for word in words]
    plain = [word for word in plain if word]
    if (whole := PHRASES.get(" ".join(plain))) is not None:
        return ResidentCommand(whole[0], language=whole[1])
    start, end = 0, len(plain)
    while start < end and plain[start] in _POLITE_WORDS:
        start += 1
    while end > start and plain[end - 1] in _POLITE_WORDS:
        end -= 1
    said = PHRASES.get(" ".join(plain[start:end]))
    if said is None:
        return None
    polite = plain[:start] + plain[end:]
    spanish = any(word in _POLITE_SPANISH_WORDS for word in polite)
    return ResidentCommand(said[0], language=said[1] or ("es" if spanish else None))


# Words before "never mind" that leave it the resident dropping the report ("oh never mind", "actually,
# forget it", "bueno, olvídalo"), and words after it that say no more than that ("never mind then").
_BEFORE_CANCEL = frozenset(
    {"oh", "ah", "aw", "oops", "actually", "ok", "okay", "um", "umm", "uh", "hmm", "well", "sorry", "nah"}
    | {"ay", "bueno", "pues", "mejor", "ya", "perdón", "perdon", "oye"}
)
_AFTER_CANCEL = frozenset({"then", "anyway", "anyways", "lol", "please", "sorry", "it's", "its", "fine"})
_BEFORE_CANCEL_ZH = re.compile("^(?:哦|噢|喔|啊|嗯|唉|呃|那|好吧|还是|還是|其实|其實)*")
_CANCEL_PHRASES = sorted(
    (phrase for phrase, (name, _language) in PHRASES.items() if name == "cancel"), key=len, reverse=True
)


def _cancel_in_words(text: str) -> ResidentCommand | None:
    """ "never mind" with fillers before it, and after it nothing or that the problem is gone ("oh never
    mind", "forget it, someone already fixed it", "never mind, it's working again", "olvídalo, ya lo
    arreglaron", "算了，已经修好了"): the resident drops the report in progress (CANCEL). Before, each was
    taken for its place or its words, and the words filed with the next report."""
    plain = " ".join(_PUNCTUATION.sub(" ", text.lower().replace("’", "'")).split())
    if HAN.search(plain):
        compact = _BEFORE_CANCEL_ZH.sub("", plain.replace(" ", ""))
        said = next((phrase for phrase in _CANCEL_PHRASES if compact.startswith(phrase)), None)
        rest = compact[len(said) :].removeprefix("吧") if said is not None else ""
    else:
        words = plain.split()
        while words and words[0] in _BEFORE_CANCEL:
            words.pop(0)
        joined = " ".join(words)
        said = next((p for p in _CANCEL_PHRASES if joined == p or joined.startswith(f"{p} ")), None)
        rest = joined[len(said) :].strip() if said is not None else ""
    if said is None:
        return None
    language = PHRASES[said][1]
    if not rest or all(word in _AFTER_CANCEL for word in rest.split()):
        return ResidentCommand("cancel", language=language)
    gone = says_it_is_gone(rest) or parse_small_talk(rest)
    if gone is None or gone.kind not in ("thanks", "filler"):
        return None
    return ResidentCommand("cancel", language=language or gone.language)


def _asks_to_stop(sentence: str) -> bool:
    command = parse_command(sentence)
    return command is not None and command.name == "stop"


def _without_symbols(text: str) -> str:
    """``text`` without emoji and other symbols (and the joiners and modifiers that build emoji)."""
    return "".join(
        " " if unicodedata.category(char) in {"So", "Sk", "Cs"} or char in _EMOJI_PARTS else char
        for char in text
    )


def _stop_request(text: str) -> ResidentCommand | None:
    """STOP said in more than one word: stop words only ("STOP STOP", "alto, alto"), or a short request
    to stop messages ("please stop texting me", "dejen de enviarme mensajes", "别再发了")."""
    plain = " ".join(_PUNCTUATION.sub(" ", text.lower().replace("’", "'")).split())
    words = plain.split()
    if len(words) > 1 and all(word in WORDS["stop"] for word in words):
        languages = {LANGUAGE_OF_WORD.get(word) for word in words}
        return ResidentCommand("stop", language=languages.pop() if len(languages) == 1 else None)
    if _STOP_REQUEST.fullmatch(plain):
        return ResidentCommand("stop")
    # "Please stop. I don't want these texts", "STOP. No more messages please": every sentence asks it.
    sentences = [" ".join(part.split()) for part in _SENTENCE_BREAK.split(text.lower().replace("’", "'"))]
    sentences = [" ".join(_PUNCTUATION.sub(" ", part).split()) for part in sentences]
    sentences = [part for part in sentences if part]
    if len(sentences) > 1 and all(part in _POLITE_WORDS or _asks_to_stop(part) for part in sentences):
        return ResidentCommand("stop")
    if _STOP_REQUEST_SPANISH.fullmatch(plain):
        return ResidentCommand("stop", language="es")
    if _STOP_REQUEST_CHINESE.fullmatch(plain.replace(" ", "")):
        return ResidentCommand("stop", language="zh")
    return None


def _match_word(word: str) -> CommandName | None:
    for name, words in WORDS.items():
        if word in words:
            return name
    # Light typos, first letter kept and only when exactly one command is that close: on four-letter
    # words only swapped letters ("hlep", not "shop" for STOP), on longer ones one edit ("stauts", "cancle").
    if len(word) < 4 or not word.isascii() or word in _NO_TYPOS:
        return None
    close = {name for name, words in WORDS.items() for candidate in words if _is_typo_of(word, candidate)}
    return close.pop() if len(close) == 1 else None


def _is_typo_of(word: str, candidate: str) -> bool:
    if not candidate.isascii() or len(candidate) < 4 or candidate[0] != word[0]:
        return False
    if len(word) == 4 or len(candidate) == 4:
        return len(word) == len(candidate) and sorted(word) == sorted(candidate)
    return OSA.distance(word, candidate) <= 1


# Who a resident asks after: "did anybody...", "is someone coming...", "when will you guys...".
_SOMEONE = (
    r"(?:anybody|anyone|someone|somebody|the city|a crew|the crew|crews|you|you guys|y'all|they|the trucks?"
    r"|the workers)"
)
_COME_OR_FIX = (
    r"(?:come|came|come out|been out|pick(?:ed)? (?:it |them )?up|fix(?:ed)?|clean(?:ed)?(?: up)?|remove[d]?"
    r"|repair(?:ed)?|tow(?:ed)?|take[n]?|took|look(?:ed)? at|check(?:ed)?)"
)
# A question about a report already made, in a resident's own words: "any update?", "what's the status of
# my report?", "why hasn't it been fixed yet?", "¿alguna novedad?", "进展如何".
_STATUS_QUESTION = re.compile(
    r"(?<!\w)(?:"
    r"any (?:updates?|news|progress)|(?:what'?s|what is) the status|status (?:of|on) my|updates? on my|"
    r"(?:why|when) (?:has|hasn'?t|have|haven'?t|is|isn'?t|will|won'?t) (?:it|this|that|my \w+) "
    r"(?:been |be )?(?:fixed|done|repaired|cleaned|picked up|removed|taken care of)|"
    # "is it fixed yet", "has it been fixed?", "was my pothole repaired yet": the question's word order.
    r"(?:^|[.!?]\s*)(?:is|was|has|have) (?:it|this|that|my \w+) (?:been |)"
    r"(?:fixed|done|repaired|cleaned|picked up|removed|taken care of)(?: yet)?\s*(?:\?|$)"
    r")(?!\w)",
    re.IGNORECASE,
)
_STATUS_QUESTION_SPANISH = re.compile(
    r"(?<!\w)(?:"
    r"alguna novedad|hay novedades|"
    r"ya (?:lo|la|los|las) (?:arreglaron|repararon|limpiaron|quitaron|recogieron)|"
    # "¿cómo va mi reporte?", "y qué pasó con el bache?", "que paso con mi reporte del carro"
    r"(?:cómo|como) (?:va|van|sigue|siguen) (?:mi|mis|el|la|los|las|lo de)|"
    r"(?:qué|que) (?:pasó|paso|ha pasado|onda) con (?:mi|mis|el|la|los|las|lo de)"
    r")(?!\w)",
    re.IGNORECASE,
)
# Chinese writes no spaces, so no word boundaries there. "我的投诉怎么样了", "我個報告搞成點呀", "查一下我的
# 投诉", "有冇人嚟整?": a report (投诉, 报告, 举报, Taiwan's 檢舉...) with how it is going, or whether someone
# has come.
_REPORT_ZH = "(?:投诉|投訴|报告|報告|举报|舉報|检举|檢舉|反映|申请|申請|個案|个案)"
_STATUS_QUESTION_CHINESE = re.compile(
    "进展|進展|进度|進度|处理得怎么样|處理得怎麼樣|修好了[吗嗎没沒]|处理了[吗嗎没沒]|處理了[嗎吗沒没]"
    f"|{_REPORT_ZH}.{{0,3}}(?:怎么样|怎麼樣|怎样|怎樣|點樣|点样|搞成點|搞成点|如何|處理咗|处理咗)"
    f"|查(?:一下|下|查)?我的{_REPORT_ZH}"
    "|有(?:冇|没有|沒有)人(?:嚟|来|來)(?:整|修|處理|处理|睇|看)"
)


# Asked after a report, as the whole message (one sentence): "did anybody pick up the mattress yet?", "Is
# anyone coming to fix it?", "how long will it take", "when are you going to fix it", "WHEN WILL SOMEBODY
# COME OUT TO FIX THE LIGHT", "when?", "¿cuándo lo van a limpiar?", "什么时候修好？". Each was taken for a
# new report ("Where is it?"; one was filed as Missed Trash). Inside a longer message ("Traffic signal - day
# 3 of it not working. When will it be fixed?") the same words end a report of its own: 70 of the 73,306
# labelled and pool messages read so, most of them reports.
_FOLLOW_UP_QUESTION = re.compile(
    r"(?:"
    rf"(?:did|has|have) {_SOMEONE} (?:\w+ )?{_COME_OR_FIX}\b(?:(?! at | on | near ).)*\byet"
    rf"|(?:is|are) {_SOMEONE} (?:ever |still |actually )?(?:coming|going to come|gonna come"
    r"|going to (?:fix|clean|pick|repair|remove|tow|look)|gonna (?:fix|clean|pick|repair|remove|tow|look))"
    r"|how long (?:will it|will this|will that|would it|until|till|before|do i have to wait|does it take"
    r"|is it going to|is this going to|is that going to)"
    rf"|when (?:will|are|is|do|does|can|would) (?:{_SOMEONE}|it|this|that|my \w+|the \w+)"
    r" (?:ever |finally |actually )?(?:be (?:fixed|done|repaired|cleaned|picked|removed|towed)|come|coming"
    r"|going to|gonna|get (?:fixed|done|to)|fix|clean|pick|repair|remove|tow|send)"
    r"|(?:when|and when|so when|how long|any news|anything yet|ok when)$"
    r")(?!\w)",
    re.IGNORECASE,
)
_FOLLOW_UP_QUESTION_SPANISH = re.compile(
    r"(?:"
    # "¿cuándo lo van a limpiar?", "¿Cuándo van a venir a arreglarlo?", "¿cuánto va a tardar?"
    r"(?:cuándo|cuando) (?:(?:lo|la|los|las|me) )?(?:van|va|vienen|viene|vendrán|vendran|piensan|podrán"
    r"|podran)\b"
    r"|(?:cuánto|cuanto) (?:tiempo )?(?:va a |van a )?(?:tarda|tardan|tardará|tardara|tardarán|tardaran)"
    r")",
    re.IGNORECASE,
)
_FOLLOW_UP_QUESTION_CHINESE = re.compile(
    "(?:什么时候|什麼時候|几时|幾時|何时|何時|几耐|幾耐)(?:会|會|才|可以|能)?(?:来|來|嚟)?"
    "(?:修|整|处理|處理|清|搞|搬|拖|拎|收)"
)


def _follow_up_question_language(text: str) -> str | None:
    """The language of ``text`` when it is, whole, a question after a report (``_FOLLOW_UP_QUESTION``)."""
    plain = " ".join(text.replace("’", "'").split()).lstrip("¿¡ ").rstrip("?？!！. ")
    if not plain or not is_one_sentence(text):
        return None
    if _FOLLOW_UP_QUESTION_CHINESE.search(plain.replace(" ", "")):
        return "zh"
    if _FOLLOW_UP_QUESTION_SPANISH.match(plain):
        return "es"
    if _FOLLOW_UP_QUESTION.match(plain):
        return "en"
    return None


def status_question_language(text: str) -> str | None:
    """The language ``text`` asks in how a report already made is going, or None when it asks no such
    thing (the engine answers it as STATUS for a resident who has made one). Unlike the word STATUS, which
    every resident is told to send, "any update?" is English: a resident who reported in Chinese and asks
    it in English reads the answer in English."""
    if _STATUS_QUESTION_CHINESE.search(text):
        return "zh"
    if _STATUS_QUESTION_SPANISH.search(text):
        return "es"
    if _STATUS_QUESTION.search(text):
        return "en"
    return _follow_up_question_language(text)
