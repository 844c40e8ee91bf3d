"""The local channel over real HTTP: replies as JSON, everything sent listed (notifications too), bad input
refused with a clear error, and a conversation that spans a restart of the app."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.config import Settings
from tests.conversation.harness import RunningBot, running_bot
from tests.conversation.test_dialogue import CLEAR_REPORT, filed_id


@pytest.fixture
def bot(settings: Settings) -> Iterator[RunningBot]:
    with running_bot(settings) as running:
        yield running


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"text": "hi"}, "'from' is required"),
        ({"from": "", "text": "hi"}, "'from' is required"),
        ({"from": "a", "text": 5}, "'text' must be a string"),
        ({"from": "a"}, "send some 'text'"),
        ({"from": "a", "lat": 37.7}, "'lat' and 'long' go together"),
        ({"from": "a", "lat": 137.7, "long": 0}, "'lat' must be within"),
        ({"from": "a", "lat": True, "long": 1.0}, "'lat' and 'long' go together"),
        ({"from": "a", "media_url": "ftp://x/y.jpg"}, "'media_url' must be an http(s) URL"),
        (["not", "an", "object"], "must be a JSON object"),
        # What the core would refuse is refused here, with the reason (before: 200, then sent to a person).
        ({"from": "a", "media_url": "https://example.org/" + "p" * 2100}, "'media_url' must be at most 2048"),
        ({"from": "a", "media_url": "http://"}, "'media_url' must be an http(s) URL"),
        ({"from": "a", "media_url": "http://[::1/x.jpg"}, "'media_url' must be an http(s) URL"),
        ({"from": "a", "media_url": "https://example.org/a b.jpg"}, "'media_url' must be an http(s) URL"),
        ({"from": "a", "text": "x" * 10_001}, "'text' must be a string of at most 10000 characters"),
        ({"from": "a", "text": "\x00\x1b"}, "send some 'text'"),
        ({"from": "a\x00", "text": "hi"}, "'from' must not contain control characters"),
        ({"from": "a", "text": "hi", "id": "1\x00"}, "'id' must not contain control characters"),
        # Half a surrogate pair, which JSON can escape but no text holds.
        ({"from": "z3", "text": "\ud800"}, "'text' must be valid Unicode text"),
        ({"from": "\ud83d", "text": "hi"}, "'from' must be valid Unicode text"),
        ({"from": "z3", "text": "hi", "id": "\udc00"}, "'id' must be valid Unicode text"),
        ({"from": "z3", "media_url": "https://example.org/\udc00.jpg"}, "'media_url' must be valid Unicode"),
        ({"from": "z3", "text": "hi", "choice": "\udc00"}, "'choice' must be valid Unicode text"),
        ({"from": "z3", "text": "hi", "language": "\udc00"}, "'language' must be valid Unicode text"),
    ],
)
def test_bad_messages_are_refused_with_the_reason(bot: RunningBot, payload: object, error: str) -> None:
    # As JSON escapes it (a lone surrogate as "\\ud800"; httpx's json= would write it raw, and fail).
    body = json.dumps(payload).encode()
    response = bot.client.post("/local/messages", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert error in response.json()["error"]
    assert bot.outbox() == []


def test_not_json_and_a_missing_recipient(bot: RunningBot) -> None:
    response = bot.client.post(
        "/local/messages", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert bot.client.get("/local/messages").status_code == 422
    assert bot.client.get("/local/messages", params={"to": "a", "after": "x"}).status_code == 422
    for after in ("99999999999999999999999", str(2**31), "²", "-1"):
        listed = bot.client.get("/local/messages", params={"to": "a", "after": after})
        assert listed.status_code == 422, after
        assert "'after' must be a message id" in listed.json()["error"]
    assert bot.client.get("/local/messages", params={"to": "a", "after": str(2**31 - 1)}).json() == {
        "messages": []
    }


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # What any web page can make a browser on this machine send here, with no CORS preflight.
        ("text/plain;charset=UTF-8", json.dumps({"from": "alice", "text": CLEAR_REPORT})),
        ("application/x-www-form-urlencoded", '{"from": "alice", "text": "pothole at 5th St and Market St"}'),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n{}\r\n--x--',
        ),
        (None, json.dumps({"from": "alice", "text": CLEAR_REPORT})),
    ],
)
def test_a_message_must_come_as_application_json(
    bot: RunningBot, content_type: str | None, body: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = bot.client.post("/local/messages", content=body.encode(), headers=headers)
    assert response.status_code == 415
    assert "content-type: application/json" in response.json()["error"]
    assert (bot.outbox(), bot.inbox_count(), bot.request_count()) == ([], 0, 0)
    charset = {"content-type": "application/json; charset=utf-8"}
    assert bot.client.post(
        "/local/messages", content=b'{"from": "alice", "text": "hi"}', headers=charset
    ).is_success


def test_json_nested_too_deeply_is_refused_with_the_reason(bot: RunningBot) -> None:
    # Before, a RecursionError: a 500 with a traceback in the log.
    for body in (b"[" * 100_000, b'{"from": "alice", "text": ' + b"[" * 100_000):
        response = bot.client.post(
            "/local/messages", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"] == "the body must be JSON: the JSON is nested too deeply"
    assert bot.outbox() == []


def test_everything_sent_is_listed_including_later_notifications(bot: RunningBot) -> None:
    alice = bot.resident("alice")
    request_id = filed_id(alice.ask(CLEAR_REPORT))
    assert alice.ask("status").startswith(f"Report #{request_id}")
    listed = alice.received()
    assert listed[0]["text"].startswith("Thanks! Your report is filed")
    assert listed[1]["text"].startswith(f"Report #{request_id} ")
    assert len(listed) == 2
    # A message the bot sends later (an operator's answer) appears once the outbox sends it.
    from bot import outbox
    from channels.messages import OutboundMessage

    with bot.runtime.sessions() as session:
        outbox.enqueue(
            session, OutboundMessage(channel="local", resident_id="alice", text="Crew on the way.")
        )
        session.commit()
    assert len(alice.received()) == 2  # queued, not sent yet
    assert bot.deliver().delivered == 1
    newest = alice.received(after=listed[-1]["id"])
    assert [m["text"] for m in newest] == ["Crew on the way."]
    assert bot.resident("bob").received() == []


def test_a_conversation_spans_a_restart_of_the_app(settings: Settings) -> None:
    with running_bot(settings) as bot:
        carol = bot.resident("carol")
        assert "Where is it?" in carol.ask("There is a big pothole in the road")
    with running_bot(settings) as bot:
        carol = bot.resident("carol")
        request_id = filed_id(carol.ask("5th St and Market St"))
        assert bot.request(request_id)["description"] == "There is a big pothole in the road"
        assert len(carol.received()) == 2  # what was sent before the restart is still listed


def test_only_this_machine_may_use_the_channel_unless_configured(settings: Settings) -> None:
    # A client behind a proxy on this machine (uvicorn takes its address from X-Forwarded-For).
    remote = {"X-Forwarded-For": "203.0.113.5"}
    payload = {"from": "alice", "text": CLEAR_REPORT}
    with running_bot(settings) as bot:
        refused = bot.client.post("/local/messages", json=payload, headers=remote)
        assert refused.status_code == 403
        assert "local.allow_remote" in refused.json()["error"]
        assert bot.client.get("/local/messages", params={"to": "alice"}, headers=remote).status_code == 403
        assert bot.request_count() == 0
    with running_bot(settings, local={"allow_remote": True}) as bot:
        assert bot.client.post("/local/messages", json=payload, headers=remote).status_code == 200
        assert bot.request_count() == 1


def test_a_page_whose_name_points_here_cannot_use_the_channel(settings: Settings) -> None:
    # DNS rebinding: evil.example resolves to 127.0.0.1, so a page from it, opened in a browser on this
    # machine, reaches the bot from this machine and is same-origin with it (it may post JSON and read the
    # answer). Its requests name its own host.
    payload = {"from": "alice", "text": CLEAR_REPORT}
    with running_bot(settings) as bot:
        rebound = {"Host": "evil.example:8311"}
        refused = bot.client.post("/local/messages", json=payload, headers=rebound)
        assert refused.status_code == 403
        assert "not evil.example" in refused.json()["error"]
        assert bot.client.get("/local/messages", params={"to": "alice"}, headers=rebound).status_code == 403
        assert bot.request_count() == 0
        # This machine by any of its names is answered.
        for host in ("localhost:8311", "127.0.0.1", "[::1]:8311", "bot.localhost"):
            answer = bot.client.post("/local/messages", json=payload | {"id": host}, headers={"Host": host})
            assert answer.status_code == 200, (host, answer.text)


def test_a_message_id_is_the_senders_own(bot: RunningBot) -> None:
    # Two clients that each number their messages from 1: the second is a new message, not a redelivery.
    k1, k2 = bot.resident("k1"), bot.resident("k2")
    first = filed_id(k1.ask(CLEAR_REPORT, id="1"))
    second = k2.ask("There is a huge pothole in the road at 4th St and Mission St", id="1")
    assert filed_id(second) != first
    assert bot.request_count() == 2
    # Each sender's own redelivery is still recognised.
    assert k2.ask("There is a huge pothole in the road at 4th St and Mission St", id="1") == second
    assert bot.request_count() == 2
    assert bot.inbox_count() == 2


def test_control_characters_in_the_text_are_dropped_before_anything_reads_it(bot: RunningBot) -> None:
    # Before: filed nowhere, sent to a person as "the core refused it: description contains a NUL character".
    alice = bot.resident("alice")
    request_id = filed_id(alice.ask("There is a huge pothole\x00 in the road\x1b at 5th St and\r\nMarket St"))
    assert (
        bot.request(request_id)["description"]
        == "There is a huge pothole in the road at 5th St and\nMarket St"
    )
    assert bot.review_items() == []


def test_a_long_report_is_filed_with_its_first_4000_characters(bot: RunningBot) -> None:
    # Before: 422 for anything over 4,000 characters, where Telegram's 4,096 were filed, cut.
    words = CLEAR_REPORT + ". " + "It is very deep and dangerous. " * 150
    assert 4000 < len(words) <= 10_000
    request = bot.request(filed_id(bot.resident("long1").ask(words)))
    assert len(request["description"]) == 4000
    assert request["description"].endswith("…")
