"""The features the service classifier reads from a message: the same function at training and at inference.

- words and word pairs (lower case), which carry most of the meaning;
- character 3–5-grams inside words, so that misspellings ("pot hole", "potholes", "grafitti") and
  other cities' vocabulary share features with what the labelled data saw;
- the average of word vectors learnt from the unlabelled pool (see ``intents.classifier``), so that
  "syringe" and "needle" or "rodent" and "rat" mean the same to the model;
- the rows of a word table distilled from MiniLM and MiniLM's own sentence embedding (``intents.encoder``),
  which bring general English knowledge;
- one indicator per service code whose cue words from the labelling guide occur (``intents.keywords``,
  computed in ``intents.classifier``): a prior that holds in any city even for words too rare in the
  labelled data to get a weight of their own;
- the guide prior: per service code, how close the sentence embedding is to that code's example messages
  written from the labelling guide (``intents.keywords.GUIDE_EXAMPLES``, ``intents.classifier.guide_prior``).

The words, pairs, character n-grams, word-vector average and cue words read the message without the place it
names (``without_place``: the span ``intents.locations.find_location`` finds is cut out): street names,
neighbourhoods and landmarks say nothing about the service, and features of Boston's streets would not carry
to another city. The MiniLM blocks read the whole message.

Spanish and Chinese messages are read together with their English gloss (``intents.lexicon``). The dense
blocks that only know English (the MiniLM word table, the sentence encoder) read the gloss alone when the
message is not in English (``read_message``): raw Spanish words mean nothing to them, or worse, something
English ("La farola de mi calle" came out as a pothole).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Final

from intents.lexicon import english_gloss, gloss_vocabulary, spell_emoji, with_gloss
from intents.types import LocationMention

_WORD: Final = re.compile(r"\w+", re.UNICODE)
_DIGITS: Final = re.compile(r"\d")
# Words in Latin letters, also where no space parts them from Han characters ("Stop牌").
_ASCII_WORD: Final = re.compile(r"[A-Za-z]{3,}")
CHAR_NGRAM_SIZES: Final = (3, 4, 5)


def words(text: str) -> list[str]:
    """Lower-case word tokens; digits are folded to 0 so house numbers do not become vocabulary."""
    return [_DIGITS.sub("0", word) for word in _WORD.findall(text.lower())]


def token_features(token: str) -> tuple[str, ...]:
    """The word feature and the character n-grams of one token."""
    padded = f" {token} "
    ngrams = ["c:" + padded[i : i + size] for size in CHAR_NGRAM_SIZES for i in range(len(padded) - size + 1)]
    return ("w:" + token, *ngrams)


# Training reads tens of thousands of messages made of the same few thousand words, and this loop is most of
# its featurising time. Only training uses the cache: a serving process keeps feature indices, not these
# strings (about 2 KB a word: a full cache would be 200 MB in a bot that runs for weeks).
_training_token_features = lru_cache(maxsize=100_000)(token_features)


def pair_features(tokens: list[str]) -> list[str]:
    return ["b:" + first + " " + second for first, second in pairwise(tokens)]


@dataclass(frozen=True)
class Reading:
    """A message as the classifier's blocks read it."""

    # The text without its place, followed by its English gloss: the sparse features, word2vec and cue words.
    glossed: str
    # What the English-only blocks read (the whole text, place and all): the text with its gloss, or the
    # gloss alone if not in English.
    english: str
    # Read through the gloss alone (a Spanish or Chinese message): the classifier sees only the lexicon's
    # words for it, and its confidence has its own temperature.
    gloss_only: bool = False


@lru_cache(maxsize=16)
def place_of(text: str) -> LocationMention | None:
    """``intents.locations.find_location(text)``, remembered for the last few texts: the pipeline locates a
    message and classifies it, and both need its place (a mention is frozen, so sharing it is safe)."""
    # Imported here: the location finder loads its street lists, which the distillation script never needs.
    from intents.locations import find_location

    return find_location(text)


def without_place(text: str) -> str:
    """``text`` with the place ``intents.locations.find_location`` finds in it replaced by a space."""
    mention = place_of(text)
    if mention is None:
        return text
    return f"{text[: mention.start]} {text[mention.end :]}"


def message_language(text: str) -> str:
    """The language ``text`` is written in, judged on its words around the place it names: a street's name
    ("trash all over Camino de la Tierra", "pothole on Via de la Valle") says nothing of the writer's
    language. A message that is a place and nothing else is judged whole ("Calle 24 y Mission")."""
    # Imported here: lingua is heavy, and the distillation script's environment does not have it.
    from intents.language import detect_language

    around = without_place(text)
    return detect_language(around if any(char.isalpha() for char in around) else text)


def read_message(text: str) -> Reading:
    """The glossed text and the English view of one message.

    A message is taken as not English when the lexicon glossed some of its words and the language detector
    agrees (its cheap cues decide almost always; lingua only on a tie). The detector runs only for the few
    messages with a gloss (58 of the 1,578 labelled Boston ones, mostly for "graffiti"), so English text
    pays nothing. A Spanish message the lexicon knows no word of is read as it is.
    """
    words_around_place = without_place(text)
    placeless = with_gloss(words_around_place)
    gloss = english_gloss(text)
    spelt = spell_emoji(text)
    if not gloss:
        return Reading(placeless, spelt)
    if message_language(text) == "en":
        return Reading(placeless, f"{spelt} {gloss}")
    # English problem words inside the Spanish or Chinese ("sidewalk todo roto", "Stop牌畀人撞冧咗", "el
    # camion del recycling") are words the English-only blocks know: they read them before the gloss.
    # Two-letter ones ("a", "no") are Spanish as often as English.
    english_words = gloss_words_only(" ".join(_ASCII_WORD.findall(spell_emoji(words_around_place))))
    return Reading(placeless, f"{english_words} {gloss}".strip(), gloss_only=True)


def gloss_words_only(text: str) -> str:
    """An English message cut down to the words the lexicon glosses into, in order ("Huge pothole next to
    the hydrant on Elm St" -> "huge pothole to the hydrant on": glosses hold a few small words too): about
    what the classifier sees of a Spanish or Chinese message. Training fits the temperature of gloss-only
    readings on such messages."""
    return " ".join(word for word in words(text) if word in gloss_vocabulary())


def embedding_words(text: str) -> list[str]:
    """The words word2vec learns from (place names too: they are the context of the words that matter) and
    the distilled table's vocabulary is built from. The classifier averages the vectors of
    ``words(read_message(text).glossed)``, the same without the place."""
    return words(with_gloss(text))


def message_features(text: str) -> list[str]:
    """The feature names of one message (repeated names count more): what training's vectorizer reads.
    ``intents.classifier`` computes the same multiset from ``token_features`` and ``pair_features``."""
    tokens = words(with_gloss(without_place(text)))
    features = pair_features(tokens)
    for token in tokens:
        features.extend(_training_token_features(token))
    return features
