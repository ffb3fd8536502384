"""Every operation of the published OpenAPI schema, fed input generated from the schema by
schemathesis (valid and invalid alike, including NUL characters, surrogates and odd
encodings), over real HTTP to the live server on 127.0.0.1, as a staff user with `sec` and
`update`: no answer is a server error. Bounded and derandomized, so a run is repeatable."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests import factories
from trustregistry.oauth.access_tokens import issue_access_token


def _schema():  # type: ignore[no-untyped-def]
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    # Lazy translation strings and the like become plain JSON, as /api/schema/ serves them.
    return schemathesis.openapi.from_dict(json.loads(json.dumps(document, default=str)))


SCHEMA = _schema()
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}


@pytest.fixture
def staff_bearer(transactional_db):  # type: ignore[no-untyped-def]
    app = factories.TrustedApplicationFactory(
        client_id="fuzz.example.com/console", scope="sec update"
    )
    factories.TrustedApplicationFactory(client_id="fuzz.example.com/existing", scope="update")
    user = factories.StaffUserFactory(username="fuzz-admin")
    raw, _row = issue_access_token(application=app, user=user, scope="sec update")
    return f"Bearer {raw}"


def test_the_schema_has_every_api_operation():
    assert len(OPERATIONS) >= 9
    assert "POST /api/trusted-applications/" in OPERATIONS
    assert "POST /api/connectors/resolve" in OPERATIONS


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_generated_request_gets_a_server_error(label, live_server, staff_bearer):  # type: ignore[no-untyped-def]
    @given(case=OPERATIONS[label].as_strategy())
    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def one(case):  # type: ignore[no-untyped-def]
        case.call_and_validate(
            base_url=live_server.url,
            headers={"Authorization": staff_bearer},
            checks=[not_a_server_error],
            timeout=30,
        )

    one()
