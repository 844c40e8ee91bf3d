"""schemathesis against the OpenAPI description the running server publishes: every operation, generated
and mutated inputs, every default check (no server errors, documented status codes, content types and
response schemas, negative data rejected, ...). Bounded by max_examples so CI stays quick.

SQLite only: this checks the HTTP contract; the database behaviour is covered on both databases by the
other conformance tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.open311.conformance import Deployment, create_key, deployment

# Enough examples per operation to reach every parameter's edge cases, few enough for CI.
MAX_EXAMPLES = 40


@pytest.fixture
def running_api(tmp_path: Path, sqlite_database_url: str) -> Iterator[Deployment]:
    with deployment(tmp_path / "data", sqlite_database_url) as api:
        yield api


@pytest.fixture
def api_schema(running_api: Deployment) -> Any:
    return schemathesis.openapi.from_url(running_api.root + "/openapi.json")


@pytest.fixture
def api_key(running_api: Deployment) -> str:
    return create_key(running_api, "schemathesis")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_openapi_description(case: Any, api_key: str) -> None:
    # Generated keys are random strings that only ever reach the 403; a real key lets the generated
    # forms reach validation and storage. (schemathesis re-checks a modified case against the schema,
    # so a negative case this turns valid is judged as valid.)
    if case.method == "POST" and isinstance(case.body, dict) and "api_key" in case.body:
        case.body["api_key"] = api_key
    case.call_and_validate()
