"""The one typed place for configuration.

Settings come from a TOML file (``--config FILE`` or ``OPEN311_BOT_CONFIG``) and from environment
variables named ``OPEN311_BOT_*``, nested keys joined with ``__`` (``OPEN311_BOT_TWILIO__AUTH_TOKEN``).
Environment variables win over the file.

Secrets (every ``SecretStr`` field) never come from the repository: in the TOML file a secret may only be
written as a ``${ENV_VAR}`` reference, which is expanded here; a literal secret in the file is refused.
Every key is documented in ``config.example.toml``.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "OPEN311_BOT_"
CONFIG_ENV_VAR = "OPEN311_BOT_CONFIG"
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDERS = {"changeme", "change-me", "secret", "xxx", "todo", "placeholder"}


class ConfigError(ValueError):
    """The configuration cannot be used as it is; the message says which key and why."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not silently ignored
    host: str = "127.0.0.1"
    port: int = 8311
    # The URL residents and providers reach us at (behind a TLS proxy this is the proxy's URL). Webhook
    # signatures are checked against it and media URLs are built from it. Empty: http://host:port of what
    # is served (so `serve --port` moves it too).
    public_url: str = ""
    max_body_bytes: int = 10 * 1024 * 1024
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


class Open311Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_path: str = "/open311/v2"
    # The jurisdictions this deployment serves. With more than one, jurisdiction_id is required.
    jurisdictions: list[str] = Field(default_factory=lambda: ["sfgov.org"])
    # A TOML file holding the service catalog; empty means the bundled default catalog.
    catalog_file: Path | None = None
    # Sandbox mode (per Toronto): POST needs no key, fixed test cases, nothing touches production data.
    sandbox: bool = False
    # Batch (token) services: "auto" accepts after batch_accept_delay_seconds, "operator" waits for a person.
    batch_acceptance: Literal["auto", "operator"] = "auto"
    batch_accept_delay_seconds: float = 3.0
    # Uploaded media (multipart `media` on POST requests).
    media_max_bytes: int = 5 * 1024 * 1024
    media_types: list[str] = Field(
        default_factory=lambda: ["image/jpeg", "image/png", "image/gif", "image/webp"]
    )
    max_page_size: int = 1000
    # Web origins allowed to call the API from a browser (CORS), e.g. ["https://app.example.org"]; "*" is any
    # origin (the API is public and takes no cookies); [] turns CORS off. Only the API's paths are affected.
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])
    contact: str = "311 Customer Service Center, 311@example.org"


class GeocoderSettings(BaseModel):
    # "offline" is the bundled San Francisco gazetteer; any geopy geocoder name works too
    # ("nominatim", "arcgis", "pelias", ...), with its options in `options`.
    provider: str = "offline"
    options: dict[str, Any] = Field(default_factory=dict)
    api_key: SecretStr | None = None
    min_delay_seconds: float = 1.0
    cache_size: int = 10_000
    # Points outside this bounding box [south, west, north, east] are reported as outside the city.
    boundary: list[float] = Field(default_factory=lambda: [37.70, -122.52, 37.84, -122.35])


class IntentsSettings(BaseModel):
    # A trained spaCy pipeline directory; empty means the model shipped with the package.
    model_path: Path | None = None
    # Messages whose confidence is at least this are filed without a person; empty means the threshold
    # stored in the model's metadata (chosen for 95% precision on held-out data).
    auto_file_threshold: float | None = None
    geocoder: GeocoderSettings = Field(default_factory=GeocoderSettings)


class ConversationSettings(BaseModel):
    # A TOML file of reply templates per language; empty means the bundled English/Spanish/Chinese set.
    templates_file: Path | None = None
    default_language: str = "en"
    # Conversation state older than this is cleaned up.
    state_ttl_hours: float = 72.0
    # Below the auto-file threshold but at least this confident: the top choices are offered to the
    # resident; below it (or "other"), the report goes to the operator review queue.
    offer_choices_min_confidence: float = Field(default=0.2, ge=0.0, le=1.0)
    max_choices: int = Field(default=3, ge=1, le=9)
    # The outbox sender: attempts before giving up, and exponential backoff between them.
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_seconds: float = Field(default=5.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=3600.0, gt=0)


class LocalChannelSettings(BaseModel):
    enabled: bool = True
    path: str = "/local/messages"
    # The local channel believes whoever calls it (any "from", any "to"), so by default only this machine
    # may use it; true opens it to every client (a demo behind your own access control).
    allow_remote: bool = False


class TwilioSettings(BaseModel):
    enabled: bool = False
    account_sid: str = ""
    auth_token: SecretStr | None = None
    from_number: str = ""
    webhook_path: str = "/webhooks/twilio"
    status_path: str = "/webhooks/twilio/status"
    # Only for tests and demos against a local fake of Twilio's REST API.
    api_base_url: str | None = None
    # Longer replies are split at paragraph, sentence or word boundaries (Twilio's limit is 1600).
    max_message_chars: int = Field(default=1600, ge=160, le=1600)


class TelegramSettings(BaseModel):
    enabled: bool = False
    token: SecretStr | None = None
    mode: Literal["webhook", "polling"] = "webhook"
    secret_token: SecretStr | None = None
    webhook_path: str = "/webhooks/telegram"
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    # Webhook mode: call setWebhook(server.public_url + webhook_path) at start-up.
    register_webhook: bool = True
    # Polling mode: how long one getUpdates long poll waits for news.
    poll_timeout_seconds: float = 10.0


class TwitterSettings(BaseModel):
    enabled: bool = False
    user_id: str = ""
    bearer_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    webhook_path: str = "/webhooks/twitter"
    # Only for tests and demos against a local fake of the X API.
    api_base_url: str | None = None
    # A mention poll that hits the rate limit waits for the reset up to this long (X's window is 15 min);
    # beyond it the poll stops, its cursor untouched, and the next scheduled poll carries on.
    max_rate_limit_wait_seconds: float = 900.0


class JobsSettings(BaseModel):
    enabled: bool = True
    outbox_seconds: float = 1.0
    notify_seconds: float = 2.0
    twitter_poll_seconds: float = 60.0
    remote_sync_seconds: float = 60.0
    # Submitting reports to the remote city and resolving its tokens (status polling is remote_sync).
    remote_submit_seconds: float = 5.0
    batch_accept_seconds: float = 2.0
    cleanup_seconds: float = 3600.0
    # "auto": a PostgreSQL advisory lock elects one scheduler among the workers (SQLite: this process);
    # "always": this process runs the scheduler; "never": it only serves HTTP.
    scheduler: Literal["auto", "always", "never"] = "auto"
    # How often a worker that does not run the scheduler asks to take over (and the leader checks it still
    # holds the lock): the longest a dead leader's jobs wait for a successor.
    leader_check_seconds: float = 5.0
    # Status changes a notification run handles at most (the rest wait for the next run).
    notify_batch_size: int = 200


class RemoteSettings(BaseModel):
    # File into an existing city's GeoReport v2 endpoint instead of the embedded core.
    enabled: bool = False
    base_url: str = ""
    jurisdiction_id: str = ""
    api_key: SecretStr | None = None
    timeout_seconds: float = 10.0
    # The city's service_code → the classifier's class it receives, for codes that differ from ours
    # (e.g. {"CSROWR-12" = "pothole"}); a code not listed is its own class.
    classifier_classes: dict[str, str] = Field(default_factory=dict)
    # Retries of a failed submission or token lookup wait this long, doubling up to retry_max_seconds;
    # a report is retried until the city has it, never dropped.
    retry_first_seconds: float = 5.0
    retry_max_seconds: float = 600.0


class OperatorSettings(BaseModel):
    # Sessions are kept server-side (the cookie holds only a random token), so no signing secret is needed.
    session_hours: float = 12.0
    # Failed sign-ins allowed per operator name and per client address within the window, then refused.
    max_sign_in_attempts: int = 5
    sign_in_window_seconds: float = 300.0
    # "auto": cookies are Secure when server.public_url is https; "always"/"never" force it.
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    # A claim on a review item lapses after this long, so an operator who walks away does not lock it.
    claim_minutes: float = 15.0
    # Page size of the console's request list.
    page_size: int = 50


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

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        for path, value in _walk_secrets(self):
            if value.get_secret_value().strip().lower() in _PLACEHOLDERS:
                raise ConfigError(f"{path} holds a placeholder secret; set the real value in the environment")
        return self

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


def _expand_file_values(data: dict[str, Any], secret_paths: set[str], prefix: str = "") -> dict[str, Any]:
    """Expands ``${ENV_VAR}`` references and refuses literal secrets written into the file."""
    expanded: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            expanded[key] = _expand_file_values(value, secret_paths, path + ".")
            continue
        if isinstance(value, str):
            is_reference = bool(_ENV_REFERENCE.fullmatch(value.strip()))
            if path in secret_paths and value and not is_reference:
                raise ConfigError(
                    f"{path} is a secret: write it as ${{ENV_VAR}} in the file and set it in the environment"
                )
            value = _ENV_REFERENCE.sub(lambda m: os.environ.get(m.group(1), ""), value)
            if path in secret_paths and not value:
                continue  # an unset secret is an absent one
        expanded[key] = value
    return expanded


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Loads settings from the TOML file (if any) and the environment; ``overrides`` win over both."""
    file_data: dict[str, Any] = {}
    path = config_file or os.environ.get(CONFIG_ENV_VAR)
    if path:
        config_path = Path(path)
        if not config_path.is_file():
            raise ConfigError(f"configuration file {config_path} does not exist")
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path} is not valid TOML: {exc}") from exc
        file_data = _expand_file_values(raw, _secret_field_paths(Settings))
        # Relative paths in the file are relative to the file, not to wherever the command runs.
        _resolve_relative_paths(file_data, config_path.parent)
    try:
        settings = Settings(**file_data)
    except ValidationError as exc:  # a clear message for the CLI, not a traceback
        raise ConfigError(_describe(exc)) from exc
    if not overrides:
        return settings
    # model_validate does not read the environment again, so explicit overrides win over it.
    current = settings.model_dump(mode="python")
    if settings.server.public_url_derived:
        current["server"]["public_url"] = ""  # derived again, from the host and port overridden here
    try:
        return Settings.model_validate(_deep_merge(current, overrides))
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "settings"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def _resolve_relative_paths(data: dict[str, Any], base: Path) -> None:
    for key in ("data_dir",):
        if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
            data[key] = str(base / data[key])
    for section, keys in {
        "open311": ("catalog_file",),
        "intents": ("model_path",),
        "conversation": ("templates_file",),
    }.items():
        sub = data.get(section)
        if isinstance(sub, dict):
            for key in keys:
                if isinstance(sub.get(key), str) and sub[key] and not Path(sub[key]).is_absolute():
                    sub[key] = str(base / sub[key])


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
