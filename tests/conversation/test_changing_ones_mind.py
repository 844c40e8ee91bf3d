"""A resident who changes their mind about the problem before the place is given ("wait, it's actually a
pothole, not a streetlight", "perdón, no es una farola, es un bache", "不是坑洞，是路灯坏了").

Found by a black-box QA of the Telegram channel: the first kind was filed, the correction only in the
description (or, in Chinese, looked up on the map and lost).
"""

from __future__ import annotations

import re

from bot.config import Settings
from tests.conversation.harness import RunningBot, running_bot

FILED_AS = re.compile(r"(?:filed as|registrado con el número|编号) #(\d+) ?[(（]([^)）]+)[)）]")


def filed_as(reply: str) -> tuple[str, str]:
    """The request id and the service a filing reply gives."""
    match = FILED_AS.search(reply)
    assert match, f"expected a filed request in: {reply!r}"
    return match.group(1), match.group(2)


def test_another_kind_said_before_the_place_is_the_kind_filed(bot: RunningBot) -> None:
    # Before: filed as Streetlight, "... it's actually a pothole, not a streetlight" in its description.
    amy = bot.resident("amy")
    assert amy.ask("streetlight is out").startswith("Where is it?")
    assert amy.ask("wait, it's actually a pothole, not a streetlight").startswith(
        "Got it: Pothole. Where is it?"
    )
    number, service = filed_as(amy.ask("Mission St and 20th St"))
    assert service == "Pothole"
    request = bot.request(number)
    assert request["service_name"] == "Pothole"
    assert request["description"] == "streetlight is out\nwait, it's actually a pothole, not a streetlight"
    # In Spanish (filed as Alumbrado público) and Chinese (the correction was looked up on the map, "在地图上
    # 找不到", and the report filed as a pothole).
    eva = bot.resident("eva")
    assert eva.ask("hay una farola rota").startswith("¿Dónde está?")
    assert eva.ask("perdón, no es una farola, es un bache").startswith("Entendido: Bache. ¿Dónde está?")
    assert filed_as(eva.ask("Mission St y 20th St"))[1] == "Bache"
    lin = bot.resident("lin")
    assert lin.ask("有个坑洞").startswith("问题在哪里？")
    assert lin.ask("不是坑洞，是路灯坏了").startswith("好的，类别改为路灯。问题在哪里？")
    number, service = filed_as(lin.ask("Mission St和20th St"))
    assert service == "路灯"
    assert bot.request(number)["description"] == "有个坑洞\n不是坑洞，是路灯坏了"
    assert bot.review_items() == []


def test_another_kind_said_with_the_place_is_the_kind_filed(bot: RunningBot) -> None:
    ned = bot.resident("ned")
    assert ned.ask("streetlight is out").startswith("Where is it?")
    filed = ned.ask("sorry, it's actually a pothole, not a streetlight, at Mission St and 20th St")
    assert filed_as(filed)[1] == "Pothole"


def test_a_correction_of_a_kind_with_no_article_is_read(bot: RunningBot) -> None:
    # Before: filed as Graffiti ("not graffiti" was read as graffiti, "sorry I meant" as no kind at all).
    bea = bot.resident("bea")
    assert bea.ask("graffiti on the wall").startswith("Where is it?")
    changed = bea.ask("sorry I meant a pile of trash, not graffiti")
    assert changed.startswith("Got it: Illegal Dumping. Where is it?"), changed
    assert filed_as(bea.ask("Mission St and 20th St"))[1] == "Illegal Dumping"


def test_a_correction_the_bot_is_unsure_of_asks_which_of_the_two(settings: Settings) -> None:
    # The classifier reads "a pile of trash" less surely than this bot files at: the resident picks.
    with running_bot(settings, intents={"auto_file_threshold": 0.95}) as bot:
        bea = bot.resident("bea")
        assert bea.ask("graffiti on the wall").startswith("Where is it?")
        assert bea.ask("sorry I meant a pile of trash, not graffiti") == (
            "What kind of problem is it? Reply with the number or the words.\n"
            "1. Illegal Dumping\n2. Graffiti\n3. Something else"
        )
        assert bea.ask("1").startswith("Where is it?")
        assert filed_as(bea.ask("Mission St and 20th St"))[1] == "Illegal Dumping"
