"""Details sent right after a report is filed ("it's really deep, right in the bike lane" after "Pothole at
Church St and Market St"): added to that report.

Found by a black-box QA of the Telegram channel: they opened a second report ("What kind of problem is it?")
and its answers filed a duplicate.
"""

from __future__ import annotations

from tests.conversation.harness import RunningBot
from tests.conversation.test_changing_ones_mind import filed_as


def test_details_sent_right_after_filing_are_added_to_that_report(bot: RunningBot) -> None:
    # Before: "What kind of problem is it?", and choosing Pothole and the same place filed a duplicate.
    joe = bot.resident("joe")
    number, _service = filed_as(joe.ask("Pothole at Church St and Market St"))
    assert joe.ask("it's really deep, right in the bike lane") == f"Thanks, I added that to report #{number}."
    assert bot.request(number)["description"] == (
        "Pothole at Church St and Market St\nit's really deep, right in the bike lane"
    )
    # The same words again (a double send) are not added twice.
    assert joe.ask("it's really deep, right in the bike lane") == f"Thanks, I added that to report #{number}."
    assert bot.request(number)["description"].count("bike lane") == 1
    eva = bot.resident("eva")
    number, _service = filed_as(eva.ask("hay un bache enorme en 24th St y Folsom St"))
    assert eva.ask("es muy profundo, justo en el carril de bicicletas") == (
        f"Gracias, lo agregué al reporte #{number}."
    )
    lin = bot.resident("lin")
    number, _service = filed_as(lin.ask("路上有个大坑 Clement St和10th Ave"))
    assert lin.ask("很深，就在自行车道上") == f"谢谢，已添加到报告 #{number}。"
    assert bot.request(number)["description"] == "路上有个大坑 Clement St和10th Ave\n很深，就在自行车道上"
    assert bot.request_count() == 3
    assert bot.review_items() == []


def test_a_report_of_its_own_right_after_filing_is_not_added(bot: RunningBot) -> None:
    kim = bot.resident("kim")
    number, _service = filed_as(kim.ask("Pothole at Church St and Market St"))
    assert "added" not in kim.ask("I want to report something")
    assert bot.request(number)["description"] == "Pothole at Church St and Market St"
    ivy = bot.resident("ivy")
    number, _service = filed_as(ivy.ask("Pothole at Church St and Market St"))
    assert "added" not in ivy.ask("there is graffiti all over the wall of the school")
    assert bot.request(number)["description"] == "Pothole at Church St and Market St"


def test_a_plea_for_help_right_after_filing_is_answered_with_the_help(bot: RunningBot) -> None:
    # Found by a black-box tester: "help me", "no entiendo", "我不明白" were "Thanks, I added that to report
    # #24" and published in the report's description. A plea for help or confusion is never a report's words.
    pleas = {
        "en": ["help me", "i need help", "what do i do now", "I don't understand"],
        "es": ["ayudame por favor", "no entiendo"],
        "zh": ["我不明白"],
    }
    openings = {
        "en": ("Pothole at Church St and Market St", "Text a problem and where it is"),
        "es": ("hay un bache enorme en 24th St y Folsom St", "Escriba el problema y dónde está"),
        "zh": ("路上有个大坑 Clement St和10th Ave", "请发送问题和地点"),
    }
    for language, said in pleas.items():
        report, help_opening = openings[language]
        for n, plea in enumerate(said):
            resident = bot.resident(f"{language}{n}")
            number, _service = filed_as(resident.ask(report))
            answer = resident.ask(plea)
            assert answer.startswith(help_opening), (plea, answer)
            assert bot.request(number)["description"] == report
