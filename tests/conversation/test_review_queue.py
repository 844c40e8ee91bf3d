"""The review queue's API as the operator console uses it: claim, approve (files and tells the resident the
id through the outbox), reject with a reason (tells the resident why)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from bot.config import Settings
from bot.open311.catalog import CATALOG_DIR
from bot.review.queue import ReviewError
from tests.conversation.harness import RunningBot, running_bot

UNSURE = {"intents": {"auto_file_threshold": 1.0}, "conversation": {"offer_choices_min_confidence": 1.0}}


def send_to_review(bot: RunningBot, resident: str, text: str) -> None:
    assert "A person will look" in bot.resident(resident).ask(text)


def test_claim_approve_and_reject_tell_the_resident(settings: Settings) -> None:
    with running_bot(settings, **UNSURE) as bot:
        send_to_review(bot, "alice", "There is a big pothole in the road at 5th St and Market St")
        send_to_review(bot, "bob", "Something strange at 4th St and Mission St")
        alice_item, bob_item = bot.review_items()
        queue = bot.messaging.review_queue
        assert alice_item.id is not None
        assert bob_item.id is not None
        with bot.runtime.sessions() as session:
            queue.claim(session, alice_item.id, "olivia")
            session.commit()
        with bot.runtime.sessions() as session, pytest.raises(ReviewError, match="claimed by olivia"):
            queue.claim(session, alice_item.id, "oscar")
        with bot.runtime.sessions() as session, pytest.raises(ReviewError, match="claimed by olivia"):
            queue.approve(session, alice_item.id, "oscar", service_code="pothole")
        with bot.runtime.sessions() as session:
            approved = queue.approve(session, alice_item.id, "olivia", service_code="pothole")
            session.commit()
        assert approved.status == "approved"
        assert approved.service_request_id is not None
        request = bot.request(approved.service_request_id)
        assert request["description"] == "There is a big pothole in the road at 5th St and Market St"
        with bot.runtime.sessions() as session:
            queue.reject(session, bob_item.id, "oscar", "this is not something the city can fix")
            session.commit()
        with bot.runtime.sessions() as session, pytest.raises(ReviewError, match="already rejected"):
            queue.approve(session, bob_item.id, "oscar", service_code="pothole")

        report = bot.deliver()
        assert report.delivered == 2
        [to_alice] = bot.resident("alice").received(after=1)
        assert re.fullmatch(
            r"Your report is filed as #\d+ \(Pothole\)\. Reply STATUS for updates\.", to_alice["text"]
        )
        [to_bob] = bot.resident("bob").received(after=2)
        assert to_bob["text"] == "Your report was not filed: this is not something the city can fix"
        assert f"Report #{approved.service_request_id}" in bot.resident("alice").ask("status")


def test_two_operators_claiming_at_once_one_wins(settings: Settings) -> None:
    with running_bot(settings, **UNSURE) as bot:
        send_to_review(bot, "carol", "Something strange at 4th St and Mission St")
        [item] = bot.review_items()
        assert item.id is not None
        queue = bot.messaging.review_queue
        first: Session = bot.runtime.sessions()
        second: Session = bot.runtime.sessions()
        try:
            queue.claim(first, item.id, "olivia")
            first.commit()
            with pytest.raises(ReviewError):
                queue.claim(second, item.id, "oscar")
        finally:
            first.close()
            second.close()


def test_an_approval_names_the_service_in_the_residents_language(settings: Settings) -> None:
    with running_bot(settings, **UNSURE) as bot:
        li = bot.resident("li", language="zh")
        assert "工作人员" in li.ask("5th St和Market St路上有一个很大的坑")
        [item] = bot.review_items()
        assert item.id is not None
        with bot.runtime.sessions() as session:
            approved = bot.messaging.review_queue.approve(session, item.id, "olivia", service_code="pothole")
            session.commit()
        assert bot.deliver().delivered == 1
        [told] = li.received(after=1)
        assert told["text"].startswith(f"您的报告已登记，编号 #{approved.service_request_id}（坑洞）")


def test_status_while_a_report_waits_for_a_person(settings: Settings) -> None:
    with running_bot(settings, **UNSURE) as bot:
        dana = bot.resident("dana")
        send_to_review(
            bot,
            "dana",
            "Something strange   has been going on for weeks at 4th St and Mission St, please look",
        )
        # Before: "You have not filed a report yet", as if the report had been lost.
        assert dana.ask("status") == (
            'Your report "Something strange has been going on for weeks at 4th St and…" is waiting for a'
            " person to look at it; they will answer here."
        )
        [item] = bot.review_items()
        assert item.id is not None
        with bot.runtime.sessions() as session:
            approved = bot.messaging.review_queue.approve(session, item.id, "olivia", service_code="graffiti")
            session.commit()
        assert dana.ask("status").startswith(f"Report #{approved.service_request_id} (")
        chinese = (
            "5th St和Market St路口有奇怪的东西，已经好几个星期了，"
            "请派人来看看到底是什么情况，谢谢你们的帮助，麻烦尽快处理"
        )
        assert "工作人员会查看" in dana.ask(chinese)
        # The waiting report first (cut where a Chinese text has no space to cut at), then the one filed
        # before it, in Chinese now, in one message with no space after the full stop.
        reply = dana.ask("status")
        assert reply.startswith("您的报告“5th St和Market St路口有奇怪的东西")
        assert f"…”正在等待工作人员查看，他们会在这里回复您。报告 #{approved.service_request_id}（" in reply


def test_the_decision_answers_under_the_residents_own_message(settings: Settings) -> None:
    # A report made in a public X mention: its number was sent only by direct message (no reply_to), which
    # many residents refuse; the rejection and status updates already answered under the mention.
    with running_bot(settings, **UNSURE) as bot:
        queue = bot.messaging.review_queue
        with bot.runtime.sessions() as session:
            item = queue.enqueue(
                session,
                channel="twitter",
                resident_id="7004",
                text="trash dumped at 5th St and Market St",
                reply_to="1860000000000000001",
                lat=37.7838,
                long=-122.408,
            )
            session.commit()
            assert item.id is not None
            item_id = item.id
        with bot.runtime.sessions() as session:
            queue.approve(session, item_id, "olivia", service_code="illegal_dumping")
            session.commit()
        [told] = [row for row in bot.outbox() if row.resident_id == "7004"]
        assert told.reply_to == "1860000000000000001"
        assert told.text.startswith("Your report is filed as #")


def test_a_problem_the_city_has_no_service_for_goes_to_a_person(settings: Settings) -> None:
    # Toronto's catalog has potholes and graffiti, no water service. A report the classifier is sure is a
    # water main break was offered "Road - Pot hole", a service it gave no weight; now a person decides.
    toronto = CATALOG_DIR / "toronto.toml"
    with running_bot(settings, open311={"catalog_file": toronto}) as bot:
        send_to_review(bot, "wanda", "water main break flooding the street at 5th St and Market St")
        [item] = bot.review_items()
        assert item.text == "water main break flooding the street at 5th St and Market St"
        # A class the city splits among several services is still the resident's to choose.
        choices = bot.resident("gus").ask("fresh graffiti on the wall at 5th St and Market St")
        assert "1. Bridge - Graffiti Complaint\n2. Road - Graffiti Complaint" in choices
