"""A database outage at a person's page answers a short translated page; the machine
endpoints keep their 503 JSON (SPEC section 9)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, DataError, IntegrityError, OperationalError, connection
from django.test import Client, RequestFactory

from tests import factories
from tests.factories import DEFAULT_PASSWORD
from tests.oauth.conftest import SECRET, basic
from trustregistry.common.db import is_outage

pytestmark = pytest.mark.django_db

ENGLISH = "The trust registry is temporarily unavailable"
BULGARIAN = "Регистърът на доверените приложения е временно недостъпен"
# What Chromium sends when a person opens or submits a page.
NAVIGATION = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
TODAYS_JSON = {
    "error": "temporarily_unavailable",
    "error_description": "The database is unavailable. Try again shortly.",
    "message": "The database is unavailable. Try again shortly.",
}
# Words of the database error that must never reach a page.
ERROR_TEXT = ("Traceback", "OperationalError", "could not connect", "Connection refused")


def _database_down(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
    raise OperationalError("could not connect to server: Connection refused")


def _vary(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [name.strip() for name in response["Vary"].split(",")]


@pytest.fixture
def signed_in(staff_user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(staff_user)
    return client


SIGN_IN = {"username": "ivan", "password": DEFAULT_PASSWORD}
AUTHORIZE = {
    "response_type": "code",
    "client_id": "app.example.com/erp",
    "redirect_uri": "https://app.example.com/callback",
    "state": "s",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
}
SIGN_UP = {
    "username": "maria",
    "email": "maria@example.com",
    "password1": "a-Long-passw0rd!",
    "password2": "a-Long-passw0rd!",
}


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/id/account/login", SIGN_IN),
        ("post", "/id/account/signup", SIGN_UP),
        ("get", "/id/account/logout", {}),
        ("post", "/id/account/logout", {}),
        ("get", "/id/connect/authorize", AUTHORIZE),
        ("get", "/id/connect/endsession", {}),
        ("get", "/manage/apps/install", {"applicationUri": "vendor.example/app"}),
        ("get", "/manage/apps/uninstall", {"applicationUri": "vendor.example/app"}),
        ("get", "/admin/", {}),
        ("get", "/admin/registry/trustedapplication/", {}),
        ("post", "/admin/login/", SIGN_IN),
    ],
)
def test_a_persons_page_during_an_outage_is_a_short_page(signed_in, method, path, data):
    # It was the machines' 503 JSON, shown raw in the browser.
    with connection.execute_wrapper(_database_down):
        response = getattr(signed_in, method)(path, data, HTTP_ACCEPT=NAVIGATION)
    body = response.content.decode()
    assert response.status_code == 503, body[:200]
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert ENGLISH in body and '<html lang="en">' in body
    assert not any(word in body for word in ERROR_TEXT)


def test_the_page_speaks_the_browsers_language(client):
    with connection.execute_wrapper(_database_down):
        response = client.post("/id/account/login", SIGN_IN, HTTP_ACCEPT_LANGUAGE="bg")
    body = response.content.decode()
    assert response.status_code == 503
    assert BULGARIAN in body and '<html lang="bg">' in body
    assert "Код на грешката:" in body
    assert response["Content-Language"] == "bg"


def test_the_page_speaks_the_authorization_requests_ui_locales(client):
    with connection.execute_wrapper(_database_down):
        response = client.get(
            "/id/connect/authorize", {**AUTHORIZE, "ui_locales": "bg"}, HTTP_ACCEPT_LANGUAGE="en"
        )
    assert response.status_code == 503
    assert BULGARIAN in response.content.decode()


def test_an_outage_at_a_page_is_one_log_line(client, captured_request_logs):
    with connection.execute_wrapper(_database_down):
        assert client.post("/id/account/login", SIGN_IN).status_code == 503
    assert captured_request_logs.getvalue().splitlines() == [
        "database unavailable: POST /id/account/login (OperationalError: could not connect to "
        "server: Connection refused)"
    ]


def test_a_script_on_a_page_that_asks_for_json_gets_json(signed_in):
    with connection.execute_wrapper(_database_down):
        response = signed_in.get("/admin/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json() == TODAYS_JSON
    assert response["Retry-After"] == "5" and response["Cache-Control"] == "no-store"
    assert "Accept" in _vary(response)


@pytest.fixture
def service_app(db):  # type: ignore[no-untyped-def]
    return factories.ServiceApplicationFactory(
        client_id="svc.example.com/sync", secret=SECRET, scope="update sec"
    )


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/id/connect/token", {"grant_type": "client_credentials"}),
        ("post", "/id/connect/revocation", {"token": "x"}),
        ("post", "/id/connect/introspect", {"token": "x"}),
        ("get", "/id/.well-known/openid-configuration/jwks", {}),
        ("get", "/id/.well-known/aas-certificate.pem", {}),
    ],
)
def test_the_machine_endpoints_keep_their_json_even_for_a_browsers_accept(
    client, service_app, method, path, data
):
    with connection.execute_wrapper(_database_down):
        response = getattr(client, method)(
            path,
            data,
            HTTP_ACCEPT=NAVIGATION,
            HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET),
        )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == TODAYS_JSON
    assert response["Retry-After"] == "5" and response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "script_name", "page"),
    [
        ("/api/me", "", False),
        ("/id/connect/token", "", False),
        ("/id/connect/revocation", "", False),
        ("/id/connect/introspect", "", False),
        ("/id/connect/userinfo", "", False),
        ("/id/.well-known/openid-configuration", "", False),
        ("/connector/authenticate", "", False),
        ("/id/connect/token", "/auth", False),  # behind a proxy's prefix, still a machine's
        ("/id/connect/authorize", "", True),
        ("/id/connect/endsession", "", True),
        ("/id/account/login", "", True),
        ("/id/account/login", "/auth", True),
        ("/id/account/signup", "", True),
        ("/id/account/logout", "", True),
        ("/manage/apps/install", "", True),
        ("/manage/apps/uninstall", "", True),
        ("/sys/tools/sha256", "", True),
        ("/admin/login/", "", True),
    ],
)
def test_which_paths_are_a_persons_pages(path, script_name, page):
    """Decided by the path, not by guessing from the headers: the browser's own Accept and
    none at all give the same answer."""
    from trustregistry.common.views import database_unavailable

    for accept in (NAVIGATION, "*/*", None):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        request = RequestFactory().get(path, SCRIPT_NAME=script_name, **headers)
        response = database_unavailable(request)
        assert response.status_code == 503 and response["Retry-After"] == "5"
        assert response["Content-Type"].startswith("text/html" if page else "application/json")


@pytest.mark.parametrize(
    ("accept", "page"),
    [
        ("application/json", False),
        ("application/json, text/plain, */*", False),  # axios, fetch wrappers
        ("text/html, application/json", True),
        ("application/json;q=0.5, text/html", True),
        ("application/xml", True),  # neither: the page
        ("nonsense;;q=x, ,", True),
    ],
)
def test_on_a_page_only_a_client_preferring_json_gets_json(accept, page):
    from trustregistry.common.views import database_unavailable

    request = RequestFactory().get("/id/account/login", HTTP_ACCEPT=accept)
    response = database_unavailable(request)
    assert response["Content-Type"].startswith("text/html" if page else "application/json")
    assert "Accept" in _vary(response)


@pytest.fixture
def session_save_fails(monkeypatch):  # type: ignore[no-untyped-def]
    """The database goes away after the view: saving the session in SessionMiddleware's
    response phase fails, outside any view."""
    from django.contrib.sessions.middleware import SessionMiddleware

    def process_response(self, request, response):  # type: ignore[no-untyped-def]
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(SessionMiddleware, "process_response", process_response)


@pytest.mark.parametrize(
    ("path", "accept", "page"),
    [("/id/account/signup", NAVIGATION, True), ("/id/.well-known/openid-configuration", "", False)],
)
def test_an_outage_after_the_view_is_the_outage_answer_not_a_500(
    session_save_fails, captured_request_logs, path, accept, page
):
    # The error reached handler500 (Django turns an inner middleware's exception into a
    # response before any outer middleware sees it): a 500 and a traceback in the log.
    client = Client(raise_request_exception=False)  # as a server answers, not re-raised
    response = client.get(path, HTTP_ACCEPT=accept)
    assert response.status_code == 503
    assert response["Retry-After"] == "5" and response["Cache-Control"] == "no-store"
    if page:
        assert ENGLISH in response.content.decode()
    else:
        assert response.json()["error"] == "temporarily_unavailable"
    assert not any(text in response.content.decode() for text in ERROR_TEXT)
    assert captured_request_logs.getvalue().splitlines() == [
        f"database unavailable: GET {path} (OperationalError: could not connect to "
        "server: Connection refused)"
    ]


@pytest.mark.parametrize(
    "error",
    [
        # PostgreSQL's words, which quote the refused value.
        IntegrityError(
            'duplicate key value violates unique constraint "auth_group_name_key"\n'
            "DETAIL:  Key (name)=(connection people) already exists."
        ),
        DataError('invalid input syntax for type integer: "connection"'),
    ],
)
def test_a_refused_value_that_says_connection_is_no_outage(error):
    assert not is_outage(error)
    assert is_outage(DatabaseError("server closed the connection unexpectedly"))


def test_a_bug_storing_a_value_that_says_connection_stays_a_500(
    signed_in, monkeypatch, captured_request_logs
):
    # Another administrator added the same group between this form's check and its save:
    # the IntegrityError quotes the name, and a name with "connection" in it made the bug an
    # outage (503, its traceback never logged) on PostgreSQL.
    from django.contrib.auth.models import Group

    Group.objects.create(name="connection people")
    monkeypatch.setattr(Group, "validate_unique", lambda self, exclude=None: None)
    monkeypatch.setattr(Group, "validate_constraints", lambda self, exclude=None: None)
    signed_in.raise_request_exception = False
    response = signed_in.post("/admin/auth/group/add/", {"name": "connection people"})
    assert response.status_code == 500
    assert "database unavailable" not in captured_request_logs.getvalue()
    assert "Traceback" in captured_request_logs.getvalue()


def test_a_path_cannot_rewrite_the_outage_line(captured_request_logs):
    # `<path:object_id>` matches a carriage return; a session cookie of the right shape makes
    # the admin read the database, so anyone could write one into the log during an outage.
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a" * 32
    with connection.execute_wrapper(_database_down):
        response = client.get(
            "/admin/registry/trustedapplication/1%0D%1B[2Kdatabase%20unavailable:%20forged/change/"
        )
    assert response.status_code == 503
    [line] = captured_request_logs.getvalue().splitlines()
    assert "\r" not in line and "\x1b" not in line
    assert line.startswith(
        "database unavailable: GET /admin/registry/trustedapplication/1\\r\\x1b[2Kdatabase"
    )
