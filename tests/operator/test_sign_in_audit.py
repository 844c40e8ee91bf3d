"""Sign-ins in the audit log, over real HTTP against the served app, on SQLite and PostgreSQL.

A city's security officer reads every failed sign-in (the name tried, the address, when; never the
password) and every lockout, per name and per address, where the supervisor reads the rest of the log. A
lockout is recorded once per window, however many refused attempts follow it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
from sqlmodel import col, select

from bot.review.audit import AuditEntry
from tests.operator.support import PASSWORDS, Deployment, csrf_token, enqueue_report
from tests.operator.test_console_access import signed_in_client

WRONG = "not alice's passphrase"


def attempt(client: httpx.Client, name: str, password: str) -> int:
    """One sign-in through the form, as a browser sends it; the answer's status."""
    form = client.get("/operator/sign-in")
    answer = client.post(
        "/operator/sign-in", data={"csrf_token": csrf_token(form.text), "name": name, "password": password}
    )
    return answer.status_code


def sign_in_entries(deployment: Deployment) -> list[tuple[str, str, str, str, str]]:
    """(actor, action, subject_type, subject_id, client) of every sign-in entry, oldest first."""
    with deployment.runtime.sessions() as session:
        entries = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.action).startswith("sign_in"))
            .order_by(col(AuditEntry.id))
        ).all()
        return [(e.actor, e.action, e.subject_type, e.subject_id, e.client) for e in entries]


def test_failed_sign_ins_and_lockouts_are_in_the_audit_log(deployment: Deployment) -> None:
    url = deployment.url
    # bob signs in first, from the same address (127.0.0.1) the guesses will come from.
    supervisor = httpx.Client(base_url=url, timeout=10)
    assert attempt(supervisor, "bob", PASSWORDS["bob"]) == 303

    guesser = httpx.Client(base_url=url, timeout=10)
    # The deployment allows 3 failures a minute per name and 4 per address.
    assert [attempt(guesser, name, WRONG) for name in ("alice", "ALICE", "alice")] == [401, 401, 401]
    assert [attempt(guesser, "alice", PASSWORDS["alice"]) for _ in range(3)] == [429, 429, 429]
    assert attempt(guesser, "guess0", WRONG) == 401  # the address's fourth failure
    assert [attempt(guesser, f"guess{n}", WRONG) for n in range(1, 4)] == [429, 429, 429]
    assert attempt(guesser, "alice", WRONG) == 429  # both limits reached, each already recorded

    here = "127.0.0.1"
    failed = ("(not signed in)", "sign_in.failed", "operator")
    locked = ("(not signed in)", "sign_in.locked_out")
    assert sign_in_entries(deployment) == [
        ("bob", "sign_in", "operator", "bob", here),
        (*failed, "alice", here),
        (*failed, "ALICE", here),  # the name as it was tried
        (*failed, "alice", here),
        (*locked, "operator", "alice", here),  # once, not once per refused attempt
        (*failed, "guess0", here),
        (*locked, "address", here, here),
    ]
    with deployment.runtime.sessions() as session:
        for entry in session.exec(select(AuditEntry)).all():
            logged = " ".join((entry.actor, entry.subject_id, entry.before_json, entry.after_json))
            assert WRONG not in logged
            assert PASSWORDS["alice"] not in logged

    # Where the supervisor reads the log: the console's audit page, with the address of each entry.
    page = supervisor.get("/operator/audit").text
    assert page.count("sign_in.failed") == 4
    assert page.count("sign_in.locked_out") == 2
    assert "operator guess0" in page
    assert f"address {here}" in page
    assert f'<td class="nowrap">{here}</td>' in page
    assert WRONG not in page
    assert PASSWORDS["alice"] not in page
    # Filtered by an operator: the sign-ins tried under that name too, in any spelling.
    alices = supervisor.get("/operator/audit", params={"actor": "alice"}).text
    assert alices.count("sign_in.failed") == 3
    assert alices.count("sign_in.locked_out") == 1
    assert "operator ALICE" in alices
    assert "guess0" not in alices


def test_a_lockout_is_recorded_again_once_its_window_has_passed(
    deploy: Callable[..., AbstractContextManager[Deployment]],
) -> None:
    with deploy(operator={"sign_in_window_seconds": 2}) as deployment:
        client = httpx.Client(base_url=deployment.url, timeout=10)

        def lock_out() -> list[int]:
            return [attempt(client, "alice", WRONG) for _ in range(5)]

        assert lock_out() == [401, 401, 401, 429, 429]
        time.sleep(2.2)
        assert lock_out() == [401, 401, 401, 429, 429]
        actions = [action for _, action, _, _, _ in sign_in_entries(deployment)]
        assert actions == ["sign_in.failed"] * 3 + ["sign_in.locked_out"] + ["sign_in.failed"] * 3 + [
            "sign_in.locked_out"
        ]


def test_the_operator_filter_finds_every_entry_of_theirs_in_any_case(deployment: Deployment) -> None:
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-audit",
        text="graffiti on the wall at 24th and Mission",
        suggestions=[{"service_code": "graffiti", "confidence": 0.5}],
        address_string="24TH ST & MISSION ST",
        lat=37.7524,
        long=-122.4184,
    )
    client, csrf = signed_in_client(deployment.url, "bob", PASSWORDS["bob"])
    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
    approved = client.post(f"/operator/queue/{item_id}/approve", data={"csrf_token": csrf})
    assert approved.status_code == 303, approved.text

    def actions(actor: str) -> list[str]:
        page = client.get("/operator/audit", params={"actor": actor}).text
        return re.findall(r"<td>(sign_in|review\.\w+)</td>", page)

    assert actions("bob") == ["review.approve", "review.claim", "sign_in"]
    # As the README says: the filter works in any case, for each kind of entry (not only sign-ins).
    assert actions("BOB") == actions("Bob") == actions("bob")
