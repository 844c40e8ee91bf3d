"""Dropping a report in ordinary words, and what comes while a question waits.

Found by a black-box QA: "oh never mind" was looked up on the map and the dropped words were filed with
the next report; a whole new report sent while the kind was asked was lost; "thanks" went to a person as
a report; a Chinese correction of a report's place was answered in English.
"""

from __future__ import annotations

import re

from tests.conversation.harness import CLEAR_REPORT, LocalResident, RunningBot, filed_id

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


def _menu(resident: LocalResident) -> str:
    """A report whose kind is asked: pothole, then "actually it's a broken streetlight"."""
    assert resident.ask("there's a pothole").startswith(WHERE)
    menu = resident.ask("actually it's a broken streetlight")
    assert "What kind of problem is it?" in menu
    return menu


def test_a_new_report_sent_while_the_kind_is_asked_is_kept(bot: RunningBot) -> None:
    # Before: "Sorry, I did not understand that answer", and the report was lost.
    dee = bot.resident("dee")
    _menu(dee)
    reply = dee.ask("also graffiti at 24th St and Mission St")
    number = re.search(r"filed as #(\d+) \(Graffiti\)", reply)
    assert number, reply
    assert "Now back to your earlier report (\"there's a pothole actually it's a broken...\")" in reply
    assert "What kind of problem is it?" in reply
    assert bot.request(number.group(1))["address"].startswith("24TH ST & MISSION ST")
    # The earlier report goes on where it was.
    options = reply.splitlines()[1:]
    pothole = next(line.split(".")[0] for line in options if line.endswith("Pothole"))
    assert dee.ask(pothole).startswith(WHERE)
    request = bot.request(filed_id(dee.ask("5th St and Market St")))
    assert "graffiti" not in request["description"]
    # "also" and a kind that was offered: a report of its own too.
    fay = bot.resident("fay")
    _menu(fay)
    reply = fay.ask("also a broken streetlight at 24th St and Mission St")
    assert "(Streetlight)" in reply
    assert "What kind of problem is it?" in reply
    assert bot.review_items() == []
    assert bot.request_count() == 3


def test_a_new_report_with_a_question_of_its_own_comes_next(bot: RunningBot) -> None:
    gus = bot.resident("gus")
    menu = _menu(gus)
    reply = gus.ask("also graffiti on Guerrero St")
    assert reply.startswith('I kept your other report ("also graffiti on Guerrero St") too'), reply
    pothole = next(line.split(".")[0] for line in menu.splitlines()[1:] if line.endswith("Pothole"))
    assert gus.ask(pothole).startswith(WHERE)
    reply = gus.ask("5th St and Market St")
    assert "(Pothole)" in reply
    assert "Is it at GUERRERO ST" in reply
    assert "(Graffiti)" in gus.ask("yes")


def test_thanks_while_a_question_waits_is_no_report(bot: RunningBot) -> None:
    # Before: "thanks" after "What is the problem there?" went to a person as a report "thanks".
    cy = bot.resident("cy")
    asked = "Thanks, I have your location. What is the problem there?"
    assert cy.ask("16th St and Mission St") == asked
    assert cy.ask("thanks") == asked
    assert cy.ask("ok") == asked
    assert cy.ask("gracias") == "Gracias, tengo su ubicación. ¿Cuál es el problema allí?"
    assert bot.review_items() == []
    filed = re.search(r"con el número #(\d+) \(Bache\)", cy.ask("hay un bache enorme"))
    assert filed, "not filed"
    assert bot.request(filed.group(1))["address"].startswith("16TH ST & MISSION ST")
    # While the kind is asked too: the question again, not "Sorry, I did not understand that answer".
    dee = bot.resident("dee")
    menu = _menu(dee)
    assert dee.ask("thanks") == menu
    assert bot.review_items() == []


def test_cancel_of_a_report_that_does_not_exist_says_so(bot: RunningBot) -> None:
    # Before: "Report #99999 is already filed, so it cannot be withdrawn by message".
    eli = bot.resident("eli")
    assert eli.ask("CANCEL 99999") == "I could not find a report 99999."
    assert eli.ask("cancelar 99999") == "No encontré el reporte 99999."
    request_id = filed_id(eli.ask(CLEAR_REPORT))
    assert eli.ask(f"CANCEL {request_id}").startswith(f"Report #{request_id} is already filed")


def test_status_after_a_place_correction_names_the_report_corrected(bot: RunningBot) -> None:
    # Before: 'Your report "no, valencia and 17th" is waiting for a person...'.
    cal = bot.resident("cal")
    assert WHERE in cal.ask("There is graffiti on the wall")
    number = re.search(r"filed as #(\d+)", cal.ask("valencia near 16th"))
    assert number, "not filed"
    cal.ask("no, valencia and 17th")
    status = cal.ask("STATUS")
    assert status.startswith(
        f"Your correction of the place of report #{number.group(1)} (to VALENCIA ST & 17TH ST"
    ), status
    assert "no, valencia" not in status


def test_the_kind_answered_with_a_place_takes_the_place(bot: RunningBot) -> None:
    # Before: the place was left out and "Where is it?" asked.
    hal = bot.resident("hal")
    _menu(hal)
    reply = hal.ask("streetlight out at 16th and Valencia")
    number = re.search(r"filed as #(\d+) \(Streetlight\)", reply)
    assert number, reply
    assert bot.request(number.group(1))["address"] == "16TH ST & VALENCIA ST, San Francisco, CA"
    # A place where a wrong one is plausible is asked about, as it is when it comes alone.
    ida = bot.resident("ida")
    _menu(ida)
    assert ida.ask("streetlight out on Valencia").startswith("Is it at VALENCIA ST")
    assert bot.review_items() == []


def test_cancel_drops_only_the_report_asked_about_and_the_kept_one_comes_next(bot: RunningBot) -> None:
    # Before: "Cancelled. Nothing was filed." and the report kept for later was gone too, without a word.
    jo = bot.resident("jo")
    _menu(jo)
    assert jo.ask("also graffiti on Guerrero St").startswith("I kept your other report")
    assert jo.ask("CANCEL") == (
        'Cancelled: nothing of that report was filed. Now your other report ("also graffiti on Guerrero St").'
        " Is it at GUERRERO ST, San Francisco, CA?\n1. Yes\n2. No"
    )
    number = re.search(r"filed as #(\d+) \(Graffiti\)", jo.ask("yes"))
    assert number, "not filed"
    assert bot.request(number.group(1))["description"] == "also graffiti on Guerrero St"
    # In ordinary words and in Spanish too.
    eva = bot.resident("eva")
    assert eva.ask("hay un bache").startswith("¿Dónde")
    assert "¿Qué tipo de problema es?" in eva.ask("y una luz rota")
    eva.ask("también hay grafiti en Guerrero St")
    assert eva.ask("olvídalo").startswith(
        'Cancelado: no se registró nada de ese reporte. Ahora, su otro reporte ("también hay grafiti en'
    )
    # STOP drops them all, and says so.
    kim = bot.resident("kim")
    _menu(kim)
    kim.ask("also graffiti on Guerrero St")
    assert kim.ask("STOP") == (
        "Cancelled, with everything that was waiting after it. Nothing was filed."
        " You will get no more messages from us. Text START to get them again."
    )
    assert bot.request_count() == 1
    assert bot.review_items() == []


def test_a_few_words_of_another_language_keep_the_residents_own(bot: RunningBot) -> None:
    # Before: an English resident's "gracias" was answered in Spanish from then on (the report filed in
    # Spanish), a Chinese resident's too; and "gracias" to "Is it at ...?" forgot the place asked about.
    gus = bot.resident("gus")
    asked = gus.ask("there is a huge pothole on Guerrero St")
    assert asked.startswith("Is it at GUERRERO ST")
    assert gus.ask("gracias") == asked
    assert gus.say("un momento") == []
    assert filed_id(gus.ask("yes"))
    lin = bot.resident("lin")
    where = lin.ask("路上有个大坑")
    assert where.startswith("问题在哪里")
    assert lin.ask("gracias") == where
    assert "（坑洞）" in lin.ask("Clement St和10th Ave")
    # A Spanish resident's own words keep Spanish, and English thanks do not change it.
    eva = bot.resident("eva")
    asked = eva.ask("hay un bache en la calle Guerrero")
    assert asked.startswith("¿Es en GUERRERO ST")
    assert eva.ask("gracias") == asked
    assert eva.ask("thanks") == asked
    assert eva.say("un momento") == []
    assert "(Bache)" in eva.ask("sí")
    assert bot.review_items() == []
