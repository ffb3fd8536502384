"""Every operation of the published OpenAPI schema, fed input generated from the schema by
schemathesis (valid and invalid alike, including NUL characters, surrogates and odd
encodings), over real HTTP to the live server on 127.0.0.1, as a staff user with `sec` and
`update`: no answer is a server error, and every answer is one the schema documents (its
status code, content type, headers and body), since outside clients generate code from it.
Half the cases address an existing record, so the success answers are checked too. Bounded
and derandomized, so a run is repeatable.

Every operation also refuses a caller without valid credentials with a documented 401: what
schemathesis's ignored_auth is for, which, with the token passed as a header as here, let an
operation made to answer 200 without credentials pass.

Not run: positive_data_acceptance and negative_data_rejection, because the record's rules
that JSON Schema cannot state (a system user that exists, an expiry in the future, a key that
parses, https URLs) make some schema-valid bodies 400s; use_after_free and
ensure_resource_availability, because DELETE disables a record and never deletes it (SPEC
section 2), so the record stays readable; allow_header_conformance and unsupported_method,
because a path ending in /secrets/ is also the detail path of a record whose URI ends in
/secrets (tests/api/test_views.py)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NOT_SET

from tests import factories
from tests.api.conftest import basic_header
from trustregistry.oauth.access_tokens import issue_access_token

EXISTING = "fuzz.example.com/existing"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


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
    factories.TrustedApplicationFactory(client_id=EXISTING, scope="update", secret="s3cret")
    user = factories.StaffUserFactory(username="fuzz-admin")
    raw, _row = issue_access_token(application=app, user=user, scope="sec update")
    return f"Bearer {raw}"


def _on_existing_record(case):  # type: ignore[no-untyped-def]
    case.path_parameters = {**(case.path_parameters or {}), "uri": EXISTING}
    return case


def _cases(label: str):  # type: ignore[no-untyped-def]
    generated = OPERATIONS[label].as_strategy()
    if "{uri}" not in label:
        return generated
    return st.one_of(generated, generated.map(_on_existing_record))


def test_the_schema_has_every_api_operation():
    assert len(OPERATIONS) >= 9
    assert "POST /api/trusted-applications/" in OPERATIONS
    assert "POST /api/connectors/resolve" in OPERATIONS


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_generated_request_gets_a_documented_answer(label, live_server, staff_bearer):  # type: ignore[no-untyped-def]
    @given(case=_cases(label))
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
            checks=CHECKS,
            timeout=30,
        )

    one()


def test_every_operation_refuses_a_caller_without_valid_credentials(live_server, staff_bearer):  # type: ignore[no-untyped-def]
    # One test, not one per operation: on PostgreSQL each live-server test costs a flush.
    for label, operation in sorted(OPERATIONS.items()):
        for authorization in (None, "Bearer not-a-token", basic_header("fuzz-admin", "wrong")):
            case = operation.Case(
                path_parameters={"uri": EXISTING} if "{uri}" in label else None,
                body={} if operation.body else NOT_SET,
                media_type="application/json" if operation.body else None,
            )
            response = case.call_and_validate(
                base_url=live_server.url,
                headers={"Authorization": authorization} if authorization else None,
                checks=CHECKS,
                timeout=30,
            )
            assert response.status_code == 401, (label, authorization, response.text)
