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
  labelled data to get a weight of their own.

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

from intents.lexicon import english_gloss, with_gloss

_WORD: Final = re.compile(r"\w+", re.UNICODE)
_DIGITS: Final = re.compile(r"\d")
CHAR_NGRAM_SIZES: Final = (3, 4, 5)


def words(text: str) -> list[str]:
    """Lower-case word tokens; digits are folded to 0 so house numbers do not become vocabulary."""
    return [_DIGITS.sub("0", word) for word in _WORD.findall(text.lower())]


@lru_cache(maxsize=100_000)
def token_features(token: str) -> tuple[str, ...]:
    """The word feature and the character n-grams of one token."""
    # Cached: the same few thousand words make up most messages, and this loop is most of the time spent.
    padded = f" {token} "
    ngrams = ["c:" + padded[i : i + size] for size in CHAR_NGRAM_SIZES for i in range(len(padded) - size + 1)]
    return ("w:" + token, *ngrams)


def pair_features(tokens: list[str]) -> list[str]:
    return ["b:" + first + " " + second for first, second in pairwise(tokens)]


@dataclass(frozen=True)
class Reading:
    """A message as the classifier's blocks read it."""

    glossed: str  # the text followed by its English gloss: the sparse features, word2vec and cue words
    english: str  # what the English-only blocks read: ``glossed``, or the gloss alone if not in English


def read_message(text: str) -> Reading:
    """The glossed text and the English view of one message.

    A message is taken as not English when the lexicon glossed some of its words and the language detector
    agrees (its cheap cues decide almost always; lingua only on a tie). The detector runs only for the few
    messages with a gloss (58 of the 1,578 labelled Boston ones, mostly for "graffiti"), so English text
    pays nothing. A Spanish message the lexicon knows no word of is read as it is.
    """
    gloss = english_gloss(text)
    if not gloss:
        return Reading(text, text)
    glossed = f"{text} {gloss}"
    # Imported here: lingua is heavy, and the distillation script's environment does not have it.
    from intents.language import detect_language

    return Reading(glossed, glossed if detect_language(text) == "en" else gloss)


def embedding_words(text: str) -> list[str]:
    """The words whose learnt vectors are averaged into the message's dense representation."""
    return words(with_gloss(text))


def message_features(text: str) -> list[str]:
    """The feature names of one message (repeated names count more): what training's vectorizer reads.
    ``intents.classifier`` computes the same multiset from ``token_features`` and ``pair_features``."""
    tokens = words(with_gloss(text))
    features = pair_features(tokens)
    for token in tokens:
        features.extend(token_features(token))
    return features
