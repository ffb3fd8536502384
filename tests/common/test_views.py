import json

import pytest
from django.test import Client


@pytest.mark.django_db
def test_post_to_unknown_api_path_is_a_json_404_even_with_a_session(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post("/api/nope", data={})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/api/trusted-applications/", "/id/connect/token", "/connector/x"]
)
def test_csrf_refusal_on_machine_paths_is_json(rf, path):
    from trustregistry.common.views import csrf_failure

    response = csrf_failure(rf.post(path), reason="CSRF cookie not set.")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"] == "csrf_failed"


@pytest.mark.django_db
def test_csrf_refusal_on_pages_stays_html(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post("/admin/logout/", data={})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/id/connect/authorize", "/id/connect/endsession"])
def test_csrf_refusal_of_the_consent_and_logout_forms_is_a_page(rf, path):
    # A person's browser posted these forms (an expired token): not the machines' JSON.
    from trustregistry.common.views import csrf_failure

    response = csrf_failure(rf.post(path), reason="CSRF token missing.")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_root_sends_the_administrator_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, machine",
    [
        ("/id/connect/token", True),
        ("/id/connect/introspect", True),
        ("/api/me", True),
        ("/id/account/login", False),  # a person's page: Django's own error page
    ],
)
def test_an_unexpected_error_answers_machine_clients_in_json(monkeypatch, caplog, path, machine):
    from django.test import Client

    from trustregistry.common import throttle

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail of the bug")

    monkeypatch.setattr(throttle.FailureThrottle, "check", broken)
    client = Client(raise_request_exception=False)
    response = client.post(
        path,
        {"grant_type": "client_credentials", "token": "x", "username": "u", "password": "p"},
        HTTP_AUTHORIZATION="Basic dTpw",  # u:p, so /api/me reaches its Basic throttle
    )
    assert response.status_code == 500
    assert "secret detail" not in response.content.decode()
    if machine:
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"] == "server_error"
    else:
        assert response["Content-Type"].startswith("text/html")
    assert any(r.exc_info for r in caplog.records)  # the bug is logged, with its traceback


@pytest.mark.django_db
@pytest.mark.parametrize("script_name", ["/auth", ""])
def test_an_unexpected_error_is_json_under_a_script_prefix_too(monkeypatch, script_name):
    # Served under a prefix (issuer https://host/auth/id, the proxy setting SCRIPT_NAME), the
    # token endpoint is still a machine endpoint.
    from trustregistry.common import throttle

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail of the bug")

    monkeypatch.setattr(throttle.FailureThrottle, "check", broken)
    response = Client(raise_request_exception=False).post(
        "/id/connect/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic dTpw",
        SCRIPT_NAME=script_name,
    )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "server_error"


def test_csrf_refusal_under_a_script_prefix_is_json(rf):
    from trustregistry.common.views import csrf_failure

    request = rf.post("/id/connect/token", SCRIPT_NAME="/auth")
    assert request.path == "/auth/id/connect/token"
    response = csrf_failure(request, reason="CSRF cookie not set.")
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/id/.well-known/openid-configuration", "/id/.well-known/openid-configuration/jwks"]
)
def test_an_unexpected_error_in_discovery_or_the_jwks_is_json(monkeypatch, path):
    # OIDC clients and connectors read these: a bug answers them as the other machine endpoints.
    from trustregistry.oauth.views import endpoints

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail of the bug")

    monkeypatch.setattr(endpoints.DiscoveryView, "get", broken)
    monkeypatch.setattr(endpoints.JwksView, "get", broken)
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "secret detail" not in response.content.decode()
    assert response["Access-Control-Allow-Origin"] == "*"  # readable by a browser client


@pytest.mark.django_db
def test_an_unexpected_error_in_userinfo_is_readable_by_a_browser_client(monkeypatch):
    from trustregistry.oauth.views import endpoints

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail of the bug")

    monkeypatch.setattr(endpoints.RegistryUserInfoView, "_create_userinfo_response", broken)
    response = Client(raise_request_exception=False).get(
        "/id/connect/userinfo", HTTP_AUTHORIZATION="Bearer x"
    )
    assert response.status_code == 500 and response.json()["error"] == "server_error"
    assert response["Access-Control-Allow-Origin"] == "*"
    token = Client(raise_request_exception=False).post(
        "/id/connect/token", {"grant_type": "client_credentials"}
    )
    assert "Access-Control-Allow-Origin" not in token  # the token endpoint allows no CORS


@pytest.mark.parametrize(
    ("method", "path", "machine"),
    [("get", "/api/me", True), ("post", "/id/connect/token", True),
     ("get", "/id/.well-known/openid-configuration", True),
     ("post", "/connector/authenticate", True),
     ("get", "/id/account/login", False), ("get", "/id/connect/authorize", False)],
)  # fmt: skip
def test_a_host_not_allowed_is_refused_in_json_at_the_machine_endpoints(db, method, path, machine):
    # Django refuses it before any view, with its HTML "Bad Request (400)" page: SPEC section 6
    # wants JSON, never an HTML page, for machine clients.
    client = Client(raise_request_exception=False)
    response = getattr(client, method)(path, HTTP_HOST="evil.example")
    assert response.status_code == 400
    if machine:
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"] == "invalid_request"
        assert "Host" in response.json()["message"]
    else:
        assert response["Content-Type"].startswith("text/html")
    if path.startswith("/id/.well-known/"):
        assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("path", "machine"),
    [("/id/connect/tokens", True), ("/id/.well-known/jwks.json", True),
     ("/connector/nope", True), ("/id/nope", False), ("/nope", False)],
)  # fmt: skip
def test_a_path_naming_no_endpoint(db, path, machine):
    response = Client().get(path)
    assert response.status_code == 404
    if machine:
        assert response.json() == {
            "error": "not_found",
            "error_description": f"There is no endpoint at {path}.",
            "message": f"There is no endpoint at {path}.",
        }
    else:
        assert response["Content-Type"].startswith("text/html")
