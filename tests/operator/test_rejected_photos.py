"""A rejected report's photo is no longer served, over real HTTP (before, it stayed on disk and the public
media route served it to anyone with its URL, though no public request links to it)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from bot.open311.models import ServiceRequestRow
from tests.operator.support import PASSWORDS, Deployment, csrf_token, enqueue_report, file_at
from tests.operator.test_console_access import signed_in_client
from tests.support.photos import photo_with_metadata


def stored_photo(deployment: Deployment) -> tuple[str, str]:
    """A photo the bot stored (as a resident's MMS or Telegram photo is): its URL, and where it is served
    on this deployment."""
    media = deployment.runtime.media
    name = media.save(photo_with_metadata()).name
    return media.url_for(name), f"{deployment.url}/open311/v2/media/{name}"


def queued_with(deployment: Deployment, resident_id: str, *urls: str) -> int:
    return enqueue_report(
        deployment.runtime,
        resident_id=resident_id,
        text="someone dumped a mattress in front of my house",
        suggestions=[{"service_code": "illegal_dumping", "confidence": 0.4}],
        media_urls=list(urls),
    )


def test_a_rejected_reports_photo_is_deleted_and_no_longer_served(deployment: Deployment) -> None:
    own, served = stored_photo(deployment)
    shared, served_shared = stored_photo(deployment)
    item_id = queued_with(deployment, "res-1", own, shared)
    # The second photo is also a filed request's (the same photo in two reports): that one stays public.
    request_id = file_at(deployment.runtime, datetime.now(UTC), "illegal_dumping", "local")
    with deployment.runtime.sessions() as session:
        row = session.get(ServiceRequestRow, int(request_id))
        assert row is not None
        row.media_url = shared
        session.add(row)
        session.commit()
    assert httpx.get(served).status_code == 200

    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    rejected = client.post(
        f"/operator/api/queue/{item_id}/reject",
        json={"reason": "not a city matter"},
        headers={"X-CSRF-Token": csrf},
    )
    assert rejected.status_code == 200, rejected.text

    assert httpx.get(served).status_code == 404, "the rejected report's photo is not served any more"
    assert not any((deployment.settings.data_dir / "media").glob(own.rsplit("/", 1)[1])), "nor kept on disk"
    assert httpx.get(served_shared).status_code == 200, "a photo a public request shows stays"
    page = client.get(f"/operator/queue/{item_id}")
    assert "Photo 1 was deleted when the report was rejected." in page.text
    assert f'<img src="{shared}"' in page.text


def test_a_rejection_through_the_page_deletes_the_photo_too(deployment: Deployment) -> None:
    own, served = stored_photo(deployment)
    item_id = queued_with(deployment, "res-2", own)
    client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    page = client.get(f"/operator/queue/{item_id}")
    client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf_token(page.text)})
    page = client.get(f"/operator/queue/{item_id}")
    answer = client.post(
        f"/operator/queue/{item_id}/reject",
        data={"csrf_token": csrf_token(page.text), "reason": "a duplicate"},
    )
    assert answer.status_code == 303, answer.text
    assert httpx.get(served).status_code == 404


def test_a_refused_rejection_deletes_nothing(deployment: Deployment) -> None:
    own, served = stored_photo(deployment)
    item_id = queued_with(deployment, "res-3", own)
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    # A reason too long to send: refused by the decision itself (a blank one is refused before it, 400),
    # the report stays in the queue with its photo.
    refused = client.post(
        f"/operator/api/queue/{item_id}/reject", json={"reason": "x" * 501}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 409, refused.text
    assert httpx.get(served).status_code == 200
