"""The sandbox (per Toronto's mock-up): a separate database with fixed test cases, where POST needs no
API key. It lives in its own SQLite file, so nothing done in the sandbox can touch production data; it is
reset to the catalog's test cases every time the service starts."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, insert

from bot.clock import utcnow
from bot.open311 import store
from bot.open311.catalog import Catalog
from bot.open311.models import ApiKeyRow, RequestTokenRow

SANDBOX_ACTOR = "sandbox"


def sandbox_database_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'sandbox.db').as_posix()}"


def fresh_sandbox_database(data_dir: Path) -> str:
    """Removes the previous sandbox database (with its WAL files) and returns the URL of a new one:
    every start begins from the fixed cases alone, with no conversations, cursors or keys left over."""
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"sandbox.db{suffix}").unlink(missing_ok=True)
    return sandbox_database_url(data_dir)


def reset_sandbox(engine: Engine, catalog: Catalog, jurisdiction_id: str, now: datetime | None = None) -> int:
    """Empties the sandbox's tables and loads the catalog's fixed test cases (in ``jurisdiction_id``);
    returns how many."""
    moment = now or utcnow()
    with engine.begin() as conn:
        conn.execute(delete(store.changes_table))
        conn.execute(delete(RequestTokenRow))
        conn.execute(delete(store.requests_table))
        conn.execute(delete(ApiKeyRow))
        for case in catalog.sandbox_cases:
            service = catalog.by_code[case.service_code]
            requested = moment - timedelta(hours=case.requested_hours_ago)
            updated = moment - timedelta(hours=case.updated_hours_ago or case.requested_hours_ago)
            expected = moment + timedelta(hours=case.expected_in_hours) if case.expected_in_hours else None
            request_id = int(case.service_request_id)
            conn.execute(
                insert(store.requests_table).values(
                    id=request_id,
                    jurisdiction_id=jurisdiction_id,
                    service_code=service.code,
                    service_name=service.name,
                    status=case.status,
                    status_notes=case.status_notes,
                    agency_responsible=case.agency_responsible or service.agency_responsible,
                    service_notice=case.service_notice or service.service_notice,
                    description=case.description,
                    requested_datetime=requested,
                    updated_datetime=updated,
                    expected_datetime=expected,
                    address=case.address,
                    address_id=case.address_id,
                    zipcode=case.zipcode,
                    lat=case.lat,
                    long=case.long,
                    media_url=case.media_url,
                    channel="sandbox",
                    attributes={},
                )
            )
            conn.execute(
                insert(store.changes_table).values(
                    request_id=request_id,
                    kind="submitted",
                    status="open",
                    changed_at=requested,
                    actor=SANDBOX_ACTOR,
                )
            )
            if case.status == "closed":
                conn.execute(
                    insert(store.changes_table).values(
                        request_id=request_id,
                        kind="status",
                        status="closed",
                        previous_status="open",
                        status_notes=case.status_notes,
                        changed_at=updated,
                        actor=SANDBOX_ACTOR,
                    )
                )
    return len(catalog.sandbox_cases)
