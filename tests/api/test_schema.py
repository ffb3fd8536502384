"""GET /api/schema/: the OpenAPI 3 document of the API."""

from __future__ import annotations

import json
import re

import pytest
import yaml

pytestmark = pytest.mark.django_db


def _paths(document: dict) -> set[str]:
    return set(document["paths"])


def test_schema_is_served_without_credentials_and_parses_as_openapi(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Trust registry API"
    assert {
        "/api/me",
        "/api/trusted-applications/",
        "/api/trusted-applications/{uri}/",
        "/api/trusted-applications/{uri}/secrets/",
    } <= _paths(document)


def test_schema_as_json_describes_methods_auth_and_bodies(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    document = json.loads(response.content)
    paths = document["paths"]
    assert set(paths["/api/trusted-applications/"]) >= {"get", "post"}
    assert set(paths["/api/trusted-applications/{uri}/"]) >= {"get", "put", "patch", "delete"}
    # The secrets path documents only the generation; the other methods belong to the detail path.
    assert set(paths["/api/trusted-applications/{uri}/secrets/"]) == {"post"}
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["basicAuth"]["scheme"] == "basic"
    me = document["components"]["schemas"]["Me"]["properties"]
    assert set(me) == {"username", "kind", "application_uri", "scopes", "auth"}
    record = document["components"]["schemas"]["TrustedApplication"]["properties"]
    assert "secret_hashes" not in record  # write-only: only in the request schema
    assert (
        "secret_hashes"
        in document["components"]["schemas"]["TrustedApplicationRequest"]["properties"]
    )
    secret = document["components"]["schemas"]["GeneratedSecret"]["properties"]
    assert set(secret) == {"id", "secret", "expires"}
    assert "/api/schema/" not in paths


@pytest.mark.parametrize(
    ("method", "query", "headers", "status"),
    [("get", "?format=bogus", {}, 404), ("post", "", {}, 405),
     ("get", "", {"HTTP_ACCEPT": "text/html"}, 406)],
)  # fmt: skip
def test_schema_errors_are_the_apis_json(client, db, method, query, headers, status):
    response = getattr(client, method)(f"/api/schema/{query}", **headers)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error", "message"}


# ------------------------------------------------------------------ what the errors look like


def _document(client) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(document: dict):  # type: ignore[no-untyped-def]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield f"{method.upper()} {path}", method, operation


def _error_codes(document: dict) -> list[str]:
    error = document["components"]["schemas"]["Error"]["properties"]["error"]
    ref = error.get("$ref") or error["allOf"][0]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]["enum"]


def test_every_operation_documents_the_errors_it_can_answer(client):
    document = _document(client)
    for label, method, operation in _operations(document):
        responses = operation["responses"]
        expected = {"400", "401", "404", "406", "429", "500", "503"}
        if method in {"post", "put", "patch"}:
            expected |= {"413", "415"}  # a body too large, or not JSON
        if label != "GET /api/me":  # every other operation needs a scope or a permission
            expected.add("403")
        assert expected <= set(responses), label
        for status, response in responses.items():
            if status >= "400":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (label, status)
    assert "409" in document["paths"]["/api/trusted-applications/"]["post"]["responses"]
    assert "409" not in document["paths"]["/api/trusted-applications/{uri}/"]["put"]["responses"]
    assert "403" not in document["paths"]["/api/me"]["get"]["responses"]


def test_connector_resolution_documents_its_refusals(client):
    responses = _document(client)["paths"]["/api/connectors/resolve"]["post"]["responses"]
    assert {"400", "401", "403", "404", "413", "415", "429", "502", "503", "504"} <= set(responses)
    # SPEC section 7's codes, each under the status it is answered with.
    assert "`application_disabled`" in responses["403"]["description"]
    assert "`insufficient_scope`" in responses["403"]["description"]
    assert "`unknown_application`" in responses["404"]["description"]
    assert "`handshake_failed`" in responses["502"]["description"]
    assert "`connector_unreachable`" in responses["504"]["description"]


def test_error_codes_are_the_fixed_list_the_api_answers(client):
    from trustregistry.aas import errors as resolve_errors
    from trustregistry.api import exceptions as api_exceptions
    from trustregistry.api.authentication import BasicRefusal

    codes = set(_error_codes(_document(client)))
    answered = set(api_exceptions._CODES.values()) | {
        value for name, value in vars(BasicRefusal).items() if name.isupper()
    }
    answered |= {
        cls.code
        for cls in vars(resolve_errors).values()
        if isinstance(cls, type)
        and issubclass(cls, resolve_errors.ResolveError)
        and cls is not resolve_errors.ResolveError
    }
    answered |= {"invalid_token", "insufficient_scope", "already_exists", "request_too_large"}
    answered |= {"temporarily_unavailable", "server_error"}
    from trustregistry.api.conditional import PreconditionFailed

    answered.add(PreconditionFailed.code)
    assert codes == answered


def test_every_challenge_and_retry_after_is_documented(client):
    for label, _method, operation in _operations(_document(client)):
        responses = operation["responses"]
        # SPEC section 6: every 401 carries WWW-Authenticate.
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True, label
        # A malformed bearer header (400) and a missing scope (403) carry one for bearer only.
        assert "WWW-Authenticate" in responses["400"]["headers"], label
        for status in ("429", "503"):
            retry_after = responses[status]["headers"]["Retry-After"]
            assert retry_after["required"] is True, label
            assert retry_after["schema"]["type"] == "integer", label


def test_the_headers_of_successful_answers_are_documented(client):
    paths = _document(client)["paths"]
    created = paths["/api/trusted-applications/"]["post"]["responses"]["201"]["headers"]
    assert created["Location"]["required"] is True
    # A secret shown once, and a connector URL only the handshake may reveal: never cached.
    for response in (
        paths["/api/trusted-applications/{uri}/secrets/"]["post"]["responses"]["201"],
        paths["/api/connectors/resolve"]["post"]["responses"]["200"],
    ):
        cache_control = response["headers"]["Cache-Control"]
        assert cache_control["required"] is True
        assert cache_control["schema"]["enum"] == ["no-store"]


def test_a_basic_caller_can_name_its_application_on_every_operation(client):
    # SPEC section 5: the header a generated client needs to send Basic as an application.
    for label, _method, operation in _operations(_document(client)):
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        sent = {(p["name"], p.get("required", False)) for p in headers}
        assert ("X-Application-Uri", False) in sent, label
        # Besides, only the optional preconditions of a record's operations.
        assert sent - {("X-Application-Uri", False)} <= {
            ("If-Match", False),
            ("If-None-Match", False),
        }, label


# ------------------------------------------------------------------ what the bodies look like


def _matches(schema: dict, value: str) -> bool:
    # As a JSON Schema validator reads the pattern (ECMA-262: `$` is the end of the text only).
    pattern = schema["pattern"].replace("$", r"\Z")
    return re.search(pattern, value) is not None and len(value) <= schema.get("maxLength", 10**6)


def test_a_record_answered_has_every_field(client):
    record = _document(client)["components"]["schemas"]["TrustedApplication"]
    assert set(record["required"]) == set(record["properties"])
    assert record["properties"]["public_keys"]["items"]["type"] == "object"  # JWKs


SCOPES = [("", True), ("sec update", True), ("a  b", False), (" a", False), ("a\tb", False),
          ('a"b', False), ("a\\b", False), ("a\n", False)]  # fmt: skip
CONNECTOR_URLS = [("", True), ("https://connector.example.com/hook", True),
                  ("http://127.0.0.1:9000/hook", True), ("ftp://example.com/", False),
                  ("connector.example.com", False), ("https://a b.example.com", False)]  # fmt: skip


@pytest.mark.parametrize("name", ["TrustedApplicationRequest", "PatchedTrustedApplicationRequest"])
def test_a_record_sent_is_described_by_the_rules_json_schema_can_state(client, name):
    from trustregistry.registry import validators

    record = _document(client)["components"]["schemas"][name]
    assert record["additionalProperties"] is False  # an unknown field is a 400
    properties = record["properties"]
    assert "client_type" not in record.get("required", [])  # it defaults to confidential
    names = properties["names"]
    assert names["required"] == ["en"] and names["additionalProperties"] is False
    assert set(names["properties"]) == {"en", "bg"}
    for value, valid in [
        ("mywebsite.com/myapp1", True),
        ("urn:a~b_c-d", True),
        ("x" * 200, True),
        ("x" * 201, False),
        ("my app", False),
        ("app\n", False),
        ("приложение", False),
        ("", False),
    ]:
        assert _matches(properties["application_uri"], value) is valid, value
        assert bool(validators.APPLICATION_URI_RE.match(value)) is valid, value
    for value, valid in SCOPES:
        assert _matches(properties["scope"], value) is valid, value
    for value, valid in CONNECTOR_URLS:
        assert _matches(properties["connector_url"], value) is valid, value
    assert _matches(properties["system_user_login_url"], "ftps://example.com/")
    secret_hash = properties["secret_hashes"]["items"]
    assert _matches(secret_hash, "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")
    assert _matches(secret_hash, "9f" * 32)
    assert not _matches(secret_hash, "secret")
    assert properties["public_keys"]["items"] == {"oneOf": [{"type": "object"}, {"type": "string"}]}


def test_a_resolution_request_states_its_url_forms(client):
    request = _document(client)["components"]["schemas"]["ResolveConnectorRequestRequest"]
    url, context = request["properties"]["url"], request["properties"]["context"]
    assert _matches(url, "app://mywebsite.com/myapp1")
    assert _matches(url, "HTTPS://connector.example.com/hook")  # returned unchanged
    assert not _matches(url, "http://connector.example.com/hook")
    assert not _matches(url, "mywebsite.com/myapp1")
    assert url["maxLength"] == 2000 and context["maxLength"] == 200


# SPEC section 6, as written there: outside clients generate code from these names.
SPEC_RECORD_FIELDS = {
    "application_uri", "names", "client_type", "secret_hashes", "secrets", "basic_auth_allowed",
    "impersonate_internal_allowed", "impersonate_community_allowed", "login_urls", "logout_urls",
    "is_enabled", "scope", "system_user", "system_user_allowed", "system_user_login_url",
    "connector_url", "public_keys", "source",
}  # fmt: skip


def test_the_names_of_spec_section_6_are_the_schemas(client):
    schemas = _document(client)["components"]["schemas"]

    def properties(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    assert properties("TrustedApplication") == SPEC_RECORD_FIELDS - {"secret_hashes"}
    for request in ("TrustedApplicationRequest", "PatchedTrustedApplicationRequest"):
        # The read-only ones too: sent back, they are ignored (a record read can be sent).
        assert properties(request) == SPEC_RECORD_FIELDS
    assert properties("SecretInfo") == {"id", "created", "expires", "last_used"}
    assert properties("ResolveConnectorRequestRequest") == {"url", "context"}
    assert properties("ResolveConnectorResponse") == {"url"}
    assert schemas["ClientTypeEnum"]["enum"] == ["confidential", "public"]
    assert schemas["SourceEnum"]["enum"] == ["manual", "marketplace"]
    assert schemas["AuthEnum"]["enum"] == ["bearer", "basic"]
    assert set(schemas["KindEnum"]["enum"]) == {"internal", "community", "system"}


def test_a_record_read_back_can_be_sent_unchanged_under_the_request_schema(admin_client):
    """A client reads a record, changes a field and sends it back: the API accepts the whole
    body (`secrets` and `source` are answered and ignored when sent), so the request schema,
    which refuses unknown properties, must list them too; else a client that validates its
    bodies refuses to send what it just read."""
    document = json.loads(admin_client.get("/api/schema/?format=json").content)
    request = document["components"]["schemas"]["TrustedApplicationRequest"]
    assert request["additionalProperties"] is False
    uri = admin_client.app.client_id
    made = admin_client.post(f"/api/trusted-applications/{uri}/secrets/", {}, "application/json")
    assert made.status_code == 201, made.content
    body = json.loads(admin_client.get(f"/api/trusted-applications/{uri}/").content)
    assert body["secrets"] and body["source"]
    assert set(body) <= set(request["properties"])
    sent = admin_client.put(
        f"/api/trusted-applications/{uri}/", json.dumps(body), content_type="application/json"
    )
    assert sent.status_code == 200, sent.content
    assert json.loads(sent.content)["secrets"] == body["secrets"]


def test_the_documented_406_is_what_an_operation_answers(client, db):
    """Documented on every operation: an Accept without JSON is refused as the API's JSON."""
    document = _document(client)
    assert (
        "`not_acceptable`" in document["paths"]["/api/me"]["get"]["responses"]["406"]["description"]
    )
    response = client.get("/api/me", HTTP_ACCEPT="text/html")
    assert response.status_code == 406 and response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_acceptable"
