"""A deployer's configuration, as ``open311-bot serve`` meets it: every value it cannot use is refused at
start-up naming the key (``configuration error: KEY: ...``, exit 2) or, for a database it cannot reach,
saying so (exit 1); never a traceback, a hang, or a bot that starts and then fails residents.

The table runs the real command line (``bot.cli.main``) with ``serve --check``, which builds everything
``serve`` does and exits instead of listening."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from bot.cli import main
from tests.conftest import make_settings
from tests.support.databases import postgres_server_url
from tests.support.live_server import live_server

COMMAND = str(Path(sys.executable).with_name("open311-bot"))


class Case(NamedTuple):
    toml: str
    expected: tuple[str, ...]  # in the error, in order of appearance not required
    env: dict[str, str] = {}  # noqa: RUF012 - a NamedTuple default, never mutated
    code: int = 2


def _no_such_database() -> str:
    """A database on the test server that does not exist, with a password that must not be shown."""
    from sqlalchemy.engine import make_url

    url = make_url(postgres_server_url()).set(database="open311_bot_no_such_database", password="hunter2")
    return url.render_as_string(hide_password=False)


CASES: dict[str, Case] = {
    # 1. intervals: a negative one hung start-up for ever, zero ran the job back to back
    "negative outbox interval": Case(
        "[jobs]\noutbox_seconds = -1\n", ("jobs.outbox_seconds:", "greater than 0")
    ),
    "zero notify interval": Case("[jobs]\nnotify_seconds = 0\n", ("jobs.notify_seconds:",)),
    "negative leader check": Case("[jobs]\nleader_check_seconds = -1\n", ("jobs.leader_check_seconds:",)),
    "zero cleanup interval": Case("[jobs]\ncleanup_seconds = 0\n", ("jobs.cleanup_seconds:",)),
    # 2. no jurisdiction: every resident's message failed with a 500
    "no jurisdiction": Case("[open311]\njurisdictions = []\n", ("open311.jurisdictions:", "at least one")),
    # 3. tracebacks before
    "mysql": Case('database_url = "mysql://x"\n', ("database_url:", "SQLite", "PostgreSQL")),
    "unreachable database": Case(
        f'database_url = "{_no_such_database()}"\n',
        ("cannot connect to the database at", "open311_bot_no_such_database", "***"),
        code=1,
    ),
    "unknown geocoder": Case(
        '[intents.geocoder]\nprovider = "bogus"\n', ("intents.geocoder.provider:", "'bogus'", "nominatim")
    ),
    "unknown geocoder option": Case(
        '[intents.geocoder]\nprovider = "nominatim"\noptions = { bogus = 1 }\n',
        ("intents.geocoder.options:", "bogus", "domain"),
    ),
    "three-number boundary": Case(
        "[intents.geocoder]\nboundary = [1, 2, 3]\n",
        ("intents.geocoder.boundary:", "south, west, north, east"),
    ),
    "boundary upside down": Case(
        "[intents.geocoder]\nboundary = [37.84, -122.52, 37.70, -122.35]\n", ("intents.geocoder.boundary:",)
    ),
    "language without templates": Case(
        '[conversation]\ndefault_language = "fr"\n', ("conversation.default_language:", "en, es, zh")
    ),
    "missing catalog": Case(
        '[open311]\ncatalog_file = "nope.toml"\n',
        ("open311.catalog_file:", "{dir}/nope.toml", "does not exist"),
    ),
    "missing templates": Case(
        '[conversation]\ntemplates_file = "nope.toml"\n', ("conversation.templates_file:", "{dir}/nope.toml")
    ),
    "missing model": Case('[intents]\nmodel_path = "nope"\n', ("intents.model_path:", "{dir}/nope")),
    "base path without slash": Case('[open311]\nbase_path = "open311"\n', ("open311.base_path:", '"/"')),
    "local path without slash": Case('[local]\npath = "local"\n', ("local.path:", '"/"')),
    "port too large": Case("[server]\nport = 99999\n", ("server.port:", "1 to 65535")),
    "negative port": Case("[server]\nport = -1\n", ("server.port:", "1 to 65535")),
    "comma list in the environment": Case(
        "",
        ("OPEN311_BOT_OPEN311__JURISDICTIONS:", "JSON", '["a.org", "b.org"]'),
        env={"OPEN311_BOT_OPEN311__JURISDICTIONS": "a.org,b.org"},
    ),
    # 4. accepted silently before
    "public url not a url": Case('[server]\npublic_url = "not a url"\n', ("server.public_url:", "http")),
    "public url ftp": Case('[server]\npublic_url = "ftp://x.org"\n', ("server.public_url:", "http")),
    "negative body limit": Case("[server]\nmax_body_bytes = -5\n", ("server.max_body_bytes:",)),
    "negative media limit": Case("[open311]\nmedia_max_bytes = -1\n", ("open311.media_max_bytes:",)),
    "body limit below the photo limit": Case(
        "[server]\nmax_body_bytes = 1000000\n[open311]\nmedia_max_bytes = 2000000\n",
        ("server.max_body_bytes:", "open311.media_max_bytes (2000000)"),
    ),
    "threshold above one": Case("[intents]\nauto_file_threshold = 5\n", ("intents.auto_file_threshold:",)),
    "html uploads": Case(
        '[open311]\nmedia_types = ["text/html"]\n', ("open311.media_types:", "'text/html'", "image/jpeg")
    ),
    "negative state ttl": Case("[conversation]\nstate_ttl_hours = -3\n", ("conversation.state_ttl_hours:",)),
    "zero session": Case("[operator]\nsession_hours = 0\n", ("operator.session_hours:",)),
    "negative geocoder cache": Case(
        "[intents.geocoder]\ncache_size = -1\n", ("intents.geocoder.cache_size:",)
    ),
    "twitter name for id": Case('[twitter]\nuser_id = "not-a-number"\n', ("twitter.user_id:", "numeric")),
    "twitter api not a url": Case('[twitter]\napi_base_url = "not a url"\n', ("twitter.api_base_url:",)),
    "telegram api over ftp": Case('[telegram]\nbase_url = "ftp://nowhere"\n', ("telegram.base_url:", "http")),
    "port zero": Case("[server]\nport = 0\n", ("server.port:", "1 to 65535")),
    "misspelt section in the environment": Case(
        "", ("OPEN311_BOT_SERVR__PORT:", "servr.port"), env={"OPEN311_BOT_SERVR__PORT": "8615"}
    ),
    "misspelt key in a section": Case('[intents]\nmodl_path = "x"\n', ("intents.modl_path:",)),
    "misspelt time zone": Case('time_zone = "America/Chicgo"\n', ("time_zone:", "'America/Chicgo'", "IANA")),
    # 6. the variable the file names
    "twilio without its secrets": Case(
        '[twilio]\nenabled = true\nauth_token = "${CITY_TWILIO_TOKEN_UNSET}"\n',
        (
            "twilio.account_sid: not set",
            "twilio.from_number: not set",
            "twilio.auth_token: not set; the configuration file takes it from ${CITY_TWILIO_TOKEN_UNSET}",
        ),
    ),
    "twilio token set empty": Case(
        '[twilio]\nenabled = true\naccount_sid = "AC123"\nfrom_number = "+14155550100"\n',
        ("twilio.auth_token: not set; set OPEN311_BOT_TWILIO__AUTH_TOKEN",),
        env={"OPEN311_BOT_TWILIO__AUTH_TOKEN": ""},
    ),
    # 8. Telegram would have been told to call http://127.0.0.1
    "telegram webhook without public url": Case(
        '[telegram]\nenabled = true\ntoken = "${CITY_TG_TOKEN}"\nsecret_token = "${CITY_TG_SECRET}"\n',
        ("server.public_url:", "https", "polling"),
        env={"CITY_TG_TOKEN": "123:abc", "CITY_TG_SECRET": "webhook-secret"},
    ),
    "telegram webhook at an http url": Case(
        '[server]\npublic_url = "http://311.example.org"\n'
        '[telegram]\nenabled = true\ntoken = "${CITY_TG_TOKEN}"\nsecret_token = "${CITY_TG_SECRET}"\n',
        ("server.public_url:", "https"),
        env={"CITY_TG_TOKEN": "123:abc", "CITY_TG_SECRET": "webhook-secret"},
    ),
    # 9. every report of that kind went to a person, silently
    "remote class misspelt": Case(
        '[remote]\nenabled = true\nbase_url = "https://city.example/open311/v2"\n'
        'api_key = "${CITY_OPEN311_KEY}"\n'
        'classifier_classes = { "4fd3b167e750846744000005" = "potholes", "CSROWR-12" = "pothole" }\n',
        ("remote.classifier_classes:", '"4fd3b167e750846744000005" = "potholes"', "pothole, sidewalk"),
        env={"CITY_OPEN311_KEY": "a-key"},
    ),
    # 10. tracebacks before (a deployer's own city)
    "postgres scheme": Case(
        f'database_url = "{_no_such_database().replace("postgresql+psycopg://", "postgres://", 1)}"\n',
        ("cannot connect to the database at", "open311_bot_no_such_database"),
        code=1,
    ),
    "geocoder that needs a key, from an unset variable": Case(
        '[intents.geocoder]\nprovider = "opencage"\napi_key = "${CITY_GEO_KEY_UNSET}"\n',
        ("intents.geocoder.api_key: not set; the configuration file takes it from ${CITY_GEO_KEY_UNSET}",),
    ),
    "geocoder that needs a key, none given": Case(
        '[intents.geocoder]\nprovider = "opencage"\n',
        ("intents.geocoder.api_key: not set; set OPEN311_BOT_INTENTS__GEOCODER__API_KEY",),
    ),
    # 11. accepted silently before: every report of that kind went to a person
    "geocoder key from an unset variable": Case(
        '[intents.geocoder]\nprovider = "nominatim"\napi_key = "${CITY_GEO_KEY_UNSET}"\n',
        ("intents.geocoder.api_key: not set; the configuration file takes it from ${CITY_GEO_KEY_UNSET}",),
    ),
    # 12. accepted silently before: the browser's Origin never matched, every app's call was refused
    "cors origin without its scheme": Case(
        '[open311]\ncors_origins = ["https://app.columbus.gov", "columbus.gov"]\n',
        ("open311.cors_origins:", "'columbus.gov'", "https://columbus.gov"),
    ),
    "cors origin with a path": Case(
        '[open311]\ncors_origins = ["https://app.columbus.gov/"]\n',
        ("open311.cors_origins:", "'https://app.columbus.gov/'", "https://app.columbus.gov"),
    ),
    # ... and Twilio refused every reply sent from it
    "twilio number not E.164": Case(
        '[twilio]\nfrom_number = "614-555-0100"\n',
        ("twilio.from_number:", "E.164", "'614-555-0100'", "Messaging Service SID"),
    ),
}


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OPEN311_BOT_") and name != "OPEN311_BOT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_serve_refuses_what_it_cannot_use_naming_the_key(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "city.toml"
    config.write_text('data_dir = "data"\n' + case.toml, encoding="utf-8")
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)

    code = main(["--config", str(config), "serve", "--check"])

    error = capsys.readouterr().err
    assert code == case.code, error
    if case.code == 2:
        assert error.startswith("open311-bot: configuration error: "), error
    for expected in case.expected:
        assert expected.replace("{dir}", str(tmp_path)) in error, error
    assert "hunter2" not in error
    assert "Traceback" not in error


def test_what_used_to_hang_is_refused_by_the_real_command(tmp_path: Path) -> None:
    """`outbox_seconds = -1` kept start-up spinning at "Waiting for application startup." for ever."""
    config = tmp_path / "city.toml"
    config.write_text("[jobs]\noutbox_seconds = -1\n", encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}
    result = subprocess.run(
        [COMMAND, "--config", str(config), "serve", "--port", "8399"],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "configuration error: jobs.outbox_seconds: " in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("clean_environment")
def test_a_usable_configuration_passes_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example file, with what the environment supplies in a deployment, passes as it is; and so do
    the environment's JSON lists."""
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    config = tmp_path / "city.toml"
    config.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("OPEN311_BOT_OPEN311__JURISDICTIONS", '["sfgov.org", "oakland.gov"]')
    monkeypatch.setenv("OPEN311_BOT_JOBS__ENABLED", "false")

    assert main(["--config", str(config), "serve", "--check"]) == 0, capsys.readouterr().err
    assert "configuration is usable" in capsys.readouterr().out


# -- server.max_body_bytes, on every path -------------------------------------------------------------------


@pytest.fixture
def small_bodies_url(
    tmp_path: Path, sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    from bot.app import create_app

    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    settings = make_settings(
        tmp_path / "data",
        sqlite_database_url,
        server={"max_body_bytes": 1000},
        open311={"media_max_bytes": 500},
    )
    with live_server(create_app(settings)) as url:
        yield url


def test_a_body_over_the_limit_is_refused_everywhere(small_bodies_url: str) -> None:
    """config.example.toml says larger bodies are refused with 413; only the Open311 API did."""
    message: dict[str, Any] = {"from": "alice", "text": "Huge pothole at 5th St and Market St"}
    with httpx.Client(base_url=small_bodies_url, timeout=60) as client:
        assert client.post("/local/messages", json=message).status_code == 200, "under the limit: handled"

        large = {**message, "text": "pothole " * 190}  # about 1.5 KB
        refused = client.post("/local/messages", json=large)
        assert refused.status_code == 413
        assert "1000 bytes" in refused.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"from": "bob", "text": "'
            for _ in range(20):
                yield b"pothole " * 100
            yield b'"}'

        # Answered while the client is still sending, the 413 must reach it, not "connection reset by
        # peer" (which it did in about one try in four before the rest of the body was drained).
        for _ in range(20):
            for path, content_type in (
                ("/local/messages", "application/json"),
                ("/open311/v2/requests.json", "application/x-www-form-urlencoded"),
            ):
                streamed = client.post(path, content=chunks(), headers={"content-type": content_type})
                assert streamed.status_code == 413, path
        assert client.get("/local/messages", params={"to": "bob"}).json()["messages"] == [], "not handled"

        assert client.post("/operator/sign-in", content=b"x" * 1500).status_code == 413

        # The Open311 API keeps answering in the spec's error format.
        api = client.post("/open311/v2/requests.json", data={"description": "x" * 1500})
        assert api.status_code == 413
        assert isinstance(api.json(), list)
        assert "1000 bytes" in api.json()[0]["description"]


def _toronto_catalog(tmp_path: Path, pothole_class: str, old: str = "", new: str = "") -> Path:
    """Toronto's example catalog, CSROWR-12's classifier_class replaced (and ``old`` by ``new``)."""
    from bot.open311.catalog import CATALOG_DIR

    source = (CATALOG_DIR / "toronto.toml").read_text(encoding="utf-8")
    written = source.replace('classifier_class = "pothole"', f'classifier_class = "{pothole_class}"', 1)
    written = written.replace(old, new, 1) if old else written
    assert written != source
    path = tmp_path / "catalog.toml"
    path.write_text(written, encoding="utf-8")
    return path


@pytest.mark.usefixtures("clean_environment")
def test_a_catalog_class_the_model_lacks_is_refused_and_one_no_service_receives_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A misspelt ``classifier_class`` ("potholes") passed the check, and every pothole report went to a
    person; so did a catalog where no service receives a class."""
    config = tmp_path / "city.toml"
    config.write_text(
        f'data_dir = "data"\n[open311]\ncatalog_file = "{_toronto_catalog(tmp_path, "potholes")}"\n',
        encoding="utf-8",
    )

    assert main(["--config", str(config), "serve", "--check"]) == 2
    error = capsys.readouterr().err
    assert 'open311.catalog_file: CSROWR-12 (classifier_class = "potholes"): not a class' in error, error
    assert "pothole, sidewalk" in error

    # Mapped to another real class, pothole is received by no service: usable, and said at start-up.
    config.write_text(
        f'data_dir = "data"\n[open311]\ncatalog_file = "{_toronto_catalog(tmp_path, "sidewalk")}"\n',
        encoding="utf-8",
    )
    with caplog.at_level("WARNING"):
        assert main(["--config", str(config), "serve", "--check"]) == 0, capsys.readouterr().err
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert any("no service receives the classifier's class" in w and "pothole" in w for w in warnings), (
        warnings
    )


@pytest.mark.usefixtures("clean_environment")
def test_catalog_mistakes_name_the_service_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """They were pydantic's own text ("services.0.nam ... [type=extra_forbidden ...] For further information
    visit https://errors.pydantic.dev/..."), and a repeated code was "service codes repeat", naming none.
    Some passed the check: a code no URL can reach (services/CSROWR/12.json), a value key given twice
    (either answer filed the same value), a catalog of no services; and the typo ``[[service]]`` was
    "services: Input should be a valid tuple"."""
    config = tmp_path / "city.toml"
    for old, new, expected in (
        ('name = "Road - Pot hole"', 'nam = "Road - Pot hole"', "service CSROWR-12: nam: not a key here"),
        (
            'code = "CSROWR-12"',
            'code = "SWLMALB-02"',
            "service code SWLMALB-02 is given to 2 services; each needs its own",
        ),
        ('code = "CSROWR-12"', 'code = "CSROWR/12"', "service CSROWR/12: code: '/' cannot be in a service"),
        ('code = "CSROWR-12"', 'code = "CSROWR 12"', "service CSROWR 12: code: ' ' cannot be in a service"),
        ('code = "CSROWR-12"', 'code = "CSROWR,12"', "service CSROWR,12: code: ',' cannot be in a service"),
        (
            'key = "centre_lane"',
            'key = "curb_lane"',
            "service CSROWR-12: attribute lane: value key curb_lane is given to 2 values",
        ),
    ):
        catalog = _toronto_catalog(tmp_path, "pothole", old, new)
        config.write_text(f'data_dir = "data"\n[open311]\ncatalog_file = "{catalog}"\n', encoding="utf-8")
        assert main(["--config", str(config), "serve", "--check"]) == 2
        error = capsys.readouterr().err
        assert expected in error, error
        assert "pydantic" not in error

    config.write_text(f'data_dir = "data"\n[open311]\ncatalog_file = "{tmp_path / "columbus.toml"}"\n')
    service = 'code = "POTHOLE"\nname = "Pothole"\ndescription = "A pothole."\ngroup = "Streets"\n'
    for catalog, expected in (
        ('name = "columbus"\n', "lists no services (each is a [[services]] table)"),
        ("[[service]]\n" + service, "unknown key 'service' (did you mean 'services'?)"),
    ):
        (tmp_path / "columbus.toml").write_text(catalog, encoding="utf-8")
        assert main(["--config", str(config), "serve", "--check"]) == 2
        error = capsys.readouterr().err
        assert expected in error, error
    (tmp_path / "columbus.toml").write_text("[[services]]\n" + service, encoding="utf-8")
    assert main(["--config", str(config), "serve", "--check"]) == 0, capsys.readouterr().err


@pytest.mark.usefixtures("clean_environment")
def test_what_providers_and_browsers_take_is_accepted() -> None:
    """The refusals above leave alone every form the providers document: an E.164 number, a short code or
    a Messaging Service SID as Twilio's sender; any origin, or one with a port."""
    from bot.config import load_settings

    for sender in ("+16145550100", "311311", "MG" + "0123456789abcdef" * 2, ""):
        assert load_settings(None, twilio={"from_number": sender}).twilio.from_number == sender
    origins = ["*", "https://app.columbus.gov", "http://localhost:8080"]
    assert load_settings(None, open311={"cors_origins": origins}).open311.cors_origins == origins


def _springfield_gazetteer(directory: Path) -> None:
    directory.mkdir()
    with gzip.open(directory / "addresses.csv.gz", "wt", encoding="utf-8") as handle:
        handle.write(
            "number,street,lat,lon\n100,N MAIN ST,39.7817,-89.6501\n7,W WASHINGTON ST,39.8012,-89.6440\n"
        )
    (directory / "intersections.csv").write_text(
        "cnn,lat,lon,streets,adjacent_cnns\n1,39.7810,-89.6500,N MAIN ST|W WASHINGTON ST,\n", encoding="utf-8"
    )


@pytest.mark.usefixtures("clean_environment")
def test_another_citys_gazetteer_is_found_beside_the_file_and_checked_against_the_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``data_dir = "gaz"`` was read from wherever the command ran (a systemd unit elsewhere failed to
    start), and a gazetteer outside the default boundary (San Francisco's) passed the check while every
    place residents named was then "outside the area we serve"."""
    deployment = tmp_path / "springfield"
    deployment.mkdir()
    _springfield_gazetteer(deployment / "gaz")
    config = deployment / "city.toml"
    geocoder = '[intents.geocoder]\noptions = { data_dir = "gaz", city = "Springfield, IL" }\n'
    config.write_text('data_dir = "data"\n' + geocoder, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert main(["--config", str(config), "serve", "--check"]) == 2
    error = capsys.readouterr().err
    assert "intents.geocoder.boundary: none of the gazetteer's 1 corners" in error, error
    assert "(the default: San Francisco's)" in error
    assert "[39.781, -89.65, 39.781, -89.65]" in error

    config.write_text('data_dir = "data"\n' + geocoder + "boundary = [39.70, -89.75, 39.87, -89.55]\n")
    assert main(["--config", str(config), "serve", "--check"]) == 0, capsys.readouterr().err


@pytest.mark.usefixtures("clean_environment")
def test_the_example_lists_every_key_with_its_default() -> None:
    """config.example.toml says it lists every key with its default. Its secrets were written as
    ``auth_token = "${TWILIO_AUTH_TOKEN}"`` as if that were the default, and a deployer who left the line out
    (with TWILIO_AUTH_TOKEN set) got "not set": a secret's default is none, so its line is commented out,
    like every other key whose default is empty."""
    import tomllib

    from bot.config import load_settings

    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    written: dict[str, Any] = tomllib.loads(example.read_text(encoding="utf-8"))
    defaults = load_settings(None).model_dump(mode="json")

    def leaves(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in table.items():
            if isinstance(value, dict) and key not in ("options", "classifier_classes"):
                found |= leaves(value, f"{prefix}{key}.")
            else:
                found[f"{prefix}{key}"] = value
        return found

    default_values = leaves(defaults)
    default_values["server.public_url"] = ""  # derived from host and port when empty
    for key, value in leaves(written).items():
        assert key in default_values, f"{key}: no such setting"
        assert value == default_values[key], (
            f"{key} = {value!r} in the example; the default is {default_values[key]!r}"
        )
    # (tests/open311/test_core_settings.py checks that every key is there, set or commented out.)
