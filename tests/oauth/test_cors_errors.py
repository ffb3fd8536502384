"""CORS on the token and revocation endpoints' errors answered outside the grant's own code
(oauth/cors.py): a refusal of the parameters, an unexpected error, a database outage. A
browser app reads them from an origin its record allows, as every other answer; nobody else
does."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, OperationalError, connection
from django.test import Client

from tests import factories
from tests.oauth.conftest import SECRET, basic, cc

pytestmark = pytest.mark.django_db

SPA = "https://spa.example.com"
CLIENT_ID = "spa.example.com/app"
ENDPOINTS = ["/id/connect/token", "/id/connect/revocation"]
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def spa_app(db):  # type: ignore[no-untyped-def]
    return factories.PublicApplicationFactory(
        client_id=CLIENT_ID,
        login_urls=[f"{SPA}/callback", "http://127.0.0.1/callback"],
        impersonate_internal_allowed=True,
    )


def _with_nul(client, path, origin=SPA, client_id=CLIENT_ID, **headers):  # type: ignore[no-untyped-def]
    body = f"grant_type=refresh_token&client_id={client_id}&refresh_token=a%00b&token=a%00b"
    return client.post(path, body, content_type=FORM, HTTP_ORIGIN=origin, **headers)


def _vary(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [name.strip() for name in response.get("Vary", "").split(",")]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_refused_nul_character_is_readable_by_the_browser_app(client, spa_app, path):
    # It was answered before the CORS headers were added: "Failed to fetch" in the app.
    response = _with_nul(client, path)
    assert response.status_code == 400
    assert response.json()["error_description"] == "Parameters may not contain NUL characters."
    assert response["Access-Control-Allow-Origin"] == SPA
    assert response["Access-Control-Expose-Headers"] == "Retry-After"
    assert "Origin" in _vary(response)
    assert "Access-Control-Allow-Credentials" not in response
    # A loopback http login URL: its origin at any port, as for every other answer.
    loopback = _with_nul(client, path, origin="http://127.0.0.1:5173")
    assert loopback["Access-Control-Allow-Origin"] == "http://127.0.0.1:5173"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_refused_nul_character_follows_the_records_rules(client, spa_app, path):
    for origin in ("https://evil.example", "http://spa.example.com", "null"):
        response = _with_nul(client, path, origin=origin)
        assert response.status_code == 400
        assert "Access-Control-Allow-Origin" not in response, origin
    # The NUL in the client id itself: no record has it.
    assert "Access-Control-Allow-Origin" not in _with_nul(client, path, client_id=CLIENT_ID + "%00")
    # A confidential client (its secret in the header): a server, never a browser.
    confidential = factories.TrustedApplicationFactory(
        client_id="erp.example.com/app", secret=SECRET, login_urls=[f"{SPA}/callback"]
    )
    with_secret = _with_nul(
        client,
        path,
        client_id=confidential.client_id,
        HTTP_AUTHORIZATION=basic(confidential.client_id, SECRET),
    )
    assert with_secret.status_code == 400
    assert "Access-Control-Allow-Origin" not in with_secret
    spa_app.is_enabled = False
    spa_app.save()
    assert "Access-Control-Allow-Origin" not in _with_nul(client, path)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (f"client_id={CLIENT_ID}&x=" + "a" * 2_700_000, FORM, 413),  # over 2.5 MB
        (f"client_id={CLIENT_ID}&" + "&".join(f"f{i}=1" for i in range(1100)), FORM, 400),
        (f"client_id={CLIENT_ID}", f"{FORM}; charset=latin-1", 400),
        ("--x\r\n", "multipart/form-data", 400),  # no boundary
    ],
)
def test_a_body_that_cannot_be_read_names_no_record_and_gets_no_cors(
    client, spa_app, django_assert_num_queries, path, body, content_type, status
):
    """No client id, no record to decide by: no CORS, and no reading of every public record
    to guess (README, oauth/cors.py)."""
    with django_assert_num_queries(0):
        response = client.post(path, body, content_type=content_type, HTTP_ORIGIN=SPA)
    assert response.status_code == status
    assert response.json()["error"] == "invalid_request"
    assert "Access-Control-Allow-Origin" not in response


def _a_bug(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise RuntimeError("secret detail of the bug")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_unexpected_error_is_readable_by_the_browser_app(monkeypatch, spa_app, path):
    from trustregistry.common import throttle

    monkeypatch.setattr(throttle.FailureThrottle, "check", _a_bug)
    client = Client(raise_request_exception=False)
    data = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": "x"}
    response = client.post(path, {**data, "token": "x"}, HTTP_ORIGIN=SPA)
    assert response.status_code == 500 and response.json()["error"] == "server_error"
    assert "secret detail" not in response.content.decode()
    assert response["Access-Control-Allow-Origin"] == SPA
    other = client.post(path, {**data, "token": "x"}, HTTP_ORIGIN="https://evil.example")
    assert other.status_code == 500 and "Access-Control-Allow-Origin" not in other


def test_an_unexpected_error_whose_cors_cannot_be_decided_stays_a_500(monkeypatch, spa_app):
    from trustregistry.common import throttle
    from trustregistry.registry import selectors

    def database_error(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("no such table")

    monkeypatch.setattr(throttle.FailureThrottle, "check", _a_bug)
    monkeypatch.setattr(selectors, "application_for_client", database_error)
    response = Client(raise_request_exception=False).post(
        "/id/connect/token",
        {"grant_type": "refresh_token", "client_id": CLIENT_ID},
        HTTP_ORIGIN=SPA,
    )
    assert response.status_code == 500 and response.json()["error"] == "server_error"
    assert "Access-Control-Allow-Origin" not in response


def _database_down(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
    raise OperationalError("could not connect to server: Connection refused")


@pytest.mark.parametrize(
    "path", ["/id/connect/userinfo", "/id/.well-known/openid-configuration/jwks"]
)
def test_an_outage_at_the_endpoints_every_origin_reads_is_readable(client, service_app, path):
    # As their answers and their 500s: the app can tell "try again" from a network failure.
    token = cc(client, service_app).json()["access_token"]
    with connection.execute_wrapper(_database_down):
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ORIGIN=SPA)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_outage_at_the_token_endpoints_gets_no_cors(client, spa_app, path):
    """Deciding needs the record, in the database that is down; another try at reading it
    would cost each refused request a second connection timeout (README)."""
    data = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": "x"}
    with connection.execute_wrapper(_database_down):
        response = client.post(path, {**data, "token": "x"}, HTTP_ORIGIN=SPA)
    assert response.status_code == 503
    assert "Access-Control-Allow-Origin" not in response
