"""The console of a bot that files into a city's own Open311 endpoint (``[remote] enabled``), over real HTTP.

The "city" is this project's own server in a separate process, with Toronto's catalog: its codes
(``CSROWR-12`` "Road - Pot hole", which asks where on the road it is) are not the bundled catalog's, and
one of them (``SWLMALB-02``) is mapped to no classifier class. The console shows the city's services by
name, files an operator's decision into any of them, lists the reports the bot filed at the city with the
status it last read, and counts them on the dashboard; the bot serves no GeoReport API of its own.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from bot.config import load_settings
from bot.open311.catalog import CATALOG_DIR
from bot.remote.backend import RemoteBackend
from bot.runtime import Runtime
from tests.jobs.processes import BOT, REPO, BotProcess, wait_for
from tests.operator.support import PASSWORDS, Deployment, csrf_token, report_as_resident, review_item_of
from tests.operator.test_console_access import signed_in_client
from tests.remote.city import City
from tests.support.live_server import free_port

# The city's codes the classifier's classes go to; SWLMALB-02 (graffiti on a litter bin) is left out, so
# the bot never files into it by itself: only a person can.
CLASSES = {"CSROWR-12": "pothole", "CSROWBM-03": "graffiti", "CSROWC-05": "graffiti", "CSROSC-14": "graffiti"}
POTHOLE = "There is a huge pothole at Market St and 5th St"
LITTER_BIN = "someone tagged the litter bin at 4th St and Mission St"


@pytest.fixture(scope="module")
def toronto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[City, str]]:
    """The city, serving Toronto's catalog, and the API key it gave the bot."""
    data_dir = tmp_path_factory.mktemp("toronto")
    port = free_port()
    config = data_dir / "city.toml"
    config.write_text(
        f'data_dir = "{data_dir.as_posix()}"\n'
        f'[server]\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'
        f'[open311]\ncatalog_file = "{(CATALOG_DIR / "toronto.toml").as_posix()}"\n'
        "[local]\nenabled = false\n",
        encoding="utf-8",
    )
    city = City(data_dir, config, port, BotProcess([], config=config, log_path=data_dir / "city.log"))
    city.start()
    try:
        made = subprocess.run(
            [*BOT, "--config", str(config), "keys", "create", "the-bot"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        yield city, made.stdout.strip().splitlines()[-1]
    finally:
        city.stop()


def remote_settings(city: City, key: str) -> dict[str, Any]:
    return {
        "enabled": True,
        "base_url": city.api,
        "api_key": key,
        "classifier_classes": CLASSES,
        "timeout_seconds": 15.0,
        "retry_first_seconds": 0.2,
        "retry_max_seconds": 1.0,
    }


def close_at_the_city(city: City, request_id: str, notes: str) -> None:
    """The city's own staff close a request (in the city's system, not through the bot)."""
    runtime = Runtime.build(load_settings(city.config), apply_migrations=False)
    try:
        runtime.open311.update_status(request_id, "closed", notes, actor="crew")
    finally:
        runtime.close()


def approve_in_the_page(client: httpx.Client, item_id: int, **fields: str) -> httpx.Response:
    """Claims the item and sends its Approve form as a browser would (the page's CSRF token included)."""
    page = client.get(f"/operator/queue/{item_id}")
    claimed = client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf_token(page.text)})
    assert claimed.status_code == 303, claimed.text
    page = client.get(f"/operator/queue/{item_id}")
    return client.post(
        f"/operator/queue/{item_id}/approve", data={"csrf_token": csrf_token(page.text), **fields}
    )


@pytest.mark.slow
def test_the_console_works_from_the_citys_services_and_requests(
    deploy: Callable[..., AbstractContextManager[Deployment]], toronto: tuple[City, str]
) -> None:
    city, key = toronto
    jobs = {"remote_submit_seconds": 0.3, "remote_sync_seconds": 0.5}
    with deploy(remote=remote_settings(city, key), jobs=jobs) as deployment:
        wait_for(
            lambda: len(RemoteBackend(deployment.runtime.sessions, {}).services()) == 5,
            timeout=60,
            what="the city's catalog",
        )
        report_as_resident(deployment.url, "ana", POTHOLE)
        report_as_resident(deployment.url, "ben", LITTER_BIN)
        pothole_item, bin_item = (
            review_item_of(deployment.runtime, "ana"),
            review_item_of(deployment.runtime, "ben"),
        )
        alice, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])

        # The suggestion by the city's name (it read "CSROWR-12 (CSROWR-12) 96%"), and the city's services
        # to choose from, the one no class goes to among them (the bundled catalog's were offered).
        queue = alice.get("/operator/").text
        assert "Road - Pot hole" in queue
        item = alice.get(f"/operator/queue/{pothole_item}").text
        assert 'Road - Pot hole <span class="hint">(CSROWR-12)</span>' in item
        page = alice.get(f"/operator/queue/{bin_item}")
        claimed = alice.post(f"/operator/queue/{bin_item}/claim", data={"csrf_token": csrf_token(page.text)})
        assert claimed.status_code == 303
        decide = alice.get(f"/operator/queue/{bin_item}").text
        assert '<option value="SWLMALB-02">Litter Bin - Graffiti Complaint (SWLMALB-02)</option>' in decide
        assert "Street or Sidewalk Cleaning" not in decide

        # The city asks where on the road a pothole is: the item page asks it, with the city's options.
        approved = approve_in_the_page(
            alice,
            pothole_item,
            service_code="CSROWR-12",
            details_for="CSROWR-12",
            **{"attribute[lane]": "curb_lane"},
        )
        assert approved.status_code == 303, approved.text
        # A city service no classifier class goes to, picked in the list.
        approved = alice.post(
            f"/operator/queue/{bin_item}/approve",
            data={"csrf_token": csrf, "service_code": "", "other_service_code": "SWLMALB-02"},
        )
        assert approved.status_code == 303, approved.text

        # Requests: the bot's reports to the city, numbered by it (it listed none: "0 requests").
        def listed() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = alice.get("/operator/api/requests").json()["requests"]
            return found

        wait_for(
            lambda: all(row["service_request_id"] for row in listed()) and len(listed()) == 2,
            timeout=60,
            what="the city's numbers",
            diagnose=lambda: str(listed()),
        )
        by_service = {row["service_code"]: row for row in listed()}
        pothole = by_service["CSROWR-12"]
        assert (pothole["service_name"], pothole["status"], pothole["channel"]) == (
            "Road - Pot hole",
            "open",
            "local",
        )
        assert pothole["description"] == POTHOLE
        assert by_service["SWLMALB-02"]["service_name"] == "Litter Bin - Graffiti Complaint"
        number = pothole["service_request_id"]
        reference = pothole["reference"]
        page_text = alice.get("/operator/requests").text
        assert "2 requests." in page_text
        assert f'<a href="/operator/requests/{reference}">{reference}</a>' in page_text
        assert f"#{number}" in page_text

        # Closed at the city: the console shows it as the bot last read it.
        close_at_the_city(city, number, "Patched.")
        wait_for(
            lambda: alice.get("/operator/api/requests", params={"status": "closed"}).json()["total"] == 1,
            timeout=60,
            what="the city's change",
        )
        [closed] = alice.get("/operator/api/requests", params={"q": number}).json()["requests"]
        assert (closed["reference"], closed["status"], closed["status_notes"]) == (
            reference,
            "closed",
            "Patched.",
        )
        shown = alice.get(f"/operator/requests/{reference}").text
        assert f"(the city's #{number})" in shown
        assert "Patched." in shown
        assert alice.get(f"/operator/requests/{number}").status_code == 200  # by the city's number too
        # The city's system changes its requests, not the console.
        refused = alice.post(
            f"/operator/api/requests/{number}/status", json={"status": "open"}, headers={"X-CSRF-Token": csrf}
        )
        assert refused.status_code == 409
        assert "the city's own system" in refused.json()["error"]

        # The dashboard counts them (bot_filed was 0, the volumes empty).
        figures = alice.get("/operator/api/dashboard").json()
        assert figures["bot_filed"] == 2
        assert figures["filed_after_review"] == 2
        assert figures["share_filed_without_person"] == 0.0
        assert sum(figures["volumes_by_channel"]["local"]) == 2
        assert sum(figures["volumes_by_service"]["CSROWR-12"]) == 1
        assert sum(figures["open_by_age"].values()) == 1  # the litter bin; the pothole is closed
        assert "Litter Bin - Graffiti Complaint" in alice.get("/operator/dashboard").text

        # What operators taught the bot, in the classifier's classes: approving the suggested pothole service
        # agrees with the bot (it was "CSROWR-12" against "pothole", a disagreement); the litter bin, which
        # no class goes to, corrects it.
        learned = alice.get("/operator/api/learning").json()
        for report in (learned, learned["current_model"]):
            assert (report["examples"], report["agreed"]) == (2, 1), learned
            assert report["confused_pairs"] == [{"suggested": "graffiti", "chosen": "SWLMALB-02", "count": 1}]

        # A report the city refuses (a description over its 4,000 characters) is listed as refused, and its
        # page leads to the review item it became, where a person files it again.
        report_as_resident(deployment.url, "cy", "The pothole is deep. " * 200 + "At Market St and 5th St")
        long_item = review_item_of(deployment.runtime, "cy")
        approve = f"/operator/api/queue/{long_item}/approve"
        body = {"service_code": "CSROWR-12", "attributes": {"lane": "curb_lane"}}
        assert alice.post(approve, json=body, headers={"X-CSRF-Token": csrf}).status_code == 200
        wait_for(
            lambda: alice.get("/operator/api/requests", params={"status": "refused"}).json()["total"] == 1,
            timeout=60,
            what="the city's refusal",
        )
        [refused_row] = alice.get("/operator/api/requests", params={"status": "refused"}).json()["requests"]
        assert "description" in refused_row["error"], refused_row
        again = refused_row["review_item_id"]
        assert again not in (None, long_item)
        shown = alice.get(f"/operator/requests/{refused_row['reference']}").text
        assert f'a person files it again from <a href="/operator/queue/{again}">review #{again}</a>' in shown
        assert alice.get("/operator/api/dashboard").json()["bot_filed"] == 2  # the refused one left out


def test_the_bot_serves_no_open311_api_of_its_own_when_it_files_into_the_city(
    deploy: Callable[..., AbstractContextManager[Deployment]],
) -> None:
    """Its embedded API took reports that never reached the city, under the bundled catalog's codes, and its
    discovery document called that the production endpoint. Only the photos it stores are served."""
    city_url = "https://open311.city.example/v2"
    with deploy(remote={"enabled": True, "base_url": city_url}, jobs={"enabled": False}) as deployment:
        api = f"{deployment.url}/open311/v2"
        for method, path in (
            ("GET", "/services.json"),
            ("GET", "/discovery.json"),
            ("GET", "/requests.json"),
            ("POST", "/requests.json"),
            ("GET", "/services/pothole.json"),
        ):
            answer = httpx.request(method, api + path, timeout=10)
            assert answer.status_code == 404, (method, path, answer.text)
            [error] = answer.json()
            assert city_url in error["description"], error
        in_xml = httpx.get(f"{api}/discovery.xml", timeout=10)
        assert in_xml.status_code == 404
        assert in_xml.headers["content-type"].startswith("text/xml")
        assert city_url in in_xml.text
        # The photos the bot stores (a resident's on Telegram, say), which its requests at the city link to,
        # are still served.
        stored = deployment.runtime.media.save(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
        photo = httpx.get(f"{api}/media/{stored.name}", timeout=10)
        assert (photo.status_code, photo.headers["content-type"]) == (200, "image/png")
