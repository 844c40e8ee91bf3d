"""A message delivered twice (same channel and provider message id) files once and replies once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.state import ConversationRecord
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id


def test_a_redelivered_message_returns_the_same_replies_and_does_nothing_else(bot: RunningBot) -> None:
    alice = bot.resident("alice")
    first = alice.say(CLEAR_REPORT, id="msg-1")
    again = alice.say(CLEAR_REPORT, id="msg-1")
    assert again == first
    filed_id(first[0]["text"])
    assert bot.request_count() == 1
    assert len(bot.outbox()) == 1
    assert len(alice.received()) == 1
    # The dialogue did not move either: a redelivered answer is not taken as a second answer.
    question = alice.say("There is a big pothole in the road", id="msg-2")
    assert alice.say("There is a big pothole in the road", id="msg-2") == question
    filed_id(alice.say("4th St and Mission St", id="msg-3")[0]["text"])
    assert bot.request_count() == 2


def test_concurrent_deliveries_of_one_message_file_once(bot: RunningBot) -> None:
    bob = bot.resident("bob")
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: bob.say(CLEAR_REPORT, id="dup"), range(6)))
    assert all(answer == answers[0] for answer in answers)
    assert bot.request_count() == 1
    assert len(bot.outbox()) == 1


def test_messages_of_one_resident_arriving_together_take_turns(bot: RunningBot) -> None:
    # Five photos sent at once (an MMS split in parts, say): every one is kept, none overwrites another.
    carol = bot.resident("carol")
    photos = [f"https://example.org/photos/{number}.jpg" for number in range(5)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda url: carol.say(media_url=url), photos))
    assert all("Thanks for the photo" in answer[0]["text"] for answer in answers)
    with bot.runtime.sessions() as session:
        record = session.get(ConversationRecord, ("local", "carol"))
        assert record is not None
        assert sorted(record.state["media_urls"]) == photos
    request_id = filed_id(carol.say(CLEAR_REPORT)[0]["text"])
    assert bot.runtime.open311.get_request(request_id).media_url in photos
