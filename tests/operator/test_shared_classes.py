"""A city whose services share a classifier class, with the bundled catalog bot/open311/catalogs/toronto.toml:
graffiti on a bridge, a road, a sidewalk and a litter bin are four services the classifier's one ``graffiti``
goes to. The console says what the bot guessed, the class and the services that share it, and shows what an
operator chose as the service they chose. Before, the bot's guess read as the first of them ("Bridge -
Graffiti Complaint 3%", then Road's and Sidewalk's at the same 3%), and so did a litter bin's graffiti an
operator filed as such, on the item's page and the learning page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from contextlib import AbstractContextManager

from bot.open311.catalog import CATALOG_DIR
from tests.operator.support import PASSWORDS, Deployment, report_as_resident, review_item_of
from tests.operator.test_console_access import signed_in_client

GRAFFITI = (
    "Graffiti (Bridge - Graffiti Complaint, Road - Graffiti Complaint, Sidewalk - Graffiti Complaint or"
    " Litter Bin - Graffiti Complaint)"
)
GRAFFITI_CODES = ["CSROWBM-03", "CSROWC-05", "CSROSC-14", "SWLMALB-02"]


def words(page: str) -> str:
    """A page's words as a person reads them: tags out, spaces as one."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def table_rows(page: str, section: str) -> list[list[str]]:
    """The cells of each body row of the table in the section headed ``section`` (its id)."""
    part = page.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    body = part.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [words(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def checked_radios(page: str) -> list[str]:
    return re.findall(r'<input type="radio" name="service_code" value="([^"]*)"[^>]*\bchecked\b', page)


def test_a_class_several_services_share_is_shown_as_the_class_and_a_choice_as_the_service(
    deploy: Callable[..., AbstractContextManager[Deployment]],
) -> None:
    with deploy(open311={"catalog_file": str(CATALOG_DIR / "toronto.toml")}) as deployment:
        url = deployment.url
        report_as_resident(url, "ben", "someone tagged the litter bin at Market St and 5th St")
        report_as_resident(url, "ana", "There is a huge pothole at Market St and 5th St")
        bin_item = review_item_of(deployment.runtime, "ben")
        pothole_item = review_item_of(deployment.runtime, "ana")
        alice, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
        headers = {"X-CSRF-Token": csrf}

        # The bot's guess is the class: the JSON says so beside each service that receives it.
        suggested = alice.get(f"/operator/api/queue/{bin_item}").json()["suggestions"]
        assert [(s["service_code"], s["classifier_class"]) for s in suggested] == [
            (code, "graffiti") for code in GRAFFITI_CODES
        ]
        # The queue names it once, as the class and the services that share it.
        queue = words(alice.get("/operator/").text)
        assert re.search(re.escape(GRAFFITI) + r" \d+% at Market St and 5th St", queue), queue
        assert not re.search(r"Graffiti Complaint \d+%", queue), queue
        assert re.search(r"Road - Pot hole \d+%", queue), queue

        # Its page too; the operator picks which of the four it is (none is picked for them).
        assert alice.post(f"/operator/api/queue/{bin_item}/claim", headers=headers).status_code == 200
        page = alice.get(f"/operator/queue/{bin_item}").text
        [guess] = re.findall(r'<li class="confidence">(.*?)</li>', page, re.S)
        codes = re.escape(f"({', '.join(GRAFFITI_CODES)})")
        assert re.fullmatch(f"{re.escape(GRAFFITI)} {codes} \\d+%", words(guess).strip()), words(guess)
        assert re.search(r"The bot is \d+% sure it is one of these 4, not which:", words(page))
        assert checked_radios(page) == []
        filed = alice.post(
            f"/operator/queue/{bin_item}/approve",
            data={
                "csrf_token": csrf,
                "service_code": "SWLMALB-02",
                "details_for": "SWLMALB-02",
                "attribute[bin_number]": "12",
            },
        )
        assert filed.status_code == 303, filed.text
        request_id = alice.get(f"/operator/api/queue/{bin_item}").json()["service_request_id"]
        decided = words(alice.get(f"/operator/queue/{bin_item}").text)
        assert f"Filed as request {request_id} : Litter Bin - Graffiti Complaint (SWLMALB-02)" in decided

        # A class one service receives is that service, the bot's best guess checked as before.
        assert alice.post(f"/operator/api/queue/{pothole_item}/claim", headers=headers).status_code == 200
        assert checked_radios(alice.get(f"/operator/queue/{pothole_item}").text) == ["CSROWR-12"]
        filed = alice.post(
            f"/operator/queue/{pothole_item}/approve",
            data={
                "csrf_token": csrf,
                "service_code": "CSROSC-14",
                "details_for": "CSROSC-14",
                "attribute[offensive]": "N",
            },
        )
        assert filed.status_code == 303, filed.text

        # The learning page: what the bot suggested and learns is a class, named as such; what operators
        # filed, the service they filed.
        learning = alice.get("/operator/learning").text
        assert table_rows(learning, "confused") == [["Road - Pot hole", GRAFFITI, "1"]]
        assert sorted(table_rows(learning, "per-code")) == [
            ["Litter Bin - Graffiti Complaint", "1", "1"],
            ["Sidewalk - Graffiti Complaint", "1", "0"],
        ]
        assert alice.get("/operator/api/learning").json()["confused_pairs"] == [
            {"suggested": "pothole", "chosen": "graffiti", "count": 1}
        ]
