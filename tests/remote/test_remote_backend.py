"""The remote backend against a real "city": this project's own Open311 server in a separate process,
reached through a proxy that fails on demand. Nothing between our client and the city is mocked."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from defusedxml.ElementTree import fromstring
from sqlmodel import select

from bot.backend import Draft
from bot.backoff import Backoff
from bot.config import RemoteSettings, Settings, load_settings
from bot.conversation import ConversationEngine, DialogueState, Turn
from bot.db import SessionFactory, make_engine, make_session_factory, migrate
from bot.follow_commands import follow_command_hooks
from bot.follows import Follow, follow_filed
from bot.notifications import REMOTE, JobCursor, NotifiedChange, notify_once
from bot.outbox import OutboxMessage
from bot.remote.backend import RemoteBackend
from bot.remote.client import GeoReportClient
from bot.remote.records import RemoteRequestState, RemoteStatusChange, RemoteSubmission
from bot.remote.sync import KEEP_POLLING_CLOSED, RemoteSync
from bot.resident_commands import ResidentCommand
from bot.review import decisions, forms
from bot.review.models import ReviewItem
from bot.review.queue import ReviewError, ReviewQueue
from bot.runtime import Runtime
from bot.state import get_or_create_resident
from bot.templates import load_templates
from intents.pipeline import load_pipeline
from tests.conversation.harness import RunningBot, running_bot
from tests.jobs.processes import BOT, REPO, wait_for
from tests.remote.city import City, proxy_in_front, running_city

pytestmark = pytest.mark.slow

FAST = Backoff(first_seconds=0.05, factor=2.0, max_seconds=0.2, jitter=0.0)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    with running_city(tmp_path_factory.mktemp("city")) as running:
        yield running


@pytest.fixture(scope="module")
def city_key(city: City) -> str:
    done = subprocess.run(
        [*BOT, "--config", str(city.config), "keys", "create", "remote-bot"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def sessions(database_url: str) -> Iterator[SessionFactory]:
    engine = make_engine(database_url)
    migrate(engine)
    yield make_session_factory(engine)
    engine.dispose()


def draft_for(backend: RemoteBackend, code: str, words: str) -> Draft:
    """A draft the city accepts: every required attribute answered with its first allowed value."""
    answers: dict[str, str | list[str]] = {}
    for spec in backend.attributes(code):
        if not spec.required or not spec.variable:
            continue
        if spec.values:
            first = spec.values[0][0]
            answers[spec.code] = [first] if spec.datatype == "multivaluelist" else first
        else:
            answers[spec.code] = "3" if spec.datatype == "number" else "yes"
    return Draft(
        service_code=code, description=words, channel="local", lat=37.7793, long=-122.4193, attributes=answers
    )


def file_report(
    sessions: SessionFactory, backend: RemoteBackend, code: str, words: str, resident: str
) -> str:
    """What the conversation engine does when a report is complete: file, and the filer follows it."""
    with sessions() as session:
        filed = backend.file(draft_for(backend, code, words), session)
        follow_filed(session, filed.service_request_id, filed.token, "local", resident)
        session.commit()
    assert filed.service_request_id is None
    assert filed.token is not None
    return filed.token


def submission(sessions: SessionFactory, reference: str) -> RemoteSubmission:
    with sessions() as session:
        row = session.get(RemoteSubmission, int(reference[1:]))
        assert row is not None
        return row


async def submit_until_filed(
    sync: RemoteSync, sessions: SessionFactory, reference: str, timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while True:
        await sync.run_submissions()
        row = submission(sessions, reference)
        if row.state == "filed":
            assert row.service_request_id is not None
            return row.service_request_id
        assert row.state != "rejected", row.last_error
        if time.monotonic() > deadline:
            raise TimeoutError(f"{reference} not filed after {timeout} s: {row.state}, {row.last_error}")
        await asyncio.sleep(0.1)


def wait_for_city_catalog(bot: RunningBot) -> None:
    """Until the remote-sync job has fetched the city's services (the bot cannot file before)."""
    wait_for(
        lambda: len(RemoteBackend(bot.runtime.sessions, {}).services()) > 0,
        timeout=60,
        what="the city's catalog",
    )


def city_requests(city: City, **params: str) -> list[dict[str, str]]:
    """What the city itself holds, read straight from it (not through the proxy)."""
    response = httpx.get(f"{city.api}/requests.xml", params=params, timeout=10)
    response.raise_for_status()
    return [{child.tag: (child.text or "") for child in node} for node in fromstring(response.content)]


def outbox_texts(sessions: SessionFactory, resident: str) -> list[str]:
    with sessions() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.resident_id == resident)).all()
        return [row.text for row in rows]


def notify(sessions: SessionFactory) -> int:
    with sessions() as session:
        return notify_once(session, load_templates(), REMOTE)


async def assert_told_once(sync: RemoteSync, sessions: SessionFactory, resident: str, update: str) -> None:
    """One change at the city is polled once, sent once, and the resident's only message starts ``update``."""
    assert (await sync.poll_statuses()).changes == 1
    assert (await sync.poll_statuses()).changes == 0
    assert notify(sessions) == 1
    assert notify(sessions) == 0
    texts = outbox_texts(sessions, resident)
    assert len(texts) == 1
    assert texts[0].startswith(update)


@asynccontextmanager
async def impatient_sync(
    remote: dict[str, Any], sessions: SessionFactory, city_key: str
) -> AsyncIterator[RemoteSync]:
    """A sync whose client gives up on the city after half a second: the proxy's stalls and late answers
    time out."""
    impatient = GeoReportClient(remote["client"].base_url, api_key=city_key, timeout_seconds=0.5)
    try:
        yield RemoteSync(impatient, sessions, remote["queue"], backoff=FAST, lease_seconds=5)
    finally:
        await impatient.aclose()


@pytest.fixture
async def remote(city: City, city_key: str, sessions: SessionFactory) -> AsyncIterator[dict[str, Any]]:
    with proxy_in_front(city) as (proxy, proxy_url):
        client = GeoReportClient(proxy_url, jurisdiction_id="sfgov.org", api_key=city_key, timeout_seconds=15)
        backend = RemoteBackend(sessions, {})
        queue = ReviewQueue(backend, load_templates())
        sync = RemoteSync(client, sessions, queue, backoff=FAST, lease_seconds=5)
        yield {"proxy": proxy, "sync": sync, "backend": backend, "client": client, "queue": queue}
        await client.aclose()


async def test_a_report_survives_a_5xx_burst_and_bad_xml_and_is_filed_once(
    remote: dict[str, Any], sessions: SessionFactory, city: City
) -> None:
    sync: RemoteSync = remote["sync"]
    backend: RemoteBackend = remote["backend"]
    proxy = remote["proxy"]

    await sync.refresh_catalog()
    codes = {service.code: service for service in backend.services()}
    assert codes["pothole"].batch is False
    assert codes["missed_collection"].batch is True

    words = f"deep pothole outside the library {time.time_ns()}"
    reference = file_report(sessions, backend, "pothole", words, "ana")
    proxy.fail = 3  # three 503s in a row, then one answer that is not XML
    proxy.garble = 1
    request_id = await submit_until_filed(sync, sessions, reference, timeout=60)

    row = submission(sessions, reference)
    assert row.attempts == 5  # four transient failures, kept and retried, then the POST that worked
    held = city_requests(city, service_request_id=request_id)
    assert [(r["service_request_id"], r["description"]) for r in held] == [(request_id, words)]
    same_words = [r for r in city_requests(city, service_code="pothole") if r["description"] == words]
    assert len(same_words) == 1  # filed once, not once per retry
    # A 5xx or a bad body means the city did not take it: sent again without searching the city for it.
    assert "GET /requests.xml" not in proxy.seen

    # The filer learns the city's number, once, however often the notifier runs.
    assert notify(sessions) == 1
    assert notify(sessions) == 0
    assert outbox_texts(sessions, "ana") == [
        f"Your report {reference} is now filed as #{request_id} (Pothole). Reply STATUS for updates."
    ]
    with sessions() as session:
        status = backend.lookup(reference, session)
    assert status is not None
    assert (status.service_request_id, status.status) == (request_id, "open")


def status_reply(backend: RemoteBackend, sessions: SessionFactory, resident_id: str, text: str) -> str:
    """What the resident is answered to ``text`` (STATUS ...), as the conversation engine answers it."""
    templates = load_templates()
    engine = ConversationEngine(
        load_pipeline(), backend, templates, ReviewQueue(backend, templates), auto_file_threshold=0.9
    )
    with sessions() as session:
        resident = get_or_create_resident(session, "local", resident_id)
        replies = engine.respond(
            session, Turn("local", resident_id, f"m-{time.time_ns()}", text=text), DialogueState(), resident
        )
        session.commit()
    return "\n".join(reply.text for reply in replies)


async def run_until(
    sync: RemoteSync, sessions: SessionFactory, reference: str, state: str
) -> RemoteSubmission:
    for _ in range(50):
        await sync.run_submissions()
        row = submission(sessions, reference)
        if row.state == state:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"{reference} is {row.state}, not {state}: {row.last_error}")


async def test_a_report_the_city_refuses_goes_to_a_person_and_the_resident_is_told_plainly(
    remote: dict[str, Any], sessions: SessionFactory, city: City
) -> None:
    """Before: the resident got "could not be filed: 400: attribute[size]: ...", the operators saw nothing,
    and the report was never filed."""
    sync: RemoteSync = remote["sync"]
    backend: RemoteBackend = remote["backend"]
    queue: ReviewQueue = remote["queue"]
    await sync.refresh_catalog()
    words = f"bache enorme frente a la biblioteca {time.time_ns()}"
    refused = Draft(
        service_code="pothole",
        description=words,
        channel="local",
        lat=37.7793,
        long=-122.4193,
        attributes={
            "size": "gigantic"
        },  # not one of the city's values: it answers 400, which no retry changes
    )
    with sessions() as session:
        get_or_create_resident(session, "local", "rhea").language = "es"
        filed = backend.file(refused, session)
        follow_filed(session, None, filed.token, "local", "rhea", reply_to="m-report")
        session.commit()
    reference = filed.token
    assert reference is not None

    row = await run_until(sync, sessions, reference, "review")
    assert row.last_error is not None
    assert "size" in row.last_error
    with sessions() as session:
        [item] = session.exec(select(ReviewItem).where(ReviewItem.resident_id == "rhea")).all()
    # Everything a person needs to correct it, the city's reason included.
    assert item.id == row.review_item_id
    assert (item.status, item.channel, item.language, item.reply_to) == ("pending", "local", "es", "m-report")
    assert (item.text, item.service_code, item.lat, item.long) == (words, "pothole", 37.7793, -122.4193)
    assert item.attributes == {"size": "gigantic"}
    assert item.reason == f"the city refused it: {row.last_error}"
    # The resident hears it in their language, without the city's error.
    told = load_templates().render("token_in_review", "es", token=reference)
    assert outbox_texts(sessions, "rhea") == [told]
    assert "400" not in told
    assert "esperando que una persona lo revise" in status_reply(backend, sessions, "rhea", "ESTADO")
    assert "400" not in status_reply(backend, sessions, "rhea", f"STATUS {reference}")

    # A person corrects the answer and files it: the city takes it, and the old reference leads to it.
    with sessions() as session:
        approved = queue.approve(session, item.id or 0, "maria", attributes={"size": "large"})
        session.commit()
    assert approved.token is not None
    request_id = await submit_until_filed(sync, sessions, approved.token, timeout=60)
    held = [r for r in city_requests(city, service_code="pothole") if r["description"] == words]
    assert [r["service_request_id"] for r in held] == [request_id]
    with sessions() as session:
        status = backend.lookup(reference, session)
    assert status is not None
    assert (status.service_request_id, status.status) == (request_id, "open")


async def test_a_refused_key_holds_reports_until_the_city_takes_it(
    remote: dict[str, Any],
    sessions: SessionFactory,
    city: City,
    city_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: every report was "could not be filed: 403: invalid api_key" for good, told to residents, and
    never sent again once the key was fixed."""
    backend: RemoteBackend = remote["backend"]
    queue: ReviewQueue = remote["queue"]
    proxy = remote["proxy"]
    await remote["sync"].refresh_catalog()
    slow_retries = Backoff(first_seconds=600, max_seconds=600, jitter=0.0)
    words = [f"pothole by the bakery {time.time_ns()}", f"pothole by the bank {time.time_ns()}"]
    references = [file_report(sessions, backend, "pothole", text, "kay") for text in words]

    wrong = GeoReportClient(remote["client"].base_url, api_key="not-the-key", timeout_seconds=15)
    try:
        await RemoteSync(wrong, sessions, queue, backoff=slow_retries).run_submissions()
    finally:
        await wrong.aclose()
    assert proxy.seen.count("POST /requests.xml") == 1  # the second would be refused the same way
    assert [submission(sessions, r).state for r in references] == ["held", "held"]
    assert "the city refused the bot's key" in caplog.text
    assert "remote.api_key" in caplog.text
    with sessions() as session:
        assert session.exec(select(ReviewItem).where(ReviewItem.resident_id == "kay")).all() == []
    assert outbox_texts(sessions, "kay") == []  # nothing failed as far as the resident is concerned
    assert status_reply(backend, sessions, "kay", f"STATUS {references[0]}").startswith(
        f"Report {references[0]} (Pothole) was received and is waiting for a number."
    )

    # The key is fixed and the bot restarted: the held reports go at once, not after their backoff.
    fixed = GeoReportClient(remote["client"].base_url, api_key=city_key, timeout_seconds=15)
    try:
        await RemoteSync(fixed, sessions, queue, backoff=slow_retries).run_submissions()
    finally:
        await fixed.aclose()
    assert [submission(sessions, r).state for r in references] == ["filed", "filed"]
    for text in words:
        assert len([r for r in city_requests(city, service_code="pothole") if r["description"] == text]) == 1


async def test_a_batch_service_token_is_resolved_and_status_changes_reach_the_resident(
    remote: dict[str, Any], sessions: SessionFactory, city: City
) -> None:
    sync: RemoteSync = remote["sync"]
    backend: RemoteBackend = remote["backend"]
    await sync.refresh_catalog()

    reference = file_report(sessions, backend, "missed_collection", "trash not picked up on Elm St", "bo")
    await sync.run_submissions()
    row = submission(sessions, reference)
    assert row.state == "token"  # the city answered with its own token, not a number
    assert row.token
    request_id = await submit_until_filed(sync, sessions, reference, timeout=60)
    assert notify(sessions) == 1

    # The city's crew closes it, through the city's own core.
    city_runtime = Runtime.build(load_settings(city.config), apply_migrations=False)
    try:
        city_runtime.open311.update_status(request_id, "closed", "Collected this morning.", actor="crew")
    finally:
        city_runtime.close()

    report = await sync.poll_statuses()
    assert report.changes == 1
    assert (await sync.poll_statuses()).changes == 0  # nothing new: no second change logged
    assert notify(sessions) == 1
    assert notify(sessions) == 0
    texts = outbox_texts(sessions, "bo")
    assert len(texts) == 2
    assert texts[1].startswith(f"Update on report #{request_id}")
    assert "closed. Collected this morning." in texts[1]
    with sessions() as session:
        changes = session.exec(select(RemoteStatusChange).order_by(RemoteStatusChange.id)).all()
    assert [change.kind for change in changes] == ["submitted", "status"]


async def test_a_report_filed_while_the_city_is_down_is_filed_after_it_restarts(
    remote: dict[str, Any], sessions: SessionFactory, city: City
) -> None:
    sync: RemoteSync = remote["sync"]
    backend: RemoteBackend = remote["backend"]
    await sync.refresh_catalog()

    city.stop()
    try:
        reference = file_report(
            sessions, backend, "pothole", f"sinkhole by the school {time.time_ns()}", "cy"
        )
        for _ in range(3):
            await sync.run_submissions()
            await asyncio.sleep(0.25)
        row = submission(sessions, reference)
        assert row.state == "pending"
        assert row.attempts >= 2
        assert row.last_error
    finally:
        city.start()
    request_id = await submit_until_filed(sync, sessions, reference, timeout=60)
    assert city_requests(city, service_request_id=request_id)[0]["service_request_id"] == request_id


def test_a_resident_files_into_the_city_through_the_bot_and_hears_its_number_and_changes(
    city: City, city_key: str, settings: Settings
) -> None:
    """The whole bot with remote.enabled: a local-channel resident's report goes to the city, the jobs
    (apscheduler, in the app) submit it and bring back the number and the city's status change."""
    remote = {
        "enabled": True,
        "base_url": city.api,
        "api_key": city_key,
        "timeout_seconds": 15.0,
        "retry_first_seconds": 0.2,
        "retry_max_seconds": 1.0,
    }
    jobs = {
        "enabled": True,
        "remote_submit_seconds": 0.3,
        "remote_sync_seconds": 0.5,
        "notify_seconds": 0.2,
        "outbox_seconds": 0.2,
    }
    with running_bot(settings, remote=remote, jobs=jobs) as bot:
        wait_for_city_catalog(bot)
        ana = bot.resident("ana")
        reply = ana.ask("There is a huge pothole at Market St and 5th St", lat=37.7837, long=-122.4079)
        for _ in range(5):  # the city's required attributes, asked one at a time: take the first option
            if "reference" in reply:
                break
            reply = ana.ask("1")
        assert "reference R" in reply, reply
        reference = reply.split("reference ")[1].split(".")[0].split(" ")[0]

        def filed_message() -> str | None:
            for message in ana.received():
                if message["text"].startswith(f"Your report {reference} is now filed as #"):
                    return str(message["text"])
            return None

        def submissions_and_city_log() -> str:
            # What the jobs did with the report, and what the city saw: the first places to look.
            # Then each step between the number and the resident: the change logged, the notification
            # job's cursor and marks, the follows it reads, and the outbox rows it queued.
            with bot.runtime.sessions() as session:
                rows = session.exec(select(RemoteSubmission)).all()
                states = [(r.state, r.attempts, r.last_error, r.next_attempt_at) for r in rows]
                changes = [
                    (c.id, c.kind, c.token, c.service_request_id, c.recorded_at)
                    for c in session.exec(select(RemoteStatusChange)).all()
                ]
                cursors = [(c.name, c.position, c.updated_at) for c in session.exec(select(JobCursor)).all()]
                marks = [
                    (m.source, m.change_id, m.recipients) for m in session.exec(select(NotifiedChange)).all()
                ]
                follows = [
                    (f.service_request_id, f.channel, f.resident_id) for f in session.exec(select(Follow))
                ]
                outbox = [
                    (o.id, o.status, o.attempts, o.last_error, o.dedupe_key, o.text[:60])
                    for o in session.exec(select(OutboxMessage).where(OutboxMessage.resident_id == "ana"))
                ]
            city_log = city.process.log()[-3000:]
            return (
                f"submissions (state, attempts, last error, next attempt): {states}\n"
                f"remote changes (id, kind, token, number, recorded): {changes}\n"
                f"job cursors: {cursors}\nnotified marks (source, change, recipients): {marks}\n"
                f"follows: {follows}\nana's outbox (id, status, attempts, error, key, text): {outbox}\n"
                f"city log:\n{city_log}"
            )

        wait_for(
            lambda: filed_message() is not None,
            timeout=60,
            what="the city's number",
            diagnose=submissions_and_city_log,
        )
        request_id = str(filed_message()).split("#")[1].split(" ")[0]
        held = city_requests(city, service_request_id=request_id)
        assert held[0]["description"] == "There is a huge pothole at Market St and 5th St"

        city_runtime = Runtime.build(load_settings(city.config), apply_migrations=False)
        try:
            city_runtime.open311.update_status(request_id, "closed", "Patched.", actor="crew")
        finally:
            city_runtime.close()

        def updates() -> list[str]:
            return [
                m["text"] for m in ana.received() if m["text"].startswith(f"Update on report #{request_id}")
            ]

        wait_for(lambda: len(updates()) == 1, timeout=60, what="the status update")
        time.sleep(1.5)
        assert len(updates()) == 1
        assert "it is now closed. Patched." in updates()[0]
        assert ana.ask(f"STATUS {reference}").startswith(f"Report #{request_id}")


async def test_a_city_that_does_not_answer_in_time_is_asked_again(
    remote: dict[str, Any], sessions: SessionFactory, city: City, city_key: str
) -> None:
    proxy = remote["proxy"]
    backend: RemoteBackend = remote["backend"]
    await remote["sync"].refresh_catalog()
    async with impatient_sync(remote, sessions, city_key) as sync:
        words = f"pothole swallowing bikes {time.time_ns()}"
        reference = file_report(sessions, backend, "pothole", words, "dee")
        proxy.stall, proxy.stall_seconds = 2, 1.5
        await sync.run_submissions()
        row = submission(sessions, reference)
        assert row.state == "pending"
        assert row.last_error == "POST requests.xml timed out"
        request_id = await submit_until_filed(sync, sessions, reference, timeout=60)
        # The two stalled tries and the one that got through (more on a loaded machine, where an unstalled
        # answer can take longer than the 0.5 s too); the city has it once all the same.
        assert submission(sessions, reference).attempts >= 3
        assert len([r for r in city_requests(city, service_code="pothole") if r["description"] == words]) == 1
        assert request_id


async def test_a_post_the_city_stores_but_answers_too_late_for_is_found_not_filed_again(
    remote: dict[str, Any], sessions: SessionFactory, city: City, city_key: str
) -> None:
    """Before: every timed-out POST was sent again, and a slow city that stored each one had the report
    once per try (five requests for one report at the Chicago tester's)."""
    proxy = remote["proxy"]
    backend: RemoteBackend = remote["backend"]
    await remote["sync"].refresh_catalog()
    async with impatient_sync(remote, sessions, city_key) as sync:
        words = f"pothole the slow city stores {time.time_ns()}"
        reference = file_report(sessions, backend, "pothole", words, "sal")
        proxy.late, proxy.late_seconds = 1, 1.5
        await sync.run_submissions()
        row = submission(sessions, reference)
        assert (row.state, row.last_error) == ("pending", "POST requests.xml timed out")
        stored = [r for r in city_requests(city, service_code="pothole") if r["description"] == words]
        assert len(stored) == 1  # the city has it, though the bot never heard its answer

        request_id = await submit_until_filed(sync, sessions, reference, timeout=60)
        assert request_id == stored[0]["service_request_id"]
        assert proxy.seen.count("POST /requests.xml") == 1  # found by searching, not posted again
        assert len([r for r in city_requests(city, service_code="pothole") if r["description"] == words]) == 1
        assert notify(sessions) == 1
        assert outbox_texts(sessions, "sal") == [
            f"Your report {reference} is now filed as #{request_id} (Pothole). Reply STATUS for updates."
        ]


async def test_a_post_is_given_longer_than_a_get(
    remote: dict[str, Any], sessions: SessionFactory, city: City, city_key: str
) -> None:
    """remote.post_timeout_seconds: a city slow to answer POSTs (as cities under load are) is waited for,
    while GETs keep remote.timeout_seconds. Before, both had timeout_seconds, and the POST was sent again."""
    proxy = remote["proxy"]
    backend: RemoteBackend = remote["backend"]
    await remote["sync"].refresh_catalog()
    settings = RemoteSettings(
        enabled=True,
        base_url=remote["client"].base_url,
        api_key=city_key,
        timeout_seconds=0.5,
        post_timeout_seconds=10,
    )
    sync = RemoteSync.from_settings(settings, sessions, remote["queue"])
    try:
        reference = file_report(sessions, backend, "pothole", f"pothole slowly taken {time.time_ns()}", "ty")
        proxy.late, proxy.late_seconds = 1, 1.5
        await sync.run_submissions()
        row = submission(sessions, reference)
        assert (row.state, row.attempts) == ("filed", 1)
    finally:
        await sync.client.aclose()


async def file_at_city(city: City, city_key: str, words: str) -> str:
    """A pothole reported straight to the city, as another app or the city's phone line does: never
    through the bot. Required attributes get their first allowed value."""
    client = GeoReportClient(city.api, api_key=city_key, timeout_seconds=15)
    try:
        definition = await client.service_definition("pothole")
        fields: dict[str, str] = {"service_code": "pothole", "description": words}
        fields |= {"lat": "37.7793", "long": "-122.4193"}
        for attribute in definition.attributes:
            if attribute.required and attribute.variable:
                fields[f"attribute[{attribute.code}]"] = attribute.values[0].key if attribute.values else "3"
        posted = await client.post_request(fields)
    finally:
        await client.aclose()
    assert posted.service_request_id is not None
    return posted.service_request_id


def set_status_at_city(city: City, request_id: str, status: str, notes: str) -> None:
    """The city's crew changes a request in the city's own core."""
    city_runtime = Runtime.build(load_settings(city.config), apply_migrations=False)
    try:
        city_runtime.open311.update_status(request_id, status, notes, actor="crew")
    finally:
        city_runtime.close()


def follow_rows(sessions: SessionFactory, request_id: str) -> tuple[list[Follow], RemoteRequestState | None]:
    with sessions() as session:
        rows = list(session.exec(select(Follow).where(Follow.service_request_id == request_id)).all())
        return rows, session.get(RemoteRequestState, request_id)


def command(sessions: SessionFactory, backend: RemoteBackend, text: str, resident: str) -> str:
    """FOLLOW/UNFOLLOW as the conversation engine runs it: the hook in the resident's transaction."""
    name, argument = text.lower().split()
    hooks = follow_command_hooks(backend, load_templates())
    with sessions() as session:
        who = get_or_create_resident(session, "local", resident)
        reply = hooks[name](session, ResidentCommand(name, argument), who, "en")  # type: ignore[arg-type]
        session.commit()
    assert reply is not None
    return reply


async def test_following_a_request_the_bot_did_not_file_polls_it_only_while_followed(
    remote: dict[str, Any], sessions: SessionFactory, city: City, city_key: str
) -> None:
    sync: RemoteSync = remote["sync"]
    proxy = remote["proxy"]
    await sync.refresh_catalog()
    request_id = await file_at_city(city, city_key, f"pothole reported by phone {time.time_ns()}")
    backend = RemoteBackend(
        sessions, {}, city=lambda: GeoReportClient(remote["client"].base_url, timeout_seconds=5)
    )

    # The city is down: one try, a clear "try again later", and nothing followed nor mirrored.
    proxy.fail = 1
    reply = command(sessions, backend, f"FOLLOW {request_id}", "fay")
    assert reply == load_templates().render("city_unreachable", "en")
    assert proxy.seen.count(f"GET /requests/{request_id}.xml") == 1
    assert follow_rows(sessions, request_id) == ([], None)

    reply = command(sessions, backend, f"FOLLOW {request_id}", "fay")
    assert reply.startswith(f"You will get updates on report #{request_id} (Pothole).")
    followed, state = follow_rows(sessions, request_id)
    assert [(row.resident_id, row.reason) for row in followed] == [("fay", "followed")]
    assert state is not None
    assert state.status == "open"
    assert (await sync.poll_statuses()).changes == 0  # the mirror is the city's state: no news yet

    set_status_at_city(city, request_id, "closed", "Filled the hole.")
    await assert_told_once(
        sync, sessions, "fay", f"Update on report #{request_id} (Pothole): it is now closed. Filled the hole."
    )

    # Nobody follows it any more: not polled, so a change at the city is logged for no one ...
    assert command(sessions, backend, f"UNFOLLOW {request_id}", "fay").startswith("You will no longer")
    set_status_at_city(city, request_id, "open", "Reopened: it sank again.")
    assert (await sync.poll_statuses()).changes == 0
    # ... and following again starts from the city's state now, not with news of what nobody followed.
    assert command(sessions, backend, f"FOLLOW {request_id}", "fay").startswith("You will get updates")
    assert follow_rows(sessions, request_id)[1].status == "open"  # type: ignore[union-attr]
    assert (await sync.poll_statuses()).changes == 0
    assert notify(sessions) == 0
    with sessions() as session:
        logged = session.exec(
            select(RemoteStatusChange).where(RemoteStatusChange.service_request_id == request_id)
        ).all()
    assert [(change.kind, change.status) for change in logged] == [("status", "closed")]


def test_a_resident_follows_a_city_request_filed_elsewhere_and_hears_its_change_once(
    city: City, city_key: str, settings: Settings
) -> None:
    """The whole bot with remote.enabled: a resident who reported by phone FOLLOWs the city's number on
    the local channel, the remote-sync job polls it, and the city's change reaches them once."""
    remote = {"enabled": True, "base_url": city.api, "api_key": city_key, "timeout_seconds": 15.0}
    jobs = {"enabled": True, "remote_sync_seconds": 0.5, "notify_seconds": 0.2, "outbox_seconds": 0.2}
    request_id = asyncio.run(file_at_city(city, city_key, f"pothole phoned in {time.time_ns()}"))
    other_id = asyncio.run(file_at_city(city, city_key, f"another pothole phoned in {time.time_ns()}"))
    with running_bot(settings, remote=remote, jobs=jobs) as bot:
        wait_for_city_catalog(bot)
        eve = bot.resident("eve")
        assert eve.ask(f"FOLLOW {request_id}").startswith(
            f"You will get updates on report #{request_id} (Pothole)"
        )
        assert eve.ask(f"FOLLOW {request_id}") == f"You already get updates on report #{request_id}."
        assert eve.ask("FOLLOW 987654321") == "I could not find a report 987654321."
        # STATUS asks the city about a request nobody follows, and keeps no copy of it.
        assert eve.ask(f"STATUS {other_id}") == f"Report #{other_id} (Pothole) is open."
        with bot.runtime.sessions() as session:
            assert session.get(RemoteRequestState, other_id) is None

        set_status_at_city(city, request_id, "closed", "Patched.")
        set_status_at_city(city, other_id, "closed", "Patched too.")

        def updates() -> list[str]:
            return [m["text"] for m in eve.received() if m["text"].startswith("Update on report #")]

        wait_for(lambda: len(updates()) == 1, timeout=60, what="the status update")
        time.sleep(1.5)  # several more sync and notification runs
        assert updates() == [
            f"Update on report #{request_id} (Pothole): it is now closed. Patched. "
            f"Reply UNFOLLOW {request_id} to stop these updates."
        ]
        assert eve.ask(f"STATUS {request_id}") == f"Report #{request_id} (Pothole) is closed. Patched."


def test_a_slow_city_lookup_does_not_hold_up_other_residents(
    city: City, city_key: str, settings: Settings
) -> None:
    """FOLLOW of a request the bot did not file asks the city before the resident's turn, outside its
    transaction: while the city takes its time, another resident's report is handled (on SQLite the turn
    holds the one write lock, so a lookup inside it would make everyone wait on the city)."""
    request_id = asyncio.run(file_at_city(city, city_key, f"pothole phoned in {time.time_ns()}"))
    with proxy_in_front(city) as (proxy, url):
        remote = {"enabled": True, "base_url": url, "api_key": city_key, "timeout_seconds": 15.0}
        jobs = {"enabled": True, "remote_sync_seconds": 0.5}
        with running_bot(settings, remote=remote, jobs=jobs) as bot:
            wait_for_city_catalog(bot)
            release = threading.Event()
            proxy.hold_lookups = release
            with ThreadPoolExecutor(max_workers=1) as pool:
                following = pool.submit(bot.resident("eve").ask, f"FOLLOW {request_id}")
                lookup = f"GET /requests/{request_id}.xml"
                wait_for(lambda: lookup in proxy.seen, timeout=30, what="the lookup at the city")
                reply = bot.resident("bob").ask("There is a large pothole at 5th St and Market St")
                assert not following.done(), "bob was answered only after eve's lookup at the city"
                assert reply.startswith("Thanks"), reply
                release.set()
                assert following.result(timeout=30).startswith(
                    f"You will get updates on report #{request_id} (Pothole)"
                )
            assert proxy.seen.count(lookup) == 1, "the turn asked the city again"

            # STATUS of a request nobody follows while the city is down: "try again later", not "not found".
            other_id = asyncio.run(file_at_city(city, city_key, f"another pothole {time.time_ns()}"))
            proxy.hold_lookups, proxy.fail_lookups = None, 1
            assert bot.resident("bob").ask(f"STATUS {other_id}") == load_templates().render(
                "city_unreachable", "en"
            )
            assert bot.resident("bob").ask(f"STATUS {other_id}") == f"Report #{other_id} (Pothole) is open."


async def test_a_closed_request_is_polled_until_the_city_has_left_it_alone_for_a_while(
    remote: dict[str, Any], sessions: SessionFactory, city: City, city_key: str
) -> None:
    sync: RemoteSync = remote["sync"]
    request_id = await file_at_city(city, city_key, f"pothole phoned in {time.time_ns()}")
    backend = RemoteBackend(
        sessions, {}, city=lambda: GeoReportClient(remote["client"].base_url, timeout_seconds=5)
    )
    assert command(sessions, backend, f"FOLLOW {request_id}", "gus").startswith("You will get updates")

    set_status_at_city(city, request_id, "closed", "Done.")
    assert (await sync.poll_statuses()).changes == 1
    set_status_at_city(city, request_id, "open", "Reopened.")  # closed recently: still polled
    assert (await sync.poll_statuses()).changes == 1
    set_status_at_city(city, request_id, "closed", "Done again.")
    assert (await sync.poll_statuses()).changes == 1

    with sessions() as session:  # the city last changed it longer ago than polling keeps watching
        state = session.get(RemoteRequestState, request_id)
        assert state is not None
        assert state.updated_datetime is not None
        state.updated_datetime -= KEEP_POLLING_CLOSED + timedelta(days=1)
        session.add(state)
        session.commit()
    set_status_at_city(city, request_id, "open", "Reopened once more.")
    assert (await sync.poll_statuses()).changes == 0


def test_an_operator_files_a_queued_report_at_the_city_with_its_answers_and_its_place(
    city: City, city_key: str, settings: Settings
) -> None:
    """Approving in remote mode, through the console's decisions. Before: the POST carried no answer to
    the city's required question (the city answered 400 and the report was lost), and an address the
    operator typed for a report with no point went without one, though the page says it is looked up."""
    remote = {
        "enabled": True,
        "base_url": city.api,
        "api_key": city_key,
        "timeout_seconds": 15.0,
        "retry_first_seconds": 0.2,
        "retry_max_seconds": 1.0,
    }
    jobs = {"enabled": True, "remote_submit_seconds": 0.3, "remote_sync_seconds": 0.5}
    stamp = time.time_ns()
    with running_bot(settings, remote=remote, jobs=jobs) as bot:
        wait_for_city_catalog(bot)
        queue = bot.messaging.review_queue
        console = bot.app.state.operator_console
        with bot.runtime.sessions() as session:
            # As the engine queues a report whose place the geocoder did not find just then: no point.
            unplaced = queue.enqueue(
                session,
                channel="local",
                resident_id="lia",
                text=f"large pothole in the crosswalk {stamp}",
                location_text="24th St and Mission St",
                location_kind="intersection",
                service_code="pothole",
                reason="the place is not on the map",
            )
            # Words that do not say how big it is, which the city requires.
            unsized = queue.enqueue(
                session,
                channel="local",
                resident_id="moe",
                text=f"pothole by the library {stamp}",
                lat=37.7793,
                long=-122.4193,
                service_code="pothole",
            )
            session.commit()
        assert unplaced.id is not None
        assert unsized.id is not None

        maria = decisions.Actor("maria")
        with bot.runtime.sessions() as session:
            approval = decisions.Approval(address_string="24th St and Mission St")
            decisions.approve(console, session, maria, unplaced.id, approval)
            session.commit()
        # The question the words leave open is put to the operator, next to its field; nothing is filed.
        with bot.runtime.sessions() as session, pytest.raises(ReviewError) as refused:
            decisions.approve(console, session, maria, unsized.id, decisions.Approval())
        labels = {"attribute[size]": ("attr-size", "About how big is it?")}
        assert forms.core_problems(refused.value, labels) == (
            {"attr-size": "\u201cAbout how big is it?\u201d is required."},
            [],
        )
        with bot.runtime.sessions() as session:
            approval = decisions.Approval(attributes={"size": "medium"})
            decisions.approve(console, session, maria, unsized.id, approval)
            session.commit()

        def filed() -> dict[str, RemoteSubmission]:
            with bot.runtime.sessions() as session:
                rows = session.exec(select(RemoteSubmission)).all()
            return {str(row.fields["description"]): row for row in rows if row.state == "filed"}

        wait_for(lambda: len(filed()) == 2, timeout=60, what="both approvals filed at the city")
        sent = filed()
        large = sent[f"large pothole in the crosswalk {stamp}"]
        assert large.fields["attribute[size]"] == "large"  # from the resident's words, as the chat does
        assert large.fields["address_string"].upper().startswith("24TH ST")
        held = city_requests(city, service_request_id=str(large.service_request_id))[0]
        assert float(held["lat"]) == pytest.approx(37.7524, abs=0.002)
        assert float(held["long"]) == pytest.approx(-122.4184, abs=0.002)
        assert sent[f"pothole by the library {stamp}"].fields["attribute[size]"] == "medium"


def test_an_operator_shortens_a_description_the_city_refused_and_files_it(
    city: City, city_key: str, settings: Settings
) -> None:
    """A city that takes fewer characters than the resident wrote (Chicago: 2,000) refuses the report; it
    comes back to the queue and the operator files it with a description of their own. Before: the
    resident was told "400: description: ...", and nothing could be done."""
    remote = {
        "enabled": True,
        "base_url": city.api,
        "api_key": city_key,
        "timeout_seconds": 15.0,
        "retry_first_seconds": 0.2,
        "retry_max_seconds": 1.0,
    }
    jobs = {"enabled": True, "remote_submit_seconds": 0.3, "remote_sync_seconds": 0.5}
    stamp = time.time_ns()
    with running_bot(settings, remote=remote, jobs=jobs) as bot:
        wait_for_city_catalog(bot)
        backend = bot.messaging.backend
        assert isinstance(backend, RemoteBackend)
        long_words = f"pothole {stamp} " + "and it keeps getting worse every day " * 120  # over 4,000
        with bot.runtime.sessions() as session:
            filed = backend.file(
                Draft("pothole", long_words, "local", 37.7793, -122.4193, attributes={"size": "large"}),
                session,
            )
            follow_filed(session, None, filed.token, "local", "ned")
            session.commit()

        def item() -> ReviewItem | None:
            with bot.runtime.sessions() as session:
                return session.exec(select(ReviewItem).where(ReviewItem.resident_id == "ned")).first()

        wait_for(lambda: item() is not None, timeout=60, what="the refused report in the review queue")
        refused = item()
        assert refused is not None
        assert refused.id is not None
        assert "description" in refused.reason
        assert refused.text == long_words

        short = f"Deep pothole {stamp}, getting worse every day."
        console = bot.app.state.operator_console
        with bot.runtime.sessions() as session:
            approval = decisions.Approval(description=short)
            decisions.approve(console, session, decisions.Actor("maria"), refused.id, approval)
            session.commit()

        def at_city() -> list[dict[str, str]]:
            return [r for r in city_requests(city, service_code="pothole") if str(stamp) in r["description"]]

        wait_for(lambda: len(at_city()) == 1, timeout=60, what="the shortened report at the city")
        assert at_city()[0]["description"] == short


async def test_one_record_the_city_serves_broken_does_not_stop_the_others_updates(
    remote: dict[str, Any],
    sessions: SessionFactory,
    city: City,
    city_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A black-box tester's city served one request with XML that was not well-formed: the sync job asked
    for every followed request in one GET, could not read the answer, and nobody heard of any change, on
    every poll; STATUS of that request said the city was not answering. Now the broken record is left out
    (logged once), the others' changes reach their followers once, and the resident is told the truth."""
    sync: RemoteSync = remote["sync"]
    proxy = remote["proxy"]
    await sync.refresh_catalog()
    backend = RemoteBackend(
        sessions, {}, city=lambda: GeoReportClient(remote["client"].base_url, timeout_seconds=5)
    )
    residents = ["ida", "jon", "kim", "lea"]
    ids = {who: await file_at_city(city, city_key, f"pothole of {who} {time.time_ns()}") for who in residents}
    for who in residents:
        assert command(sessions, backend, f"FOLLOW {ids[who]}", who).startswith("You will get updates")
    # jon's record is broken beyond repair; kim's has a character XML forbids, which can be dropped.
    proxy.broken = {ids["jon"]: b"Fish & chips", ids["kim"]: "crew \uffff note".encode()}
    for who in residents:
        set_status_at_city(city, ids[who], "closed", f"Patched for {who}.")

    with caplog.at_level("WARNING", logger="bot.remote.sync"):
        assert (await sync.poll_statuses()).changes == 3
        assert (await sync.poll_statuses()).changes == 0
        asked = len(proxy.seen)
        assert (await sync.poll_statuses()).changes == 0
    # Known broken, jon's is asked for alone: two GETs a poll, not the halving again.
    assert proxy.seen[asked:] == ["GET /requests.xml"] * 2, proxy.seen[asked:]
    left_out = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(left_out) == 1, left_out  # once, not on every poll
    assert f"request {ids['jon']}" in left_out[0]
    assert notify(sessions) == 3
    assert notify(sessions) == 0
    for who in ("ida", "kim", "lea"):
        texts = outbox_texts(sessions, who)
        assert len(texts) == 1, (who, texts)
        assert texts[0].startswith(
            f"Update on report #{ids[who]} (Pothole): it is now closed. Patched for {who}."
        )
    assert outbox_texts(sessions, "jon") == []

    # A request nobody follows, served broken: STATUS and FOLLOW say what happened, and nothing is followed.
    other_id = await file_at_city(city, city_key, f"pothole nobody follows {time.time_ns()}")
    proxy.broken[other_id] = b"<unclosed>"
    unreadable = load_templates().render("city_unreadable", "en")
    assert unreadable != load_templates().render("city_unreachable", "en")
    assert status_reply(backend, sessions, "max", f"STATUS {other_id}") == unreadable
    assert command(sessions, backend, f"FOLLOW {other_id}", "max") == unreadable
    assert follow_rows(sessions, other_id) == ([], None)

    # The city mends jon's record: his change arrives, once.
    proxy.broken.pop(ids["jon"])
    await assert_told_once(
        sync, sessions, "jon", f"Update on report #{ids['jon']} (Pothole): it is now closed. Patched for jon."
    )
    assert sum(len(outbox_texts(sessions, who)) for who in ("ida", "kim", "lea")) == 3


async def test_a_broken_record_does_not_keep_an_unanswered_post_from_being_found(
    remote: dict[str, Any], sessions: SessionFactory, city: City, city_key: str
) -> None:
    """Before a POST that went unanswered is sent again, the city's requests of its service are searched.
    One of them served broken made that search fail on every try: the report was never filed. Now the
    broken one is left out and the stored report is found, not posted again."""
    proxy = remote["proxy"]
    backend: RemoteBackend = remote["backend"]
    await remote["sync"].refresh_catalog()
    broken_id = await file_at_city(city, city_key, f"pothole served broken {time.time_ns()}")
    proxy.broken[broken_id] = b"Fish & chips"
    await asyncio.sleep(2)  # the search tells requests apart down to the second the city gives
    async with impatient_sync(remote, sessions, city_key) as sync:
        words = f"pothole the slow city stores next to a broken one {time.time_ns()}"
        reference = file_report(sessions, backend, "pothole", words, "una")
        proxy.late, proxy.late_seconds = 1, 1.5
        await sync.run_submissions()
        assert submission(sessions, reference).state == "pending"

        request_id = await submit_until_filed(sync, sessions, reference, timeout=20)
        stored = [r for r in city_requests(city, service_code="pothole") if r["description"] == words]
        assert [r["service_request_id"] for r in stored] == [request_id]
        assert proxy.seen.count("POST /requests.xml") == 1  # found by searching, not posted again
