"""The contact details a resident gave through the Open311 API, as operators need them: on the request's
console page (operators only, never in public output), and found by the request search however the phone
number is written (digits compared with the stored phone, not only numbers inside the description).

The request is posted by a city app over real HTTP, with an API key as ``keys create`` makes one.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.operator.support import PASSWORDS, Deployment
from tests.operator.test_console_access import signed_in_client

PHONE = "+14155550110"


def post_with_contact(deployment: Deployment) -> str:
    _, key = deployment.runtime.keys.create("a city app")
    base = f"{deployment.url}{deployment.settings.open311.base_path}"
    answer = httpx.post(
        f"{base}/requests.json",
        data={
            "api_key": key,
            "service_code": "pothole",
            "lat": "37.7793",
            "long": "-122.4193",
            "description": "Deep pothole in the bike lane",
            "first_name": "Ana",
            "last_name": "Díaz",
            "phone": PHONE,
            "email": "ana.diaz@example.org",
        },
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()[0]["service_request_id"])


def found_ids(client: httpx.Client, q: str) -> list[str]:
    page = client.get("/operator/requests", params={"q": q})
    assert page.status_code == 200
    return re.findall(r'href="/operator/requests/(\d+)"', page.text)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_operators_see_the_contact_details_and_find_the_request_by_phone(deployment: Deployment) -> None:
    request_id = post_with_contact(deployment)
    client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    page = client.get(f"/operator/requests/{request_id}").text
    found = re.search(r'<section class="card" aria-labelledby="contact">(.*?)</section>', page, re.S)
    assert found is not None, "the request page shows no contact details"
    contact = found.group(1)
    for shown in ("Ana", "Díaz", PHONE, "ana.diaz@example.org"):
        assert shown in contact
    assert "operators only" in contact
    for written in (PHONE, "4155550110", "(415) 555-0110", "415-555-0110", "415.555.0110", "1 415 555 0110"):
        assert request_id in found_ids(client, written), written
    assert request_id not in found_ids(client, "4155550111")
    # Another word still narrows the search: the phone and the words of the description.
    assert request_id in found_ids(client, "(415) 555-0110 pothole")
    assert request_id not in found_ids(client, "(415) 555-0110 graffiti")
    client.close()
    # Never in public output.
    public = httpx.get(
        f"{deployment.url}{deployment.settings.open311.base_path}/requests/{request_id}.json", timeout=10
    ).text
    for hidden in ("Díaz", "4155550110", "ana.diaz"):
        assert hidden not in public
