"""What residents read on X: the whole bot behind tweepy and the fake X (which refuses, as X does, a tweet
whose text the account has posted before), and how a long reply is cut into a thread."""

from __future__ import annotations

import asyncio
import re

from bot.config import Settings
from channels.fakes.twitter import FakeX
from channels.messages import OutboundMessage
from channels.twitter import split_for_tweets
from tests.channels.serving import Recorder
from tests.channels.test_twitter import (  # noqa: F401 (fixtures)
    RESIDENT,
    app_settings,
    fake,
    make_channel,
    poll_and_deliver,
    x_bot,
)

WITHOUT_A_PLACE = "There is a big pothole in the road"


def test_the_same_reply_to_two_residents_reaches_both(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    # The bot asks each "Where is it? ..." in the same words; X would refuse all but the first as duplicates.
    with x_bot(app_settings, fake) as bot:
        first = fake.mention("111", WITHOUT_A_PLACE, username="ana_in_sf")
        second = fake.mention("222", WITHOUT_A_PLACE, username="bo_sf")
        again = fake.mention("222", WITHOUT_A_PLACE + " again")  # the same resident, asked the same again
        assert poll_and_deliver(bot) == 3
        assert [m.status for m in bot.outbox()] == ["delivered"] * 3

    [to_ana], [to_bo], [to_bo_again] = (fake.replies_to(t) for t in (first, second, again))
    assert to_ana.text.startswith("Where is it?")
    assert to_bo.text == f"@bo_sf {to_ana.text}"  # told apart by the resident's handle, as X replies read
    assert re.fullmatch(re.escape(to_ana.text) + r" \(\d\d:\d\d:\d\d UTC\)", to_bo_again.text)


def test_a_long_reply_is_cut_into_tweets_between_sentences(fake: FakeX) -> None:  # noqa: F811
    update = (
        "Update on report #25 (Pothole at 5th St and Market St): it is now closed. The crew filled the hole "
        "with asphalt this morning and checked the drain next to it, which was clear. If the road is still "
        "damaged, send a photo and where it is, and we will open a new report for you! Thanks for writing to "
        "us. Reply UNFOLLOW 25 to stop updates on this report."
    )
    tweet = fake.mention(RESIDENT, "Pothole at 5th St and Market St")
    asyncio.run(
        make_channel(fake, Recorder()).send(
            OutboundMessage(channel="twitter", resident_id=RESIDENT, text=update, reply_to=tweet)
        )
    )
    thread = [p.text for p in fake.posted]
    assert len(thread) == 2
    assert all(part.endswith((".", "!")) for part in thread), thread
    assert " ".join(thread) == update
    assert "Reply UNFOLLOW 25" in thread[-1]


def test_chinese_is_cut_after_a_full_stop_and_a_sentence_longer_than_a_tweet_at_a_space() -> None:
    sentence = "您的报告已经提交给街道维修部门，工作人员会尽快处理这个问题。"  # 30 characters, weight 60
    parts = split_for_tweets(sentence * 7)  # weight 420: two tweets
    assert parts == [sentence * 4, sentence * 3]
    # No sentence end within reach: the words are kept whole.
    words = " ".join(f"word{n}" for n in range(60)) + ". Reply UNFOLLOW 25 to stop."
    first, second = split_for_tweets(words, 280)
    assert (first + " " + second) == words
    assert not first.endswith("word")


def test_help_and_stop_on_x_speak_of_x_and_give_the_help_contact(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    # Before, X residents were told SMS words ("Text a problem...", "Text START...") and no person to reach.
    with x_bot(app_settings, fake, conversation={"help_contact": "call 311"}) as bot:
        helped = fake.mention("111", "HELP")
        stopped = fake.mention("222", "STOP")
        fake.direct_message("333", "ayuda")
        assert poll_and_deliver(bot) == 2
        channel = bot.messaging.channels["twitter"]
        assert asyncio.run(channel.poll_direct_messages_once()) == 1  # type: ignore[attr-defined]
        bot.deliver()

    help_text, stop_text = thread(fake, helped), thread(fake, stopped)
    help_es = " ".join(p.text for p in fake.dms_to("333"))
    assert not [text for text in (help_text, stop_text, help_es) if "Text " in text or "Escriba " in text]
    assert "mention" in help_text
    assert "Help from a person: call 311." in help_text
    assert "Reply START" in stop_text
    assert "Help from a person: call 311." in stop_text
    assert "Para hablar con una persona: call 311." in help_es, help_es


def thread(fake: FakeX, tweet_id: str) -> str:  # noqa: F811
    """The bot's reply under ``tweet_id``, all its tweets (each under the one before)."""
    texts: list[str] = []
    while replies := fake.replies_to(tweet_id):
        texts.append(replies[0].text)
        tweet_id = replies[0].id
    return " ".join(texts)
