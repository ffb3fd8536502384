"""Routes of the API: the connector helper's resolve view goes through the API's defaults."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

RESOLVE = "/api/connectors/resolve"


def _resolve(client, header=None, body=None):  # type: ignore[no-untyped-def]
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    return client.post(
        RESOLVE,
        body or {"url": "https://connector.example.com/hook", "context": "Cust1"},
        content_type="application/json",
        **extra,
    )


def test_resolve_needs_credentials(client):
    response = _resolve(client)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_resolve_with_sec_alone_answers_a_legacy_url_unchanged(client, bearer):
    app = factories.ServiceApplicationFactory(scope="sec")
    response = _resolve(client, bearer(app, app.system_user, "sec"))
    assert response.status_code == 200, response.content
    assert response.json() == {"url": "https://connector.example.com/hook"}


def test_resolve_without_sec_is_insufficient_scope(client, bearer):
    app = factories.ServiceApplicationFactory(scope="update")
    response = _resolve(client, bearer(app, app.system_user, "update"))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'scope="sec"' in response["WWW-Authenticate"]


def test_resolve_unknown_application_is_json_error(client, bearer):
    app = factories.ServiceApplicationFactory(scope="sec")
    response = _resolve(
        client,
        bearer(app, app.system_user, "sec"),
        {"url": "app://nowhere.example.com/x", "context": "Cust1"},
    )
    assert response.status_code in (400, 404)
    assert response.json()["error"] == "unknown_application"
    assert "message" in response.json()


def test_resolve_is_in_the_schema(client):
    import yaml

    document = yaml.safe_load(client.get("/api/schema/").content)
    assert "post" in document["paths"]["/api/connectors/resolve"]


@pytest.mark.parametrize("path", ["/api/%0A", "/api/me%0A", "/api/trusted-applications/%0A/"])
def test_paths_with_a_newline_are_json_404_too(client, db, path):
    response = client.get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_found"
