"""Words that point back at the resident's last report: "there's another one at 17th and Valencia", "same
problem at 5th and Mission", "otro más en la 24 y Mission", "这里又有一个"; and that its problem is still
there ("el hoyo sigue ahí", "仲未清晒").

The classifier cannot tell what "one" is, so such a report went to a person or offered choices; the
resident's last report says what it is. Only words with no problem of their own count ("another pothole"
is read by the classifier like any report), and only when the classifier is unsure.
"""

from __future__ import annotations

import re
from typing import Final

_BACK_REFERENCE: Final = re.compile(
    r"(?<!\w)(?:"
    r"another one|one more(?! (?:thing|question|time|day|week|night))|"
    r"another here|another there|here too|there too|"
    r"(?:the )?same (?:thing|issue|problem)(?: again| here| there)?|same again|same here|"
    r"otr[oa] más|un[oa] más|otr[oa] igual|lo mismo|(?:el )?mismo problema|aquí también|también aquí"
    r")(?!\w)",
    re.IGNORECASE,
)
_CHINESE: Final = re.compile(
    "又一个|又一個|又有一个|又有一個|还有一个|還有一個|也有一个|也有一個"
    "|同样的问题|同樣的問題|一样的问题|一樣的問題"
)


def refers_to_last_report(text: str) -> bool:
    """Whether ``text`` says its problem is the one the resident reported before."""
    return _BACK_REFERENCE.search(text) is not None or _CHINESE.search(text) is not None


# The problem of the last report is still there, after the city said it was dealt with ("pero no lo
# arreglaron bien, el hoyo sigue ahí", "仲未清晒"): the same place, most likely.
_STILL_THERE: Final = re.compile(
    r"(?<!\w)(?:"
    r"still (?:there|here|not fixed|broken|not done|not cleaned|not picked up)|"
    r"(?:was|wasn'?t|is|isn'?t|not|never) (?:really |properly )?fixed|(?:it'?s|it is) back|came back|"
    r"didn'?t (?:fix|clean|pick)|"
    r"sigue (?:ahí|ahi|aquí|aqui|igual|roto|rota|tirado|tirada|sin)|todav[ií]a (?:est[aá]|sigue|no)|"
    r"no (?:lo|la|los|las) (?:arreglaron|repararon|limpiaron|recogieron|quitaron)|volvi[oó] a|regres[oó]"
    r")(?!\w)",
    re.IGNORECASE,
)
_STILL_THERE_CHINESE: Final = re.compile(
    "还在|還在|仲喺度|仲喺|仲未|仲係|仲有|没修好|沒修好|冇整好|未整好|没弄好|沒弄好|又坏了|又壞了|又来了|又來了"
)


def says_it_is_still_there(text: str) -> bool:
    """Whether ``text`` says the problem of a report already made is still there (or back)."""
    return _STILL_THERE.search(text) is not None or _STILL_THERE_CHINESE.search(text) is not None
