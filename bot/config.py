"""The one typed place for configuration.

Settings come from a TOML file (``--config FILE`` or ``OPEN311_BOT_CONFIG``) and from environment
variables named ``OPEN311_BOT_*``, nested keys joined with ``__`` (``OPEN311_BOT_TWILIO__AUTH_TOKEN``).
Environment variables win over the file.

Secrets (every ``SecretStr`` field) never come from the repository: in the TOML file a secret may only be
written as a ``${ENV_VAR}`` reference, which is expanded here; a literal secret in the file is refused.
Every key is documented in ``config.example.toml``.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from bot.clock import DEFAULT_TIME_ZONE

ENV_PREFIX = "OPEN311_BOT_"
CONFIG_ENV_VAR = "OPEN311_BOT_CONFIG"
# Variables with the prefix that are no setting: the configuration file's path, and the test suite's own
# (the PostgreSQL server it uses, the browser it drives). Any other OPEN311_BOT_* must name a setting.
OTHER_ENV_VARS = frozenset({CONFIG_ENV_VAR, "OPEN311_BOT_TEST_POSTGRES_URL", "OPEN311_BOT_CHROMIUM"})
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDERS = {"changeme", "change-me", "secret", "xxx", "todo", "placeholder"}


class ConfigError(ValueError):
    """The configuration cannot be used as it is; the message says which key and why."""


class StartupError(RuntimeError):
    """Something the deployment needs cannot be reached (the database); the message says what and why."""


# -- value checks shared by the sections (a refusal names the key; pydantic adds it from the field) ------


def _http_url(value: str) -> str:
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or " " in text:
        raise ValueError(f"must be an http:// or https:// URL, not {text!r}")
    return text


def _optional_http_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return _http_url(value)


def _http_url_or_empty(value: str) -> str:
    return _http_url(value) if value.strip() else ""


def _origin(value: str) -> str:
    """A web origin as browsers send it in ``Origin`` (scheme://host[:port], nothing after), or "*": the
    header is compared as written, so "columbus.gov" or a trailing "/" never matched and CORS was off."""
    text = value.strip()
    if text == "*":
        return text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        hint = f"https://{text}" if text and "://" not in text else "https://app.example.org"
        raise ValueError(f'{text!r} is not an origin; write the scheme and host, like "{hint}" (or "*")')
    origin = f"{parts.scheme}://{parts.netloc}"
    if text != origin:
        raise ValueError(f'{text!r} is not an origin: browsers send only the scheme and host, "{origin}"')
    return text


# What Twilio sends from: a number in E.164 form, a short code, or a Messaging Service SID (its sender pool).
_TWILIO_SENDER = re.compile(r"\+[1-9][0-9]{6,14}|[0-9]{5,6}|MG[0-9a-fA-F]{32}")


def _twilio_sender(value: str) -> str:
    text = value.strip()
    if text and not _TWILIO_SENDER.fullmatch(text):
        raise ValueError(
            'must be the number in E.164 form, "+" then the country code and number without spaces or '
            'dashes ("+16145550100"), a short code ("311311") or a Messaging Service SID ("MG" and 32 '
            f"hex digits), not {value!r}"
        )
    return text


def _url_path(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() or c in "?#" for c in value):
        raise ValueError(f'must be a URL path starting with "/", such as "/open311/v2", not {value!r}')
    return value


def _time_zone(value: str) -> str:
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # not found is a KeyError; "../x" a ValueError
        raise ValueError(
            f'no time zone is called {value!r}; give an IANA name such as "America/Chicago" or "UTC"'
        ) from None
    return name


def _lower_case(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"must be a port number from 1 to 65535, not {value}")
    return value


def _a_file_if_there(value: Path | None) -> Path | None:
    """A file the bot reads (catalog, templates): one that is there must be a readable file; a missing one
    is named by the loader that reads it, with what it was looking for."""
    if value is None or not value.exists():
        return value
    if value.is_dir():
        raise ValueError(f"{value} is a directory; give the path of the TOML file in it")
    if not os.access(value, os.R_OK):
        raise ValueError(f"cannot read {value}: permission denied to this user")
    return value


Seconds = Annotated[float, Field(gt=0)]  # an interval or a duration: zero or less is refused
Hours = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=1)]
Bytes = Annotated[int, Field(ge=1)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
ReadFile = Annotated[Path | None, AfterValidator(_a_file_if_there)]
OptionalHttpUrl = Annotated[str | None, AfterValidator(_optional_http_url)]
UrlPath = Annotated[str, AfterValidator(_url_path)]
Port = Annotated[int, AfterValidator(_port)]
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
LogLevel = Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_lower_case)]

# The photo types uploads may have: the ones bot.open311.media recognises from a file's bytes.
MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
# Where the real Telegram Bot API is: it calls webhooks only at https URLs.
TELEGRAM_API_HOST = "api.telegram.org"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not silently ignored


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: Port = 8311
    # The URL residents and providers reach us at (behind a TLS proxy this is the proxy's URL). Webhook
    # signatures are checked against it and media URLs are built from it. Empty: http://host:port of what
    # is served (so `serve --port` moves it too).
    public_url: Annotated[str, AfterValidator(_http_url_or_empty)] = ""
    # Every request body (Open311 API, webhooks, the local channel, the console) is refused above this.
    max_body_bytes: Bytes = 10 * 1024 * 1024
    _public_url_derived: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _derive_public_url(self) -> ServerSettings:
        if not self.public_url.strip():
            self.public_url = served_url(self.host, self.port)
            self._public_url_derived = True
        return self

    @property
    def public_url_derived(self) -> bool:
        """True when public_url was not set but follows host and port."""
        return self._public_url_derived


def served_url(host: str, port: int) -> str:
    """The URL of ``host:port`` as a client on this machine reaches it (a wildcard address is served on
    the loopback one too; an IPv6 address is bracketed)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class Open311Settings(Section):
    base_path: UrlPath = "/open311/v2"
    # The jurisdictions this deployment serves. With more than one, jurisdiction_id is required.
    jurisdictions: list[str] = Field(default_factory=lambda: ["sfgov.org"])
    # A TOML file holding the service catalog; empty means the bundled default catalog.
    catalog_file: ReadFile = None
    # Sandbox mode (per Toronto): POST needs no key, fixed test cases, nothing touches production data.
    sandbox: bool = False
    # Batch (token) services: "auto" accepts after batch_accept_delay_seconds, "operator" waits for a person.
    batch_acceptance: Literal["auto", "operator"] = "auto"
    batch_accept_delay_seconds: float = Field(default=3.0, ge=0)
    # Uploaded media (multipart `media` on POST requests).
    media_max_bytes: Bytes = 5 * 1024 * 1024
    media_types: list[str] = Field(default_factory=lambda: list(MEDIA_TYPES))
    max_page_size: Count = 1000
    # Web origins allowed to call the API from a browser (CORS), e.g. ["https://app.example.org"]; "*" is any
    # origin (the API is public and takes no cookies); [] turns CORS off. Only the API's paths are affected.
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])
    contact: str = "311 Customer Service Center, 311@example.org"
    # How a third-party developer gets an API key, as discovery's key_service tells them: a web page, an
    # e-mail address or a sentence; empty: ask the contact.
    key_service: str = ""

    @field_validator("jurisdictions")
    @classmethod
    def _at_least_one_jurisdiction(cls, value: list[str]) -> list[str]:
        names = [name.strip() for name in value]
        if not names:
            raise ValueError("list at least one jurisdiction (residents' reports are filed in the first)")
        if not all(names):
            raise ValueError("a jurisdiction cannot be empty")
        return names

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return [_origin(origin) for origin in value]

    @field_validator("media_types")
    @classmethod
    def _known_media_types(cls, value: list[str]) -> list[str]:
        unknown = [kind for kind in value if kind not in MEDIA_TYPES]
        if unknown:
            raise ValueError(
                f"{', '.join(map(repr, unknown))} cannot be accepted; uploads are recognised from "
                f"their bytes as one of {', '.join(MEDIA_TYPES)}"
            )
        return value


class GeocoderSettings(Section):
    # "offline" is the bundled San Francisco gazetteer; any geopy geocoder name works too
    # ("nominatim", "arcgis", "pelias", ...), with its options in `options`.
    provider: str = "offline"
    options: dict[str, Any] = Field(default_factory=dict)
    api_key: SecretStr | None = None
    # The city ("Columbus, OH"), written after each query an online geocoder is sent unless the query ends
    # with it, a state, a ZIP code or a country; the offline geocoder writes it after each address it finds.
    city: str | None = None
    min_delay_seconds: float = Field(default=1.0, ge=0)
    cache_size: int = Field(default=10_000, ge=0)
    # Points outside this bounding box [south, west, north, east] are reported as outside the city.
    boundary: list[float] = Field(default_factory=lambda: [37.70, -122.52, 37.84, -122.35])
    # The city's limits as a GeoJSON polygon: points inside the box but outside the polygon (a neighbouring
    # town) are outside too. Without `boundary`, the box is the polygon's own.
    boundary_file: Path | None = None

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        name = value.strip().lower()
        if name == "offline":
            return value
        from geopy.geocoders import SERVICE_TO_GEOCODER  # here: only a deployment that names one pays

        if name not in SERVICE_TO_GEOCODER:
            raise ValueError(
                f'no geocoder is called {value!r}; use "offline" (the bundled gazetteer) or one of geopy\'s: '
                f"{', '.join(sorted(SERVICE_TO_GEOCODER))}"
            )
        return value

    @model_validator(mode="after")
    def _options_the_geocoder_takes(self) -> GeocoderSettings:
        name = self.provider.strip().lower()
        if name == "offline" or not self.options:
            return self  # the offline geocoder's options are checked where its gazetteer is read
        from geopy.geocoders import SERVICE_TO_GEOCODER

        parameters = inspect.signature(SERVICE_TO_GEOCODER[name].__init__).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return self
        known = [p for p in parameters if p not in ("self", "user_agent")]
        unknown = sorted(set(self.options) - set(parameters))
        if unknown:
            # The offline geocoder's option, written where every geocoder reads it.
            city = "; the city after each query is intents.geocoder.city" if "city" in unknown else ""
            raise ValueError(
                f"intents.geocoder.options: the {name} geocoder takes no {', '.join(unknown)}; it takes "
                f"{', '.join(known)}{city}"
            )
        return self

    @model_validator(mode="after")
    def _box_of_the_limits(self) -> GeocoderSettings:
        """A city that draws its limits need not also type a box: the default one is San Francisco's."""
        if self.boundary_file is None:
            return self
        from intents.geocoding import CityLimits  # here: only a deployment that draws its limits pays

        try:
            limits = CityLimits.from_file(self.boundary_file)
        except ValueError as exc:
            raise ValueError(f"boundary_file: {exc}") from exc
        if "boundary" not in self.model_fields_set:
            self.boundary = list(limits.box)
            return self
        # A box copied from the example (San Francisco's) would put the whole drawn city outside.
        south, west, north, east = self.boundary
        limit_south, limit_west, limit_north, limit_east = limits.box
        if south > limit_north or north < limit_south or west > limit_east or east < limit_west:
            raise ValueError(
                f"boundary {self.boundary} and the limits in boundary_file "
                f"{[round(v, 5) for v in limits.box]} do not overlap: every point would be outside the city; "
                "remove boundary to use the limits' own box"
            )
        return self

    @field_validator("boundary")
    @classmethod
    def _south_west_north_east(cls, value: list[float]) -> list[float]:
        if len(value) != 4:
            raise ValueError(
                f"must be 4 numbers [south, west, north, east] (latitudes and longitudes), not {value}"
            )
        south, west, north, east = value
        if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
            raise ValueError(
                f"[south, west, north, east] must have south < north within -90..90 and west < east within "
                f"-180..180, not {value}"
            )
        return value


class IntentsSettings(Section):
    # A trained spaCy pipeline directory; empty means the model shipped with the package.
    model_path: Path | None = None
    # The city's street names, one a line, or a CSV with a street/streets/address column: the location
    # finder then reads "halsted and madison" as a corner. An offline gazetteer's own are read anyway.
    street_names_file: Path | None = None

    @field_validator("street_names_file")
    @classmethod
    def _names_streets(cls, value: Path | None) -> Path | None:
        if value is not None:
            from intents.street_names import read_street_names  # light: no model, no spaCy

            try:
                read_street_names(value)
            except OSError as exc:
                raise ValueError(f"cannot read {value}: {exc.strerror or exc}") from exc
        return value

    # Messages whose confidence is at least this are filed without a person; empty means the threshold
    # stored in the model's metadata (chosen for 95% precision on held-out data).
    auto_file_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    geocoder: GeocoderSettings = Field(default_factory=GeocoderSettings)


class ConversationSettings(Section):
    # A TOML file of reply templates per language; empty means the bundled English/Spanish/Chinese set.
    templates_file: ReadFile = None
    default_language: str = "en"
    # Two streets that cross in the city, the corner the replies give as an example ("like 5th St and
    # Market St"); each language joins them its own way (the example_corner template).
    example_streets: list[str] = Field(default_factory=lambda: ["5th St", "Market St"])
    # The program's name and how to reach a person, as the HELP reply names them ({program}, {help_contact}
    # in any template): carriers require both in an SMS program's HELP answer. Empty help_contact leaves
    # that sentence out (and `serve` warns when SMS is enabled).
    program_name: str = Field(default="311", max_length=20)
    help_contact: str = Field(default="", max_length=60)
    # Conversation state older than this is cleaned up.
    state_ttl_hours: Hours = 72.0
    # Below the auto-file threshold but at least this confident: the top choices are offered to the
    # resident; below it (or "other"), the report goes to the operator review queue.
    offer_choices_min_confidence: float = Field(default=0.2, ge=0.0, le=1.0)
    max_choices: int = Field(default=3, ge=1, le=9)
    # The outbox sender: exponential backoff between attempts; a message is given up after
    # outbox_max_attempts or once the next try would come outbox_max_age_hours after it was queued,
    # whichever is first (the defaults keep trying for a day: an outage of hours loses no reply).
    outbox_max_attempts: int = Field(default=50, ge=1)
    outbox_backoff_seconds: float = Field(default=5.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    outbox_max_age_hours: Hours = 24.0
    # The loop guard (bot/loop_guard.py), so the bot never texts back and forth for ever with an
    # auto-reply: within reply_limit_minutes, one sender's same text (near-same, digits aside) is answered
    # reply_limit_repeats times, and more than reply_limit_max_messages of their messages are not
    # answered; commands, a new report and a first answer to a new text always are. 0 repeats: off.
    reply_limit_repeats: int = Field(default=5, ge=0)
    reply_limit_minutes: float = Field(default=10.0, gt=0)
    reply_limit_max_messages: int = Field(default=60, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _no_reply_limit(cls, data: Any) -> Any:
        if isinstance(data, dict) and "reply_limit" in data:
            raise ValueError(
                "reply_limit is gone (it silenced residents who wrote a lot): the loop guard now counts a "
                "sender's repeated texts, reply_limit_repeats (5), and all their messages, "
                "reply_limit_max_messages (60), within reply_limit_minutes"
            )
        return data

    @field_validator("program_name", "help_contact")
    @classmethod
    def _stripped(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "program_name" and not value.strip():
            raise ValueError('name the program residents text, like "SF311"')
        return value.strip()

    @field_validator("example_streets")
    @classmethod
    def _two_streets(cls, value: list[str]) -> list[str]:
        names = [name.strip() for name in value]
        if len(names) != 2 or not all(names):
            raise ValueError(f'give two street names, like ["N Halsted St", "W Madison St"], not {value}')
        return names


class LocalChannelSettings(Section):
    enabled: bool = True
    path: UrlPath = "/local/messages"
    # The local channel believes whoever calls it (any "from", any "to"), so by default only this machine
    # may use it; true opens it to every client (a demo behind your own access control).
    allow_remote: bool = False


class TwilioSettings(Section):
    enabled: bool = False
    account_sid: str = ""
    auth_token: SecretStr | None = None
    # E.164 ("+14155550100"), a short code, or a Messaging Service SID ("MG..."): Twilio refuses any other.
    from_number: Annotated[str, AfterValidator(_twilio_sender)] = ""
    webhook_path: UrlPath = "/webhooks/twilio"
    status_path: UrlPath = "/webhooks/twilio/status"
    # Only for tests and demos against a local fake of Twilio's REST API.
    api_base_url: OptionalHttpUrl = None
    # Longer replies are split at paragraph, sentence or word boundaries (Twilio's limit is 1600).
    max_message_chars: int = Field(default=1600, ge=160, le=1600)


class TelegramSettings(Section):
    enabled: bool = False
    token: SecretStr | None = None
    mode: Literal["webhook", "polling"] = "webhook"
    secret_token: SecretStr | None = None
    webhook_path: UrlPath = "/webhooks/telegram"
    # The Bot API's URLs (another only for a local Bot API server, or a fake in tests and demos).
    base_url: HttpUrl = "https://api.telegram.org/bot"
    base_file_url: HttpUrl = "https://api.telegram.org/file/bot"
    # Webhook mode: call setWebhook(server.public_url + webhook_path) at start-up.
    register_webhook: bool = True
    # Polling mode: how long one getUpdates long poll waits for news.
    poll_timeout_seconds: Seconds = 10.0


class TwitterSettings(Section):
    enabled: bool = False
    # The numeric id of the city's X account (not its @name).
    user_id: str = ""
    bearer_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    webhook_path: UrlPath = "/webhooks/twitter"
    # Only for tests and demos against a local fake of the X API.
    api_base_url: OptionalHttpUrl = None
    # A mention poll that hits the rate limit waits for the reset up to this long (X's window is 15 min);
    # beyond it the poll stops, its cursor untouched, and the next scheduled poll carries on.
    max_rate_limit_wait_seconds: float = Field(default=900.0, ge=0)

    @field_validator("user_id")
    @classmethod
    def _numeric_user_id(cls, value: str) -> str:
        text = value.strip()
        if text and not (text.isascii() and text.isdigit()):
            raise ValueError(f"must be the account's numeric id (digits only, not its @name), not {value!r}")
        return text


class JobsSettings(Section):
    enabled: bool = True
    outbox_seconds: Seconds = 1.0
    notify_seconds: Seconds = 2.0
    twitter_poll_seconds: Seconds = 60.0
    remote_sync_seconds: Seconds = 60.0
    # Submitting reports to the remote city and resolving its tokens (status polling is remote_sync).
    remote_submit_seconds: Seconds = 5.0
    batch_accept_seconds: Seconds = 2.0
    cleanup_seconds: Seconds = 3600.0
    # "auto": a PostgreSQL advisory lock elects one scheduler among the workers (SQLite: this process);
    # "always": this process runs the scheduler; "never": it only serves HTTP.
    scheduler: Literal["auto", "always", "never"] = "auto"
    # How often a worker that does not run the scheduler asks to take over (and the leader checks it still
    # holds the lock); a successor then waits this + 10 s (bot.jobs.scheduler) before running jobs.
    leader_check_seconds: Seconds = 5.0
    # Status changes a notification run handles at most (the rest wait for the next run).
    notify_batch_size: Count = 200


class RemoteSettings(Section):
    # File into an existing city's GeoReport v2 endpoint instead of the embedded core.
    enabled: bool = False
    base_url: Annotated[str, AfterValidator(_http_url_or_empty)] = ""
    # The jurisdiction_id sent with every call to the city; empty sends none.
    jurisdiction_id: str = ""
    api_key: SecretStr | None = None
    # How long a GET (services, definitions, tokens, statuses, a lookup) may take.
    timeout_seconds: Seconds = 10.0
    # How long a POST of a report may take: longer, since a POST the city stores but answers too late for
    # is searched for before it is sent again (GeoReport v2 has no idempotency key), and a slow city
    # answers a POST slowest.
    post_timeout_seconds: Seconds = 30.0
    # The city's service_code → the classifier's class it receives, for codes that differ from ours
    # (e.g. {"CSROWR-12" = "pothole"}); a code not listed is its own class.
    classifier_classes: dict[str, str] = Field(default_factory=dict)
    # Retries of a failed submission or token lookup wait this long, doubling up to retry_max_seconds;
    # a report is retried until the city has it, never dropped.
    retry_first_seconds: Seconds = 5.0
    retry_max_seconds: Seconds = 600.0

    @model_validator(mode="after")
    def _base_url_when_enabled(self) -> RemoteSettings:
        if self.enabled and not self.base_url:
            raise ValueError("remote.base_url: not set; [remote] enabled = true needs the city's endpoint")
        return self

    @model_validator(mode="after")
    def _post_waits_at_least_as_long(self) -> RemoteSettings:
        if self.post_timeout_seconds < self.timeout_seconds:
            raise ValueError(
                f"remote.post_timeout_seconds: {self.post_timeout_seconds} is shorter than "
                f"remote.timeout_seconds ({self.timeout_seconds}); a POST the city answers late is the one "
                "that may be filed twice, so give it at least as long"
            )
        return self


class OperatorSettings(Section):
    # Sessions are kept server-side (the cookie holds only a random token), so no signing secret is needed.
    session_hours: Hours = 12.0
    # Failed sign-ins allowed per operator name within the window, then refused.
    max_sign_in_attempts: Count = 5
    # Failed sign-ins allowed from one client address within the window (for any names), then refused:
    # larger, since a call centre's operators share one address.
    max_sign_in_attempts_per_address: Count = 20
    sign_in_window_seconds: Seconds = 300.0
    # "auto": cookies are Secure when server.public_url is https; "always"/"never" force it.
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    # A claim on a review item lapses after this long, so an operator who walks away does not lock it.
    claim_minutes: Annotated[float, Field(gt=0)] = 15.0
    # Page size of the console's request list.
    page_size: Count = 50


class RetentionSettings(Section):
    # Days the words of a message are kept: a resident's (the inbox) and the bot's replies (the outbox, once
    # sent or given up). After them the clean-up job blanks the text (the inbox's stored replies, the
    # outbox's choices, photos and last error too) and keeps the row: its ids still recognise a provider's
    # redelivery (answered with nothing, never handled twice) and a status update already queued. 0 keeps
    # them for ever; otherwise at least 1 (Telegram hands an update out again for up to a day).
    message_text_days: float = Field(default=90.0, ge=0)

    @field_validator("message_text_days")
    @classmethod
    def _longer_than_a_redelivery(cls, value: float) -> float:
        if 0 < value < 1:
            raise ValueError(
                f"must be 0 (keep for ever) or at least 1 day, not {value}: a message a provider delivers "
                "again within the day must still find its replies"
            )
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    # Where the SQLite database, uploaded media and other state live.
    data_dir: Path = Path("var")
    # Empty means SQLite (WAL) at data_dir/open311.db; a postgresql:// URL shares the load among workers.
    database_url: str | None = None
    # The city's time zone (an IANA name): the dates and times residents and operators read are in it.
    # Everything is stored in UTC. San Francisco's, like the other defaults.
    time_zone: TimeZoneName = DEFAULT_TIME_ZONE
    # How much `serve` and `worker` log: the bot's own lines from this level up. The libraries under it
    # stay at INFO or WARNING whatever it says (their debug lines carry tokens, headers and residents'
    # messages), and the settings' secrets are written as <redacted> in every line (bot.commands.logs).
    log_level: LogLevel = "info"
    server: ServerSettings = Field(default_factory=ServerSettings)
    open311: Open311Settings = Field(default_factory=Open311Settings)
    intents: IntentsSettings = Field(default_factory=IntentsSettings)
    conversation: ConversationSettings = Field(default_factory=ConversationSettings)
    local: LocalChannelSettings = Field(default_factory=LocalChannelSettings)
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    twitter: TwitterSettings = Field(default_factory=TwitterSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)
    remote: RemoteSettings = Field(default_factory=RemoteSettings)
    operator: OperatorSettings = Field(default_factory=OperatorSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    # ${ENV_VAR} references in the file whose variable is not set, by key: named when the key is needed.
    _unset_references: dict[str, str] = PrivateAttr(default_factory=dict)
    # Keys set by an OPEN311_BOT_* variable → the variable, so a later refusal names what the user wrote.
    _from_environment: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return supported_database_url(value.strip())

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        for path, value in _walk_secrets(self):
            if value.get_secret_value().strip().lower() in _PLACEHOLDERS:
                raise ConfigError(f"{path} holds a placeholder secret; set the real value in the environment")
        return self

    @model_validator(mode="after")
    def _a_photo_fits_in_a_body(self) -> Settings:
        # A POST requests.* carries the photo and the form's other fields in one body: a body limit at or
        # below the photo limit would refuse, with a bare 413, photos the API says it accepts.
        if self.server.max_body_bytes <= self.open311.media_max_bytes:
            raise ConfigError(
                f"server.max_body_bytes: {self.server.max_body_bytes} leaves no room for a photo of "
                f"open311.media_max_bytes ({self.open311.media_max_bytes}) and the form around it; "
                "set it higher (the default is twice the photo limit) or lower open311.media_max_bytes"
            )
        return self

    @model_validator(mode="after")
    def _telegram_webhook_needs_https(self) -> Settings:
        telegram = self.telegram
        if not (telegram.enabled and telegram.mode == "webhook" and telegram.register_webhook):
            return self
        # Telegram itself calls webhooks only at https URLs; a local Bot API server (or the fake used in
        # tests and demos) also calls plain http, so only the real one is held to it.
        if urlsplit(telegram.base_url).hostname != TELEGRAM_API_HOST:
            return self
        if self.server.public_url_derived:
            raise ConfigError(
                "server.public_url: not set, so Telegram would be told to call "
                f"{self.server.public_url}{telegram.webhook_path}; webhook mode needs the https URL Telegram "
                'reaches this server at (or set telegram.mode = "polling")'
            )
        if not self.server.public_url.startswith("https://"):
            raise ConfigError(
                "server.public_url: Telegram calls webhooks only at https URLs, not "
                f'{self.server.public_url!r} (or set telegram.mode = "polling")'
            )
        return self

    @property
    def city_zone(self) -> ZoneInfo:
        """``time_zone`` as a ``tzinfo``, for showing a stored (UTC) moment as the city reads it."""
        return ZoneInfo(self.time_zone)

    @property
    def secret_values(self) -> list[str]:
        """Every secret set (tokens, keys, passwords of the providers and the remote city), for the logs to
        leave out."""
        return [value.get_secret_value() for _, value in _walk_secrets(self) if value.get_secret_value()]

    @property
    def unset_references(self) -> dict[str, str]:
        """Keys the file gives as ``${ENV_VAR}`` whose variable is not set: key → variable name."""
        return dict(self._unset_references)

    def written_as(self, key: str) -> str:
        """``key`` as the user set it: "data_dir" from the file, "data_dir (from OPEN311_BOT_DATA_DIR)"
        from the environment."""
        variable = self._from_environment.get(key)
        return f"{key} (from {variable})" if variable else key

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'open311.db').as_posix()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments, then the environment, then the TOML file (passed as init data by load()).
        return (env_settings, init_settings)


def _walk_secrets(model: BaseModel, prefix: str = "") -> list[tuple[str, SecretStr]]:
    found: list[tuple[str, SecretStr]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, SecretStr):
            found.append((path, value))
        elif isinstance(value, BaseModel):
            found.extend(_walk_secrets(value, path + "."))
    return found


def _secret_field_paths(model_cls: type[BaseModel], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in model_cls.model_fields.items():
        annotation = field.annotation
        path = f"{prefix}{name}"
        if annotation is not None and "SecretStr" in str(annotation):
            paths.add(path)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= _secret_field_paths(annotation, path + ".")
    return paths


def _expand_file_values(
    data: dict[str, Any], secret_paths: set[str], unset: dict[str, str], prefix: str = ""
) -> dict[str, Any]:
    """Expands ``${ENV_VAR}`` references and refuses literal secrets written into the file; a reference to
    a variable that is not set is noted in ``unset`` (key → variable) for the message that needs it."""
    expanded: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            expanded[key] = _expand_file_values(value, secret_paths, unset, path + ".")
            continue
        if isinstance(value, str):
            is_reference = bool(_ENV_REFERENCE.fullmatch(value.strip()))
            if path in secret_paths and value and not is_reference:
                raise ConfigError(
                    f"{path} is a secret: write it as ${{ENV_VAR}} in the file and set it in the environment"
                )
            for name in _ENV_REFERENCE.findall(value):
                if not os.environ.get(name):
                    unset[path] = name
            value = _ENV_REFERENCE.sub(lambda m: os.environ.get(m.group(1), ""), value)
            if path in secret_paths and not value:
                continue  # an unset secret is an absent one
        expanded[key] = value
    return expanded


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Loads settings from the TOML file (if any) and the environment; ``overrides`` win over both."""
    file_data: dict[str, Any] = {}
    unset: dict[str, str] = {}
    path = config_file or os.environ.get(CONFIG_ENV_VAR)
    if path:
        config_path = Path(path)
        if not config_path.is_file():
            raise ConfigError(f"configuration file {config_path} does not exist")
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path} is not valid TOML: {exc}") from exc
        file_data = _expand_file_values(raw, _secret_field_paths(Settings), unset)
        # Relative paths in the file are relative to the file, not to wherever the command runs.
        _resolve_relative_paths(file_data, config_path.parent)
    from_environment = _environment_settings()
    try:
        settings = Settings(**file_data)
    except ValidationError as exc:  # a clear message for the CLI, not a traceback
        raise ConfigError(_describe(exc, from_environment)) from exc
    except SettingsError as exc:  # what _environment_settings did not foresee, still without a traceback
        raise ConfigError(f"the OPEN311_BOT_* environment: {exc}") from exc
    if overrides:
        # model_validate does not read the environment again, so explicit overrides win over it.
        current = settings.model_dump(mode="python")
        if settings.server.public_url_derived:
            current["server"]["public_url"] = ""  # derived again, from the host and port overridden here
        try:
            settings = Settings.model_validate(_deep_merge(current, overrides))
        except ValidationError as exc:
            raise ConfigError(_describe(exc, from_environment)) from exc
    settings._unset_references = unset
    settings._from_environment = from_environment
    return settings


def supported_database_url(url: str) -> str:
    """The URL if it is one this bot runs on (SQLite, or PostgreSQL through psycopg 3); a plain
    ``postgresql://`` or ``postgres://`` URL is given psycopg's driver name."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"is not a database URL: {exc}") from exc
    # Read from the URL's own words: get_driver_name() loads the dialect, and there is none for "postgres".
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgres":  # an old spelling some hosts (Heroku, Render) still hand out
        backend = "postgresql"
    if backend == "sqlite":
        return url
    if backend != "postgresql":
        raise ValueError(
            f"{backend!r} is not supported: the bot runs on SQLite (sqlite:///path/open311.db, or leave "
            "database_url empty) or PostgreSQL (postgresql+psycopg://user@host:5432/database)"
        )
    if driver and driver != "psycopg":
        raise ValueError(f"the PostgreSQL driver is psycopg 3: write postgresql+psycopg://, not {driver!r}")
    if importlib.util.find_spec("psycopg") is None:
        raise ValueError("PostgreSQL needs psycopg: pip install 'open311-bot[postgres]'")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def check_channel_settings(settings: Settings) -> None:
    """Refuses, naming each key, what an enabled channel or remote city cannot start without (run when the
    app is built, so commands that reach no channel, such as ``keys``, do not need the channels' secrets)."""
    needed: list[str] = []
    twilio, telegram, twitter = settings.twilio, settings.telegram, settings.twitter
    if twilio.enabled:
        needed += ["twilio.account_sid", "twilio.auth_token", "twilio.from_number"]
    if telegram.enabled:
        needed.append("telegram.token")
        if telegram.mode == "webhook":
            needed.append("telegram.secret_token")
    if twitter.enabled:
        needed.append("twitter.user_id")
        needed += [f"twitter.{name}" for name in ("consumer_key", "consumer_secret", "access_token")]
        needed.append("twitter.access_token_secret")
    if settings.remote.enabled and "remote.api_key" in settings.unset_references:
        # Some cities take reports without a key, so none written is allowed; but a key the file takes from
        # an unset variable is a deployment mistake, and every POST would then be refused (401/403).
        needed.append("remote.api_key")
    geocoder = settings.intents.geocoder
    if "intents.geocoder.api_key" in settings.unset_references or _needs_api_key(geocoder):
        # Before, a geocoder such as OpenCage failed at start-up with a TypeError traceback.
        needed.append("intents.geocoder.api_key")
    problems = [_not_set(settings, key) for key in needed if not _is_set(settings, key)]
    if problems:
        raise ConfigError("; ".join(problems))


def _needs_api_key(geocoder: GeocoderSettings) -> bool:
    """Whether the configured geopy geocoder cannot be built without a key that ``options`` does not give."""
    name = geocoder.provider.strip().lower()
    if name == "offline":
        return False
    from geopy.geocoders import SERVICE_TO_GEOCODER

    from intents.geocoding import API_KEY_ARGUMENTS

    parameters = inspect.signature(SERVICE_TO_GEOCODER[name].__init__).parameters
    return any(
        parameter.default is inspect.Parameter.empty and argument not in geocoder.options
        for argument, parameter in parameters.items()
        if argument in API_KEY_ARGUMENTS
    )


def _is_set(settings: Settings, key: str) -> bool:
    *sections, name = key.split(".")
    owner: Any = settings
    for section in sections:
        owner = getattr(owner, section)
    value = getattr(owner, name)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return bool(value and str(value).strip())  # an empty variable sets nothing


def _not_set(settings: Settings, key: str) -> str:
    *sections, name = key.split(".")
    section = sections[-1]
    variable = f"{ENV_PREFIX}{'__'.join(part.upper() for part in [*sections, name])}"
    reference = settings.unset_references.get(key)
    if reference is not None:
        return (
            f"{key}: not set; the configuration file takes it from ${{{reference}}}, and {reference} is not "
            f"set in the environment (or set {variable})"
        )
    if key in _secret_field_paths(Settings):
        return f'{key}: not set; set {variable} in the environment (or write {name} = "${{VAR}}" in the file)'
    return f"{key}: not set ([{section}] enabled = true needs it)"


def check_classifier_classes(remote: RemoteSettings, classes: list[str]) -> None:
    """Refuses a ``[remote] classifier_classes`` value that is not one of the classifier's ``classes`` (run
    once the model is loaded): a misspelt one ("potholes") silently sent every report of that kind to a
    person, as no service received the class the classifier gave."""
    if not remote.enabled:
        return
    unknown = [
        f'"{code}" = "{name}"' for code, name in remote.classifier_classes.items() if name not in classes
    ]
    if unknown:
        raise ConfigError(
            f"remote.classifier_classes: {', '.join(unknown)}: not a class of the classifier; its classes "
            f"are {', '.join(sorted(classes))}"
        )


# -- the environment --------------------------------------------------------------------------------------


def _environment_settings() -> dict[str, str]:
    """Checks the OPEN311_BOT_* variables before pydantic reads them: each must name a setting (a misspelt
    one would be ignored), and a list or table must be JSON. Returns key → variable, for messages."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for variable, value in sorted(os.environ.items()):
        if not variable.upper().startswith(ENV_PREFIX) or variable.upper() in OTHER_ENV_VARS:
            continue
        parts = variable[len(ENV_PREFIX) :].lower().split("__")
        annotation = _field_annotation(Settings, parts)
        if annotation is None:
            problems.append(
                f"{variable}: no setting is called {'.'.join(parts)} (variables are "
                f'{ENV_PREFIX}<KEY>, nested keys joined with "__", as in {ENV_PREFIX}SERVER__PORT; '
                f"{CONFIG_ENV_VAR} names the file)"
            )
            continue
        found[".".join(parts)] = variable
        kind = _complex_kind(annotation)
        if kind is not None:
            try:
                json.loads(value)
            except ValueError:
                example = '\'["a.org", "b.org"]\'' if kind is list else '\'{"key": "value"}\''
                problems.append(
                    f"{variable}: not valid JSON; in the environment a {'list' if kind is list else 'table'} "
                    f"is written as JSON, e.g. {variable}={example} (got {_shown(value)})"
                )
    if problems:
        raise ConfigError("; ".join(problems))
    return found


def _field_annotation(model: type[BaseModel], parts: list[str]) -> Any:
    """The type of the setting at ``parts`` (a path into dict settings is the dict's), None if none."""
    annotation: Any = model
    for index, part in enumerate(parts):
        if _complex_kind(annotation) is dict and not (
            isinstance(annotation, type) and issubclass(annotation, BaseModel)
        ):
            return annotation  # a key inside a table setting (intents.geocoder.options.domain)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        field = annotation.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        if index == len(parts) - 1:
            return annotation
    return None


def _complex_kind(annotation: Any) -> type | None:
    """list or dict for the settings pydantic-settings reads from the environment as JSON, else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = {_complex_kind(arg) for arg in typing.get_args(annotation)} - {None}
        return kinds.pop() if len(kinds) == 1 else None
    if typing.get_origin(annotation) is Annotated:
        return _complex_kind(typing.get_args(annotation)[0])
    if annotation is list or typing.get_origin(annotation) is list:
        return list
    if annotation is dict or typing.get_origin(annotation) is dict:
        return dict
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return dict
    return None


def _describe(error: ValidationError, from_environment: dict[str, str] | None = None) -> str:
    secrets = _secret_field_paths(Settings)
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        cause = item.get("ctx", {}).get("error")
        text = str(cause) if item["type"] == "value_error" and cause is not None else item["msg"]
        if item["type"] == "model_type":  # "... instance of ServerSettings" names our class, not the key
            text = _section_shape(where)
        value = item.get("input")
        if (
            item["type"] != "value_error"
            and isinstance(value, str | int | float)
            and not isinstance(value, bool)
            and where not in secrets
        ):
            text += f" (got {_shown(value)})"
        variable = next(
            (name for key, name in (from_environment or {}).items() if f"{where}.".startswith(f"{key}.")),
            None,
        )
        if variable is not None:
            text += f" (from {variable})"
        # A check over several keys names its key itself.
        problems.append(text if not where or text.startswith(f"{where}.") else f"{where}: {text}")
    return "; ".join(problems)


def _section_shape(where: str) -> str:
    """What a section given one value (``OPEN311_BOT_SERVER=8631``, ``server = 8631``) should look like."""
    section = _field_annotation(Settings, where.split("."))
    keys = list(section.model_fields) if isinstance(section, type) and issubclass(section, BaseModel) else []
    variable = f"{ENV_PREFIX}{where.upper().replace('.', '__')}__"
    example = f", as in {variable}{keys[0].upper()}" if keys else ""
    listed = f"; its keys are {', '.join(keys)}" if keys else ""
    return (
        f"is a section, not a value: write its keys under [{where}] in the file, or one variable per key "
        f"in the environment ({variable}<KEY>{example}){listed}"
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _resolve_relative_paths(data: dict[str, Any], base: Path) -> None:
    for key in ("data_dir",):
        if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
            data[key] = str(base / data[key])
    for section, keys in {
        "open311": ("catalog_file",),
        "intents": ("model_path", "street_names_file"),
        "conversation": ("templates_file",),
    }.items():
        sub = data.get(section)
        if isinstance(sub, dict):
            for key in keys:
                if isinstance(sub.get(key), str) and sub[key] and not Path(sub[key]).is_absolute():
                    sub[key] = str(base / sub[key])
    geocoder = data.get("intents", {}).get("geocoder") if isinstance(data.get("intents"), dict) else None
    if isinstance(geocoder, dict):
        value = geocoder.get("boundary_file")
        if isinstance(value, str) and value and not Path(value).is_absolute():
            geocoder["boundary_file"] = str(base / value)
        options = geocoder.get("options")
        # The offline geocoder's gazetteer directory (another city's): a path like the others.
        if isinstance(options, dict):
            value = options.get("data_dir")
            if isinstance(value, str) and value and not Path(value).is_absolute():
                options["data_dir"] = str(base / value)


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
