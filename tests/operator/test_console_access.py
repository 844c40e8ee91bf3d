"""Who may reach the console, over real HTTP against the served app, on SQLite and PostgreSQL.

Nothing is reachable without signing in; every POST needs the session's CSRF token; sign-in attempts are
throttled; an operator created from the command line (password on stdin) can sign in; a disabled one
cannot, and loses the sessions they had; every operator action lands in the audit log.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import col, select

import bot.open311
from bot.review import learning
from bot.review.audit import AuditEntry
from bot.review.auth import SESSION_COOKIE
from bot.review.models import ReviewItem
from tests.operator.support import (
    PASSWORDS,
    Deployment,
    csrf_token,
    enqueue_report,
    operators_cli,
    wait_for_message,
)

PAGES = ["/operator/", "/operator/requests", "/operator/dashboard", "/operator/learning", "/operator/audit"]
JSON = ["/operator/api/queue", "/operator/api/requests", "/operator/api/dashboard", "/operator/api/learning"]


def signed_in_client(base_url: str, name: str, password: str) -> tuple[httpx.Client, str]:
    """A client holding a session, and the session's CSRF token (read from a page, as a browser would)."""
    client = httpx.Client(base_url=base_url, timeout=10)
    form = client.get("/operator/sign-in")
    token = csrf_token(form.text)
    answer = client.post("/operator/sign-in", data={"csrf_token": token, "name": name, "password": password})
    assert answer.status_code == 303, answer.text
    page = client.get("/operator/")
    csrf = csrf_token(page.text)
    return client, csrf


def test_nothing_is_reachable_without_a_session_or_the_csrf_token(deployment: Deployment) -> None:
    url = deployment.url
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-1",
        text="graffiti on the wall at 24th and Mission",
        suggestions=[{"service_code": "graffiti", "confidence": 0.5}],
        address_string="24TH ST & MISSION ST",
    )
    anonymous = httpx.Client(base_url=url, timeout=10)
    for path in PAGES:
        answer = anonymous.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/operator/sign-in")
    for path in [*JSON, f"/operator/api/queue/{item_id}", f"/operator/queue/{item_id}"]:
        answer = anonymous.get(path, headers={"accept": "application/json"})
        assert answer.status_code in (401, 303), path
    assert anonymous.get("/operator/api/queue").status_code == 401
    # A page asked for with its filters comes back with them after signing in.
    filtered = anonymous.get("/operator/requests", params={"status": "open", "page": "2"})
    assert parse_qs(urlsplit(filtered.headers["location"]).query)["next"] == [
        "/operator/requests?status=open&page=2"
    ]
    # A form posted without a session leads to sign-in, then back to the page the form is on.
    refused = anonymous.post(f"/operator/queue/{item_id}/approve", data={"service_code": "graffiti"})
    assert refused.status_code == 303
    assert refused.headers["location"].startswith(f"/operator/sign-in?next=%2Foperator%2Fqueue%2F{item_id}")

    client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    # Pages and JSON with a session.
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    queue = client.get("/operator/api/queue").json()
    assert [item["id"] for item in queue["items"]] == [item_id]
    assert queue["items"][0]["suggestions"] == [{"service_code": "graffiti", "confidence": 0.5}]
    # A session but no CSRF token, or a wrong one: refused, and nothing changed.
    assert client.post(f"/operator/queue/{item_id}/claim").status_code == 403
    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": "forged"}).status_code == 403
    forged = client.post(f"/operator/api/queue/{item_id}/claim", headers={"X-CSRF-Token": "x"})
    assert forged.status_code == 403
    assert client.post("/operator/requests/1/status", data={"status": "closed"}).status_code == 403
    assert client.post("/operator/sign-out").status_code == 403
    with deployment.runtime.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        assert item.status == "pending"
    # With the token it works, through the form and through JSON.
    claimed = client.post(f"/operator/api/queue/{item_id}/claim", headers={"X-CSRF-Token": csrf})
    assert claimed.status_code == 200
    assert claimed.json()["claimed_by"] == "alice"

    # bob cannot take or decide alice's item, whatever he posts.
    bob, bob_csrf = signed_in_client(url, "bob", PASSWORDS["bob"])
    taken = bob.post(f"/operator/api/queue/{item_id}/claim", headers={"X-CSRF-Token": bob_csrf})
    assert taken.status_code == 409
    assert "claimed by alice" in taken.json()["error"]
    decided = bob.post(
        f"/operator/queue/{item_id}/reject", data={"csrf_token": bob_csrf, "reason": "not mine to reject"}
    )
    assert decided.status_code == 409
    with deployment.runtime.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        assert (item.status, item.claimed_by) == ("claimed", "alice")

    # The JSON endpoints decide too: alice approves, then closes the request.
    headers = {"X-CSRF-Token": csrf}
    approved = client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers=headers)
    assert approved.status_code == 200, approved.text
    request_id = approved.json()["service_request_id"]
    assert approved.json()["status"] == "approved"
    again = client.post(f"/operator/api/queue/{item_id}/reject", json={"reason": "late"}, headers=headers)
    assert again.status_code == 409
    bad_date = client.post(
        f"/operator/api/requests/{request_id}/status",
        json={"status": "closed", "expected_datetime": "next tuesday"},
        headers=headers,
    )
    assert bad_date.status_code == 400
    closed = client.post(
        f"/operator/api/requests/{request_id}/status",
        json={"status": "closed", "status_notes": "painted over"},
        headers=headers,
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["status_notes"]) == ("closed", "painted over")
    week = client.get("/operator/api/dashboard", params={"days": 7}).json()
    assert len(week["days"]) == 7
    assert sum(week["volumes_by_service"]["graffiti"]) == 1
    assert client.get("/operator/api/dashboard", params={"days": 5}).status_code == 400
    listed = client.get("/operator/api/requests", params={"status": "closed", "service_code": "graffiti"})
    assert [r["service_request_id"] for r in listed.json()["requests"]] == [request_id]

    # Signing out ends the session on the server: the old cookie opens nothing any more.
    cookie = dict(client.cookies)
    assert client.post("/operator/sign-out", data={"csrf_token": csrf}).status_code == 303
    replay = httpx.Client(base_url=url, cookies=cookie, timeout=10)
    assert replay.get("/operator/api/queue").status_code == 401

    with deployment.runtime.sessions() as session:
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        actions = [(entry.actor, entry.action) for entry in entries]
    assert ("alice", "review.claim") in actions
    assert ("alice", "review.approve") in actions
    assert ("alice", "request.update") in actions
    assert ("alice", "sign_out") in actions
    assert ("bob", "review.reject") not in actions  # a refused action changes nothing, logs nothing


def test_sign_in_is_throttled_and_its_form_needs_the_csrf_cookie(deployment: Deployment) -> None:
    url = deployment.url
    client = httpx.Client(base_url=url, timeout=10)
    # Without the form's cookie (a cross-site post): refused before the password is even checked.
    forged = client.post("/operator/sign-in", data={"csrf_token": "x", "name": "alice", "password": "x"})
    assert forged.status_code == 403

    # After signing in, the operator lands where they were going, but never on another site.
    for wanted, landed in (
        ("/operator/requests?status=open", "/operator/requests?status=open"),
        ("https://evil.example/", "/operator/"),
        ("/operator//evil.example", "/operator/"),
        ("/operator/\\evil.example", "/operator/"),
        ("/operator/requests?q=http://a//b", "/operator/requests?q=http://a//b"),
    ):
        form = httpx.get(f"{url}/operator/sign-in", params={"next": wanted})
        token = csrf_token(form.text)
        answer = httpx.post(
            f"{url}/operator/sign-in",
            data={"csrf_token": token, "name": "bob", "password": PASSWORDS["bob"], "next": wanted},
            cookies=form.cookies,
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == landed

    def attempt(password: str) -> httpx.Response:
        form = client.get("/operator/sign-in")
        token = csrf_token(form.text)
        return client.post(
            "/operator/sign-in", data={"csrf_token": token, "name": "alice", "password": password}
        )

    # The deployment allows 3 failures a minute.
    assert [attempt("wrong password!").status_code for _ in range(3)] == [401, 401, 401]
    throttled = attempt(PASSWORDS["alice"])
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    # How long, in words (was "try again in 59 s."; a 5-minute window "in 298 s.").
    said = r"Too many failed sign-in attempts; try again in (1 minute|\d\d? seconds)\."
    assert re.search(said, throttled.text), throttled.text

    # bob, from the same address (a call centre behind one NAT), still signs in: alice's typos were held
    # against every operator there.
    def sign_in_as(name: str, password: str) -> httpx.Response:
        form = client.get("/operator/sign-in")
        return client.post(
            "/operator/sign-in",
            data={"csrf_token": csrf_token(form.text), "name": name, "password": password},
        )

    assert sign_in_as("bob", PASSWORDS["bob"]).status_code == 303
    client.cookies.clear()
    # The address has a limit of its own (4 here): guesses spread over many names are held from it too.
    assert [sign_in_as(f"guess{n}", "wrong password!").status_code for n in range(1)] == [401]
    assert sign_in_as("bob", PASSWORDS["bob"]).status_code == 429


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_operators_are_managed_from_the_command_line(deployment: Deployment, tmp_path: object) -> None:
    settings = deployment.settings

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return operators_cli(settings.data_dir, settings.effective_database_url, *args, stdin=stdin)

    created = cli("create", "carol", stdin="carol's long passphrase\n")
    assert created.returncode == 0, created.stderr
    assert cli("create", "carol", stdin="carol's long passphrase\n").returncode == 1
    too_short = cli("create", "dave", stdin="short\n")
    assert too_short.returncode == 1
    assert "at least 10 characters" in too_short.stderr
    listed = cli("list")
    assert "carol\tactive" in listed.stdout

    client, _ = signed_in_client(deployment.url, "carol", "carol's long passphrase")
    assert client.get("/operator/api/queue").status_code == 200
    disabled = cli("disable", "carol")
    assert disabled.returncode == 0, disabled.stderr
    # Disabling ends the sessions carol had, and she cannot sign in again.
    assert client.get("/operator/api/queue").status_code == 401
    with pytest.raises(AssertionError):
        signed_in_client(deployment.url, "carol", "carol's long passphrase")
    assert "carol\tdisabled" in cli("list").stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_claim_lapses_so_an_item_is_never_stuck(
    deploy: Callable[..., AbstractContextManager[Deployment]],
) -> None:
    with deploy(operator={"claim_minutes": 0.05}) as deployment:  # 3 seconds
        item_id = enqueue_report(
            deployment.runtime,
            resident_id="res-lapse",
            text="broken glass all over the sidewalk on Valencia",
            suggestions=[{"service_code": "street_cleaning", "confidence": 0.55}],
        )
        alice, alice_csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
        bob, bob_csrf = signed_in_client(deployment.url, "bob", PASSWORDS["bob"])
        claim = f"/operator/api/queue/{item_id}/claim"
        assert alice.post(claim, headers={"X-CSRF-Token": alice_csrf}).status_code == 200
        assert bob.post(claim, headers={"X-CSRF-Token": bob_csrf}).status_code == 409
        time.sleep(3.5)  # alice walked away
        listed = bob.get("/operator/api/queue").json()["items"]
        assert (listed[0]["status"], listed[0]["claimed_by"]) == ("pending", None)
        taken = bob.post(claim, headers={"X-CSRF-Token": bob_csrf})
        assert taken.status_code == 200
        assert taken.json()["claimed_by"] == "bob"
        # alice's old page cannot decide it now.
        late = alice.post(
            f"/operator/api/queue/{item_id}/approve", json={}, headers={"X-CSRF-Token": alice_csrf}
        )
        assert late.status_code == 409
        assert "claimed by bob" in late.json()["error"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_session_lasts_while_the_operator_works_and_ends_when_they_stop(
    deploy: Callable[..., AbstractContextManager[Deployment]],
) -> None:
    with deploy(operator={"session_hours": 0.001}) as deployment:  # 3.6 seconds without use
        client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
        token = client.cookies[SESSION_COOKIE]
        started = time.monotonic()
        while time.monotonic() - started < 8:  # working for more than twice that
            time.sleep(0.8)
            answer = client.get("/operator/api/queue")
            assert answer.status_code == 200, f"signed out after {time.monotonic() - started:.1f} s of work"
            # The browser is told to keep the cookie as long again (it would drop it 3 s after sign-in).
            assert f"{SESSION_COOKIE}={token}" in answer.headers["set-cookie"]
            assert "Max-Age=3" in answer.headers["set-cookie"]
        time.sleep(4.5)  # away
        assert client.get("/operator/api/queue").status_code == 401
        replayed = httpx.get(
            f"{deployment.url}/operator/api/queue", cookies={SESSION_COOKIE: token}, timeout=10
        )
        assert replayed.status_code == 401  # ended on the server too, not only in the browser


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cookies_are_secure_behind_https(deploy: Callable[..., AbstractContextManager[Deployment]]) -> None:
    with deploy(server={"public_url": "https://311.example.org"}) as deployment:
        form = httpx.get(f"{deployment.url}/operator/sign-in")
    cookie = form.headers["set-cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert form.headers["x-frame-options"] == "DENY"
    assert "script-src 'none'" in form.headers["content-security-policy"]
    assert form.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_operator_accepts_a_batch_submission_and_its_filer_learns_the_number(
    deploy: Callable[..., AbstractContextManager[Deployment]],
) -> None:
    with deploy(open311={"batch_acceptance": "operator"}) as deployment:
        url = deployment.url
        item_id = enqueue_report(
            deployment.runtime,
            resident_id="res-batch",
            text="they skipped our recycling again on Guerrero",
            suggestions=[{"service_code": "missed_collection", "confidence": 0.5}],
            address_string="100 GUERRERO ST",
        )
        alice, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
        headers = {"X-CSRF-Token": csrf}
        approved = alice.post(f"/operator/api/queue/{item_id}/approve", json={}, headers=headers)
        assert approved.status_code == 200, approved.text
        # A batch service answers with a token: the resident gets a reference, not yet a number.
        assert approved.json()["service_request_id"] is None
        told = wait_for_message(url, "res-batch", "received with reference")
        [waiting] = alice.get("/operator/api/batch").json()["submissions"]
        assert waiting["token"] in told
        assert waiting["address"] == "100 GUERRERO ST"
        page = alice.get("/operator/batch")
        # The resident's words, in the language they wrote them in.
        assert '<td lang="en">they skipped our recycling again on Guerrero</td>' in page.text
        # Its button is named in words: what it accepts and where, not a code.
        accept = re.search(r"<button[^>]*>(.*?)</button>", page.text.split("<tbody>")[1], re.S)
        assert accept is not None
        assert re.sub(r"<[^>]+>", "", accept.group(1)) == (
            "Accept Missed Trash, Recycling or Yard Waste Collection at 100 GUERRERO ST"
        )
        assert alice.post(f"/operator/api/batch/{waiting['token']}/accept").status_code == 403  # no CSRF
        accepted = alice.post(f"/operator/api/batch/{waiting['token']}/accept", headers=headers)
        assert accepted.status_code == 200, accepted.text
        request_id = accepted.json()["service_request_id"]
        again = alice.post(f"/operator/api/batch/{waiting['token']}/accept", headers=headers)
        assert again.status_code == 409
        assert alice.get("/operator/api/batch").json()["submissions"] == []
        filed = httpx.get(f"{url}/open311/v2/requests/{request_id}.json", timeout=10).json()
        assert filed[0]["service_code"] == "missed_collection"
        wait_for_message(url, "res-batch", f"now filed as #{request_id}")
        with deployment.runtime.sessions() as session:
            entry = session.exec(select(AuditEntry).where(AuditEntry.action == "batch.accept")).one()
        assert (entry.actor, entry.subject_id) == ("alice", waiting["token"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_typed_address_is_looked_up_and_an_unknown_one_refused(deployment: Deployment) -> None:
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-where",
        text="the traffic light is stuck on red near the bakery",
        suggestions=[{"service_code": "traffic_signal_sign", "confidence": 0.6}],
        location_text="near the bakery",
    )
    alice, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    approve = f"/operator/api/queue/{item_id}/approve"
    nowhere = {"address_string": "Nowhere Plaza and Imaginary Lane"}
    unknown = alice.post(approve, json=nowhere, headers=headers)
    assert unknown.status_code == 409
    assert "no place called" in unknown.json()["error"]
    half = alice.post(approve, json={"lat": 37.75}, headers=headers)
    assert half.status_code == 400
    # The operator only types the intersection: the bot's geocoder finds it.
    found = alice.post(approve, json={"address_string": "24th St and Mission St"}, headers=headers)
    assert found.status_code == 200, found.text
    request_id = found.json()["service_request_id"]
    filed = httpx.get(f"{deployment.url}/open311/v2/requests/{request_id}.json", timeout=10).json()[0]
    assert filed["lat"] == pytest.approx(37.7524, abs=0.002)
    assert filed["long"] == pytest.approx(-122.4184, abs=0.002)
    assert "MISSION" in filed["address"].upper()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_city_with_its_own_service_codes(deploy: Callable[..., AbstractContextManager[Deployment]]) -> None:
    """Toronto names its services its own way; the classifier's classes still reach the right ones."""
    toronto = Path(bot.open311.__file__).parent / "catalogs" / "toronto.toml"
    with deploy(open311={"catalog_file": toronto, "jurisdictions": ["toronto.ca"]}) as deployment:
        item_id = enqueue_report(
            deployment.runtime,
            resident_id="res-toronto",
            text="pothole on Queen St W near University",
            suggestions=[{"service_code": "pothole", "confidence": 0.6}],
            lat=43.6505,
            long=-79.3872,
            address_string="Queen St W & University Ave",
        )
        alice, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
        page = alice.get(f"/operator/queue/{item_id}")
        assert "Road - Pot hole" in page.text  # the city's name for the classifier's class
        headers = {"X-CSRF-Token": csrf}
        assert alice.post(f"/operator/api/queue/{item_id}/claim", headers=headers).status_code == 200
        # Toronto requires to know where on the road the pothole is; the item page asks it.
        decide = alice.get(f"/operator/queue/{item_id}")
        assert 'name="attribute[lane]"' in decide.text
        assert "(required)" in decide.text
        approve = f"/operator/api/queue/{item_id}/approve"
        refused = alice.post(approve, json={}, headers=headers)
        assert refused.status_code == 409
        assert "attribute[lane] is required" in refused.json()["error"]
        service = deployment.runtime.catalog.get("CSROWR-12")
        assert service is not None
        lane = next(a for a in service.attributes if a.code == "lane")
        approved = alice.post(approve, json={"attributes": {"lane": lane.values[0].key}}, headers=headers)
        assert approved.status_code == 200, approved.text
        assert approved.json()["service_code"] == "CSROWR-12"
        request_id = approved.json()["service_request_id"]
        filed = httpx.get(
            f"{deployment.url}/open311/v2/requests/{request_id}.json",
            params={"jurisdiction_id": "toronto.ca"},
            timeout=10,
        ).json()[0]
        assert filed["service_code"] == "CSROWR-12"
        with deployment.runtime.sessions() as session:
            [example] = learning.labelled_examples(session)
        # The labelled example speaks the classifier's language, so it trains and compares like with like.
        assert (example.predicted_code, example.service_code) == ("pothole", "pothole")


def test_a_burst_of_failed_sign_ins_leaves_the_server_answering(deployment: Deployment) -> None:
    """40 failed sign-ins at once from one client froze every route (the API, webhooks, /healthz) for at
    least the database pool's 30 s: each held a connection while the event loop waited for one."""
    import asyncio

    url = deployment.url

    async def burst() -> tuple[list[int], int]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
            forms = []
            for _ in range(40):  # each attempt with its own form and its cookie, as 40 browsers would
                form = await client.get("/operator/sign-in")
                cookie = "; ".join(f"{name}={value}" for name, value in form.cookies.items())
                forms.append((csrf_token(form.text), cookie))
            client.cookies.clear()

            async def attempt(i: int) -> int:
                token, cookie = forms[i]
                answer = await client.post(
                    "/operator/sign-in",
                    data={"csrf_token": token, "name": "nobody", "password": f"wrong {i}"},
                    headers={"cookie": cookie},
                )
                return answer.status_code

            attempts = [asyncio.create_task(attempt(i)) for i in range(40)]
            await asyncio.sleep(0.05)
            # While they are in flight, the rest of the deployment still answers.
            async with httpx.AsyncClient(base_url=url, timeout=15) as other:
                services = (await other.get("/open311/v2/services.json")).status_code
            return list(await asyncio.gather(*attempts)), services

    codes, services = asyncio.run(burst())
    assert services == 200
    assert set(codes) <= {401, 429}, codes
    assert codes.count(401) == 3  # the deployment allows 3 failures a minute; the rest are throttled
    assert httpx.get(f"{url}/healthz", timeout=15).status_code == 200


def test_photos_stored_here_are_shown_and_photos_elsewhere_are_links(deployment: Deployment) -> None:
    """The image policy allowed images from anywhere: a photo URL on another site made each operator's
    browser fetch it on opening the report (telling that site, or probing the city's own network)."""
    from bot.open311.models import NewRequest

    settings = deployment.settings
    own = f"{settings.server.public_url.rstrip('/')}{settings.open311.base_path.rstrip('/')}/media/a1b2.png"
    elsewhere = "http://10.0.0.7/camera.png"
    ids = []
    for url in (own, elsewhere):
        filed = deployment.runtime.open311.create_request(
            NewRequest(service_code="pothole", lat=37.7793, long=-122.4193, media_url=url, channel="api")
        )
        ids.append(filed.service_request_id)
    client, _csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])

    shown = client.get(f"/operator/requests/{ids[0]}")
    assert f'<img src="{own}" alt="Photo attached to the request">' in shown.text
    policy = shown.headers["content-security-policy"]
    origin = settings.server.public_url.rstrip("/")
    assert f"img-src 'self' data: {origin};" in policy, policy

    linked = client.get(f"/operator/requests/{ids[1]}").text
    assert "<img" not in linked.split('class="photos"')[1].split("</div>")[0]
    assert f'<a href="{elsewhere}" rel="noopener noreferrer" target="_blank">Photo on 10.0.0.7' in linked
