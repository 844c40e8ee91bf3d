"""Cue words for each service code, written from the labelling guide's definitions (GUIDE.md).

They serve twice: as classifier features (a prior that carries to other cities' vocabulary), and as
high-precision weak labels for the unlabelled pool at training time (``weak_label``), where only a
message that triggers exactly one code's cues gets that code.

``GUIDE_EXAMPLES`` are short messages written from the same definitions, a few per code: the classifier
compares the sentence encoder's embedding of a message with theirs (``intents.classifier.guide_prior``), so
a message in words the labelled data never used still lands near the code whose definition it matches.
"""

from __future__ import annotations

import re
from typing import Final

_CUES: Final[dict[str, str]] = {
    "street_cleaning": (
        r"litter|loose trash|broken glass|glass (?:on|in|all)|spill(?:ed)?|needles?|syringes?|sharps"
        r"|human waste|feces|faeces|poop|dog (?:waste|mess|poop)|urine|vomit|dead (?:animal|rat|bird|cat|"
        r"raccoon|squirrel|dog|skunk|possum|opossum)|carcass|overflowing (?:trash|litter|barrel|basket|bin)"
        r"|litter basket|trash barrel|street sweep(?:ing|er)?|sweep|leaves|debris"
    ),
    "illegal_dumping": (
        r"dump(?:ed|ing)|mattress(?:es)?|couch(?:es)?|sofa|furniture|appliances?|refrigerator|fridge"
        r"|tires|tyres|construction debris|shopping carts?|abandoned bikes?|left on the sidewalk"
        r"|pile of (?:bags|trash|junk)"
    ),
    "missed_collection": (
        r"missed (?:trash|pick ?up|collection|recycling)|pick(?:ed)? ?up|not picked|wasn'?t picked"
        r"|trash (?:day|pick ?up|collection)|recycling|yard waste|bulk (?:item|pick)|collection"
        r"|toter|recycle bin|trash truck|garbage truck"
    ),
    # "Tags" alone are licence plates, and "tagged" a ticketed car, in Boston's messages; a tag on a wall is
    # glossed "graffiti" by ``intents.lexicon.REGIONAL`` and so found here.
    "graffiti": r"graff?it+i|grafitti|spray ?paint(?:ed|ing)?|spray cans?|vandali[sz]",
    "pothole": (
        r"pot ?holes?|road surface|pavement|sunken|sink ?hole|manhole|utility cover|asphalt|paving"
        r"|repave|crater"
    ),
    "sidewalk": (
        r"sidewalk (?:is )?(?:broken|cracked|damaged|raised|uneven|heaved|missing)|brick sidewalk"
        r"|missing bricks?|curb|kerb|ramp|trip(?:ping)? hazard|uneven"
    ),
    "streetlight": r"street ?lights?|lamp ?posts?|light poles?|lights? (?:is |are )?out|flicker|park lights?",
    "traffic_signal_sign": (
        r"traffic (?:light|signal)s?|signal|walk (?:signal|light|button)|pedestrian (?:signal|light)"
        r"|stop sign|street sign|signs?\b|speed bumps?|speed humps?|crosswalk (?:paint|marking)s?"
        r"|faded|lane markings?|speeding|traffic calming|yield"
    ),
    "abandoned_vehicle": (
        r"abandoned (?:car|vehicle|truck|van|suv)|hasn'?t (?:been )?moved|not moved|flat tires?"
        r"|junk car|expired (?:registration|plates?)|no plates?|has(?:n'?t| not) moved"
    ),
    "illegal_parking": (
        r"park(?:ed|ing)|double ?parked|blocking (?:the )?(?:driveway|hydrant|crosswalk|bike lane|alley)"
        r"|driveway|resident permit|space savers?|tow|ticket|meter"
    ),
    "tree": (
        r"trees?|branch(?:es)?|limbs?|stumps?|roots?|prun(?:e|ing)|overgrown|weeds|bushes|shrubs"
        r"|hedges?|vegetation|tree pit"
    ),
    "encampment": (
        r"homeless|encampment|tents?|sleeping (?:in|on|outside|under)|living (?:in|on|outside|under)"
        r"|camp(?:ing|ed)?|panhandl\w*|needs help|unresponsive|passed out"
    ),
    "noise": (
        r"noise|noisy|loud|music|part(?:y|ies)|bark(?:ing|s)?|alarm|construction (?:noise|hours)"
        r"|beeping|engines? (?:running|idling)|idling|revving|fireworks|yelling|screaming"
    ),
    "water_sewer": (
        r"water (?:leak|main|break)|leak(?:ing)?|hydrant|flood(?:ed|ing)?|catch ?basin|storm drain"
        r"|drain|sewer|sewage|backup|puddle|standing water|gushing"
    ),
    "snow_ice": (
        r"snow|shovel(?:ed|led|ing)?|unshovel(?:ed|led)|plow(?:ed|ing)?|plough|salt(?:ed|ing)?|sand(?:ed|ing)"
        r"|ice|icy|icicles?|slippery|sleet|frozen"
    ),
    "pests": (
        r"rats?|rodents?|mice|mouse|roach(?:es)?|cockroach(?:es)?|insects?|bugs|bed ?bugs|pigeons?"
        r"|bees|wasps?|hornets?|mosquito(?:es)?|termites|infest\w*|exterminat\w*|skunks?|raccoons?"
    ),
}

# Matched against the lower-cased text (the cues are written in lower case): sixteen searches with
# re.IGNORECASE took 0.18 ms a message, against 0.08 ms for one lower() and sixteen plain searches.
_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    code: re.compile(r"\b(?:" + pattern + r")\b") for code, pattern in _CUES.items()
}

SERVICE_CODES: Final = (*_CUES, "other")


# Written from GUIDE.md's definitions (not from the labelled messages), in plain everyday words.
GUIDE_EXAMPLES: Final[dict[str, tuple[str, ...]]] = {
    "street_cleaning": (
        "There is trash and litter all over the street.",
        "Broken glass on the sidewalk.",
        "Used needles left in the park.",
        "A dead animal in the road needs to be removed.",
        "The public trash can on the corner is overflowing.",
        "Dog poop and human waste on the sidewalk.",
    ),
    "illegal_dumping": (
        "Someone dumped a mattress and a couch on the sidewalk.",
        "An old refrigerator was left in the alley.",
        "A pile of tires was dumped in the lot.",
        "Construction debris dumped on public property.",
        "Abandoned shopping cart on the street.",
    ),
    "missed_collection": (
        "My trash was not picked up today.",
        "The recycling truck missed our street.",
        "Yard waste was not collected this week.",
        "I need a new recycling bin.",
        "Bulk item pickup was missed.",
    ),
    "graffiti": (
        "Graffiti spray painted on the wall.",
        "Someone tagged the mailbox.",
        "Stickers and posters vandalizing the sign.",
        "Graffiti on the side of the building.",
    ),
    "pothole": (
        "There is a big pothole in the road.",
        "The road surface is damaged and broken.",
        "Sunken pavement in the street.",
        "A manhole cover in the road is loose.",
    ),
    "sidewalk": (
        "The sidewalk is cracked and raised, a trip hazard.",
        "Missing bricks in the sidewalk.",
        "The curb ramp is broken.",
        "A dumpster is blocking the sidewalk.",
    ),
    "streetlight": (
        "The streetlight is out.",
        "The street light keeps flickering at night.",
        "The light in the park is not working.",
        "The street lamp is on during the day.",
    ),
    "traffic_signal_sign": (
        "The traffic light is not working.",
        "The walk signal is broken.",
        "A stop sign is missing.",
        "The crosswalk paint is faded.",
        "We need a speed bump, cars drive too fast.",
    ),
    "abandoned_vehicle": (
        "An abandoned car has not moved in weeks.",
        "A junk car with flat tires is parked on the street.",
        "A vehicle with no plates has been sitting here for a month.",
    ),
    "illegal_parking": (
        "A car is blocking my driveway.",
        "Someone parked in front of the fire hydrant.",
        "A truck is double parked.",
        "A car is parked in the bike lane.",
        "Car parked without a resident permit.",
    ),
    "tree": (
        "A tree branch fell on the sidewalk.",
        "A dead tree needs to be removed.",
        "The tree needs pruning.",
        "Overgrown weeds and bushes on the city lot.",
        "Please plant a tree in front of my house.",
    ),
    "encampment": (
        "Homeless people have set up tents.",
        "A man is sleeping on the sidewalk.",
        "There is a homeless encampment under the bridge.",
        "A person here needs help.",
    ),
    "noise": (
        "Loud music from the neighbors' party.",
        "Construction noise early in the morning.",
        "A car alarm keeps going off.",
        "A dog has been barking all night.",
    ),
    "water_sewer": (
        "Water is leaking from the street.",
        "The fire hydrant is leaking.",
        "The storm drain is clogged and the street is flooded.",
        "Sewer smell coming from the drain.",
    ),
    "snow_ice": (
        "The sidewalk was not shoveled.",
        "The street has not been plowed.",
        "Icy sidewalk needs salt.",
        "Snow is blocking the crosswalk.",
    ),
    "pests": (
        "There are rats in the alley.",
        "Mice and rodents everywhere.",
        "Bed bugs and cockroaches in the building.",
        "Pigeons are a problem here.",
    ),
    "other": (
        "My landlord will not fix the heat.",
        "I have a question about city services.",
        "Drivers are rude on this street.",
        "Where do I vote?",
        "We need a bike rack here.",
    ),
}


def keyword_cues(text: str) -> list[str]:
    """The service codes whose cue words occur in ``text`` (in any case)."""
    lowered = text.lower()
    return [code for code, pattern in _PATTERNS.items() if pattern.search(lowered)]


def weak_label(text: str) -> str | None:
    """The one code whose cues ``text`` triggers, or None when none or several do."""
    cues = keyword_cues(text)
    return cues[0] if len(cues) == 1 else None
