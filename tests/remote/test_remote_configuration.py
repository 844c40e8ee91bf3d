"""The ``[remote]`` section as ``open311-bot serve --check`` meets it: what filing at the city cannot work
without is refused at start-up naming the key (exit 2), like an enabled channel's credentials."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.cli import main

REMOTE = """
data_dir = "data"
[remote]
enabled = {enabled}
base_url = "https://api.city.example.org/open311/v2"
api_key = "${{CITY_OPEN311_KEY_FOR_TEST}}"
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OPEN311_BOT_") and name != "OPEN311_BOT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.delenv("CITY_OPEN311_KEY_FOR_TEST", raising=False)
    monkeypatch.setenv("OPEN311_BOT_JOBS__ENABLED", "false")


def check(tmp_path: Path, toml: str) -> int:
    config = tmp_path / "city.toml"
    config.write_text(toml, encoding="utf-8")
    return main(["--config", str(config), "serve", "--check"])


def test_an_enabled_city_whose_key_variable_is_unset_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: "the configuration is usable", and then every POST was refused 403 by the city."""
    code = check(tmp_path, REMOTE.format(enabled="true"))
    error = capsys.readouterr().err
    assert code == 2, error
    assert error.startswith(
        "open311-bot: configuration error: remote.api_key: not set; the configuration file takes it from "
        "${CITY_OPEN311_KEY_FOR_TEST}, and CITY_OPEN311_KEY_FOR_TEST is not set in the environment "
        "(or set OPEN311_BOT_REMOTE__API_KEY)"
    ), error


@pytest.mark.parametrize(
    ("enabled", "variable", "environment"),
    [
        ("true", "CITY_OPEN311_KEY_FOR_TEST", "the-city-issued-key"),  # the file's variable is set
        ("true", "OPEN311_BOT_REMOTE__API_KEY", "the-city-issued-key"),  # the key set directly
        ("false", None, None),  # not filing at the city: its key is not needed
    ],
)
def test_a_key_that_is_set_or_not_needed_passes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    enabled: str,
    variable: str | None,
    environment: str | None,
) -> None:
    if variable is not None and environment is not None:
        monkeypatch.setenv(variable, environment)
    code = check(tmp_path, REMOTE.format(enabled=enabled))
    assert code == 0, capsys.readouterr().err
    assert "configuration is usable" in capsys.readouterr().out


def test_a_city_that_takes_reports_without_a_key_may_be_given_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = (
        'data_dir = "data"\n[remote]\nenabled = true\nbase_url = "https://api.city.example.org/open311/v2"\n'
    )
    code = check(tmp_path, toml)
    assert code == 0, capsys.readouterr().err


def test_a_post_timeout_shorter_than_the_get_timeout_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = (
        'data_dir = "data"\n[remote]\nenabled = true\nbase_url = "https://api.city.example.org/open311/v2"\n'
        "timeout_seconds = 10\npost_timeout_seconds = 5\n"
    )
    code = check(tmp_path, toml)
    error = capsys.readouterr().err
    assert code == 2, error
    assert error.startswith("open311-bot: configuration error: "), error
    assert "remote.post_timeout_seconds: 5.0 is shorter than remote.timeout_seconds (10.0)" in error, error
