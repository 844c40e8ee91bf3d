"""Dropping a report in ordinary words, and what comes while a question waits.

Found by a black-box QA: "oh never mind" was looked up on the map and the dropped words were filed with
the next report; a whole new report sent while the kind was asked was lost; "thanks" went to a person as
a report; a Chinese correction of a report's place was answered in English.
"""

from __future__ import annotations

import re

from tests.conversation.harness import RunningBot, filed_id

CANCELLED = "Cancelled. Nothing was filed."
WHERE = "Where is it?"


def test_never_mind_in_ordinary_words_drops_the_report(bot: RunningBot) -> None:
    # Before: 'I could not find "oh never mind" on the map', "Where is it?" again, and the dropped words
    # in the next report's public description.
    ann = bot.resident("ann")
    for dropping in (
        "oh never mind",
        "forget it, someone already fixed it",
        "never mind, it's working again",
        "actually never mind",
        "Ok, forget it. It's fixed",
    ):
        assert ann.ask("there's a broken streetlight").startswith(WHERE), dropping
        assert ann.ask(dropping) == CANCELLED, dropping
    request = bot.request(filed_id(ann.ask("big pothole at 5th St and Market St")))
    assert request["description"] == "big pothole at 5th St and Market St"
    # While the place is confirmed too, and in Spanish and Chinese.
    bea = bot.resident("bea")
    assert "Is it at GUERRERO ST" in bea.ask("pothole on Guerrero St")
    assert bea.ask("actually never mind") == CANCELLED
    eva = bot.resident("eva")
    assert eva.ask("hay un bache enorme en la calle").startswith("¿Dónde")
    assert eva.ask("bueno, olvídalo, ya lo arreglaron") == "Cancelado. No se registró nada."
    lin = bot.resident("lin")
    assert lin.ask("路上有个大坑").startswith("问题在哪里")
    assert lin.ask("哦，算了，已经修好了") == "已取消，未登记任何内容。"
    assert bot.review_items() == []
    assert bot.request_count() == 1


def test_never_mind_with_more_of_a_problem_is_no_cancel(bot: RunningBot) -> None:
    cal = bot.resident("cal")
    assert cal.ask("there's a broken streetlight").startswith(WHERE)
    # The words go on with the report (here the resident is asked which of the two it is).
    assert "Pothole" in cal.ask("never mind the streetlight, big pothole at 5th St and Market St")
    assert cal.ask("forget it, the pothole is still there") != CANCELLED


def test_a_chinese_correction_of_the_place_is_answered_in_chinese(bot: RunningBot) -> None:
    # Before: "不是，Clement St和9th Ave" was answered in English, and STATUS after it too.
    lin = bot.resident("lin")
    filed = re.search(r"编号 #(\d+)（涂鸦）", lin.ask("有人乱涂鸦 在 Clement St和8th Ave"))
    assert filed, "not filed"
    number = filed.group(1)
    corrected = lin.ask("不是，Clement St和9th Ave")
    assert corrected.startswith(f"您的报告 #{number}（涂鸦）已登记在 CLEMENT ST & 08TH AVE"), corrected
    assert "工作人员会把地点改为 CLEMENT ST & 09TH AVE" in corrected
    assert f"#{number}（涂鸦）" in lin.ask("STATUS")
    assert "Report" not in lin.ask("STATUS")
    [item] = bot.review_items()
    assert item.language == "zh"
