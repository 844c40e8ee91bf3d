"""Which language a message is written in: English, Spanish or Chinese (the languages the bot answers in).

lingua is restricted to those three languages (fewer candidate models: faster and fewer wrong guesses) and
its models are loaded once. Two cheap cues come first because lingua alone is weakest exactly where 311
text lives, in very short messages full of street names: any Han characters mean Chinese, and Spanish
function words ("en la calle", "hay un") outweigh an English-looking street name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from intents.lexicon import SPANISH, fold

SUPPORTED_LANGUAGES: Final = ("en", "es", "zh")
DEFAULT_LANGUAGE: Final = "en"

_LINGUA_TO_CODE: Final = {Language.ENGLISH: "en", Language.SPANISH: "es", Language.CHINESE: "zh"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Words that are common in Spanish and (nearly) never appear in English 311 messages.
_SPANISH_WORDS: Final = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "unos",
        "unas",
        "del",
        "al",
        "en",
        "de",
        "por",
        "para",
        "con",
        "sin",
        "que",
        "hay",
        "esta",
        "está",
        "están",
        "es",
        "muy",
        "calle",
        "acera",
        "esquina",
        "cerca",
        "frente",
        "casa",
        "mis",
        "nuestra",
        "nuestro",
        "hace",
        "días",
        "semanas",
        "noche",
        "todo",
        "toda",
        "desde",
        "hasta",
        "pero",
        "porque",
        "también",
        "otra",
        "otro",
        "ya",
        "se",
        "lo",
        "le",
        "les",
        "su",
        "sus",
        "y",
        # Greetings and courtesies, often a whole short message ("Hola", "Buenas tardes, necesito ayuda").
        "hola",
        "buenos",
        "buenas",
        "tardes",
        "noches",
        "favor",
        "ayuda",
        "necesito",
        "quiero",
        "reportar",
    ]
)
_ENGLISH_WORDS: Final = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "is",
        "are",
        "was",
        "were",
        "there",
        "this",
        "that",
        "it",
        "my",
        "our",
        "near",
        "and",
        "or",
        "not",
        "has",
        "have",
        "been",
        "from",
        "by",
        "street",
        "st",
        "ave",
        "avenue",
        "corner",
    ]
)


# Problem words of the Spanish lexicon are Spanish cues too, except those English shares.
_SPANISH_TERMS: Final = frozenset(term for term in SPANISH if " " not in term) - {"graffiti", "sofa", "sal"}
# Below this, lingua is guessing (e.g. "hello": Spanish 0.61): answer with the default instead.
_LINGUA_MIN_CONFIDENCE: Final = 0.7


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_LINGUA_TO_CODE).with_preloaded_language_models().build()


def detect_language(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    """The ISO 639-1 code of ``text``'s language (en, es or zh); ``default`` when nothing tells."""
    letters = _LETTER.findall(text)
    if not letters:
        return default
    han = len(_HAN.findall(text))
    # Chinese messages often carry Latin street names ("Market街"): a fifth of Han letters is plenty.
    if han and han / len(letters) >= 0.2:
        return "zh"
    words = [word.lower() for word in _WORD.findall(text)]
    spanish = sum(word in _SPANISH_WORDS or fold(word) in _SPANISH_TERMS for word in words)
    english = sum(word in _ENGLISH_WORDS for word in words)
    if spanish > english:
        return "es" if english == 0 or spanish >= 2 else _lingua(text, default)
    if english > spanish:
        return "en" if spanish == 0 or english >= 2 else _lingua(text, default)
    return _lingua(text, default)


def _lingua(text: str, default: str) -> str:
    """lingua's answer when it is clear; the default language (most messages' language) when not."""
    values = _detector().compute_language_confidence_values(text)
    if not values or values[0].value < _LINGUA_MIN_CONFIDENCE:
        return default
    return _LINGUA_TO_CODE.get(values[0].language, default)


def warm_up() -> None:
    """Loads lingua's models now rather than on the first message."""
    _detector()
