"""What ``serve`` writes to its log: no secret and no resident's words, at any log level.

A real ``open311-bot serve`` (its own process, Python logging set to DEBUG before it starts, as a deployer
debugging it would) with Telegram (polling), SMS and X pointed at the fakes; residents write on each, and
the whole log is searched for the secrets and their words.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from bot.commands.logs import REDACTED, redact_secrets
from channels.fakes.telegram import FakeTelegram
from channels.fakes.twilio import FakeTwilio
from channels.fakes.twitter import FakeX
from tests.intents.fake_nominatim import FakeNominatim
from tests.jobs.processes import REPO, wait_for
from tests.support.live_server import bound_socket, free_port, live_server, socket_url

TELEGRAM_TOKEN = "123456:TELEGRAM-secret-token-0042"
TWILIO_TOKEN = "twilio-auth-SECRET-0123456789"
X_SECRETS = {
    "BEARER_TOKEN": "x-bearer-SECRET-0123456789",
    "CONSUMER_KEY": "x-consumer-key-SECRET-01",
    "CONSUMER_SECRET": "x-consumer-secret-SECRET-02",
    "ACCESS_TOKEN": "x-access-token-SECRET-03",
    "ACCESS_TOKEN_SECRET": "x-access-secret-SECRET-04",
}
# A deployer's own DEBUG set-up before the bot starts (the privacy review's debugserve.py).
DEBUG_FIRST = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG); "
    "from bot.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeTwilio, FakeX]]:
    telegram, twilio, x = FakeTelegram(TELEGRAM_TOKEN), FakeTwilio(auth_token=TWILIO_TOKEN), FakeX()
    with live_server(telegram.app) as t_url, live_server(twilio.app) as s_url, live_server(x.app) as x_url:
        telegram.server_url, twilio.base_url, x.server_url = t_url, s_url, x_url
        yield telegram, twilio, x


@contextmanager
def serving_at_debug(
    tmp_path: Path, config: Path, environment: dict[str, str]
) -> Iterator[tuple[str, Callable[[], str]]]:
    """``open311-bot --config config serve`` in its own process, Python logging set to DEBUG before it
    starts and ``log_level`` debug, with ``environment`` (beside no other ``OPEN311_BOT_`` variable): yields
    its URL and a function reading its whole log so far (after the block, all of it)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}
    env |= {"OPEN311_BOT_LOG_LEVEL": "DEBUG", **environment}
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", DEBUG_FIRST, "--config", str(config), "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def logged() -> str:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        if server.poll() is not None and "Uvicorn running" not in text:
            raise AssertionError(f"serve exited before serving:\n{text[-3000:]}")
        return text

    try:
        wait_for(lambda: "Uvicorn running" in logged(), timeout=90, what="serve", diagnose=logged)
        yield f"http://127.0.0.1:{port}", logged
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)


def test_at_debug_serve_logs_no_secret_and_no_residents_words(
    tmp_path: Path, fakes: tuple[FakeTelegram, FakeTwilio, FakeX]
) -> None:
    telegram, twilio, x = fakes
    config = tmp_path / "city.toml"
    config.write_text(
        f"""data_dir = "data"
[jobs]
outbox_seconds = 0.2
twitter_poll_seconds = 1
[telegram]
enabled = true
mode = "polling"
base_url = "{telegram.base_url()}"
base_file_url = "{telegram.base_file_url()}"
poll_timeout_seconds = 1
[twilio]
enabled = true
account_sid = "{twilio.account_sid}"
from_number = "+14155550100"
api_base_url = "{twilio.base_url}"
[twitter]
enabled = true
user_id = "{x.user_id}"
api_base_url = "{x.server_url}"
""",
        encoding="utf-8",
    )
    environment = {
        "OPEN311_BOT_TELEGRAM__TOKEN": TELEGRAM_TOKEN,
        "OPEN311_BOT_TWILIO__AUTH_TOKEN": TWILIO_TOKEN,
        **{f"OPEN311_BOT_TWITTER__{name}": value for name, value in X_SECRETS.items()},
    }
    with serving_at_debug(tmp_path, config, environment) as (bot, logged):
        telegram.send_text(42, "Graffiti at 2500 Mission St, call Ivy at 415-555-0155")
        answer = twilio.inbound(
            f"{bot}/webhooks/twilio", from_="+14155550123", body="Pothole at 3421 20th St, I am Maria Garcia"
        )
        assert answer.status_code == 200, answer.text
        x.direct_message("9010", "abandoned car plate 5JKL321 at 1800 Folsom St, Jack")
        wait_for(lambda: len(telegram.sent_to(42)) >= 1, timeout=30, what="Telegram's reply", diagnose=logged)
        wait_for(lambda: len(x.dms_to("9010")) >= 1, timeout=30, what="X's reply", diagnose=logged)

    text = logged()
    assert "Uvicorn running" in text  # it did log
    # Which model answers residents, with its figures (the shipped one here).
    assert "intents/model (shipped)" in text
    assert "auto-filing at confidence" in text
    for secret in (TELEGRAM_TOKEN, TWILIO_TOKEN, *X_SECRETS.values()):
        assert secret not in text
        assert quote(secret, safe="") not in text
    assert "TELEGRAM-secret-token" not in text  # the token's secret half alone, as a URL may carry it
    assert "Authorization" not in text
    for words in ("Ivy at 415-555-0155", "Maria Garcia", "5JKL321"):
        assert words not in text, f"a resident's words reached the log: {words}"


def test_a_map_service_that_is_down_is_logged_once_without_residents_places(tmp_path: Path) -> None:
    """A configured geopy geocoder whose server is down: the residents are told the map is not answering,
    and the log says so once, and once that it answers again, with no place a resident wrote, no URL asked
    and no traceback. Before, each message logged "geocoder Nominatim failed for '2500 MISSION ST'",
    urllib3's retries quoting "/search?q=2500+MISSION+ST..." and geopy's retries with a traceback each."""
    fake = FakeNominatim({"2500 mission st": (37.7563, -122.4186, "2500 Mission Street, San Francisco")})
    down = bound_socket()  # bound, not listening: connections are refused until the fake serves on it
    domain = socket_url(down).removeprefix("http://")
    config = tmp_path / "city.toml"
    config.write_text(
        f"""data_dir = "data"
[intents.geocoder]
provider = "nominatim"
min_delay_seconds = 0
options = {{ domain = "{domain}", scheme = "http" }}
""",
        encoding="utf-8",
    )
    reports = [
        ("ann", "Pothole at 2500 Mission St, it is huge"),
        ("bob", "Graffiti at 1800 Folsom St"),
        ("cleo", "Streetlight out at 3421 20th St"),
    ]
    with serving_at_debug(tmp_path, config, {}) as (bot, logged), httpx.Client(base_url=bot) as client:

        def say(resident: str, text: str) -> str:
            answer = client.post("/local/messages", json={"from": resident, "text": text}, timeout=30)
            assert answer.status_code == 200, answer.text
            return " ".join(reply["text"] for reply in answer.json()["replies"])

        for resident, text in reports:
            assert "The map service is not answering just now" in say(resident, text)
        # The server comes back: once the pause is over (2 s, give or take a fifth), places are found again.
        with live_server(fake.app(), sock=down):
            time.sleep(2.5)
            assert "not answering" not in say("dan", "Pothole at 2500 Mission St, it is huge")
        assert len(fake.requests) == 1

    text = logged()
    assert text.count("geocoder Nominatim is not answering (GeocoderUnavailable: Connection refused") == 1
    assert text.count("geocoder Nominatim answers again") == 1
    assert "Traceback" not in text
    assert "search?" not in text
    for words in ("2500 MISSION", "2500+MISSION", "MISSION ST", "1800", "FOLSOM", "3421", "20TH ST"):
        assert words not in text.upper(), f"a resident's place reached the log: {words}"


def test_a_secret_in_a_line_or_a_traceback_of_any_logger_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What a warning or an error of a library would carry (an httpx error names its URL)."""
    factory = logging.getLogRecordFactory()
    try:
        redact_secrets([TELEGRAM_TOKEN, "short"])
        log = logging.getLogger("some.library")
        with caplog.at_level(logging.WARNING):
            log.warning("GET %s failed", f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/getMe")
            try:
                raise RuntimeError(f"file/bot{quote(TELEGRAM_TOKEN, safe='')}/photos/1.jpg")
            except RuntimeError:
                log.exception("download failed")
            # uvicorn's access formatter unpacks its five arguments: they keep their shape.
            log.warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/x?t={TELEGRAM_TOKEN}", "1.1", 200)
            log.warning("a short secret is left alone: short")
        assert TELEGRAM_TOKEN not in caplog.text
        assert quote(TELEGRAM_TOKEN, safe="") not in caplog.text
        assert f"https://api.telegram.org/bot{REDACTED}/getMe" in caplog.text
        assert f"file/bot{REDACTED}/photos/1.jpg" in caplog.text
        access = caplog.records[2].args
        assert isinstance(access, tuple)
        assert len(access) == 5
        assert "short secret is left alone: short" in caplog.text
    finally:
        logging.setLogRecordFactory(factory)  # the tests after this one log as they did


def test_the_access_log_keeps_no_number_or_search_words_of_a_query_string(tmp_path: Path) -> None:
    """A tester found the operator console's search for a resident's number (``?q=+14155560021``) and the
    local channel's ``?to=+14155550142`` written in full in the access log. Only parameters whose values are
    codes, numbers and dates (page, status, service_code, start_date, ...) keep their value; any other
    value, and a number or an address of a resident in an allowed one or in the path, reads ``<redacted>``."""
    config = tmp_path / "city.toml"
    config.write_text('data_dir = "data"\n', encoding="utf-8")
    asked = [
        "/operator/requests?q=%2B14155560021&status=open&page=2",
        "/operator/api/requests?q=(415)%20556-0021&service_code=pothole",
        "/operator/requests?q=Maria+Garcia+3421+20th",
        "/local/messages?to=%2B14155550142&after=0",
        "/open311/v2/requests.json?status=open&start_date=2026-01-02T00:00:00Z&page_size=5",
        "/open311/v2/requests.json?service_code=415-555-0177",  # a number where a code goes
        "/open311/v2/requests.json?lat=37.7563&long=-122.4186&address_string=2500+Mission+St",
        "/local/messages/%2B14155550188",  # no such route: the path as a client wrote it
    ]
    with serving_at_debug(tmp_path, config, {}) as (bot, logged), httpx.Client(base_url=bot) as client:
        for target in asked:
            # Followed: the console sends the browser to sign in with ``next`` naming the page and its query.
            client.get(target, timeout=30, follow_redirects=True)
        wait_for(lambda: "/local/messages/" in logged(), timeout=10, what="the access log's last line")

    text = logged()
    for private in (
        "14155560021", "556-0021", "14155550142", "Maria", "Garcia", "3421", "415-555-0177",
        "37.7563", "Mission", "14155550188",
    ):  # fmt: skip
        assert private not in text, f"a resident's number or words reached the log: {private}"
    assert '"GET /operator/requests?q=<redacted>&status=open&page=2 HTTP/1.1" 303' in text
    assert "/operator/sign-in?next=<redacted>" in text
    assert '"GET /operator/api/requests?q=<redacted>&service_code=pothole HTTP/1.1" 401' in text
    assert '"GET /local/messages?to=<redacted>&after=0 HTTP/1.1" 200' in text
    assert "?status=open&start_date=2026-01-02T00:00:00Z&page_size=5 HTTP/1.1" in text
    assert "?service_code=<redacted> HTTP/1.1" in text
    assert "?lat=<redacted>&long=<redacted>&address_string=<redacted> HTTP/1.1" in text
    assert '"GET /local/messages/[phone] HTTP/1.1" 404' in text
