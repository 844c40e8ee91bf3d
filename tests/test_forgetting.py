"""A resident's deletion request: ``open311-bot residents find`` and ``residents forget``, on what a real
conversation left behind (SMS with a photo, a FOLLOW, STOP, messages to a person, an operator's decision).

After it nothing in the database holds their number or their words but the record that they sent STOP,
which still keeps the bot silent; another resident's data is untouched.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select, update
from sqlmodel import col

from bot.cli import main
from bot.clock import utcnow
from bot.config import Settings
from bot.forgetting import REDACTED_DESCRIPTION
from bot.open311.models import ServiceRequestRow
from bot.review import decisions
from bot.review.audit import AuditEntry
from bot.state import Resident
from channels.fakes.twilio import FakeTwilio
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id
from tests.open311.test_http_post_requests import PNG
from tests.support.sms import served_twilio_fake, sms_bot, twiml_messages  # noqa: F401 (the fixtures fake and bot)

NUMBER = "+14155550142"
REPORT = "There is a huge pothole in the road at 5th St and Market St, call Maria Garcia"
AFTER_STOP = "Something strange at my house 77 Dolores St, Gina Ortiz"


def sms(fake: FakeTwilio, bot: RunningBot, body: str, **fields: object) -> list[str]:
    return twiml_messages(fake.inbound(f"{bot.url}/webhooks/twilio", from_=NUMBER, body=body, **fields))  # type: ignore[arg-type]


def cli(settings: Settings, tmp_path: Path, *args: str) -> int:
    config = tmp_path / "city.toml"
    config.write_text(
        f'data_dir = "{settings.data_dir}"\ndatabase_url = "{settings.database_url}"\n', encoding="utf-8"
    )
    return main(["--config", str(config), "residents", *args])


def everything_stored(bot: RunningBot) -> str:
    """Every row of every table, as text: where a number or a name would still be found."""
    metadata = MetaData()
    metadata.reflect(bot.runtime.engine)
    with bot.runtime.engine.connect() as connection:
        return "\n".join(
            repr(row) for table in metadata.sorted_tables for row in connection.execute(select(table))
        )


def test_forget_removes_a_residents_data_and_keeps_their_stop(
    settings: Settings, bot: RunningBot, fake: FakeTwilio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = bot.resident("bob")
    bobs = filed_id(bob.say(CLEAR_REPORT)[0]["text"])
    [filed] = sms(fake, bot, REPORT, media=[(fake.add_media(PNG, "image/png"), "image/png")])
    theirs = filed_id(filed)
    photo = bot.request(theirs)["media_url"]
    assert photo.startswith(bot.url)
    sms(fake, bot, f"FOLLOW {bobs}")
    sms(fake, bot, "STOP")
    assert sms(fake, bot, AFTER_STOP) == []  # to a person, silently
    assert sms(fake, bot, "please delete my data and my phone number") == []
    first, second = (item.id for item in bot.review_items())
    assert first is not None
    console = bot.app.state.operator_console
    with bot.runtime.sessions() as session:  # an operator turns one down: a labelled example, an audit entry
        decisions.reject(console, session, decisions.Actor("ana"), first, "not a city service")
        session.commit()
    stored_photos = list((settings.data_dir / "media").iterdir())
    assert len(stored_photos) == 1
    assert NUMBER in everything_stored(bot)

    # Finding them: from the number as they wrote it, from their report's number.
    assert cli(settings, tmp_path, "forget", "--channel", "sms", "--resident", "(415) 555-0142") == 1
    assert f"id ends in those digits: {NUMBER}" in capsys.readouterr().err
    assert cli(settings, tmp_path, "find", "--request", theirs) == 0
    assert f"sms\t{NUMBER}\tfiled it" in capsys.readouterr().out
    # What is held, unchanged.
    assert cli(settings, tmp_path, "forget", "--channel", "sms", "--resident", NUMBER, "--dry-run") == 0
    listed = capsys.readouterr().out
    assert f"requests they filed: #{theirs}:" in listed
    assert f"follows: 2 deleted (#{bobs}, #{theirs})" in listed
    assert f"review items: #{first}, #{second} anonymised" in listed
    assert "1 still waiting closed as rejected" in listed
    assert "photo files they sent: 1 deleted" in listed
    assert "stay blocked until they send START" in listed
    assert stored_photos[0].exists()
    assert bot.request(theirs)["description"] == REPORT
    with bot.runtime.sessions() as session:  # filed an hour ago, for the API's updated_datetime to move on
        session.execute(
            update(ServiceRequestRow)
            .values(updated_datetime=utcnow() - timedelta(hours=1))
            .where(col(ServiceRequestRow.id) == int(theirs))
        )
        session.commit()
    before = bot.request(theirs)["updated_datetime"]

    assert (
        cli(settings, tmp_path, "forget", "--channel", "sms", "--resident", NUMBER, "--redact-descriptions")
        == 0
    )
    assert f"Forgot sms resident {NUMBER}:" in capsys.readouterr().out

    stored = everything_stored(bot)
    for words in ("Maria Garcia", "Gina Ortiz", "77 Dolores St", "please delete my data"):
        assert words not in stored
    assert not stored_photos[0].exists()
    assert bot.client.get(photo).status_code == 404
    kept = bot.request(theirs)  # the city's record: what, where, status
    assert (kept["description"], kept["media_url"], kept["service_code"]) == (
        REDACTED_DESCRIPTION,
        None,
        "pothole",
    )
    assert kept["updated_datetime"] > before  # apps that sync by it fetch the request again
    with bot.runtime.sessions() as session:
        opt_out = session.get(Resident, ("sms", NUMBER))
        assert opt_out is not None
        assert (opt_out.opted_out, opt_out.language, opt_out.last_request_id) == (True, None, None)
        [forgot] = session.exec(select(AuditEntry).where(AuditEntry.action == "resident.forget")).all()  # type: ignore[call-overload]
    # The number is left only in the opt-out record (channel, id, no language, STOP): not in an audit entry,
    # a request, a message.
    [left] = [line for line in stored.splitlines() if NUMBER in line]
    assert left.startswith(f"('sms', '{NUMBER}', None, True, ")
    assert forgot[0].subject_id == "sms"
    assert [item.status for item in bot.review_items()] == ["rejected", "rejected"]

    # STOP still holds: they write again and hear nothing.
    assert sms(fake, bot, "hello?") == []
    # Bob, who was never asked about, keeps all he had.
    assert bot.request(bobs)["description"] == CLEAR_REPORT
    assert len(bob.received()) == 1


def test_an_unknown_resident_is_refused_and_nothing_changes(
    settings: Settings, bot: RunningBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot.resident("bob").say(CLEAR_REPORT)
    assert cli(settings, tmp_path, "forget", "--channel", "telegram", "--resident", "4242") == 1
    assert "nothing is held about '4242' on telegram; the channels with residents are: local" in (
        capsys.readouterr().err
    )
    assert cli(settings, tmp_path, "forget", "--channel", "local", "--resident", "alice") == 1
    assert "nothing is held about 'alice' on local" in capsys.readouterr().err
    assert cli(settings, tmp_path, "find", "--request", "999") == 1
    assert re.search(r"no resident is linked to request 999", capsys.readouterr().err)
    assert bot.inbox_count() == 1


def test_forgetting_clears_the_emergency_flag_with_the_words_it_came_from(
    settings: Settings, bot: RunningBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: the item kept emergency=True with its words gone, and the console still showed "Sounds like an
    # emergency ... so it is listed first ... the city may want to call them back" over an empty quote, for
    # a resident it no longer knows. Forgetting closes a waiting item, so no queue order depends on the flag.
    gas = bot.resident("gina")
    assert "911" in gas.ask("I smell gas near 16th and Valencia")
    assert "911" in bot.resident("olga").ask("I smell gas near 24th St and Mission St")
    assert [(item.resident_id, item.emergency) for item in bot.review_items()] == [
        ("gina", True),
        ("olga", True),
    ]

    assert cli(settings, tmp_path, "forget", "--channel", "local", "--resident", "gina") == 0
    assert "1 still waiting closed as rejected" in capsys.readouterr().out

    forgotten, kept = bot.review_items()
    assert (forgotten.text, forgotten.status, forgotten.emergency) == ("", "rejected", False)
    # Another resident's waiting item is still flagged, and listed first.
    assert (kept.resident_id, kept.status, kept.emergency) == ("olga", "pending", True)
