"""A resident's correction of a report's kind to a kind the city splits among several services (Toronto's
four graffiti services share the classifier class ``graffiti``) reaches the console as a correction whose
choices are those services: the resident is told a person picks which, and the operator's choice changes
the report. Words that name one of them ("graffiti on the sidewalk") name it to the resident and the
operator, as they do in a new report.

Before: the conversation queued a correction only when exactly one service received the new class, so
"sorry, it's actually graffiti on a private building, not a pothole" right after a pothole was filed began
a new report ("What kind of problem is it?") and never reached the operators.

Through the real conversation over the local channel and the console's JSON calls, on a served app.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager

from bot.open311.catalog import CATALOG_DIR
from tests.operator.support import (
    PASSWORDS,
    Deployment,
    report_as_resident,
    review_item_of,
    wait_for_message,
)
from tests.operator.test_console_access import signed_in_client
from tests.operator.test_kind_corrections import GRAFFITI_CODES, public_request
from tests.operator.test_place_corrections import request_count

Deploy = Callable[..., AbstractContextManager[Deployment]]
TORONTO_FILING = {
    "open311": {"catalog_file": str(CATALOG_DIR / "toronto.toml")},
    "intents": {"auto_file_threshold": 0.6},
    "conversation": {"offer_choices_min_confidence": 0.2},
}
GRAFFITI_NAMES = (
    "Bridge - Graffiti Complaint, Road - Graffiti Complaint, Sidewalk - Graffiti Complaint,"
    " Litter Bin - Graffiti Complaint"
)


def file_pothole(url: str, resident: str) -> str:
    """A Toronto pothole filed by ``resident`` (where on the road it is, asked and answered); its number."""
    assert report_as_resident(url, resident, "pothole at Mission and 24th") == [
        "Where on the road is the pothole? Reply with the number or the words."
    ]
    [filed] = report_as_resident(url, resident, "1")
    found = re.fullmatch(r"Thanks! Your report is filed as #(\d+) \(Road - Pot hole\)\. .*", filed)
    assert found, filed
    return found.group(1)


def test_a_kind_the_city_splits_is_queued_with_its_services_to_choose_from(deploy: Deploy) -> None:
    with deploy(**TORONTO_FILING) as deployment:
        url = deployment.url
        number = file_pothole(url, "amy")
        [told] = report_as_resident(
            url, "amy", "sorry, it's actually graffiti on a private building, not a pothole"
        )
        assert told == (
            f"Your report #{number} was filed as Road - Pot hole. The city has several services of that"
            f" kind: a person will pick which one it is and change it ({GRAFFITI_NAMES})."
            " Reply STATUS for updates."
        )
        assert report_as_resident(url, "amy", "STATUS") == [
            f"Your correction of the kind of report #{number} (to Graffiti) is waiting for a person."
            f" Report #{number} (Road - Pot hole) is open."
        ]
        assert request_count(deployment) == 1  # no second report

        # The console: a kind correction of #N to graffiti, the four services its choices, none chosen.
        item_id = review_item_of(deployment.runtime, "amy")
        client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
        headers = {"X-CSRF-Token": csrf}
        kind = client.get(f"/operator/api/queue/{item_id}").json()["kind_correction"]
        assert (kind["reference"], kind["from"], kind["to"]) == (f"#{number}", "Road - Pot hole", "Graffiti")
        assert [choice["service_code"] for choice in kind["choices"]] == GRAFFITI_CODES
        unchosen = client.post(f"/operator/api/queue/{item_id}/change", json={}, headers=headers)
        assert unchosen.status_code == 400
        assert all(code in unchosen.json()["error"] for code in GRAFFITI_CODES)

        # The operator's choice changes report #N (its lane answer dropped), and the resident is told.
        changed = client.post(
            f"/operator/api/queue/{item_id}/change",
            json={"service_code": "SWLMALB-02", "attributes": {"bin_number": "12"}},
            headers=headers,
        )
        assert changed.status_code == 200, changed.text
        public = public_request(deployment, number)
        assert (public["service_code"], public["agency_responsible"]) == (
            "SWLMALB-02",
            "Solid Waste Management Services",
        )
        assert request_count(deployment) == 1
        told_now = wait_for_message(url, "amy", "it is now filed as")
        assert told_now.startswith(
            f"Update on report #{number}: it is now filed as Litter Bin - Graffiti Complaint."
        )


def test_words_that_name_one_of_the_services_name_it(deploy: Deploy) -> None:
    with deploy(**TORONTO_FILING) as deployment:
        url = deployment.url
        number = file_pothole(url, "bea")
        correction = "sorry, it's actually graffiti on the sidewalk, not a pothole"
        [told] = report_as_resident(url, "bea", correction)
        assert told == (
            f"Your report #{number} was filed as Road - Pot hole. A person will change it to Sidewalk -"
            " Graffiti Complaint. Reply STATUS for updates."
        )
        item_id = review_item_of(deployment.runtime, "bea")
        client, _csrf = signed_in_client(url, "bob", PASSWORDS["bob"])
        kind = client.get(f"/operator/api/queue/{item_id}").json()["kind_correction"]
        assert kind["to"] == "Sidewalk - Graffiti Complaint"
        assert [choice["service_code"] for choice in kind["choices"]] == GRAFFITI_CODES
        assert request_count(deployment) == 1
