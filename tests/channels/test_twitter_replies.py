"""What residents read on X: the whole bot behind tweepy and the fake X (which refuses, as X does, a tweet
whose text the account has posted before), and how a long reply is cut into a thread."""

from __future__ import annotations

import re

from bot.config import Settings
from channels.fakes.twitter import FakeX
from tests.channels.test_twitter import (  # noqa: F401 (fixtures)
    app_settings,
    fake,
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
