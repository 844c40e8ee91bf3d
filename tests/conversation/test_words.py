"""The words residents type: commands with typos, and the templates a city may reword."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.back_reference import refers_to_last_report, says_it_is_still_there
from bot.config import Settings
from bot.resident_commands import ResidentCommand, parse_command, status_question_language
from bot.small_talk import SmallTalk, parse_small_talk
from bot.templates import TemplateError, load_templates
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id, running_bot

UNSURE = {"intents": {"auto_file_threshold": 1.0}, "conversation": {"offer_choices_min_confidence": 1.0}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STATUS", ResidentCommand("status")),
        ("stauts", ResidentCommand("status")),
        ("Status #123", ResidentCommand("status", "123")),
        ("status 5f2a9c0b", ResidentCommand("status", "5f2a9c0b")),
        ("estado 12", ResidentCommand("status", "12", "es")),
        ("AYUDA", ResidentCommand("help", language="es")),
        ("Never mind!", ResidentCommand("cancel")),
        ("算了", ResidentCommand("cancel", language="zh")),
        ("hlep", ResidentCommand("help")),
        ("Help!", ResidentCommand("help")),
        ("Cancle", ResidentCommand("cancel")),
        ("取消", ResidentCommand("cancel", language="zh")),
        ("stop", ResidentCommand("stop")),
        ("STOP.", ResidentCommand("stop")),
        ("unsubscribe", ResidentCommand("stop")),
        ("strat", ResidentCommand("start")),
        ("UNSTOP", ResidentCommand("start")),
        ("follow 7", ResidentCommand("follow", "7")),
        ("unfolow 7", ResidentCommand("unfollow", "7")),
        ("CANCEL 109", ResidentCommand("cancel", "109")),  # a filed report: told it cannot be withdrawn
        ("status -1", ResidentCommand("status", "-1")),  # a reference mistyped: "I could not find..."
        # Said in several words (each began a report).
        ("dejar de seguir 14", ResidentCommand("unfollow", "14", "es")),
        ("stop following #9", ResidentCommand("unfollow", "9")),
        ("¿Cómo funciona esto?", ResidentCommand("help", language="es")),
        ("点用㗎？", ResidentCommand("help", language="zh")),
        ("how does this work?", ResidentCommand("help")),
        # A plea for help or confusion (right after filing, each was added to the report's description).
        ("help me please", ResidentCommand("help")),
        ("What do I do now?", ResidentCommand("help")),
        ("I don’t understand", ResidentCommand("help")),
        ("ayúdame por favor", ResidentCommand("help", language="es")),
        ("no entiendo", ResidentCommand("help", language="es")),
        ("我不明白。", ResidentCommand("help", language="zh")),
        # Spanish politeness is one list for command words and requests to stop ("porfa" began a report).
        ("ALTO porfa", ResidentCommand("stop", language="es")),
        ("ayuda plis", ResidentCommand("help", language="es")),
        ("STOP por favor", ResidentCommand("stop", language="es")),
    ],
)
def test_commands_in_any_case_with_light_typos(text: str, expected: ResidentCommand) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the car won't stop leaking oil",  # a report that contains a command word
        "stop sign knocked down",
        "shop",  # one letter from STOP, but not a swap
        "stat",
        "hello",
        "status of the pothole on 5th",
        "stop following the car in front, it dumps trash",
        "dejar de seguir tirando basura en la esquina de 24 y Mission",
        "el pasto está muy alto porfa",  # "alto" is tall here
        "porfa",
        "",
    ],
)
def test_reports_are_not_commands(text: str) -> None:
    assert parse_command(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi", SmallTalk("greeting")),
        ("hello there!", SmallTalk("greeting")),
        ("Good morning", SmallTalk("greeting")),
        ("hello? anyone there?", SmallTalk("greeting")),
        ("¡Hola! Buenas tardes", SmallTalk("greeting", "es")),
        ("您好", SmallTalk("greeting", "zh")),
        ("Thanks!", SmallTalk("thanks")),
        ("ok thank you so much!!", SmallTalk("thanks")),
        ("Great, thanks :)", SmallTalk("thanks")),
        ("👍🏽", SmallTalk("thanks")),
        ("❤️", SmallTalk("thanks")),
        ("muchas gracias", SmallTalk("thanks", "es")),
        ("hola, gracias", SmallTalk("thanks", "es")),
        ("好的谢谢", SmallTalk("thanks", "zh")),
        ("多謝晒！", SmallTalk("thanks", "zh")),
        ("谢谢你们！", SmallTalk("thanks", "zh")),  # before: "问题在哪里？"
        ("唔該晒", SmallTalk("thanks", "zh")),
        # Cantonese yes and no: "係呀" was taken for the place itself.
        ("係呀", SmallTalk("answer", "zh")),
        ("唔使喇", SmallTalk("answer", "zh")),
        # Other languages: before, each started a report of itself ("Where is it?").
        ("Bonjour", SmallTalk("greeting", "fr")),
        ("Merci beaucoup!", SmallTalk("thanks", "fr")),
        ("Bom dia, obrigado", SmallTalk("thanks", "pt")),
        ("mèsi anpil", SmallTalk("thanks", "ht")),
        ("Xin chào", SmallTalk("greeting", "vi")),
        ("감사합니다", SmallTalk("thanks", "ko")),
        ("ありがとうございます", SmallTalk("thanks", "ja")),
        ("Спасибо!", SmallTalk("thanks", "ru")),
        # Greetings several languages share tell none: "ola" is Spanish texting's "hola" too.
        ("ola", SmallTalk("greeting")),
        # Thanks with a few words that the problem is gone: each was filed or queued as a report of nothing.
        ("gracias!! ya se lo llevaron 👍", SmallTalk("thanks", "es")),
        ("thanks, it's been fixed!", SmallTalk("thanks")),
        ("谢谢，已经修好了", SmallTalk("thanks", "zh")),
        ("muchas gracias ya lo arreglaron", SmallTalk("thanks", "es")),
        ("Thank you so much, the trash on my street has been picked up!", SmallTalk("thanks")),
        ("thank you, someone came and took it away this morning", SmallTalk("thanks")),
        ("ok the light is back on, thanks", SmallTalk("thanks")),
        ("ya quedó, gracias", SmallTalk("thanks", "es")),
        ("gracias, ya no está", SmallTalk("thanks", "es")),
        ("唔該晒，清走咗喇", SmallTalk("thanks", "zh")),
        ("謝謝！垃圾已經清理了", SmallTalk("thanks", "zh")),
    ],
)
def test_greetings_and_thanks(text: str, expected: SmallTalk) -> None:
    assert parse_small_talk(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "thanks, and there is another pothole at 5th and Market",
        "hi there is a pothole",
        "Hola, hay un bache en la calle",
        "你好，路灯坏了",
        "Bonjour, il y a un nid de poule rue Market",
        "great big pothole",
        "ok so the streetlight is still out",
        "😡",
        "",
        # Thanks before a report, a question, or words that it is not gone are no thanks for a fix.
        "thanks! also there's a pothole at 5th and Market",
        "gracias, otra cosa: hay basura en la 24 y Mission",
        "thanks, is it fixed?",
        "gracias, ¿ya lo arreglaron?",
        "thanks but it is still not fixed",
        "thanks, it was never fixed",
        "gracias, no lo arreglaron",
        "gracias pero ya no funciona",
        "thanks, they didn't fix it",
        "thanks, the light is working but the pothole is not fixed",
        "谢谢，修好了吗",
        "谢谢，还没修好",
        "it's been fixed",  # no thanks: a report may say so ("it was fixed but...")
    ],
)
def test_reports_are_not_small_talk(text: str) -> None:
    assert parse_small_talk(text) is None


def test_thanks_that_the_problem_is_gone_starts_no_report(bot: RunningBot) -> None:
    # Before: "¿Dónde está?", "Where is it?", "问题在哪里？", a report of nothing (or, for a resident with a
    # report, "muchas gracias ya lo arreglaron" was answered as STATUS).
    for number, text in enumerate(
        [
            "gracias!! ya se lo llevaron 👍",
            "thanks, it's been fixed!",
            "谢谢，已经修好了",
            "muchas gracias ya lo arreglaron",
        ]
    ):
        resident = bot.resident(f"grateful{number}")
        filed_id(resident.ask(CLEAR_REPORT))
        assert resident.say(text) == []  # thanks: no reply owed
        assert bot.resident(f"new{number}").say(text) == []
    assert bot.request_count() == 4
    assert bot.review_items() == []
    # Thanks before a report is still a report, in its language.
    carla = bot.resident("carla")
    assert "Where is it?" not in carla.ask("thanks! also there's a pothole at 5th St and Market St")
    assert "Gracias" in bot.resident("rosa").ask("gracias, otra cosa: hay basura en la 24 y Mission")
    assert bot.request_count() + len(bot.review_items()) == 6


def test_alto_porfa_stops_messages_in_spanish(bot: RunningBot) -> None:
    # Before: "Where is it?", a report of "ALTO porfa", and the messages went on.
    lola = bot.resident("lola")
    request_id = filed_id(lola.ask(CLEAR_REPORT))
    assert lola.ask("ALTO porfa").startswith("No recibirá más mensajes nuestros.")
    assert lola.say("There is a big pothole in the road") == []
    assert lola.say("iniciar") != []
    assert f"#{request_id}" in lola.ask("status")


def test_a_short_message_in_a_language_without_replies_is_answered_in_the_default_one(
    bot: RunningBot,
) -> None:
    # Before: "¿Dónde está?", Spanish for Portuguese (lingua, told only English, Spanish and Chinese). A
    # question and no report, it is told what the bot takes.
    assert bot.resident("joao").ask("já consertaram?").startswith("I take reports of problems")
    assert bot.resident("rosa").ask("hay un hoyo enorme").startswith("¿Dónde está?")


def test_the_review_queue_shows_the_language_a_report_is_written_in(settings: Settings) -> None:
    # Before: "en" for each of the Portuguese, Vietnamese and Tagalog ones, the language of the replies.
    written = {
        "Tem um buraco enorme na rua em frente ao 1355 Market St": "pt",
        "Đèn đường bị hư ở 1355 Market St": "vi",
        "Sira ang ilaw sa kalye sa 5th St at Market St": "tl",
        "Hay un bache enorme en 1355 Market St": "es",
        CLEAR_REPORT: "en",
    }
    with running_bot(settings, **UNSURE) as bot:
        for number, text in enumerate(written):
            reply = bot.resident(f"writer{number}").ask(text)
            assert "A person will look" in reply or "Una persona" in reply, reply
        assert {item.text: item.language for item in bot.review_items()} == written


@pytest.mark.parametrize(
    ("text", "refers"),
    [
        ("There's another one at 17th and Valencia", True),
        ("same problem at 5th and Mission again", True),
        ("one more on Elm St", True),
        ("Otro más en la 24 y Mission", True),
        ("这里又有一个", True),
        ("another pothole at 5th and Market", False),  # names its own problem: the classifier reads it
        ("one more thing: the light is out", False),
        ("someone dumped a couch", False),
    ],
)
def test_words_that_point_back_at_the_last_report(text: str, refers: bool) -> None:
    assert refers_to_last_report(text) is refers


@pytest.mark.parametrize(
    ("text", "still"),
    [
        ("pero no lo arreglaron bien, el hoyo sigue ahi!!", True),
        ("the pothole is still there", True),
        ("it was never fixed", True),
        ("仲未清晒呀，仲有好多", True),
        ("垃圾还在", True),
        ("There is a huge pothole in the road", False),
        ("the streetlight is back on, thanks", False),
        ("one more at 17th and Valencia", False),
    ],
)
def test_words_that_say_the_problem_of_the_last_report_is_still_there(text: str, still: bool) -> None:
    assert says_it_is_still_there(text) is still


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Any update on my report?", "en"),
        ("what's the status of my pothole report", "en"),
        ("Why hasn't my pothole been fixed yet?", "en"),
        ("¿Alguna novedad?", "es"),
        ("我的报告有进展吗", "zh"),
        # Before, these started a new report and were asked "Where is it?".
        ("is it fixed yet", "en"),
        ("Has it been fixed?", "en"),
        ("Was my pothole repaired yet?", "en"),
        ("¿Ya lo arreglaron?", "es"),
        ("¿Hay novedades?", "es"),
        ("修好了吗", "zh"),
        # Each of these began a report ("¿Dónde está?", "问题在哪里？").
        ("¿cómo va mi reporte?", "es"),
        ("y que paso con el bache?", "es"),
        ("que paso con mi reporte del carro", "es"),
        ("我的投诉怎么样了？", "zh"),
        ("我個報告搞成點呀", "zh"),
        ("查一下我的投诉", "zh"),
        ("有冇人嚟整？", "zh"),
        ("hay un bache enorme en la calle, como va a pasar un carro", None),
        ("投诉：路灯坏了", None),
        ("the streetlight has been out for a week", None),
        ("pothole at 5th and Market, please fix", None),
        ("it was fixed last year but the hole is back at 5th and Market", None),
        ("the graffiti was removed and now it is back", None),
    ],
)
def test_questions_about_a_report_already_made_and_their_language(text: str, language: str | None) -> None:
    assert status_question_language(text) == language


def test_a_city_file_overrides_some_keys_per_language(tmp_path: Path) -> None:
    custom = tmp_path / "replies.toml"
    custom.write_text('[en]\nreview = "A 311 agent will follow up."\n[es]\nhelp = "Ayuda de la ciudad."\n')
    templates = load_templates(custom)
    assert templates.render("review", "en") == "A 311 agent will follow up."
    assert templates.render("help", "es") == "Ayuda de la ciudad."
    assert templates.render("review", "es").startswith("Gracias. Una persona")  # untouched keys stay
    assert templates.render("review", "fr") == "A 311 agent will follow up."  # unknown language: default


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('[en]\nfiled = "Case {number}"\n', r"filed uses \['number'\]"),
        ('[en]\nfiledd = "Case {id}"\n', "unknown keys"),
        ("[en]\nfiled = 3\n", "must be a string"),
        ('filed = "Case {id}"\n', "must be a table"),
        ("[en\n", "not valid TOML"),
    ],
)
def test_a_broken_city_file_is_refused_at_load_with_the_reason(
    tmp_path: Path, content: str, error: str
) -> None:
    custom = tmp_path / "replies.toml"
    custom.write_text(content)
    with pytest.raises(TemplateError, match=error):
        load_templates(custom)


def test_every_bundled_language_has_every_key() -> None:
    templates = load_templates()
    english = templates._by_language["en"]
    for language in ("es", "zh"):
        assert set(templates._by_language[language]) == set(english), language
