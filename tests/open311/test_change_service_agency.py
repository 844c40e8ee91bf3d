"""Changing a request's service (an operator applying a resident's correction of its kind) and the agency
responsible: the new service's own agency replaces whatever the request had; a new service with none keeps
the agency an operator set, and drops the old service's own (not the one to fix it).

Before: the agency always became the new service's, so a service with no agency of its own silently
discarded the agency an operator had assigned. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.open311.models import NewRequest
from bot.open311.service import Open311Service
from bot.runtime import Runtime
from tests.conftest import make_settings

CATALOG = """
name = "city"
[[services]]
code = "pothole"
name = "Pothole"
description = "d"
group = "Streets"
agency_responsible = "Street Repair"
[[services]]
code = "streetlight"
name = "Streetlight"
description = "d"
group = "Streets"
agency_responsible = "Streetlights"
[[services]]
code = "hazard"
name = "Road hazard"
description = "d"
group = "Streets"
"""


@pytest.fixture
def core(tmp_path: Path, database_url: str) -> Iterator[Open311Service]:
    catalog = tmp_path / "city.toml"
    catalog.write_text(CATALOG, encoding="utf-8")
    runtime = Runtime.build(make_settings(tmp_path / "data", database_url, open311={"catalog_file": catalog}))
    try:
        yield runtime.open311
    finally:
        runtime.close()


def pothole(core: Open311Service) -> str:
    filed = core.create_request(NewRequest(service_code="pothole", address_string="1 Main St"))
    assert filed.service_request_id is not None
    return filed.service_request_id


def test_a_service_without_an_agency_keeps_the_one_an_operator_set(core: Open311Service) -> None:
    number = pothole(core)
    core.update_status(number, "open", agency_responsible="Night Crew", actor="operator:alice")
    assert core.change_service(number, "hazard", actor="operator:alice").agency_responsible == "Night Crew"
    # Its own agency, the new service's, wins over the operator's: it is the one to fix it.
    assert core.change_service(number, "streetlight").agency_responsible == "Streetlights"


def test_a_service_without_an_agency_drops_the_old_services_own(core: Open311Service) -> None:
    number = pothole(core)
    assert core.get_request(number).agency_responsible == "Street Repair"
    assert core.change_service(number, "hazard").agency_responsible is None
