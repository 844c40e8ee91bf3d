"""A small Spanish and Chinese lexicon that glosses the common 311 problems into the English words the
classifier was trained on.

The labelled data is English; residents also write in Spanish and Chinese. Rather than pretend to a
translation model, the classifier reads the message followed by the English gloss of every lexicon term
found in it ("hay un bache en la calle" → "... pothole street"). Spanish terms are matched on word
boundaries after folding accents; Chinese terms by substring, since Chinese is written without spaces.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Spanish (accents folded, lower case) → English. Longer phrases are tried first.
SPANISH: Final[dict[str, str]] = {
    # potholes and the road
    "bache": "pothole",
    "baches": "potholes",
    "hoyo": "pothole",
    "hoyos": "potholes",
    "hueco": "pothole",
    "huecos": "potholes",
    "pavimento": "pavement road",
    "carretera": "road",
    "calle": "street",
    "alcantarilla": "manhole catch basin",
    "tapa de alcantarilla": "manhole cover",
    # sidewalks
    "acera": "sidewalk",
    "banqueta": "sidewalk",
    "vereda": "sidewalk",
    "bordillo": "curb",
    "rampa": "ramp",
    "agrietada": "cracked",
    "rota": "broken",
    "roto": "broken",
    "rotas": "broken",
    "rotos": "broken",
    # trash and cleaning
    "basura": "trash litter",
    "desperdicios": "litter",
    "sucio": "dirty",
    "sucia": "dirty",
    "vidrio": "glass",
    "vidrios": "broken glass",
    "jeringa": "needle syringe",
    "jeringas": "needles syringes",
    "agujas": "needles",
    "excremento": "feces waste",
    "heces": "feces",
    "caca": "poop",
    "animal muerto": "dead animal",
    "hojas": "leaves",
    "papelera": "litter basket",
    "bote de basura": "trash can",
    "contenedor": "bin",
    "recoleccion": "collection pickup",
    "recogieron": "picked up collection",
    "no recogieron la basura": "missed trash pickup collection",
    "reciclaje": "recycling",
    "tiraron": "dumped",
    "tirado": "dumped",
    "abandonado en la acera": "dumped on sidewalk",
    "colchon": "mattress dumped",
    "colchones": "mattresses dumped",
    "muebles": "furniture dumped",
    "sofa": "couch dumped",
    "llantas": "tires dumped",
    "escombros": "construction debris",
    "vertedero": "dumping",
    # graffiti
    "grafiti": "graffiti",
    "grafitis": "graffiti",
    "graffiti": "graffiti",
    "pintadas": "graffiti",
    "pintada": "graffiti",
    "vandalismo": "vandalism graffiti",
    # lights and signals
    "farola": "streetlight",
    "farolas": "streetlights",
    "poste de luz": "streetlight pole",
    "luz de la calle": "streetlight",
    "alumbrado": "streetlight",
    "luz": "light",
    "apagada": "out",
    "apagado": "out",
    "no funciona": "out not working",
    "parpadea": "flickering",
    "semaforo": "traffic signal light",
    "semaforos": "traffic signals",
    "senal": "sign",
    "senal de alto": "stop sign",
    "letrero": "sign",
    "paso de peatones": "crosswalk",
    "reductor de velocidad": "speed bump",
    "tumulo": "speed bump",
    # vehicles and parking
    "coche abandonado": "abandoned car vehicle",
    "carro abandonado": "abandoned car vehicle",
    "auto abandonado": "abandoned car vehicle",
    "vehiculo abandonado": "abandoned vehicle",
    "abandonado": "abandoned",
    "estacionado": "parked",
    "estacionada": "parked",
    "estacionados": "parked",
    "aparcado": "parked",
    "bloqueando": "blocking",
    "bloquea": "blocking",
    "entrada": "driveway",
    "cochera": "driveway",
    "hidrante": "hydrant",
    "doble fila": "double parked",
    "estacionamiento": "parking",
    # trees
    "arbol": "tree",
    "arboles": "trees",
    "rama": "branch",
    "ramas": "branches",
    "caido": "fallen down",
    "caida": "fallen down",
    "maleza": "overgrown weeds",
    "hierba": "weeds grass",
    "raices": "roots",
    "podar": "prune",
    # encampments
    "campamento": "encampment",
    "carpa": "tent encampment",
    "carpas": "tents encampment",
    "tienda de campana": "tent encampment",
    "sin hogar": "homeless",
    "indigente": "homeless",
    "indigentes": "homeless",
    "personas sin hogar": "homeless people",
    "durmiendo": "sleeping",
    # noise
    "ruido": "noise",
    "ruidoso": "loud noise",
    "ruidosa": "loud noise",
    "musica alta": "loud music noise",
    "musica": "music",
    "fiesta": "party",
    "ladrando": "barking dog noise",
    "ladra": "barking dog noise",
    "alarma": "alarm",
    # water and sewer
    "agua": "water",
    "fuga": "leak",
    "fuga de agua": "water leak",
    "inundacion": "flooding",
    "inundada": "flooded",
    "inundado": "flooded",
    "drenaje": "drain",
    "desague": "storm drain",
    "tapado": "clogged",
    "tapada": "clogged",
    "obstruido": "clogged",
    "alcantarillado": "sewer",
    "aguas negras": "sewage",
    "olor": "odor smell",
    # snow and ice
    "nieve": "snow",
    "hielo": "ice",
    "helada": "icy",
    "resbaloso": "icy slippery",
    "palear": "shovel",
    "quitanieves": "plow",
    "sal": "salt",
    # pests
    "ratas": "rats",
    "rata": "rat",
    "ratones": "mice",
    "raton": "mouse",
    "roedores": "rodents",
    "cucarachas": "roaches insects",
    "plaga": "pests",
    "palomas": "pigeons",
    "mosquitos": "mosquitoes",
}

# Chinese (simplified and traditional) → English.
CHINESE: Final[dict[str, str]] = {
    "坑洼": "pothole",
    "坑洞": "pothole",
    "路坑": "pothole",
    "坑": "pothole",
    "路面": "road surface",
    "道路": "road",
    "马路": "road street",
    "馬路": "road street",
    "街": "street",
    "井盖": "manhole cover",
    "井蓋": "manhole cover",
    "人行道": "sidewalk",
    "行人路": "sidewalk",
    "路缘": "curb",
    "裂": "cracked",
    "破": "broken",
    "坏": "broken",
    "壞": "broken",
    "垃圾": "trash litter",
    "脏": "dirty",
    "髒": "dirty",
    "玻璃": "glass",
    "针头": "needles syringe",
    "針頭": "needles syringe",
    "粪便": "feces waste",
    "糞便": "feces waste",
    "狗屎": "dog poop",
    "死动物": "dead animal",
    "死動物": "dead animal",
    "树叶": "leaves",
    "樹葉": "leaves",
    "没有收": "missed pickup collection",
    "沒有收": "missed pickup collection",
    "没收垃圾": "missed trash pickup collection",
    "收垃圾": "trash pickup collection",
    "回收": "recycling",
    "垃圾桶": "trash bin",
    "倾倒": "dumped",
    "丢弃": "dumped",
    "丟棄": "dumped",
    "床垫": "mattress dumped",
    "床墊": "mattress dumped",
    "沙发": "couch dumped",
    "沙發": "couch dumped",
    "家具": "furniture dumped",
    "傢俱": "furniture dumped",
    "轮胎": "tires dumped",
    "輪胎": "tires dumped",
    "建筑垃圾": "construction debris",
    "涂鸦": "graffiti",
    "塗鴉": "graffiti",
    "乱涂": "graffiti",
    "喷漆": "graffiti spray paint",
    "噴漆": "graffiti spray paint",
    "路灯": "streetlight",
    "路燈": "streetlight",
    "街灯": "streetlight",
    "街燈": "streetlight",
    "灯不亮": "light out",
    "燈不亮": "light out",
    "不亮": "out",
    "闪烁": "flickering",
    "閃爍": "flickering",
    "红绿灯": "traffic signal",
    "紅綠燈": "traffic signal",
    "交通灯": "traffic signal",
    "交通燈": "traffic signal",
    "信号灯": "traffic signal",
    "停车标志": "stop sign",
    "停車標誌": "stop sign",
    "路牌": "street sign",
    "标志": "sign",
    "標誌": "sign",
    "斑马线": "crosswalk",
    "斑馬線": "crosswalk",
    "减速带": "speed bump",
    "減速帶": "speed bump",
    "废弃车辆": "abandoned vehicle",
    "廢棄車輛": "abandoned vehicle",
    "废弃": "abandoned",
    "廢棄": "abandoned",
    "弃车": "abandoned car",
    "棄車": "abandoned car",
    "违章停车": "illegal parking",
    "違章停車": "illegal parking",
    "违规停车": "illegal parking",
    "違規停車": "illegal parking",
    "乱停车": "illegal parking",
    "亂停車": "illegal parking",
    "停车": "parking parked",
    "停車": "parking parked",
    "挡住": "blocking",
    "擋住": "blocking",
    "堵住": "blocking",
    "车道": "driveway",
    "車道": "driveway",
    "消防栓": "hydrant",
    "树": "tree",
    "樹": "tree",
    "树枝": "branch",
    "樹枝": "branch",
    "倒下": "fallen down",
    "杂草": "overgrown weeds",
    "雜草": "overgrown weeds",
    "树根": "roots",
    "樹根": "roots",
    "修剪": "prune",
    "帐篷": "tent encampment",
    "帳篷": "tent encampment",
    "露宿": "homeless sleeping outside",
    "无家可归": "homeless",
    "無家可歸": "homeless",
    "流浪汉": "homeless",
    "流浪漢": "homeless",
    "噪音": "noise",
    "吵": "loud noise",
    "音乐": "music",
    "音樂": "music",
    "派对": "party",
    "派對": "party",
    "狗叫": "barking dog noise",
    "警报": "alarm",
    "警報": "alarm",
    "漏水": "water leak",
    "水管": "water pipe",
    "积水": "flooding",
    "積水": "flooding",
    "水浸": "flooding",
    "淹水": "flooding",
    "下水道": "sewer drain",
    "排水沟": "storm drain",
    "排水溝": "storm drain",
    "堵塞": "clogged",
    "臭": "odor smell",
    "污水": "sewage",
    "雪": "snow",
    "冰": "ice",
    "结冰": "icy",
    "結冰": "icy",
    "铲雪": "shovel snow",
    "鏟雪": "shovel snow",
    "老鼠": "rats",
    "鼠": "rodents",
    "蟑螂": "roaches insects",
    "害虫": "pests",
    "害蟲": "pests",
    "鸽子": "pigeons",
    "鴿子": "pigeons",
}


# Other American cities' words for what Boston's messages (the training data) say otherwise: matched in
# lower case and glossed with Boston's words, like a Spanish term. A tag is graffiti where it is on a
# surface, fresh or sprayed (in Boston "tags" are licence plates and a "tagged" car got a ticket).
_SURFACES = (
    r"walls?|building|bridge|underpass|overpass|door|garage|fence|mailbox|side of|box|pole|bench|mural"
    r"|dumpster|storefront|train|bus|supports?|sound wall|sign"
)
REGIONAL: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (
        re.compile(
            r"\b(?:(?:fresh|new|gang|bad|more|huge) (?:tags|tagging)|bombed with tags|tagged up|tags? sprayed"
            r"|(?:tags?|tagging|tagged)(?: on| all over| across)? (?:the |a |our |my |their )?(?:\w+ ){0,2}"
            rf"(?:{_SURFACES}))\b"
        ),
        "graffiti",
    ),
    (re.compile(r"\brim[- ]?benders?\b"), "pothole"),  # the Midwest's deep pothole
    (re.compile(r"\bdibs\b"), "space saver"),  # Chicago's chairs holding a shovelled parking space
    (re.compile(r"\bneutral ground\b"), "median"),  # New Orleans
)


def fold(text: str) -> str:
    """Lower case without accents: how Spanish terms are matched ("Semáforo" → "semaforo")."""
    if text.isascii():  # most messages: nothing to decompose
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _spanish_pattern() -> re.Pattern[str]:
    terms = sorted(SPANISH, key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(term) for term in terms) + r")(?!\w)")


def _chinese_pattern() -> re.Pattern[str]:
    terms = sorted(CHINESE, key=len, reverse=True)
    return re.compile("|".join(re.escape(term) for term in terms))


_SPANISH_TERMS: Final = _spanish_pattern()
_CHINESE_TERMS: Final = _chinese_pattern()
_HAN: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def english_gloss(text: str) -> str:
    """The English words for every Spanish, Chinese or regional lexicon term in ``text`` ("" when there are
    none)."""
    folded = fold(text)
    glosses = [SPANISH[match.group(1)] for match in _SPANISH_TERMS.finditer(folded)]
    glosses.extend(gloss for pattern, gloss in REGIONAL if pattern.search(folded))
    if _HAN.search(text):
        glosses.extend(CHINESE[match.group(0)] for match in _CHINESE_TERMS.finditer(text))
    return " ".join(glosses)


def with_gloss(text: str) -> str:
    """``text`` followed by its English gloss: what the classifier reads."""
    gloss = english_gloss(text)
    return f"{text} {gloss}" if gloss else text
