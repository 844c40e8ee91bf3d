"""Messages that are neither a report nor a command: a greeting ("Hi", "hola", "你好"), thanks ("thanks!",
"ok", "gracias", "谢谢", "👍"), a filler that more is coming ("wait", "hold on", "un momento", "等一下"), or
a yes or no with no question waiting for it (the resident answers one we
asked long ago, or another bot's).

Residents often say hello before the problem and thanks after the tracking id. Read as a report, either one
started a report of nothing ("Where is it?"), and the resident's next message, the real problem, was then
taken as its location. Only a message made of such words alone is small talk: "thanks, and there is another
pothole at 5th and Market" is a report. Thanks with a few words that the problem is gone ("thanks, it's
been fixed!", "gracias!! ya se lo llevaron 👍", "谢谢，已经修好了") is thanks too: read as a report, it was
filed or queued for a person as a report of nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from intents.lexicon import fold

SmallTalkKind = Literal["greeting", "thanks", "answer", "filler"]
_HAN_LETTERS: Final = "\u3400-\u9fff\uf900-\ufaff"
# A Chinese character (the conversation counts them to tell a message's language too).
HAN: Final = re.compile(f"[{_HAN_LETTERS}]")


@dataclass(frozen=True, slots=True)
class SmallTalk:
    kind: SmallTalkKind
    # The language the words are in, where they tell it (Spanish or Chinese); None for English words and
    # for "ok" or an emoji, which anyone writes.
    language: str | None = None


Said = tuple[SmallTalkKind, str | None]

# Yes and no as residents write them: answers to "Is it at ...?" in the conversation, small talk when no
# question waits for them.
YES_WORDS: Final = frozenset(
    {"yes", "y", "yeah", "yep", "yup", "yes please", "correct", "right", "si", "sí", "是", "对", "對", "是的"}
    # Cantonese: "係呀" was taken for the place itself ("not on the map").
    | {"係", "係呀", "係啊", "係嘅", "啱", "啱呀", "啱啊", "冇錯", "没错", "沒錯"}
)
NO_WORDS: Final = frozenset(
    {"no", "n", "nope", "nah", "wrong", "不", "不是", "不对", "不對", "没有", "沒有"}
    | {"唔係", "唔係呀", "唔啱", "唔使", "唔使喇", "唔使了", "唔好", "冇", "不用", "不用了"}
)


def _phrases(kind: SmallTalkKind, language: str | None, text: str) -> dict[str, Said]:
    """Phrases keyed as ``parse_small_talk`` reads them: words joined by one space, and a Chinese phrase as
    its characters so joined (Chinese writes no spaces: "好的谢谢" is two phrases)."""
    phrases = [phrase.strip() for phrase in text.split("|")]
    return {(" ".join(phrase) if HAN.search(phrase) else phrase): (kind, language) for phrase in phrases}


def _greetings_and_thanks(by_language: dict[str, tuple[str, str]]) -> dict[str, Said]:
    phrases: dict[str, Said] = {}
    for language, (greetings, thanks) in by_language.items():
        phrases |= _phrases("greeting", language, greetings) | _phrases("thanks", language, thanks)
    return phrases


_PHRASES: Final = {
    **_phrases(
        "greeting",
        None,
        "hi|hello|hey|hiya|howdy|hi there|hello there|hey there|good morning|good afternoon|good evening"
        "|morning|afternoon|evening|anyone there|anybody there|is anyone there|is anybody there"
        # Greetings of several languages ("ola" is Spanish texting's "hola" too): they tell no language.
        "|ola|oi|ciao|chao|salut|salve|hallo|alo|allo|allô",
    ),
    **_phrases(
        "thanks",
        None,
        "thanks|thank you|thankyou|thank u|thanks you|thx|thnx|thanx|ty|tysm|thanks so much|thank you so much"
        "|thanks a lot|thanks again|thank you again|many thanks|much appreciated|appreciate it|appreciated"
        "|ok|okay|k|kk|great|cool|got it|awesome|perfect|sounds good|nice|wonderful|excellent|will do"
        # Praise and blessings with the thanks: "THANK YOU SO MUCH YOU ARE VERY KIND" started a report.
        "|thank you very much|thanks very much|thank you so very much|you are very kind|you're very kind"
        "|you are so kind|you're so kind|you are all wonderful|you're all wonderful|you are wonderful"
        "|you're wonderful|you are the best|you're the best|youre the best|you guys are great"
        "|you guys are awesome|you guys rock|you are awesome|you're awesome|you rock|god bless|god bless you"
        "|bless you|have a nice day|have a good day|have a great day|good job|great job|well done"
        "|👍|🙏|👌|😊|🙂|❤|♥|✅",
    ),
    **_phrases(
        "greeting",
        "es",
        "hola|buenos días|buenos dias|buen día|buen dia|buenas|buenas tardes|buenas noches|saludos",
    ),
    **_phrases(
        "thanks", "es", "gracias|muchas gracias|mil gracias|muchísimas gracias|vale|perfecto|de acuerdo|listo"
    ),
    **_phrases("greeting", "zh", "你好|您好|哈囉|哈啰|嗨|早上好|早安|下午好|晚上好|喂"),
    # "wait", "hold on", "un momento", "等一下": more is coming (a correction, the rest of the report). Filed
    # as a report of "wait", it went to a person; answered, it would cut in before the resident's next words.
    **_phrases(
        "filler",
        None,
        "wait|wait a sec|wait a second|wait a minute|wait a moment|hold on|hold on a sec|hold on a second"
        "|hang on|hang on a sec|one sec|one second|one moment|one minute|just a sec|just a second"
        "|just a moment|just a minute|a sec|sec|brb|hmm|hmmm|umm|um|uh|erm",
    ),
    **_phrases(
        "filler", "es", "espera|espere|esperen|un momento|un momentito|un segundo|momento|aguarda|aguarde"
    ),
    **_phrases("filler", "zh", "等一下|等等|稍等|等一等|等阵|等陣|等一陣|等一阵|等下|且慢"),
    # Other languages residents of US cities write in: answered in the city's default language (or the
    # language's own, where the city gave it templates), never taken for a report of "Bonjour".
    **_greetings_and_thanks(
        {
            "fr": ("bonjour|bonsoir", "merci|merci beaucoup|merci bien|d'accord|parfait"),
            "pt": (
                "olá|bom dia|boa tarde|boa noite",
                "obrigado|obrigada|muito obrigado|muito obrigada|valeu|beleza|tá bom|ta bom",
            ),
            "ht": ("bonjou|bonswa|sak pase", "mèsi|mesi|mèsi anpil|mesi anpil|dakò|dako"),
            "vi": ("xin chào|xin chao|chào|chào bạn", "cảm ơn|cam on|cám ơn|cảm ơn nhiều|cam on nhieu"),
            "tl": ("kamusta|kumusta|magandang umaga|magandang hapon|magandang gabi", "salamat|salamat po"),
            "ko": ("안녕하세요|안녕", "감사합니다|고맙습니다|고마워요|감사해요"),
            "ja": ("こんにちは|こんばんは|おはようございます", "ありがとう|ありがとうございます|どうも"),
            "ru": ("здравствуйте|привет|добрый день", "спасибо|спасибо большое|большое спасибо"),
            "ar": ("مرحبا|السلام عليكم|اهلا", "شكرا|شكرا جزيلا"),
            "it": ("buongiorno|buonasera", "grazie|grazie mille"),
            "de": ("guten tag|guten morgen|guten abend", "danke|danke schön|danke schon|vielen dank"),
            "pl": ("dzień dobry|dzien dobry|cześć|czesc", "dziękuję|dziekuje|dzięki|dzieki"),
            "so": ("salaan|iska warran", "mahadsanid|mahadsanid badan"),
        }
    ),
    **_phrases(
        "answer", None, "|".join(word for word in YES_WORDS | NO_WORDS if word.isascii() and word != "si")
    ),
    **_phrases("answer", "es", "sí|si"),
    **_phrases("answer", "zh", "|".join(word for word in YES_WORDS | NO_WORDS if HAN.search(word))),
    **_phrases(
        "thanks",
        "zh",
        "谢谢|謝謝|谢谢你|謝謝你|谢谢您|謝謝您|谢谢你们|謝謝你們|谢谢大家|謝謝大家|多谢|多謝|多谢晒|多謝晒"
        "|唔該|唔该|唔該晒|唔该晒|感谢|感謝|非常感谢|非常感謝|好的|好|收到|知道了",
    ),
}
# A greeting or thanks is a few words (a Han character counts as one); a longer message is about something.
_MAX_WORDS: Final = 10
_LONGEST_PHRASE: Final = max(len(phrase.split()) for phrase in _PHRASES)
_EMOJI: Final = "".join(phrase for phrase in _PHRASES if len(phrase) == 1 and not phrase.isalnum())
# Emoji skin tones and the variation selector ("❤️") change nothing.
_MODIFIERS: Final = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
# A Han character or an emoji is a word of its own.
_SEPARATORS: Final = r"\s.,;:!?¡¿。，、！？~…\"()\[\]\-"
_TOKEN: Final = re.compile(rf"[{_HAN_LETTERS}{_EMOJI}]|[^{_SEPARATORS}{_HAN_LETTERS}{_EMOJI}]+")


# A few words that the problem is gone, said with thanks: the whole rest of the message, in English, Spanish
# (accents folded) or Chinese (spaces between the characters removed). A question ("thanks, is it fixed?") or
# "not", "still", "never" (which these leave no room for) says it is not done, and is about the report.
_FIXED: Final = (
    r"(?:fixed|repaired|removed|patched|filled(?: in)?|towed|cleaned(?: up)?|cleared|picked up|taken away"
    r"|hauled away|taken care of|collected|resolved|sorted(?: out)?|replaced|painted over|gone|done"
    r"|back on|working(?: again)?)"
)
_DID: Final = (
    r"(?:fixed|repaired|removed|patched|filled|towed|cleaned|cleared|picked|took|hauled|collected|got"
    r"|came(?: by| out)?(?: and (?:fixed|repaired|removed|cleaned|cleared|picked|took|towed|hauled))?)"
)
_WHEN: Final = (
    r"(?: (?:already|now|today|finally|yesterday|quickly|so fast|this morning|last night|earlier))*"
)
_DONE_ENGLISH: Final = re.compile(
    r"(?:"
    # "fixed", "all fixed", "it's been fixed", "the trash was picked up", "the light is back on"
    r"(?:(?:(?:it|this|that|everything|they|(?:the|my|our) \w+(?: \w+){0,3})"
    r" (?:is|was|are|were|has been|have been|had been|got|'s been)"
    r"|(?:it's|its|that's|thats|everything's|they're|theyre|they've|theyve)(?: been)?) )?"
    rf"(?:(?:already|finally|now|just|all) )?{_FIXED}"
    # "they fixed it", "someone picked it up", "the crew came and took it away"
    r"|(?:they|someone|somebody|the city|the crew|a crew|you|you guys|you all|y'all)"
    rf" (?:(?:already|finally|just) )?{_DID}"
    r"(?: (?:it|them|that|this|everything))?(?: (?:up|away|out|off|in))?"
    r"|(?:(?:it's|its|it is|they're|theyre|they are) )?(?:no longer there|not there anymore|gone)"
    r"|problem solved|issue resolved|all good"
    # "thank you very much for fixing the light", "thanks for picking it up so fast"
    r"|for (?:fixing|repairing|removing|patching|filling|towing|cleaning(?: up)?|clearing"
    r"|picking(?: it| them)? up|taking care of|collecting|replacing|painting over"
    r"|the quick (?:fix|response|reply|help)|your help"
    r"|the help|helping|everything|all you do)(?: (?:it|that|this|them|(?:the|my|our) \w+(?: \w+){0,2}))?"
    r"(?: (?:so fast|so quickly|quickly|today|up))*"
    rf"){_WHEN}"
)
_DONE_SPANISH: Final = re.compile(
    r"(?:(?:el|la|los|las|mi|mis) \w+(?: \w+)? )?(?:ya )?(?:"
    # "ya se lo llevaron", "ya lo arreglaron", "vinieron a recogerlo"
    r"(?:se )?(?:(?:lo|la|los|las|le|les) )?(?:arreglaron|repararon|limpiaron|quitaron|recogieron|llevaron"
    r"|retiraron|taparon|rellenaron|removieron|pintaron|cambiaron|resolvieron|solucionaron|compusieron"
    r"|arreglo|reparo|quito|recogio|llevo|retiro|tapo|vinieron|vino|pasaron)(?: a \w+)?"
    # "ya está arreglado", "ya quedó", "ya no está"
    r"|(?:esta|estan|quedo|quedaron)(?: (?:arreglad[oa]s?|reparad[oa]s?|limpi[oa]s?|resuelto|solucionado"
    r"|listo|lista|bien))?"
    r"|no (?:esta|estan)(?: (?:ahi|alli|aqui))?|se fue|funciona|prende|sirve|(?:todo )?bien|problema resuelto"
    r")(?: (?:todo|hoy|ayer|rapido|esta manana))*"
)
_DONE_CHINESE: Final = re.compile(
    f"(?:[{_HAN_LETTERS}]{{1,4}}?(?=已|都))?(?:已经|已經|已|都|终于|終於)?(?:被人|被)?(?:"
    # "已经修好了", "整好咗", "搬走了", "清走咗", "已處理"
    "(?:清理|修理|处理|處理|解决|解決|修复|修復|清除|修|整|清|搬|拿|收|运|運|拖|移|弄|搞|补|補|填|换|換|執|执)"
    "返?(?:好|走|掉|完|晒|妥|定|掂|咗|了|啦|喇|嘞)+"
    # "已经没了", "冇咗啦", "好了"
    "|(?:没有|沒有|没|沒|冇|唔见|唔見|好)(?:了|咗|啦|喇)+"
    ")"
)
_QUESTION: Final = re.compile("[?？¿]")


def parse_small_talk(text: str) -> SmallTalk | None:
    """A greeting or thanks when ``text`` is made of nothing else (in any case, with any punctuation), or
    thanks with a few words that the problem is gone."""
    words = _TOKEN.findall(_MODIFIERS.sub("", text.lower().replace("’", "'")))
    if not words or len(words) > _MAX_WORDS_WITH_A_FIX:
        return None
    found = _said(words) if len(words) <= _MAX_WORDS else None
    if found is None:
        found = _thanks_for_a_fix(words) if not _QUESTION.search(text) else None
        if found is None:
            return None
    kinds = {said[0] for said in found}
    # "no thanks" is thanks; "hi, yes" a greeting; "yes" (or "wait, no") an answer; "wait" alone a filler.
    order: tuple[SmallTalkKind, ...] = ("thanks", "greeting", "answer", "filler")
    kind = next(kind for kind in order if kind in kinds)
    return SmallTalk(kind, next((language for _kind, language in found if language), None))


# "thank you so much, the trash on my street has been picked up" is longer than thanks alone.
_MAX_WORDS_WITH_A_FIX: Final = 16


def _said(words: list[str]) -> list[Said] | None:
    """The phrases ``words`` are made of, longest first; None when some are no small talk."""
    found: list[Said] = []
    position = 0
    while position < len(words):
        for size in range(min(_LONGEST_PHRASE, len(words) - position), 0, -1):
            said = _PHRASES.get(" ".join(words[position : position + size]))
            if said is not None:
                found.append(said)
                position += size
                break
        else:
            return None
    return found


def _thanks_for_a_fix(words: list[str]) -> list[Said] | None:
    """Thanks (or "ok") before or after words that the problem is gone, as ``_said`` reads them with the
    words that it is gone counted as thanks in their language."""
    return _around_a_fix(words, thanked=True)


def _around_a_fix(words: list[str], *, thanked: bool) -> list[Said] | None:
    """Words that the problem is gone with small talk before and after them (with thanks among it, when
    ``thanked``), as ``_said`` reads them; None when ``words`` are anything else."""
    for start in range(len(words)):
        before = _said(words[:start])
        if before is None:
            continue
        for end in range(len(words), start, -1):
            after = _said(words[end:])
            # "gracias, no lo arreglaron": a "no" (or "yes": an answer, to no question) is no thanks for it.
            if after is None or any(kind == "answer" for kind, _ in [*before, *after]):
                continue
            if thanked and not any(kind == "thanks" for kind, _ in [*before, *after]):
                continue
            fixed = _fixed(" ".join(words[start:end]))
            if fixed is not None:
                return [*before, fixed, *after]
    return None


def _fixed(words: str) -> Said | None:
    """Words that say the problem is gone, as thanks in their language; None when they say no such thing."""
    if _DONE_ENGLISH.fullmatch(words):
        return ("thanks", None)
    if _DONE_SPANISH.fullmatch(fold(words)):
        return ("thanks", "es")
    if HAN.search(words) and _DONE_CHINESE.fullmatch(words.replace(" ", "")):
        return ("thanks", "zh")
    return None


def after_thanks(text: str) -> str | None:
    """The words after the thanks (or greeting) that open ``text``: "Thanks! I appreciate it" -> "I appreciate
    it", "thanks for the quick reply" -> "for the quick reply", "gracias" -> ""; None when ``text`` opens with
    none."""
    lowered = text.lower().replace("’", "'")
    if len(lowered) != len(text):  # a letter whose lower case is longer: positions would not match
        return None
    tokens = list(_TOKEN.finditer(lowered))
    end = position = 0
    while position < len(tokens):
        for size in range(min(_LONGEST_PHRASE, len(tokens) - position), 0, -1):
            said = _PHRASES.get(" ".join(token.group() for token in tokens[position : position + size]))
            if said is not None and said[0] in ("thanks", "greeting"):
                end = tokens[position + size - 1].end()
                position += size
                break
        else:
            break
    if end == 0:
        return None
    return re.sub(r"^[\W_]+", "", text[end:]).strip()


def says_it_is_gone(text: str) -> SmallTalk | None:
    """Words that say the problem is gone, with or without thanks around them ("someone already fixed it",
    "it's working again", "ya lo arreglaron", "已经修好了"): thanks in the words' language. None when they say
    anything more, or ask ("is it fixed?")."""
    words = _TOKEN.findall(_MODIFIERS.sub("", text.lower().replace("’", "'")))
    if not words or len(words) > _MAX_WORDS_WITH_A_FIX or _QUESTION.search(text):
        return None
    found = _around_a_fix(words, thanked=False)
    if found is None:
        return None
    return SmallTalk("thanks", next((language for _kind, language in found if language), None))
