"""Replies in the script a Chinese resident writes, and the command words each language's replies name.

Before: a resident who wrote "街燈壞咗" read every reply in simplified characters, and Spanish and Chinese
replies named the English words (STATUS, CANCEL, HELP, FOLLOW) where the bot understands ESTADO, 状态...
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.chinese_script import to_traditional, written_script
from bot.config import Settings
from bot.embedded_backend import EmbeddedBackend
from bot.notifications import CORE, notify_once
from bot.resident_commands import LANGUAGE_OF_WORD, WORDS, parse_command
from bot.templates import BUNDLED_DIR, load_templates
from tests.conversation.harness import RunningBot, running_bot

HK_REPORT = "街燈壞咗"
PLACE = "5th St 和 Market St"


def in_traditional(reply: str) -> str:
    assert written_script(reply) == "traditional", reply
    return reply


def in_simplified(reply: str) -> str:
    assert written_script(reply) == "simplified", reply
    return reply


def number_in(reply: str) -> str:
    found = re.search(r"#(\d+)", reply)
    assert found is not None, reply
    return found.group(1)


def test_a_resident_who_writes_traditional_characters_is_answered_in_them(bot: RunningBot) -> None:
    ho = bot.resident("ho")
    assert in_traditional(ho.ask(HK_REPORT)).startswith("問題在哪裡？")
    # The catalog's zh name in traditional too.
    filed = in_traditional(ho.ask(PLACE))
    request_id = number_in(filed)
    assert filed == f"謝謝！您的報告已登記，編號 #{request_id}（路燈）。回覆 狀態 查詢進度。"
    assert ho.ask("我個報告搞成點呀？") == f"報告 #{request_id}（路燈）的狀態：處理中。"
    # Words that say nothing of the script keep the one chosen: a greeting, a yes with no question.
    for said in ("你好", "係"):
        assert in_traditional(ho.ask(said)).startswith("請發送問題和地點")
    # A status update reaches them in it as well (the status word and the service's name included).
    bot.runtime.open311.update_status(request_id, "closed", "", actor="crew")
    with bot.runtime.sessions() as session:
        # As the notification job runs it, with the catalog's names of the services.
        services = EmbeddedBackend(bot.runtime.open311).services()
        assert notify_once(session, load_templates(), CORE, services=services) == 1
    assert bot.outbox()[-1].text == (
        f"報告 #{request_id}（路燈）有更新：當前狀態為已關閉。回覆 取消關注 {request_id} 停止接收更新。"
    )

    # A question's choices too: "是在 CLEMENT ST ... 嗎？" [是, 不是], then the kinds of problem.
    car = bot.resident("car")
    assert in_traditional(car.ask("有架車泊咗成個月喺Clement街")).startswith("是在 CLEMENT ST")
    kinds = in_traditional(car.ask("係"))
    assert kinds.startswith("這是哪類問題？請用編號或文字回覆。\n1. "), kinds
    # "1", the answer, keeps the script (whatever comes next: a question about the car, or the report filed).
    in_traditional(car.ask("1"))


def test_a_resident_who_writes_simplified_characters_keeps_them_after_a_cantonese_yes(
    bot: RunningBot,
) -> None:
    mei = bot.resident("mei")
    filed = in_simplified(mei.ask("5th St 和 Market St 路口有个大坑洞"))
    assert "回复 状态 查询进度" in filed
    # Once the report is closed, "not cleared yet" is the problem back, asked about at the report's place.
    number = re.search(r"#(\d+)", filed)
    assert number, filed
    bot.runtime.open311.update_status(number.group(1), "closed", "Filled.", actor="crew")
    assert in_simplified(mei.ask("仲未清晒")).startswith("是在 05TH ST & MARKET ST")
    # "係" is written only in traditional characters, but a yes does not change the script.
    assert in_simplified(mei.ask("係呀")).startswith("谢谢！您的报告已登记")
    # A whole message in traditional characters does: the resident writes them now.
    in_traditional(mei.ask("我個報告搞成點呀？"))
    # And "2" does not change it back.
    in_traditional(mei.ask("2"))


def test_a_citys_chinese_wording_reaches_traditional_readers_converted(
    settings: Settings, tmp_path: Path
) -> None:
    city = tmp_path / "replies.toml"
    city.write_text('[zh]\nfiled = "收到！个案编号 #{id}（{service}），回复 状态 查询。"\n', encoding="utf-8")
    with running_bot(settings, conversation={"templates_file": city}) as bot:
        simplified = bot.resident("mei").ask("5th St 和 Market St 路口有个大坑洞")
        assert re.fullmatch(r"收到！个案编号 #\d+（坑洞），回复 状态 查询。", simplified), simplified
        traditional = bot.resident("ho").ask("5th St 和 Market St 路口有個大坑洞")
        assert re.fullmatch(r"收到！個案編號 #\d+（坑洞），回覆 狀態 查詢。", traditional), traditional


def test_a_zh_hant_table_words_replies_for_traditional_readers_before_the_converted_zh(
    tmp_path: Path,
) -> None:
    city = tmp_path / "replies.toml"
    city.write_text(
        '[zh]\nreview = "谢谢，同事会跟进。"\n\n[zh-Hant]\nreview = "多謝，同事會喺呢度覆你（裏面）。"\n',
        encoding="utf-8",
    )
    templates = load_templates(city)
    assert templates.render("review", "zh") == "谢谢，同事会跟进。"
    # The city's own traditional wording as written, Hong Kong's 裏 included.
    assert templates.render("review", "zh-Hant") == "多謝，同事會喺呢度覆你（裏面）。"
    # The keys it does not give: the [zh] ones, converted.
    assert templates.render("cancelled", "zh-Hant") == "已取消，未登記任何內容。"
    for tag in ("zh-Hant", "zh-TW", "zh_HK", "zh-hant-MO"):
        assert templates.language_for(tag) == "zh-Hant", tag
    for tag in ("zh", "zh-CN", "zh-Hans", "zh-SG"):
        assert templates.language_for(tag) == "zh", tag


def test_the_command_words_a_spanish_reply_names_are_spanish_ones_that_work(bot: RunningBot) -> None:
    rosa = bot.resident("rosa")
    filed = rosa.ask("Hay un bache enorme en 5th St y Market St")
    request_id = number_in(filed)
    status = named(filed, r"Responda (\S+) para saber cómo va", "es")
    assert rosa.ask(status) == f"El reporte #{request_id} (Bache) está abierto."
    help_text = rosa.ask("AYUDA")
    another = named(help_text, r"(\S+) y un número para otro", "es")
    assert rosa.ask(f"{another} {request_id}") == f"El reporte #{request_id} (Bache) está abierto."
    cancel = named(help_text, r"(\S+) para descartar un reporte en curso", "es")
    assert rosa.ask("hay un bache enorme").startswith("¿Dónde está?")
    assert rosa.ask(cancel) == "Cancelado. No se registró nada."
    # Another resident's report, to follow.
    other = number_in(bot.resident("leo").ask("Hay un bache enorme en 16th St y Mission St"))
    follow = named(rosa.ask("seguir"), r"Responda (\S+) y su número", "es")
    followed = rosa.ask(f"{follow} {other}")
    unfollow = named(followed, rf"Responda (.+) {other} para dejar de recibirlas", "es")
    assert rosa.ask(f"{unfollow} {other}") == f"Ya no recibirá novedades del reporte #{other}."
    # STOP and START stay the carrier's words: Twilio opts a number out and in only on its English keywords.
    assert "STOP para no recibir más mensajes" in help_text
    stopped = rosa.ask("ALTO")
    assert "Escriba START para volver a recibirlos" in stopped
    started = rosa.ask("START")
    helped = named(started, r"Escriba (\S+) para obtener ayuda", "es")
    assert rosa.ask(helped) == help_text


@pytest.mark.parametrize("script", ["simplified", "traditional"])
def test_the_command_words_a_chinese_reply_names_are_chinese_ones_that_work(
    bot: RunningBot, script: str
) -> None:
    # The texts below in simplified characters; for a resident who writes traditional ones, converted.
    def said(text: str) -> str:
        return to_traditional(text) if script == "traditional" else text

    wen = bot.resident("wen")
    filed = wen.ask(said("5th St 和 Market St 路口有个大坑洞"))
    request_id = number_in(filed)
    assert filed == said(f"谢谢！您的报告已登记，编号 #{request_id}（坑洞）。回复 状态 查询进度。")
    status = named(filed, said(r"回复 (\S+) 查询进度"), "zh")
    answer = wen.ask(status)
    assert answer == said(f"报告 #{request_id}（坑洞）的状态：处理中。")
    # "How is my report?" with 检举 (檢舉), a report as Taiwan and Hong Kong write it: was a new report.
    assert wen.ask(said("我的检举怎么样了")) == answer
    help_text = wen.ask("你好")
    another = named(help_text, said(r"，(\S+) 加编号查询其他报告"), "zh")
    assert wen.ask(f"{another} {request_id}") == answer
    cancel = named(help_text, said(r"回复 (\S+) 放弃进行中的报告"), "zh")
    assert wen.ask(said("有个大坑洞")).startswith(said("问题在哪里？"))
    assert wen.ask(cancel) == said("已取消，未登记任何内容。")
    # Another resident's report, to follow and stop following with the words the replies name (关注, 關注).
    other = number_in(bot.resident("li").ask("There is a huge pothole in the road at 16th St and Mission St"))
    follow = named(wen.ask(said("关注")), said(r"请发送 (\S+) 加编号"), "zh")
    followed = wen.ask(f"{follow} {other}")
    assert followed.startswith(said(f"您将收到报告 #{other}（")), followed
    unfollow = named(followed, said(rf"回复 (\S+) {other} 停止接收"), "zh")
    assert wen.ask(f"{unfollow} {other}") == said(f"您将不再收到报告 #{other} 的更新。")
    # STOP and START stay the carrier's words (see the Spanish test).
    assert said("回复 STOP 不再接收消息") in help_text
    assert said("发送 START 可重新接收") in wen.ask("停止")
    helped = named(wen.ask("START"), said(r"发送 (\S+) 查看使用方法"), "zh")
    assert wen.ask(helped) == help_text


def test_spanish_and_chinese_replies_name_no_english_command_word_but_the_carriers() -> None:
    english_words = {
        word.upper()
        for words in WORDS.values()
        for word in words
        if word.isascii() and word not in LANGUAGE_OF_WORD
    }
    kept = {"es": {"STOP", "START"}, "zh": {"STOP", "START"}}
    for language, allowed in kept.items():
        table = tomllib.loads((BUNDLED_DIR / f"{language}.toml").read_text(encoding="utf-8"))
        named_words = {word for text in table.values() for word in re.findall(r"\b[A-Z]+\b", text)}
        assert named_words & english_words == allowed, language


def named(reply: str, pattern: str, language: str) -> str:
    """The command word ``reply`` tells the resident to send (``pattern``'s group), checked to be a word
    of ``language`` the bot understands as a command."""
    found = re.search(pattern, reply)
    assert found is not None, (pattern, reply)
    word = found.group(1)
    command = parse_command(f"{word} 12") or parse_command(word)
    assert command is not None, word
    assert command.language == language, (word, command)
    return word
