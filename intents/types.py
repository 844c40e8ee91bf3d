"""The typed results of understanding a message. Everything outside ``intents/`` uses these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

LocationKind = Literal["address", "intersection", "street", "landmark", "coordinates"]


@dataclass(frozen=True, slots=True)
class Prediction:
    """What a message is about: a service code of the default taxonomy (``other``: a person must look)."""

    service_code: str
    # Calibrated: among messages given confidence c, about c of them are right.
    confidence: float
    # The next best codes, best first, with their confidences.
    alternatives: tuple[tuple[str, float], ...] = ()


# Joins a place's name and the street it is on in a normalised form.
PLACE_ON_STREET = " ON "


@dataclass(frozen=True, slots=True)
class LocationMention:
    """Where the text says the problem is: the span, its kind and a normalised form."""

    text: str
    start: int
    end: int
    kind: LocationKind
    # e.g. "452 HANOVER ST", "05TH ST & MARKET ST", "COMMONWEALTH AVE"; a place named with the street it
    # is on, "MARCY PARK ON GROVE ST" (``PLACE_ON_STREET``): geocoded as the place, else as the street.
    normalized: str
    # Only for coordinates written in the text.
    lat: float | None = None
    long: float | None = None


@dataclass(frozen=True, slots=True)
class Place:
    """A geocoded location."""

    lat: float
    long: float
    address: str
    # False when the point lies outside the configured jurisdiction's boundary.
    inside_jurisdiction: bool = True
    raw: dict[str, object] = field(default_factory=dict)


class GeocodingUnavailable(Exception):
    """The geocoding service failed (down, answering errors, too slow) after its retries, so whether a place
    is on the map is not known: not "not found". Never remembered; asking again once it answers may work."""

    def __init__(self, query: str, cause: str) -> None:
        super().__init__(f"the geocoder failed for {query!r}: {cause}")
        self.query = query


@dataclass(frozen=True, slots=True)
class Understanding:
    """Everything the bot learns from one message."""

    prediction: Prediction
    language: str
    location: LocationMention | None = None
    place: Place | None = None
    # Set when ``location`` could not be looked up because the geocoding service failed: ``place`` is then
    # None, though the place may well be on the map.
    geocoding_failed: GeocodingUnavailable | None = None


class Understander(Protocol):
    """The facade the dispatcher uses (implemented by ``intents.pipeline.Pipeline``)."""

    # Confidence at or above which a message is filed without a person (95% precision on held-out data).
    auto_file_threshold: float

    def understand(self, text: str) -> Understanding: ...

    def classify(self, text: str) -> Prediction: ...

    def locate(self, text: str) -> LocationMention | None: ...

    # None when the place is not on the map; raises GeocodingUnavailable when the service failed to say.
    def geocode(self, query: str) -> Place | None: ...

    def reverse(self, lat: float, long: float) -> Place | None: ...

    def detect_language(self, text: str) -> str: ...
