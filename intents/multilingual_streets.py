"""Streets as Spanish and Chinese speakers write them, for the location finder (``intents.locations``).

Spanish puts the street type first ("la calle 24 y Mission", "avenida Mission"; a bare number after
"calle" is a numbered street: "calle 24" is 24th Street). Chinese puts 街/路/大道 after the name
("Stockton街", "市场街", "第五街") and joins corners with 和/与 ("Kearny和Clay"); an address ends in 号
("Mission街2000号"). Names in Han characters keep their own script as the normalised form.
"""

from __future__ import annotations

import re

from intents.streets import SUFFIXES, normalize_street, split_trailing_direction

# An English suffix may follow the name ("5th St y Market St"): it belongs to the street, so the name
# never starts at the suffix ("St y Market St" is no corner).
_ENGLISH_SUFFIX = (
    r"(?i:st|street|ave|avenue|av|blvd|boulevard|rd|road|dr|drive|ln|lane|pl|ct|ter|pkwy|hwy)\b\.?"
)
_NAME_WORD = rf"(?!{_ENGLISH_SUFFIX})[A-ZÁÉÍÓÚÑ][\w']+"
# Up to three capitalised words, joined by "de", "del", "de la" ("Paseo del Prado"). A direction may open it
# ("y W Van Buren St", "y N 10th St"): Phoenix and Chicago write one before most names.
_SPANISH_NAME = (
    rf"(?:(?:[NSEW]|N[EW]|S[EW])\.?\s+)?(?:\d{{1,3}}(?:st|nd|rd|th|a|va|ta)?\b(?:\s+(?i:avenida|calle)\b)?|{_NAME_WORD}(?:\s+(?:de\s+la\s+|de\s+los\s+|del?\s+)?{_NAME_WORD}){{0,2}})"
    rf"(?:\s+{_ENGLISH_SUFFIX})?"
)
# At a corner one side may be a word in lower case ("la 24 y mission", "folsom y 22"): the finder keeps it
# only when it is a known street name, no everyday word, and the other side a number or a typed street.
# Before "y", only before a number, so that it never swallows the start of another street ("basura y la
# calle Mission").
_LOWER_NAME = rf"(?!{_ENGLISH_SUFFIX})\b[a-záéíóúñ][a-záéíóúñ']+(?:\s+{_ENGLISH_SUFFIX})?"
SPANISH_STREET = re.compile(
    rf"(?:\b(?P<kind1>[Cc]alle|[Aa]venida|[Aa]v\.)\s+)?"
    rf"(?P<name1>{_SPANISH_NAME}|{_LOWER_NAME}(?=\s+(?:y|con)\s+(?:la\s+)?\d))"
    rf"(?:\s+(?:y|con|esquina\s+con)\s+(?:la\s+)?(?:(?P<kind2>[Cc]alle|[Aa]venida|[Aa]v\.)\s+)?"
    rf"(?P<name2>{_SPANISH_NAME}|{_LOWER_NAME}))?"
)
# San Francisco's streets whose names are Spanish words, as Spanish speakers spell them: "Misión",
# "Mision" (accents go with ``normalize_street``: "Peña" is PENA).
_SPANISH_STREET_NAMES = {"MISION": "MISSION"}
# A street in Chinese text: an English name with or without 街/路 ("Kearny", "Stockton街"), a numbered
# street ("第五街"), or two to four Han characters ending in 街/路/大道 ("市场街"), not 路灯 (street light),
# 路口 (crossing), 路面, 路边, 街角. A leading 在/从/到 ("at", "from", "to") is not part of the name.
# An English name, which may start with an ordinal ("5th Ave") and end with its suffix ("Pine St").
# A Han character is a word character to ``re``: "和22nd Ave" has no word boundary before the 2, so the
# ordinal is marked off by what is no letter or digit ("Clement街和5th Ave" was Clement St alone).
_LATIN_NAME = (
    r"(?:(?<![A-Za-z0-9])\d{1,3}(?:st|nd|rd|th)(?![A-Za-z0-9])|[A-Z][A-Za-z.']*)(?: [A-Z][A-Za-z.']*){0,2}"
)
# Two to four Han characters that can be a name: not a pronoun, demonstrative, measure word or particle
# ("我们这条街" is "our street", "家附近的" is "near my home"), simplified, traditional or Cantonese
# ("這條街", "呢條街" this street; "嘅行人路" 's sidewalk; 喺 "at").
_HAN_NAME = (
    r"(?:(?![的了在从到于这那个条里家附近我你他她它们有是把被和与"
    r"從於這個條裡們與喺嘅呢咗])[\u4e00-\u9fff]){2,4}?"
)
# Words ending in 街/路 that name no street: 唐人街 is Chinatown, a neighbourhood ("唐人街Stockton街同
# Washington街" was read as a street 唐人街, not the corner after it); 行人路 a sidewalk, 马路 the road.
_NOT_STREETS = ("唐人街", "行人路", "马路", "馬路")
_STREET_TYPE = r"(?:街|路|大道)(?![灯口面边角旁燈邊])"
_HAN_STREET = rf"{_HAN_NAME}{_STREET_TYPE}{''.join(f'(?<!{word})' for word in _NOT_STREETS)}"
# "第五街", and in digits "19大道" / "19 大道" (19th Avenue).
_NUMBERED = r"(?:第[一二三四五六七八九十]{1,3}|(?<!\d)\d{1,3}\s*)(?:街|路|大道)"
# A name starts after 在/从/到/于 (從/於, Cantonese 喺), after no Han character, or, in digits, after any
# word ("有16街和Mission": it was read from its last digit, 6街, another street 1.7 km away). An English
# name starts after any Han character ("喺Jackson街同Powell街", "唐人街Stockton街"), never inside a word.
_CHINESE_START = r"(?:(?<=[在从到于從於喺])|(?<![\u4e00-\u9fff])|(?<!\d)(?=\d)|(?<![A-Za-z])(?=[A-Z]))"
# 街/路 after an English name, but not the 路 of 路口 ("Market St路口", at the crossing).
_CHINESE_NAME = rf"(?:{_LATIN_NAME}(?:\s*{_STREET_TYPE})?|{_NUMBERED}|{_HAN_STREET})"
CHINESE_CORNER = re.compile(rf"{_CHINESE_START}({_CHINESE_NAME})\s*(?:和|与|與|跟|同)\s*({_CHINESE_NAME})")
CHINESE_ADDRESS = re.compile(
    rf"{_CHINESE_START}({_LATIN_NAME}(?:\s*{_STREET_TYPE})?|{_NUMBERED}|{_HAN_STREET})\s*(\d{{1,5}})\s*[号號]"
)
CHINESE_STREET = re.compile(rf"{_CHINESE_START}(?:{_LATIN_NAME}\s*{_STREET_TYPE}|{_NUMBERED}|{_HAN_STREET})")
# Named places, Spanish head first ("parque Lincoln", "Escuela Cesar Chavez"), Chinese head last
# ("金门公园", "Dolores公园"). The normalised form puts the English head after the name ("LINCOLN PARK").
_SPANISH_HEADS = {
    "parque": "PARK",
    "plaza": "PLAZA",
    "escuela": "SCHOOL",
    "biblioteca": "LIBRARY",
    "iglesia": "CHURCH",
    "hospital": "HOSPITAL",
    "estación": "STATION",
    "estacion": "STATION",
    "mercado": "MARKET",
}
SPANISH_PLACE = re.compile(
    rf"(?i:\b(?P<head>{'|'.join(_SPANISH_HEADS)}))\s+(?:(?:de\s+la|del?)\s+)?"
    rf"(?P<name>{_NAME_WORD}(?:\s+(?:(?:de\s+la|del?)\s+)?{_NAME_WORD}){{0,2}})"
)
_CHINESE_HEADS = {
    "公园": "PARK",
    "公園": "PARK",
    "广场": "PLAZA",
    "廣場": "PLAZA",
    "图书馆": "LIBRARY",
    "圖書館": "LIBRARY",
    "小学": "ELEMENTARY SCHOOL",
    "小學": "ELEMENTARY SCHOOL",
    "中学": "SCHOOL",
    "中學": "SCHOOL",
    "学校": "SCHOOL",
    "學校": "SCHOOL",
    "医院": "HOSPITAL",
    "醫院": "HOSPITAL",
    "教堂": "CHURCH",
}
CHINESE_PLACE = re.compile(
    rf"(?:(?P<latin>{_LATIN_NAME})\s*|(?P<han>{_HAN_NAME}))(?P<head>{'|'.join(_CHINESE_HEADS)})"
)
# San Francisco's streets as its Chinese-language signs and press name them (simplified and traditional):
# the literal "市场街" for Market, and Chinatown's Cantonese names. Only names no other street could carry;
# a Han name not listed keeps its own script, and the geocoder finds nothing for it (the bot then asks).
_HAN_STREET_NAMES = {
    "市场": "MARKET",
    "市場": "MARKET",
    "都板": "GRANT",
    "士德顿": "STOCKTON",
    "士德頓": "STOCKTON",
    "企李": "CLAY",
    "沙加缅度": "SACRAMENTO",
    "沙加緬度": "SACRAMENTO",
    "华盛顿": "WASHINGTON",
    "華盛頓": "WASHINGTON",
    "积臣": "JACKSON",
    "積臣": "JACKSON",
    "坚尼": "KEARNY",
    "堅尼": "KEARNY",
    "百老汇": "BROADWAY",
    "百老匯": "BROADWAY",
    "加州": "CALIFORNIA",
    "吉利": "GEARY",
    "太平洋": "PACIFIC",
}
# San Francisco's places by their Chinese names, as the streets above: the name the gazetteer's landmarks
# know them by ("金门公园" was kept in Han, and the geocoder found it nowhere).
_HAN_PLACE_NAMES = {
    "金门公园": "GOLDEN GATE PARK",
    "金門公園": "GOLDEN GATE PARK",
    "联合广场": "UNION SQUARE",
    "聯合廣場": "UNION SQUARE",
    "华盛顿广场": "WASHINGTON SQUARE",
    "華盛頓廣場": "WASHINGTON SQUARE",
}
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _chinese_number(text: str) -> int | None:
    """ "五" -> 5, "十六" -> 16, "二十四" -> 24."""
    if not text or any(char not in _CHINESE_DIGITS for char in text):
        return None
    if "十" not in text:
        return _CHINESE_DIGITS[text[-1]] if len(text) == 1 else None
    tens, _, units = text.partition("十")
    return (_CHINESE_DIGITS[tens] if tens else 1) * 10 + (_CHINESE_DIGITS[units] if units else 0)


def chinese_name(written: str) -> str:
    """ "Stockton街" -> "STOCKTON ST", "第五街" -> "05TH ST", "Clay" -> "CLAY", "市场街" -> "MARKET ST",
    "金山街" -> "金山街" (a Han name not known in English keeps its script)."""
    text = written.strip()
    kind = next(
        (
            suffix
            for chinese, suffix in (("大道", "AVE"), ("街", "ST"), ("路", "ST"), ("巷", "ALY"))
            if text.endswith(chinese)
        ),
        None,
    )
    core = text[: -2 if text.endswith("大道") else -1].strip() if kind else text
    number = int(core) if core.isdigit() else _chinese_number(core.removeprefix("第"))
    if number is not None:
        core = str(number) + "th"
    core = _HAN_STREET_NAMES.get(core, core)
    if not core.isascii():
        return text
    # "Market St路口" (the crossing at Market St): the English name has its type already.
    if kind and core.split()[-1].upper().rstrip(".") in SUFFIXES:
        return normalize_street(core)
    return normalize_street(f"{core} {kind}" if kind else core)


# "27 Avenida", "8 Calle": a numbered street with its Spanish type after the number.
NUMBER_THEN_TYPE = re.compile(r"(\d+\w*)\s+(avenida|calle)", re.IGNORECASE)


def spanish_place_name(head: str, name: str) -> str:
    """ "parque", "Lincoln" -> "LINCOLN PARK"."""
    return f"{' '.join(name.upper().split())} {_SPANISH_HEADS[head.lower()]}"


def chinese_place(match: re.Match[str]) -> tuple[int, str]:
    """Where a place's name starts, and the name: "Dolores公园" -> "DOLORES PARK"; a known Han name in
    English, from where it starts ("去金门公园" -> "金门公园", "GOLDEN GATE PARK"); any other name in Han
    characters keeps its script: "湖心公园"."""
    if match.group("latin"):
        return (
            match.start(),
            f"{' '.join(match.group('latin').upper().split())} {_CHINESE_HEADS[match.group('head')]}",
        )
    known = next((name for name in _HAN_PLACE_NAMES if match.group().endswith(name)), None)
    if known is not None:
        return match.end() - len(known), _HAN_PLACE_NAMES[known]
    return match.start(), match.group()


def has_its_own_type(name: str) -> bool:
    """ "Whittier Blvd", "5th St", "35 Avenida": the name carries its street type, so a "calle" before it
    ("la calle Whittier Blvd") only says it is a street and is no part of the name; "Main", "Cesar Chavez"
    and "24" take "calle" as their type ("la calle Main" is MAIN ST)."""
    stripped = name.strip()
    if NUMBER_THEN_TYPE.fullmatch(stripped):
        return True
    return split_trailing_direction(normalize_street(stripped.rstrip(".")))[1] is not None  # "... St NW" too


def spanish_name(kind: str | None, name: str) -> str:
    """ "calle", "24" -> "24TH ST"; "avenida", "Mission" -> "MISSION AVE"; None, "Mission" -> "MISSION";
    None, "Misión" -> "MISSION"; None, "5th St" -> "05TH ST"."""
    # "27 Avenida": a number may come before the street type instead of after it.
    number_first = NUMBER_THEN_TYPE.fullmatch(name.strip())
    if number_first:
        kind, name = number_first.group(2), number_first.group(1)
    suffix = {"calle": "ST", "avenida": "AVE", "av.": "AVE"}.get((kind or "").lower())
    # "la calle 5th St": a name with its English type keeps it (it was "05TH SAINT ST", found nowhere).
    if suffix is not None and has_its_own_type(name):
        suffix = None
    # A Spanish ordinal ("24a", "16va") is the English one: normalize_street writes it as "24TH".
    number = re.fullmatch(r"(\d+)(?:st|nd|rd|th|a|va|ta)?", name.strip())
    core = f"{number.group(1)}th" if number else name.rstrip(".")
    normalized = normalize_street(f"{core} {suffix}" if suffix else core)
    return " ".join(_SPANISH_STREET_NAMES.get(word, word) for word in normalized.split())
