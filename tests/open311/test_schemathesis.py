"""schemathesis against the OpenAPI description the running server publishes: every operation, with
generated (positive) and mutated (negative) inputs, and every default check (no server errors,
documented status codes, content types and response schemas, negative data rejected, ...). Bounded by
MAX_EXAMPLES so CI stays quick.

The schema is loaded from the live server at test time and each operation's Hypothesis strategy is run
here (``APIOperation.as_strategy``): schemathesis 4.32's lazy pytest loader (``from_fixture``) reads
``request.node._nodeid``, which pytest 9.2 no longer has, so it cannot be used with this pytest.

SQLite only: this checks the HTTP contract; the database behaviour is covered on both databases by the
other conformance tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.open311.conformance import Deployment, create_key, deployment

# Enough examples per operation and mode to reach every parameter's edge cases, few enough for CI.
MAX_EXAMPLES = 30

# positive_data_acceptance ("schema-valid input is accepted") is not run on these two: the spec requires
# a 400 for input no static schema can rule out. POST requests is validated against the service
# definition fetched at run time (a service's required attributes, its value lists, datatypes; a
# location as lat+long inside the area served, address_string or address_id), and GET requests refuses a
# start_date/end_date pair more than 90 days apart (or a lone start_date over 90 days ago). Every other
# check (server errors, status codes, content types, response schemas, negative data rejected, ...)
# still runs on them.
CATALOG_DEPENDENT = ("/requests.xml", "/requests.json")


@pytest.fixture
def api(tmp_path: Path, sqlite_database_url: str) -> Iterator[Deployment]:
    with deployment(tmp_path / "data", sqlite_database_url) as running:
        yield running


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_api_conforms_to_its_openapi_description(api: Deployment, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(api.root + "/openapi.json")
    key = create_key(api, f"schemathesis-{mode.value}")
    operations = [result.ok() for result in schema.get_all_operations()]
    described = {f"{operation.method.upper()} {operation.path}" for operation in operations}
    assert len(described) >= 6, f"the six GeoReport v2 methods are described: {sorted(described)}"

    with requests.Session() as session:
        for operation in operations:
            run_operation(operation, mode, key, api.root, session)


def run_operation(operation: Any, mode: GenerationMode, key: str, base_url: str, session: Any) -> None:
    excluded = [positive_data_acceptance] if operation.path.endswith(CATALOG_DEPENDENT) else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        # Generated keys are random strings that only ever reach the 403; a real key lets generated forms
        # reach validation and storage. (schemathesis re-checks a modified case against the schema, so a
        # negative case this turns valid is judged as valid.)
        if case.method.upper() == "POST" and isinstance(case.body, dict) and "api_key" in case.body:
            case.body["api_key"] = key
        case.call_and_validate(base_url=base_url, session=session, excluded_checks=excluded)

    try:
        check()
    except Unsatisfiable:
        # Nothing in the operation can be made invalid (discovery takes no input): no negative case.
        if mode != GenerationMode.NEGATIVE:
            raise
