"""Settings: a TOML file plus OPEN311_BOT_* environment variables (nested keys joined with __), secrets
only from the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("OPEN311_BOT_"):
            monkeypatch.delenv(name)


def test_file_then_environment_with_nested_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "city.toml"
    config.write_text(
        'data_dir = "state"\n'
        "[open311]\n"
        'base_path = "/api/v2"\n'
        'jurisdictions = ["sfgov.org", "oakland.gov"]\n'
        'catalog_file = "catalogs/toronto.toml"\n'
        "[twilio]\n"
        'auth_token = "${CITY_TWILIO_TOKEN}"\n'
        "[server]\n"
        "port = 9000\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CITY_TWILIO_TOKEN", "from-the-environment")
    monkeypatch.setenv("OPEN311_BOT_DATABASE_URL", "postgresql+psycopg://db/city")
    monkeypatch.setenv("OPEN311_BOT_SERVER__PORT", "9100")
    monkeypatch.setenv("OPEN311_BOT_OPEN311__SANDBOX", "true")

    settings = load_settings(config)
    assert settings.data_dir == tmp_path / "state", "relative to the file"
    assert settings.open311.catalog_file == tmp_path / "catalogs" / "toronto.toml"
    assert settings.open311.base_path == "/api/v2"
    assert settings.open311.jurisdictions == ["sfgov.org", "oakland.gov"]
    assert settings.server.port == 9100, "the environment wins over the file"
    assert settings.open311.sandbox is True
    assert settings.effective_database_url == "postgresql+psycopg://db/city"
    assert settings.twilio.auth_token is not None
    assert settings.twilio.auth_token.get_secret_value() == "from-the-environment"


def test_secrets_come_only_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "city.toml"
    config.write_text('[twilio]\nauth_token = "abc123-literal"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"twilio\.auth_token"):
        load_settings(config)

    monkeypatch.setenv("OPEN311_BOT_TWILIO__AUTH_TOKEN", "changeme")
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings()
    monkeypatch.setenv("OPEN311_BOT_TWILIO__AUTH_TOKEN", "a-real-token")
    token = load_settings().twilio.auth_token
    assert token is not None
    assert token.get_secret_value() == "a-real-token"


def test_defaults_unknown_keys_and_broken_files(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.open311.base_path == "/open311/v2"
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("open311.db")

    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[open311]\nbase_paht = '/x'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="base_paht"):
        load_settings(unknown)
    broken = tmp_path / "broken.toml"
    broken.write_text("[open311\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_the_example_configuration_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    settings = load_settings(example)
    assert settings.open311.base_path == "/open311/v2"


def test_the_example_documents_every_key() -> None:
    from pydantic import BaseModel

    from bot.config import Settings

    example = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text(encoding="utf-8")
    documented: set[str] = set()
    section = ""
    for line in example.splitlines():
        text = line.strip()
        if text.startswith("[") and text.endswith("]"):
            section = text.strip("[]").strip()
            continue
        key = text.lstrip("#").strip().split("=", 1)[0].strip()
        if "=" in text and key.replace("_", "").isalnum():
            documented.add(f"{section}.{key}" if section else key)

    def keys(model: type[BaseModel], prefix: str = "") -> set[str]:
        found: set[str] = set()
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found |= keys(annotation, f"{prefix}{name}.")
            else:
                found.add(f"{prefix}{name}")
        return found

    missing = sorted(keys(Settings) - documented)
    assert missing == [], f"config.example.toml does not document: {missing}"


def test_the_example_explains_every_key() -> None:
    """Each key in config.example.toml (set or shown commented out) has a comment above it saying what it
    does; keys written one after another share that comment only when it names each of them."""
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    key_line = re.compile(r"^(?:# )?([a-z_]+) = ")
    unexplained: list[str] = []
    section = ""
    lines = example.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[] ")
            continue
        found = key_line.match(line)
        if not found:
            continue
        key = found.group(1)
        above = number - 1
        while above >= 0 and key_line.match(lines[above]):
            above -= 1
        comment: list[str] = []
        while above >= 0 and lines[above].startswith("#") and not key_line.match(lines[above]):
            comment.insert(0, lines[above])
            above -= 1
        first_of_its_run = not key_line.match(lines[number - 1])
        explained = bool(comment) and (first_of_its_run or key in " ".join(comment))
        if not explained:
            unexplained.append(f"{section}.{key}" if section else key)
    assert unexplained == [], f"config.example.toml does not explain: {unexplained}"
