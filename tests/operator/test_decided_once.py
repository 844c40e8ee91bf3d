"""A decision sent several times at once (a double click on Approve, two operators' tabs, a retried JSON call)
is made once, on SQLite and PostgreSQL, in one worker and across two sharing the database: one request is
filed, the resident is told once, the audit log has one entry, and every other attempt gets the console's
answer for a decided item (409: who decided it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlmodel import SQLModel, col, func, select

from bot.open311.models import ServiceRequestRow
from bot.outbox import OutboxMessage
from bot.review.audit import AuditEntry
from bot.review.models import ReviewItem
from tests.jobs.processes import BotProcess, wait_until_serving
from tests.operator.support import (
    PASSWORDS,
    Deployment,
    enqueue_report,
    resident_messages,
    wait_for_message,
)
from tests.operator.test_console_access import signed_in_client
from tests.support.live_server import free_port

AT_ONCE = 4


@pytest.fixture
def second_worker(deployment: Deployment) -> Iterator[str]:
    """Another ``open311-bot serve`` process on the same database, as a deployment behind a load balancer
    has; its jobs are off (the first worker's send the replies)."""
    data_dir = deployment.settings.data_dir.parent / "second-worker"
    data_dir.mkdir()
    port = free_port()
    config = data_dir / "worker.toml"
    config.write_text(
        f'data_dir = "{data_dir.as_posix()}"\n'
        f'database_url = "{deployment.settings.database_url}"\n'
        "[jobs]\nenabled = false\n",
        encoding="utf-8",
    )
    url = f"http://127.0.0.1:{port}"
    worker = BotProcess(["serve", "--port", str(port)], config=config, log_path=data_dir / "worker.log")
    try:
        wait_until_serving(url, worker.start())
        yield url
    finally:
        worker.stop()


@dataclass(frozen=True)
class Decision:
    """One decision as the console sends it: a page's form, or a JSON call."""

    action: str
    path: str
    form: dict[str, str] | None = None
    json: dict[str, str] | None = None

    @property
    def done(self) -> str:
        return {"approve": "approved", "reject": "rejected"}[self.action]

    def send(self, client: httpx.Client, base: str, item_id: int, csrf: str) -> httpx.Response:
        url = base + self.path.format(id=item_id)
        if self.form is not None:
            return client.post(url, data={"csrf_token": csrf, **self.form})
        return client.post(url, json=self.json, headers={"X-CSRF-Token": csrf})


REASON = "Painted over already."
DECISIONS = {
    "page approve": Decision("approve", "/operator/queue/{id}/approve", form={"service_code": "graffiti"}),
    "api approve": Decision("approve", "/operator/api/queue/{id}/approve", json={"service_code": "graffiti"}),
    "page reject": Decision("reject", "/operator/queue/{id}/reject", form={"reason": REASON}),
    "api reject": Decision("reject", "/operator/api/queue/{id}/reject", json={"reason": REASON}),
}


def rows(deployment: Deployment, table: type[SQLModel], *where: Any) -> int:
    with deployment.runtime.sessions() as session:
        return session.exec(select(func.count()).select_from(table).where(*where)).one()


@pytest.mark.parametrize("decision", DECISIONS.values(), ids=DECISIONS.keys())
def test_a_decision_sent_several_times_at_once_is_made_once(
    deployment: Deployment, second_worker: str, decision: Decision
) -> None:
    url = deployment.url
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-twice",
        text="graffiti on the wall at 24th and Mission",
        suggestions=[{"service_code": "graffiti", "confidence": 0.5}],
        address_string="24TH ST & MISSION ST",
    )
    client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    claimed = client.post(f"/operator/api/queue/{item_id}/claim", headers={"X-CSRF-Token": csrf})
    assert claimed.status_code == 200
    # The same session (cookie and CSRF token) in every attempt, sent together, half to each worker.
    cookies = dict(client.cookies)
    together = threading.Barrier(AT_ONCE)

    def attempt(n: int) -> httpx.Response:
        with httpx.Client(cookies=cookies, timeout=60) as browser:
            together.wait()
            return decision.send(browser, (url, second_worker)[n % 2], item_id, csrf)

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(attempt, range(AT_ONCE)))

    won = [a for a in answers if a.status_code in (200, 303)]
    lost = [a for a in answers if a.status_code == 409]
    assert (len(won), len(lost)) == (1, AT_ONCE - 1), [(a.status_code, a.text[:200]) for a in answers]
    done = decision.done
    for answer in lost:  # the console's answer for a decided item: what was done and by whom
        assert f"review item {item_id} is already {done} by alice" in answer.text
        if decision.form is not None:  # the item's page, as it is now
            assert "Decided by alice" in answer.text
    with deployment.runtime.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        assert (item.status, item.decided_by) == (done, "alice")
    filed = rows(deployment, ServiceRequestRow)
    assert filed == (1 if decision.action == "approve" else 0)
    assert rows(deployment, AuditEntry, col(AuditEntry.action) == f"review.{decision.action}") == 1
    # The resident is told once.
    assert rows(deployment, OutboxMessage, col(OutboxMessage.resident_id) == "res-twice") == 1
    told = f"filed as #{item.service_request_id} " if filed else REASON
    wait_for_message(url, "res-twice", told)
    assert len(resident_messages(url, "res-twice")) == 1
    figures = client.get("/operator/api/dashboard", params={"days": 7}).json()
    assert figures["filed_after_review"] == filed
