"""Messages that are neither a report nor a command: a greeting ("Hi", "hola", "你好"), thanks ("thanks!",
"ok", "gracias", "谢谢", "👍"), or a yes or no with no question waiting for it (the resident answers one we
asked long ago, or another bot's).

Residents often say hello before the problem and thanks after the tracking id. Read as a report, either one
started a report of nothing ("Where is it?"), and the resident's next message, the real problem, was then
taken as its location. Only a message made of such words alone is small talk: "thanks, and there is another
pothole at 5th and Market" is a report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

SmallTalkKind = Literal["greeting", "thanks", "answer"]
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


def parse_small_talk(text: str) -> SmallTalk | None:
    """A greeting or thanks when ``text`` is made of nothing else (in any case, with any punctuation)."""
    words = _TOKEN.findall(_MODIFIERS.sub("", text.lower()))
    if not words or len(words) > _MAX_WORDS:
        return None
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
    kinds = {said[0] for said in found}
    # "no thanks" is thanks; "hi, yes" a greeting; "yes" alone an answer.
    kind: SmallTalkKind = "thanks" if "thanks" in kinds else "greeting" if "greeting" in kinds else "answer"
    return SmallTalk(kind, next((language for _kind, language in found if language), None))
