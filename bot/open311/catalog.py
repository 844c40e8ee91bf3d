"""The service catalog: which service types this city takes, read from a TOML file.

The bundled ``catalogs/default.toml`` has the classifier's service codes; ``catalogs/toronto.toml`` shows
a real city's own codes. Each service names a ``classifier_class`` (one of the classifier's codes), so one
trained model serves any city: the bot classifies into its classes, the catalog maps a class to the city's
service. A catalog also carries the fixed test cases of the sandbox.
"""

from __future__ import annotations

import difflib
import tomllib
from collections import Counter
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
ServiceType = Literal["realtime", "batch"]

CATALOG_DIR = Path(__file__).parent / "catalogs"
DEFAULT_CATALOG = CATALOG_DIR / "default.toml"


class CatalogError(ValueError):
    """The catalog file cannot be used; the message names the file and the entry."""


# A service code is a path segment (services/CODE.json) and an item of GET requests' comma list
# (service_code=A,B): these characters would make a service no client can reach.
_NOT_IN_A_CODE = frozenset("/\\?#%,")


def _reachable_code(value: str) -> str:
    bad = next((c for c in value if c in _NOT_IN_A_CODE or c.isspace() or not c.isprintable()), None)
    if bad is not None:
        raise ValueError(
            f"{bad!r} cannot be in a service code: it is part of the URL services/CODE.json and of "
            "service_code lists (letters, digits, '-', '_' and '.' are safe)"
        )
    return value


def _repeated(kind: str, names: Iterable[str], holders: str) -> None:
    """Refuses names given more than once (``kind`` X is given to N ``holders``), naming each."""
    counts = Counter(names)
    repeated = [f"{name} is given to {count} {holders}" for name, count in counts.items() if count > 1]
    if repeated:
        raise ValueError(f"{kind} {'; '.join(repeated)}; each needs its own")


# A text in other languages than the catalog's own, by language code ("es", "zh"): what the bot shows a
# resident who writes in that language (the Open311 API keeps the catalog's own).
Translations = dict[str, Annotated[str, Field(min_length=1)]]


class AttributeValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str
    name: str
    names: Translations = Field(default_factory=dict)


class Attribute(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    datatype: Datatype
    description: str
    # The question (``description``) in other languages.
    descriptions: Translations = Field(default_factory=dict)
    required: bool = False
    # false: shown to the user as information only, never submitted.
    variable: bool = True
    datatype_description: str | None = None
    order: int = 0
    values: tuple[AttributeValue, ...] = ()

    @model_validator(mode="after")
    def _lists_have_values(self) -> Attribute:
        is_list = self.datatype in ("singlevaluelist", "multivaluelist")
        if is_list and not self.values:
            raise ValueError(f"a {self.datatype} needs values")
        if not is_list and self.values:
            raise ValueError("only list datatypes take values")
        # Two values with one key: a resident's either answer would file the same value.
        _repeated("value key", (value.key for value in self.values), "values")
        return self

    @cached_property
    def value_keys(self) -> frozenset[str]:
        return frozenset(value.key for value in self.values)


class Service(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_reachable_code)]
    name: str
    names: Translations = Field(default_factory=dict)
    description: str
    group: str
    keywords: tuple[str, ...] = ()
    type: ServiceType = "realtime"
    # The classifier's code this service receives (defaults to the service's own code).
    classifier_class: str = ""
    agency_responsible: str | None = None
    service_notice: str | None = None
    attributes: tuple[Attribute, ...] = ()

    @model_validator(mode="after")
    def _default_class_and_order(self) -> Service:
        if not self.classifier_class:
            object.__setattr__(self, "classifier_class", self.code)
        _repeated("attribute code", (attribute.code for attribute in self.attributes), "attributes")
        ordered = tuple(
            attribute if attribute.order else attribute.model_copy(update={"order": index})
            for index, attribute in enumerate(self.attributes, start=1)
        )
        object.__setattr__(self, "attributes", tuple(sorted(ordered, key=lambda a: a.order)))
        return self

    @property
    def metadata(self) -> bool:
        """Spec: true when a client must fetch the service definition (the service has attributes)."""
        return bool(self.attributes)

    @cached_property
    def attributes_by_code(self) -> dict[str, Attribute]:
        return {attribute.code: attribute for attribute in self.attributes}


class SandboxCase(BaseModel):
    """A fixed request of the sandbox (per Toronto's mock-up): known ids, statuses and places."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    # Numeric, like the ids the sandbox hands out for new requests after them.
    service_request_id: str = Field(pattern=r"^[0-9]{1,15}$")
    service_code: str
    status: Literal["open", "closed"] = "open"
    status_notes: str | None = None
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    # Dates are relative to when the sandbox starts, so the default 90-day query always finds them.
    requested_hours_ago: float = Field(ge=0)
    updated_hours_ago: float | None = Field(default=None, ge=0)
    expected_in_hours: float | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None

    @model_validator(mode="after")
    def _updated_after_requested(self) -> SandboxCase:
        if self.updated_hours_ago is not None and self.updated_hours_ago > self.requested_hours_ago:
            raise ValueError(f"sandbox case {self.service_request_id}: updated before it was requested")
        return self


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    services: tuple[Service, ...]
    sandbox_cases: tuple[SandboxCase, ...] = ()

    @model_validator(mode="after")
    def _check_references(self) -> Catalog:
        if not self.services:
            raise ValueError("the catalog lists no services (each is a [[services]] table)")
        codes = [service.code for service in self.services]
        _repeated("service code", codes, "services")
        for case in self.sandbox_cases:
            if case.service_code not in codes:
                raise ValueError(
                    f"sandbox case {case.service_request_id}: unknown service {case.service_code}"
                )
        return self

    @cached_property
    def by_code(self) -> dict[str, Service]:
        return {service.code: service for service in self.services}

    def get(self, code: str) -> Service | None:
        return self.by_code.get(code)

    def for_class(self, classifier_class: str) -> tuple[Service, ...]:
        """The city's services that receive a classifier class (several when a city splits a class)."""
        return tuple(s for s in self.services if s.classifier_class == classifier_class)


def load_catalog(path: Path | None = None) -> Catalog:
    """Reads a catalog file (the bundled default when ``path`` is None)."""
    source = path or DEFAULT_CATALOG
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogError(f"catalog file {source} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"catalog file {source} is not valid TOML: {exc}") from exc
    unknown = [_unknown_key(key) for key in data if key not in Catalog.model_fields]
    if unknown:
        raise CatalogError(f"catalog file {source}: {'; '.join(unknown)}")
    try:
        return Catalog.model_validate({"name": source.stem, "services": [], **data})
    except ValidationError as exc:
        raise CatalogError(f"catalog file {source}: {_described(exc, data)}") from exc


def _unknown_key(key: str) -> str:
    """Says "unknown key 'service' (did you mean 'services'?)": a misspelt table ``[[service]]`` made a
    catalog of no services, which pydantic put as "services: Input should be a valid tuple"."""
    close = difflib.get_close_matches(key, list(Catalog.model_fields), n=1)
    known = ", ".join(Catalog.model_fields)
    return f"unknown key {key!r} " + (f"(did you mean {close[0]!r}?)" if close else f"(the keys are {known})")


# The entries a location in the catalog passes through, each named by its own key: a list's name → what
# one entry is called and the key that names it.
_ENTRIES = {
    "services": ("service", "code"),
    "sandbox_cases": ("sandbox case", "service_request_id"),
    "attributes": ("attribute", "code"),
    "values": ("value", "key"),
}


def _described(error: ValidationError, data: dict[str, object]) -> str:
    """pydantic's errors in a city's words: each names its service, attribute and value by code ("service
    CSROWR-12: attribute lane: nam: not a key here") where pydantic said ``services.0.attributes.0.nam`` and
    linked to its documentation."""
    problems: list[str] = []
    for item in error.errors():
        where: list[str] = []
        node: object = data
        parts = [str(part) for part in item["loc"]]
        index = 0
        while index < len(parts):
            part = parts[index]
            following = parts[index + 1] if index + 1 < len(parts) else ""
            entries = node.get(part) if isinstance(node, dict) else None
            if part in _ENTRIES and following.isdigit() and isinstance(entries, list):
                kind, name_key = _ENTRIES[part]
                position = int(following)
                node = entries[position] if position < len(entries) else {}
                label = node.get(name_key) if isinstance(node, dict) else None
                where.append(f"{kind} {label}" if label else f"{kind} #{position + 1}")
                index += 2
                continue
            where.append(part)
            node = entries
            index += 1
        cause = item.get("ctx", {}).get("error")
        if item["type"] == "value_error" and cause is not None:
            text = str(cause)
        elif item["type"] == "extra_forbidden":
            text = "not a key here (a misspelling?)"
        else:
            text = item["msg"]
        problems.append(f"{': '.join(where)}: {text}" if where else text)
    return "; ".join(problems)
