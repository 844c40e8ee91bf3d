"""Messages that sound like an emergency: gas, fire, a downed power line, a person hurt or collapsed, a crime
under way ("smells like gas???", "there is a fire in the dumpster at 16th and Valencia", "a man collapsed
on the sidewalk at Castro and 18th", "huele a gas", "闻到煤气味").

311 is not watched around the clock and is no emergency line. Before, such a message was answered like any
other ("Thanks. A person will look at your report and get back to you here.", or "I cannot answer questions
here" for the gas smell), hours perhaps before a person read it. The conversation now tells the resident to
call 911 first (``emergency`` in the reply templates, which a city rewords for its own number), then goes
on as usual: a downed line or a gas smell is also a report the city wants.

The cues lean towards telling: a notice sent for a metaphor ("this block is a dumpster fire") costs a
sentence; one not sent for a gas leak may cost a life. Objects that only share a word ("fire hydrant",
"fire lane", "fireworks", "the sidewalk collapsed") are no cue.
"""

from __future__ import annotations

import re
from typing import Final

from intents.lexicon import fold

_PERSON: Final = r"(?:man|woman|person|someone|somebody|guy|lady|kid|child|boy|girl|he|she|they|people)"
_ENGLISH: Final = re.compile(
    r"\b(?:"
    # Gas (natural gas, not "gasoline"; "gas station" is no leak).
    r"smell(?:s|ing|ed)? (?:of |like )?(?:natural )?gas\b|gas (?:leak|smell|odou?r)|leaking gas"
    r"|carbon monoxide"
    # Fire and smoke ("fire hydrant", "fire lane", "fire escape" and "fireworks" are not).
    r"|on fire|(?:is|are|was) burning|flames|(?:house|building|car|brush|grass|dumpster|trash|garage) fire"
    r"|(?:a|the) fire (?:in|at|on|inside|behind|near|across|next)\b|smoke (?:coming|pouring|billowing)"
    # Electricity.
    r"|(?:power|electric(?:al)?|live|utility|hydro) (?:lines?|wires?|cables?) (?:is |are )?(?:down|sparking"
    r"|on the ground|fell|fallen|hanging low|arcing)"
    r"|(?:downed|fallen) (?:power |electric(?:al)? |live |utility )?(?:lines?|wires?|cables?)"
    r"|wires? (?:are |is )?sparking|sparking wires?|transformer (?:blew|exploded|on fire|sparking)"
    # A person in danger.
    r"|(?:not|isn'?t|stopped) breathing|unconscious|unresponsive|overdos(?:e|ed|ing)|heart attack|seizure"
    rf"|{_PERSON} (?:has |just |have )?(?:collapsed|passed out|fainted)"
    rf"|{_PERSON} (?:is|are|got|was|were|been|has been|have been) (?:badly |seriously )?"
    r"(?:hurt|injured|bleeding|shot|stabbed|hit by a car|trapped)"
    # A crime under way.
    r"|shots? fired|gunshots?|gun ?fire"
    r"|(?:breaking|broke) into (?:a |my |our |the )?(?:cars?|house|home|apartment|building|store)"
    r"|(?:has|with|waving|pointing) a (?:gun|knife)|being (?:attacked|robbed|assaulted|mugged)"
    r")"
)
_SPANISH: Final = re.compile(
    r"\b(?:"
    r"huele a gas|olor a gas|fuga de gas|escape de gas|incendio|se esta quemando|en llamas|fuego en"
    r"|cables? (?:electricos? |de luz )?(?:caidos?|en el suelo|echando chispas|sacando chispas)|chispas"
    r"|herid[oa]s?|inconsciente|no respira|se desmayo|sobredosis|disparos|balazos|balacera"
    r")\b"
)
_CHINESE: Final = re.compile(
    r"(?:煤气|燃气|天然气|瓦斯)(?:泄漏|泄露|味|漏)|闻到(?:煤气|燃气|天然气|瓦斯|气味)|着火|起火|火灾|失火"
    r"|电线(?:掉|断|落|冒火|着火|冒火花)|有人(?:受伤|昏倒|晕倒|倒地|中枪|被打)|昏迷|不省人事|没有呼吸|枪声|开枪"
)


def sounds_like_an_emergency(text: str) -> bool:
    """Whether ``text`` tells of danger to someone now: gas, fire, a live wire, a person hurt, a crime under
    way (English, Spanish, Chinese)."""
    folded = fold(text)
    return bool(_ENGLISH.search(folded) or _SPANISH.search(folded) or _CHINESE.search(text))
