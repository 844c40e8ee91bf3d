"""The facade the rest of the project uses to understand a message: ``Pipeline`` implements
``intents.types.Understander`` over the service classifier (a spaCy pipeline), the location finder, a
geocoder and the language detector.

``load_pipeline()`` with no arguments loads the model shipped in ``intents/model/`` and the offline San
Francisco geocoder, so the project works right after set-up without training anything.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import spacy
from geopy.exc import GeopyError
from spacy.language import Language
from spacy.tokens import Doc

from intents import classifier as _classifier  # registers the spaCy factory before spacy.load
from intents.features import message_language, place_of
from intents.gazetteer import INTERSECTIONS_FILE
from intents.geocoding import OFFLINE_PROVIDER, CityLimits, PlaceResolver, build_geocoder
from intents.language import warm_up
from intents.street_names import read_street_names, use_city_street_names
from intents.types import (
    PLACE_ON_STREET,
    GeocodingUnavailable,
    LocationMention,
    Place,
    Prediction,
    Understander,
    Understanding,
)

# Longer texts are read up to here: a resident's message is far shorter, and a pasted document must not
# stall the bot (spans found stay valid offsets into the original text).
MAX_TEXT_CHARS = 5_000
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "model"
# San Francisco: [south, west, north, east], the default jurisdiction of the bundled gazetteer.
DEFAULT_BOUNDARY = (37.70, -122.52, 37.84, -122.35)


def readable(text: str) -> str:
    """The part of ``text`` that is read: at most MAX_TEXT_CHARS, with lone surrogates (which JSON allows
    and no encoder accepts) replaced by U+FFFD, one for one, so offsets into the text stay valid."""
    text = text[:MAX_TEXT_CHARS]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


class ModelError(ValueError):
    """The model directory cannot be used; the message says which and why."""


class Pipeline:
    """Classify, locate, geocode and detect the language of resident messages."""

    def __init__(
        self, nlp: Language, resolver: PlaceResolver, auto_file_threshold: float | None = None
    ) -> None:
        if _classifier.COMPONENT_NAME not in nlp.pipe_names:
            raise ModelError(f"the spaCy pipeline has no {_classifier.COMPONENT_NAME} component")
        self.nlp = nlp
        self.resolver = resolver
        # spaCy's memory zones share one vocabulary and are not safe across threads: a zone ending in one
        # thread forgot the words another thread's message was still reading ("Ness" of "Van Ness"), and
        # from then on every message with that word failed (E018, then E109) until a restart. The bot
        # classifies from worker threads, so one message at a time reads through spaCy.
        self._one_at_a_time = threading.Lock()
        stored = nlp.meta.get("open311", {}).get("auto_file_threshold")
        if auto_file_threshold is None and stored is None:
            raise ModelError("the model's meta.json has no open311.auto_file_threshold; retrain it")
        self.auto_file_threshold: float = float(
            auto_file_threshold if auto_file_threshold is not None else stored
        )

    @property
    def service_codes(self) -> list[str]:
        component = self.nlp.get_pipe(_classifier.COMPONENT_NAME)
        return list(getattr(component, "labels", ()))

    def classify(self, text: str) -> Prediction:
        # Every new word a Doc reads would otherwise stay in the shared vocabulary for the life of the
        # process (a bot reading typos, links and case numbers for weeks grows without bound); the zone
        # forgets them when the message is done. The cats dict outlives the Doc.
        with self._one_at_a_time, self.nlp.memory_zone():
            cats = self.nlp(self._whole_text_doc(readable(text))).cats
        return _classifier.prediction_from_cats(cats)

    def _whole_text_doc(self, text: str) -> Doc:
        """``text`` as a Doc of one token. The service classifier reads a Doc's text, never its tokens (it
        has its own words, word pieces and gloss): spaCy's tokenizer would split every message for nothing,
        0.15-0.3 ms of a 3-4 ms message, most of it re-deriving inside the memory zone the lexical attributes
        of words it forgot after the last one. ``doc.text`` is the text exactly as written."""
        words = [text] if text else []
        return Doc(self.nlp.vocab, words=words, spaces=[False] * len(words))

    def locate(self, text: str) -> LocationMention | None:
        # The classifier reads the message without its place: one search serves both.
        return place_of(readable(text))

    def geocode(self, query: str) -> Place | None:
        return self.resolver.geocode(query)

    def reverse(self, lat: float, long: float) -> Place | None:
        return self.resolver.reverse(lat, long)

    def detect_language(self, text: str) -> str:
        return message_language(readable(text))

    def place_of(self, mention: LocationMention) -> Place | None:
        """Where a mention is: coordinates written in the text stay where they are, named by the nearest
        address (reverse geocoding, which also says whether they lie inside the jurisdiction); anything else
        is geocoded by its normalised form."""
        if mention.lat is not None and mention.long is not None:
            named = self.reverse(mention.lat, mention.long)
            # The point the resident wrote is where the problem is; the nearest address (up to 500 m away
            # on a beach or in a park) only describes it.
            return None if named is None else replace(named, lat=mention.lat, long=mention.long)
        place = self.geocode(mention.normalized or mention.text)
        # "in front of Harrys": a place's name that only a typo correction turns into a street (HARRY ST)
        # is not that street.
        # (A place on a named street, PLACE ON STREET, falls back to that street, corrected or not.)
        if (
            place is not None
            and mention.kind == "landmark"
            and place.raw.get("corrected")
            and PLACE_ON_STREET not in mention.normalized
        ):
            return None
        return place

    def understand(self, text: str) -> Understanding:
        """Everything at once. A geocoder that fails (a remote service down, a point off the globe) leaves
        ``place`` empty rather than losing the rest; a service that failed is named in
        ``geocoding_failed`` (the place may be on the map after all)."""
        text = readable(text)
        location = self.locate(text)
        place: Place | None = None
        failed: GeocodingUnavailable | None = None
        if location is not None:
            try:
                place = self.place_of(location)
            except GeocodingUnavailable as exc:
                failed = exc
            except (GeopyError, ValueError):
                place = None
        return Understanding(
            prediction=self.classify(text),
            language=self.detect_language(text),
            location=location,
            place=place,
            geocoding_failed=failed,
        )


def load_model(model_path: Path | None = None) -> Language:
    """The spaCy pipeline at ``model_path`` (default: the shipped model)."""
    path = model_path or SHIPPED_MODEL_DIR
    if not (path / "meta.json").is_file():
        raise ModelError(f"{path} is not a trained model (no meta.json); run `open311-bot train`")
    try:
        nlp = spacy.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{path}: cannot load the model: {exc}") from exc
    return nlp


def load_pipeline(
    model_path: Path | None = None,
    *,
    geocoder_provider: str = "offline",
    geocoder_options: Mapping[str, Any] | None = None,
    geocoder_api_key: str | None = None,
    min_delay_seconds: float = 1.0,
    cache_size: int = 10_000,
    boundary: tuple[float, float, float, float] = DEFAULT_BOUNDARY,
    auto_file_threshold: float | None = None,
    nlp: Language | None = None,
    limits_file: Path | None = None,
    street_names_file: Path | None = None,
    geocoder_city: str | None = None,
) -> Pipeline:
    """The understanding pipeline: the model at ``model_path`` (default: the shipped one; or ``nlp``, one
    already loaded by ``load_model``) and the configured geocoder (plain arguments, so ``intents`` needs
    nothing from ``bot.config``).

    The location finder also knows the city's own street names, for this process: those of an offline
    gazetteer's ``data_dir`` and of ``street_names_file`` (``intents.street_names.read_street_names``)."""
    city_names: set[str] = set()
    data_dir = (geocoder_options or {}).get("data_dir")
    if geocoder_provider.strip().lower() == OFFLINE_PROVIDER and data_dir:
        intersections = Path(str(data_dir)) / INTERSECTIONS_FILE
        if intersections.is_file():
            city_names |= read_street_names(intersections)
    if street_names_file is not None:
        city_names |= read_street_names(street_names_file)
    use_city_street_names(city_names)
    resolver = build_geocoder(
        geocoder_provider,
        dict(geocoder_options or {}),
        api_key=geocoder_api_key,
        min_delay_seconds=min_delay_seconds,
        cache_size=cache_size,
        boundary=boundary,
        limits=CityLimits.from_file(limits_file) if limits_file is not None else None,
        city=geocoder_city,
    )
    pipeline = Pipeline(nlp if nlp is not None else load_model(model_path), resolver, auto_file_threshold)
    warm_up()
    return pipeline


def _is_an_understander(pipeline: Pipeline) -> Understander:
    # mypy checks here that Pipeline keeps implementing the protocol the dispatcher relies on.
    return pipeline
