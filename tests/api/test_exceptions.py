"""One JSON error shape for the API, unknown paths, database outage."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError, connection
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from tests import factories
from trustregistry.common.exceptions import TooManyFailures

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ unknown paths


@pytest.mark.parametrize(
    "path",
    ["/api/nothing-here", "/api/v2/trusted-applications/", "/api/", "/api/me/extra", "/api/%00"],
)
def test_unknown_api_path_is_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_found"
    assert "message" in response.json()


def test_unknown_api_path_404_for_every_method(client):
    response = client.post("/api/nothing-here", "{}", content_type="application/json")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_missing_trailing_slash_says_where_the_endpoint_is(client):
    response = client.get("/api/trusted-applications")
    assert response.status_code == 404
    assert "/api/trusted-applications/" in response.json()["message"]


def test_method_not_allowed_is_json(admin_client):
    response = admin_client.delete("/api/me")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


# ------------------------------------------------------------------ database outage


def _refuse(exc):  # type: ignore[no-untyped-def]
    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        raise exc

    return wrapper


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("could not connect to server: Connection refused"),
        InterfaceError("connection already closed"),
    ],
)
def test_database_outage_on_bearer_check_is_503_json(client, bearer, error):
    app = factories.TrustedApplicationFactory()
    header = bearer(app, factories.UserFactory(), "")
    with connection.execute_wrapper(_refuse(error)):
        response = client.get("/api/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Retry-After"]
    assert "Traceback" not in response.content.decode()


def test_database_outage_is_one_log_line_per_api_request(client, bearer, captured_request_logs):
    # The API's handler logged "database unavailable: OperationalError" and django.request
    # "Service Unavailable: /api/me": two lines for every request of an outage.
    header = bearer(factories.TrustedApplicationFactory(), factories.UserFactory(), "")
    with connection.execute_wrapper(_refuse(OperationalError("connection failed: refused"))):
        assert client.get("/api/me", HTTP_AUTHORIZATION=header).status_code == 503
    assert captured_request_logs.getvalue().splitlines() == [
        "database unavailable: GET /api/me (OperationalError: connection failed: refused)"
    ]


def test_database_outage_on_basic_check_is_503_json(client):
    from tests.api.conftest import basic_header

    with connection.execute_wrapper(
        _refuse(OperationalError("server closed the connection unexpectedly"))
    ):
        response = client.get(
            "/api/trusted-applications/",
            HTTP_AUTHORIZATION=basic_header("ivan", "pw"),
            HTTP_X_APPLICATION_URI="legacy.example.com/erp",
        )
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_database_outage_inside_a_view_is_503_json(admin_client):
    admin_client.get("/api/me")  # authenticate once, so the failure hits the view's own query
    calls = {"n": 0}

    def fail_late(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if "registry_trustedapplication" in sql and calls["n"] > 1:
            raise OperationalError("terminating connection due to administrator command")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_late):
        response = admin_client.get("/api/trusted-applications/")
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


# ------------------------------------------------------------------ the handler itself


def _view(exc: Exception):  # type: ignore[no-untyped-def]
    class Raising(APIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]

        def get(self, request):  # type: ignore[no-untyped-def]
            raise exc

    return Raising.as_view()(APIRequestFactory().get("/x"))


def test_domain_error_keeps_its_code_and_status():
    response = _view(TooManyFailures(42))
    assert response.status_code == 429
    assert response.data == {"error": "too_many_requests", "message": TooManyFailures.message}
    assert response["Retry-After"] == "42"


def test_drf_throttled_gets_retry_after():
    response = _view(exceptions.Throttled(wait=7))
    assert response.status_code == 429
    assert response.data["error"] == "too_many_requests"
    assert response["Retry-After"] == "7"


def test_django_validation_error_names_its_fields():
    response = _view(DjangoValidationError({"scope": ["Unknown scope: x."]}))
    assert response.status_code == 400
    assert response.data["fields"] == {"scope": ["Unknown scope: x."]}
    assert "Unknown scope" in response.data["message"]


def test_drf_validation_error_without_fields():
    response = _view(exceptions.ValidationError(["Nope."]))
    assert response.status_code == 400
    assert response.data == {"error": "invalid_request", "message": "Nope."}


def test_unexpected_error_is_json_500_without_details(caplog):
    response = _view(RuntimeError("secret internals"))
    assert response.status_code == 500
    assert response.data == {"error": "server_error", "message": "An unexpected error occurred."}
    assert "secret internals" not in str(response.data)
    assert any("unexpected error" in r.getMessage() for r in caplog.records)


def test_authentication_failed_always_carries_a_challenge():
    response = _view(exceptions.AuthenticationFailed("no"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_plain_response_is_untouched():
    class Fine(APIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]

        def get(self, request):  # type: ignore[no-untyped-def]
            return Response({"ok": True})

    assert Fine.as_view()(APIRequestFactory().get("/x")).data == {"ok": True}


def test_a_body_over_the_upload_limit_is_413_json(admin_client):
    body = '{"url": "app://x.example.com/a", "context": "' + "a" * 3_000_000 + '"}'
    for path in ("/api/connectors/resolve", "/api/trusted-applications/"):
        response = admin_client.post(path, body, content_type="application/json")
        assert response.status_code == 413, path
        assert response.json()["error"] == "request_too_large"


def test_a_path_cannot_rewrite_the_outage_line(client, bearer, captured_request_logs):
    # `<path:uri>` matches a carriage return, and checking a bearer token reads the database.
    header = bearer(factories.TrustedApplicationFactory(), factories.UserFactory(), "")
    with connection.execute_wrapper(_refuse(OperationalError("connection failed: refused"))):
        response = client.get(
            "/api/trusted-applications/a%0Ddatabase%20unavailable:%20forged/",
            HTTP_AUTHORIZATION=header,
        )
    assert response.status_code == 503
    [line] = captured_request_logs.getvalue().splitlines()
    assert line.startswith("database unavailable: GET /api/trusted-applications/a\\rdatabase")
