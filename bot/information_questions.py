"""Questions that ask the city for information, not to fix anything: "what are your hours on Sunday?", "is
the trash pickup delayed for thanksgiving", "How do I get a parking permit?", "¿a qué hora abren?",
"营业时间是几点？".

The classifier reads what a message is about, not what it asks: "hours on Sunday" read as noise (0.73),
"parking permit" as illegal parking, and the trash question as a missed collection, so each was asked
"Where is it?" and the answer filed with the question as its description (a resident's "I live at 1200
Clay St" made a public Missed Trash request). These forms are questions about a service's hours, schedule or
paperwork whatever their topic; the conversation answers them as no report (``not_a_report``: what the bot
takes, and the city's contact where the city gave one).

Only the whole message counts, one sentence, and only when it opens as such a question: "the trash pickup
was missed again, is it delayed?" is a report, as is "Can someone fix the pothole?".
"""

from __future__ import annotations

import re
from typing import Final

from intents.lexicon import fold

# What an office or a service has that a resident asks after.
_ABOUT: Final = (
    r"(?:hours|opening hours|office hours|business hours|hours of operation|schedule|phone number|number"
    r"|address|email|website|fax)"
)
_SERVICE: Final = (
    r"(?:trash|garbage|recycling|compost|yard waste|bulk item|bulky item|pickup|pick up|collection"
    r"|street cleaning|street sweeping|sweeping|parking enforcement|meter enforcement|leaf collection"
    r"|christmas tree pickup|tree pickup)"
)
_OFFICE: Final = (
    r"(?:you|you guys|y'all|311|the office|your office|city hall|the city|the dmv|dmv|the library"
    r"|the \w+ (?:office|department|dept|center|centre))"
)
_PAPERWORK: Final = (
    r"(?:get|apply for|request|renew|pay|obtain|sign up for|register|find out|contact|reach|buy|order"
    r"|schedule|dispute|appeal|contest)"
)
_ENGLISH: Final = re.compile(
    r"(?:"
    rf"(?:what|which) (?:are|is) (?:your|the|their|its|311's|the city's) {_ABOUT}"
    r"|what time (?:does|do|is|are|will)"
    rf"|(?:are|is) {_OFFICE} (?:open|closed)"
    rf"|when (?:are|is|does|do) {_OFFICE} (?:open|close|closed|opening|closing)"
    rf"|(?:is|are|will) (?:the |my |our )?{_SERVICE}(?: \w+){{0,3}}"
    r" (?:be )?(?:delayed|cancelled|canceled|postponed|moved|rescheduled|happening|still on|on schedule"
    r"|on for|on this|on next|on today|on tomorrow|today|tomorrow|this week|next week|on the)"
    rf"|(?:is there|will there be|are there) (?:any )?{_SERVICE}"
    rf"|how (?:do|can|would|should|does one) (?:i|we|one|you) {_PAPERWORK} (?:a|an|my|our|the)\b"
    r"(?! (?:city|someone|somebody|crew) to)"
    r"|(?:where|who) (?:do|can|should) (?:i|we) (?:get|go to|pay|apply|find|buy|drop off|bring|call about)"
    r" (?:a|an|my|our|the)\b"
    r"|(?:do|does|can) (?:you|the city|311) (?:sell|offer|issue|provide) "
    r")",
)
_SPANISH: Final = re.compile(
    r"(?:"
    r"(?:como|donde) (?:consigo|obtengo|saco|pago|solicito|renuevo|tramito|puedo (?:obtener|conseguir|sacar"
    r"|pagar|solicitar|renovar|tramitar))"
    r"|a que hora (?:abren|cierran|abre|cierra|esta|estan)"
    r"|(?:cual|que) (?:es|son) (?:el|los|su|sus) (?:horario|horarios|telefono|numero|direccion)"
    r"|(?:esta|estan) (?:abiert[oa]s?|cerrad[oa]s?)"
    r"|(?:hay|habra) (?:recoleccion|recogida) de (?:basura|reciclaje)"
    r")",
)
_CHINESE: Final = re.compile(
    "营业时间|營業時間|办公时间|辦公時間|开放时间|開放時間|几点(?:开|关|開|關|上班|下班)|幾點(?:開|關|开|关|上班|下班)"
    "|(?:怎么|怎麼|如何|点样|點樣)(?:申请|申請|办理|辦理|办|辦|拎|攞|交|缴|繳)"
    "|(?:在哪里|在哪裡|去边度|去邊度)(?:申请|申請|办理|辦理|办|辦|交|缴|繳)"
)
# One sentence asking: no full stop, exclamation or question mark before its end.
_ONE_SENTENCE: Final = re.compile(r"(?s)[^.!?。！？]+[.!?。！？\s]*")
_OPENING: Final = re.compile(
    r"^[\s¿¡\"'(]*(?:(?:hi|hello|hey|hola|excuse me|quick question|question)[,:!\s]+)?"
)


def is_one_sentence(text: str) -> bool:
    """Whether ``text`` is one sentence: no full stop, exclamation or question mark before its end."""
    return _ONE_SENTENCE.fullmatch(text.strip()) is not None


def asks_for_information(text: str) -> bool:
    """Whether ``text`` is one sentence asking for information about a service or an office (see the
    module's docstring), in English, Spanish or Chinese."""
    if not is_one_sentence(text):
        return False
    plain = " ".join(text.lower().replace("’", "'").split())
    plain = _OPENING.sub("", plain, count=1)
    if _CHINESE.search(plain.replace(" ", "")):
        return True
    return bool(_ENGLISH.match(plain) or _SPANISH.match(fold(plain)))
