"""Which language a message is written in.

English, Spanish and Chinese are the languages the bot reads and answers in; lingua, restricted to those
three (fewer candidate models: faster and fewer wrong guesses), decides between them where the cheap cues
do not, and its models are loaded once. The cues come first because lingua alone is weakest exactly where
311 text lives, in very short messages full of street names: any Han characters mean Chinese, and Spanish
function words ("en la calle", "hay un") outweigh an English-looking street name.

Residents of US cities also write in other languages (Portuguese, Haitian Creole, Vietnamese, French,
Korean, Russian...). Those are named too, so that a French message is not taken for Spanish and answered
in it: a script of its own (kana, Hangul, Cyrillic, Arabic...) names its language, and in Latin script a
few words no English or Spanish message uses ("rua", "não"; "mwen", "lari"; "nid", "poule") or
Vietnamese's own letters do. They need clear evidence (two such words, more than the Spanish or English
ones), so a Spanish or English message never comes out as another language. Portuguese is also told by its
own spellings ("ã", "õ", "consertaram"), which make short messages ("já consertaram?") Portuguese, not
Spanish; and Chinese written in pinyin ("jie deng huai le") is ``zh-Latn``: Chinese its writer may not read in
characters, and no Spanish because of "le".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from intents.lexicon import SPANISH, fold
from intents.street_names import common_words

# The languages the lexicon reads and the bot answers in (others are detected, not understood).
SUPPORTED_LANGUAGES: Final = ("en", "es", "zh")
DEFAULT_LANGUAGE: Final = "en"
# Chinese in pinyin (BCP 47: Chinese in Latin script), without tones as residents type it.
PINYIN: Final = "zh-Latn"

_LINGUA_TO_CODE: Final = {Language.ENGLISH: "en", Language.SPANISH: "es", Language.CHINESE: "zh"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Japanese writes kana among its kanji; Chinese never does.
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
# Scripts that (nearly) name their language.
_SCRIPTS: Final = (
    ("ko", re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),  # Cyrillic: Ukrainian's own letters below
    ("ar", re.compile(r"[\u0600-\u06ff\u0750-\u077f]")),  # Persian's and Urdu's own letters below
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("hy", re.compile(r"[\u0530-\u058f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("bn", re.compile(r"[\u0980-\u09ff]")),
    ("pa", re.compile(r"[\u0a00-\u0a7f]")),
    ("gu", re.compile(r"[\u0a80-\u0aff]")),
    ("ta", re.compile(r"[\u0b80-\u0bff]")),
    ("te", re.compile(r"[\u0c00-\u0c7f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("lo", re.compile(r"[\u0e80-\u0eff]")),
    ("my", re.compile(r"[\u1000-\u109f]")),
    ("ka", re.compile(r"[\u10a0-\u10ff]")),
    ("am", re.compile(r"[\u1200-\u137f]")),
    ("km", re.compile(r"[\u1780-\u17ff]")),
)
# Within a script, letters only one of its languages uses.
_SCRIPT_VARIANTS: Final = {
    "ru": (("uk", re.compile(r"[іїєґІЇЄҐ]")),),
    "ar": (("ur", re.compile(r"[ٹڈڑںےھ]")), ("fa", re.compile(r"[پچژگکی]"))),
}
# Polish letters (ć and ń are shared with its neighbours, these are not).
_POLISH_LETTERS = re.compile(r"[ąęłśźżĄĘŁŚŹŻ]")
# Letters no language in Latin script but Vietnamese uses: ơ, ư and vowels with two marks or a dot below.
_VIETNAMESE_LETTERS = re.compile(r"[ơưƠƯ\u1ea0-\u1ef9]")
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
# Words of other languages written in Latin script that English and Spanish messages do not use (function
# words and 311's own nouns; English look-alikes left out: "rat", "den", "non", "via", "per", "die", "PA",
# "long"; a word of the Spanish cues is dropped below). Unaccented spellings too: phones and hurried
# residents drop the accents ("nao", "khong").
_OTHER_LATIN_WORDS: Final = {
    "fr": """il ils elle elles est sont dans sur avec pas je nous vous rue très tres cette ce ces qui
        au aux mais aussi devant depuis trou trottoir poubelle poubelles ordures déchets dechets nid poule
        lampadaire voiture bruit arbre neige eau égout egout coin près pres jours semaines fait merci
        bonjour svp plaît plait panne cassé casse cassée cassee encore toujours avons plusieurs
        stationnée stationnee garée garee déposé depose chaussée chaussee mur école ecole sous pont par
        terre matin ruelle derrière derriere vieux matelas seringues pneus sacs quelqu jeté jete piste
        cyclable abri porte église eglise et""",
    "pt": """não nao uma um na da das dos em tem há rua muito muita você voce também tambem lixo calçada
        calcada buraco buracos são sao ao aos pelo pela nós meu minha isso esse essa barulho árvore arvore
        esgoto obrigado obrigada foi estão estao ficou fica ninguém ninguem vizinho vizinhos prefeitura
        poste quebrado quebrada faz dias recolhido carros abandonado semana bueiro entupido tudo noite
        escuro queimado novo parede mais sem com os pessoas têm passeio alagada lixeira transbordando
        alguém alguem jogou entulho manhã manha beco já""",
    "ht": """mwen yon gen genyen nan lari tanpri ki fatra twou limyè limye kote pou anpil machin gwo bò
        jou semèn semen dlo nèj nej bri kay li sa te ap toujou moun vin pran fè fe gade souple mèsi
        mesi lapli poubèl poubel bwa sou miray lekòl lekol nou bezwen dèyè deye lakou anvayi""",
    "it": """il è della delle dello degli nella nelle sulla strada buca spazzatura rifiuti lampione molto
        sono questo questa ci che grazie giorni settimane macchina rumore albero acqua fogna neve
        marciapiede rotto rotta davanti qualcuno lasciato materasso sacchi sul sull parcheggiata
        carrabile stamattina nuovi chiesa ghiacciato nessuno spalato dei sui ha hanno gli alla alle spento
        settimana angolo""",
    "de": """der das und ist nicht ein eine auf mit im vor straße strasse schlagloch müll muell seit
        wochen tagen bitte danke gehweg bürgersteig buergersteig laterne lärm laerm baum wasser kaputt
        wird schon verstopft ganze kreuzung steht unter über ueber mülleimer haltestelle musik bis uhr
        nachts haus gegenüber kann jemand machen""",
    "tl": """ang ng mga po ito yung kalye basura sira sa na hindi dito walang daan ilaw kotse ingay
        puno tubig baha salamat naman lang nasa ay kami namin araw linggo butas kalsada sirang nasira
        maraming kanto bahay kapitbahay harap likod tapat barado nakaparada madilim mabaho""",
    "vi": """khong duong nhieu cua nguoi truoc nha rac bi xe tren ngay tuan chung toi
        duoc vui cam""",
    "pl": """nie jest przy od się sie za ulicy ulica dziura jezdni latarnia śmieci smieci proszę prosze bardzo
        tygodnia tygodniu samochód samochod został zostały stoi rano coś cos tym ktoś ktos""",
    "so": """waxaa jira waddada oo ayaa fadlan badan yahay ku ee qashinka guriga dhow wuu waa iyo aan
        meel weyn""",
}

# Cue words of English or Spanish another language writes too ("de", "la" in French; "a" in Portuguese):
# they say nothing against it (the other languages share none).
_SHARED_CUES: Final = {
    language: frozenset(words.split())
    for language, words in {
        "fr": "a la le les de en un y se que",
        "pt": "a de por para que se esta está casa frente todo toda semanas favor esquina",
        "it": "a in la le con una un del al se su lo casa",
        "de": "in an es",
        "ht": "a la se de an",
    }.items()
}


def _other_word_languages() -> dict[str, frozenset[str]]:
    """Each word of the lists above with the languages that use it, minus the English and Spanish cues."""
    taken = _SPANISH_WORDS | _ENGLISH_WORDS | _SPANISH_TERMS
    languages: dict[str, set[str]] = {}
    for language, words in _OTHER_LATIN_WORDS.items():
        for word in words.split():
            if word not in taken and fold(word) not in _SPANISH_TERMS:
                languages.setdefault(word, set()).add(language)
    return {word: frozenset(found) for word, found in languages.items()}


_OTHER_WORD_LANGUAGES: Final = _other_word_languages()
# Portuguese spellings no English or Spanish word has: "ã" and "õ" ("não", "calçadão", "ações") and the
# "-aram" of its past ("consertaram", "levaram"; Spanish "-aron"). They count as Portuguese words.
_PORTUGUESE_SPELLING: Final = re.compile(r"\w*[ãõ]\w*|\w+(?:aram|eram|iram)")
# A syllable of pinyin: its initials with the finals each takes (a tone number may follow), and the
# finals that stand alone ("an", "er"), which begin a word only: inside one pinyin writes an apostrophe
# ("xi'an"), so "tengo" is no "teng" + "o".
_PINYIN_SYLLABLE: Final = (
    "(?:[bpmdtnl](?:i(?:a|e|ao|u|an|n|ang|ng)?|a|o|e|ai|ei|ao|ou|an|en|ang|eng|ong|u(?:o|n|an)?|v|ve)"
    "|f(?:a|o|ei|ou|an|en|ang|eng|u)"
    "|[gkh](?:a|e|ai|ei|ao|ou|an|en|ang|eng|ong|u(?:a|o|ai|i|an|n|ang)?)"
    "|[jqx](?:i(?:a|e|ao|u|an|n|ang|ng|ong)?|u(?:e|an|n)?)"
    "|(?:[zcs]h?|r)(?:a|e|i|ai|ei|ao|ou|an|en|ang|eng|ong|u(?:a|o|ai|i|an|n|ang)?)"
    "|y(?:a|e|i|ao|ou|an|in|ang|ing|ong|u(?:e|an|n)?)"
    "|w(?:a|o|ai|ei|an|en|ang|eng|u))[1-5]?"
)
_PINYIN_WORD: Final = re.compile(
    f"(?:{_PINYIN_SYLLABLE}|(?:a|o|e|ai|ei|ao|ou|an|en|ang|eng|er)[1-5]?)(?:{_PINYIN_SYLLABLE}){{0,2}}"
)
# What only pinyin has, not the English or Spanish words of its shape ("pan", "mi", "tu", "tiene"): the
# initials j, q, x, zh, ch, sh and the finals ai, ei, ao, ou, iu, ui, uo, -ng.
_PINYIN_OWN: Final = re.compile(r"^(?:[jqx]|[zcs]h)|ai|ei|ao|ou|iu|ui|uo|ng")
# A message in pinyin has at least this many words only pinyin writes.
_MIN_PINYIN_OWN_WORDS: Final = 2
# Below this, lingua is guessing (e.g. "hello": Spanish 0.61): answer with the default instead.
_LINGUA_MIN_CONFIDENCE: Final = 0.7


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_LINGUA_TO_CODE).with_preloaded_language_models().build()


def detect_language(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    """The ISO 639-1 code of ``text``'s language (en, es and zh above all; others by their script or their
    own words, see the module's docstring); ``default`` when nothing tells."""
    letters = _LETTER.findall(text)
    if not letters:
        return default
    # Most messages are plain ASCII: no script but Latin, no Vietnamese letters, nothing more to look for.
    if not text.isascii():
        by_script = _language_of_script(text, len(letters))
        if by_script is not None:
            return by_script
    words = _without_loan_phrases([word.lower() for word in _WORD.findall(text)])
    spanish = sum(
        _is_spanish_cue(word) and not _english_prefix(word, following)
        for word, following in zip(words, [*words[1:], ""], strict=True)
    )
    english = sum(word in _ENGLISH_WORDS for word in words)
    other = _other_latin_language(words)
    if other is not None:
        return other
    if _is_pinyin(words):
        return PINYIN
    if spanish > english:
        return "es" if english == 0 or spanish >= 2 else _lingua(text, default)
    if english > spanish:
        return "en" if spanish == 0 or english >= 2 else _lingua(text, default)
    return _lingua(text, default)


# English phrases borrowed whole from French, whose "de" is no Spanish cue ("cul de sac never gets plowed").
_LOAN_PHRASES: Final = (("cul", "de", "sac"),)


def _without_loan_phrases(words: list[str]) -> list[str]:
    kept: list[str] = []
    at = 0
    while at < len(words):
        phrase = next((p for p in _LOAN_PHRASES if tuple(words[at : at + len(p)]) == p), None)
        if phrase is None:
            kept.append(words[at])
            at += 1
        else:
            at += len(phrase)
    return kept


def _is_spanish_cue(word: str) -> bool:
    return word in _SPANISH_WORDS or fold(word) in _SPANISH_TERMS


def _english_prefix(word: str, following: str) -> bool:
    """ "un" written apart from an English participle ("Un shoveled sidewalk", "un-plowed"): not Spanish."""
    return word == "un" and following.endswith("ed")


def _language_of_script(text: str, letters: int) -> str | None:
    """Japanese or Chinese by their characters, Vietnamese or Polish by their own letters, or the language
    named by a script a fifth of the letters are written in (the rest are often an English street name)."""
    han = len(_HAN.findall(text))
    kana = len(_KANA.findall(text))
    # Japanese text is often mostly kanji: a little kana among them tells it from Chinese.
    if kana and (han + kana) / letters >= 0.2 and kana >= min(3, han):
        return "ja"
    # Chinese messages often carry Latin street names ("Market街"): a fifth of Han letters is plenty.
    if han and han / letters >= 0.2:
        return "zh"
    if len(_VIETNAMESE_LETTERS.findall(text)) >= 2:
        return "vi"
    if len(_POLISH_LETTERS.findall(text)) >= 2:
        return "pl"
    for language, script in _SCRIPTS:
        if len(script.findall(text)) * 5 >= letters:
            for variant, own_letters in _SCRIPT_VARIANTS.get(language, ()):
                if own_letters.search(text):
                    return variant
            return language
    return None


def _other_latin_language(words: list[str]) -> str | None:
    """Another language in Latin script, by its own words: at least two, and more than the English or
    Spanish cue words it does not share."""
    counts: dict[str, int] = {}
    for word in words:
        languages = _OTHER_WORD_LANGUAGES.get(word, frozenset())
        if not languages and _PORTUGUESE_SPELLING.fullmatch(word):
            languages = frozenset({"pt"})
        for language in languages:
            counts[language] = counts.get(language, 0) + 1
    best: tuple[int, str] | None = None
    for language, count in counts.items():
        shared = _SHARED_CUES.get(language, frozenset())
        against = max(
            sum(
                word not in shared and (word in _SPANISH_WORDS or fold(word) in _SPANISH_TERMS)
                for word in words
            ),
            sum(word not in shared and word in _ENGLISH_WORDS for word in words),
        )
        if count >= 2 and count > against and (best is None or count > best[0]):
            best = (count, language)
    return best[1] if best is not None else None


def _is_pinyin(words: list[str]) -> bool:
    """Whether ``words`` are Chinese in pinyin ("jie deng huai le", "lù dēng huài le zai Market St"): two
    thirds of them syllables of pinyin ("men", "la" too), and more of those what only pinyin writes than
    there are English or Spanish cue words ("la", "y": "La acera tiene nieve y hielo" is Spanish)."""
    shaped = [word for word in map(fold, words) if _PINYIN_WORD.fullmatch(word)]
    own = [
        word
        for word in shaped
        if _PINYIN_OWN.search(word)
        and word not in common_words()
        and word not in _ENGLISH_WORDS
        and not _is_spanish_cue(word)
    ]
    cues = sum(word in _ENGLISH_WORDS or _is_spanish_cue(word) for word in words)
    return len(own) >= max(_MIN_PINYIN_OWN_WORDS, cues + 1) and 3 * len(shaped) >= 2 * len(words)


def _lingua(text: str, default: str) -> str:
    """lingua's answer when it is clear; the default language (most messages' language) when not."""
    values = _detector().compute_language_confidence_values(text)
    if not values or values[0].value < _LINGUA_MIN_CONFIDENCE:
        return default
    return _LINGUA_TO_CODE.get(values[0].language, default)


def warm_up() -> None:
    """Loads lingua's models now rather than on the first message."""
    _detector()
