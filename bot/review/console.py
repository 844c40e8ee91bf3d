"""What the console needs from the running app, in one object the routes and decisions share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.backend import AttributeSpec, ServiceSummary, find_service
from bot.config import Settings
from bot.db import SessionFactory
from bot.open311.media import MediaStore
from bot.open311.service import Open311Service
from bot.review.queue import ReviewQueue

# A geocoder the console may use when an operator types an address without coordinates: text ->
# (lat, long, normalised address) or None. Given by the app (the review package does not import intents).
Geocode = Callable[[str], tuple[float, float, str] | None]
# The classifier now running: text -> the service code (classifier class) it suggests first.
Classify = Callable[[str], str]


@dataclass(slots=True)
class Console:
    settings: Settings
    sessions: SessionFactory
    open311: Open311Service
    queue: ReviewQueue
    geocode: Geocode | None = None
    classify: Classify | None = None
    # The photos the bot stored (a rejected report's are deleted: ``photos``).
    media: MediaStore | None = None

    @property
    def claim_minutes(self) -> float:
        return self.settings.operator.claim_minutes

    @property
    def secure_cookies(self) -> bool:
        mode = self.settings.operator.secure_cookies
        if mode == "auto":
            return self.settings.server.public_url.lower().startswith("https://")
        return mode == "always"

    @property
    def media_prefix(self) -> str:
        """Where the photos the bot stored are served (``MediaStore``'s URLs start with it): the only
        photos the console shows inline."""
        public = self.settings.server.public_url.rstrip("/")
        return f"{public}{self.settings.open311.base_path.rstrip('/')}/media/"

    @property
    def media_origin(self) -> str:
        """The origin of ``media_prefix`` (scheme and host), for the console's image policy."""
        parts = urlsplit(self.media_prefix)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def remote(self) -> bool:
        """Whether the bot files into a remote city's GeoReport v2 endpoint (``[remote] enabled``): then the
        city's services are the ones to choose from and its requests are the bot's submissions to it."""
        return self.settings.remote.enabled

    def services(self) -> Sequence[ServiceSummary]:
        """The services decisions file into, from the backend the review queue files through: the catalog's,
        or a remote city's as the remote-sync job last cached them (names, codes, classes)."""
        return self.queue.backend.services()

    def service(self, code: str) -> ServiceSummary | None:
        return find_service(self.services(), code)

    def attributes(self, service_code: str) -> Sequence[AttributeSpec]:
        """The questions of a service, as the backend asks residents them."""
        return self.queue.backend.attributes(service_code)

    def service_code_for(self, code: str) -> str:
        """A service code for a code the classifier suggested (a city may name services apart)."""
        services = self.services()
        if any(service.code == code for service in services):
            return code
        receiving = [service for service in services if service.classifier_class == code]
        return receiving[0].code if receiving else code

    def classifier_class_for(self, service_code: str) -> str:
        """The classifier's class a service receives: what a labelled example is labelled with."""
        service = self.service(service_code)
        return service.classifier_class if service is not None else service_code

    def catalog(self) -> dict[str, str]:
        """The city's services only (code -> name), for choosing one; those no classifier class goes to
        (a remote city's code not in ``classifier_classes``) too, since only a person files into them."""
        return {service.code: service.name for service in self.services()}

    def service_names(self) -> dict[str, str]:
        """Service code (and classifier class, as ``class_names``) -> the city's name for it, in catalog
        order."""
        names = {service.code: service.name for service in self.services()}
        for classifier_class, name in self.class_names().items():
            names.setdefault(classifier_class, name)
        return names

    def class_names(self) -> dict[str, str]:
        """Classifier class -> what it stands for in the city's words: the one service that receives it, or,
        when the city splits it among several (Toronto's graffiti on a bridge, a road, a sidewalk, a litter
        bin), the class in words and all of them: "Graffiti (Bridge - Graffiti Complaint, ... or Litter Bin -
        Graffiti Complaint)". Never the first of them alone: that named an item an operator filed as a
        litter bin's graffiti "Bridge - Graffiti Complaint" on the learning page."""
        sharing: dict[str, list[str]] = {}
        for service in self.services():
            sharing.setdefault(service.classifier_class, []).append(service.name)
        return {
            code: names[0] if len(names) == 1 else f"{in_words(code)} ({listed(names)})"
            for code, names in sharing.items()
        }


def in_words(code: str) -> str:
    """A classifier class as words: "street_cleaning" -> "Street cleaning"."""
    return code.replace("_", " ").strip().capitalize()


def listed(names: Sequence[str]) -> str:
    """Names as one of several: A, B or C."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
