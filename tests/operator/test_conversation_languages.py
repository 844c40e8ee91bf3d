"""The conversation on an item's page marks each line with the language it is in (WCAG 3.1.2): a resident
who writes Portuguese is answered in English, the city having no Portuguese replies, and a screen reader
read the bot's English lines as Portuguese (every line carried the item's language)."""

from __future__ import annotations

import re

import pytest

from tests.operator.support import PASSWORDS, Deployment, report_as_resident, review_item_of
from tests.operator.test_console_access import signed_in_client


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_residents_lines_and_the_bots_replies_each_carry_their_own_language(
    deployment: Deployment,
) -> None:
    words = "Tem um buraco enorme na rua em frente da minha casa, ninguém consertou ainda"
    replies = report_as_resident(deployment.url, "res-pt", words, "5th St and Market St")
    assert "A person will look" in replies[-1]  # answered in English, the default
    item_id = review_item_of(deployment.runtime, "res-pt")
    client, _csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])

    page = client.get(f"/operator/queue/{item_id}").text

    lines = re.findall(r'<li class="(in|out)" lang="([A-Za-z-]+)">', page)
    assert ("in", "pt") in lines, lines
    assert ("out", "en") in lines, lines
    assert ("out", "pt") not in lines, lines
