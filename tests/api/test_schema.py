"""GET /api/schema/: the OpenAPI 3 document of the API."""

from __future__ import annotations

import json

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
