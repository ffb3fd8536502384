"""The registry's own login, logout and community sign-up pages."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from tests import factories
from tests.factories import DEFAULT_PASSWORD

LOGIN = "/id/account/login"


def test_login_honours_safe_next_only(client, internal_user):
    ok = client.post(LOGIN, {"username": "alice", "password": DEFAULT_PASSWORD,
                             "next": "/manage/apps/install?applicationUri=x"})  # fmt: skip
    assert ok.status_code == 302 and ok["Location"] == "/manage/apps/install?applicationUri=x"
    other = Client()
    evil = other.post(LOGIN, {"username": "alice", "password": DEFAULT_PASSWORD,
                              "next": "https://evil.example/steal"})  # fmt: skip
    assert evil.status_code == 302 and "evil.example" not in evil["Location"]


def test_login_page_names_the_application(client, confidential_app):
    from urllib.parse import urlencode

    nxt = "/id/connect/authorize?" + urlencode({"client_id": confidential_app.client_id})
    page = client.get(LOGIN, {"next": nxt})
    assert b"ERP client" in page.content
    assert page["X-Frame-Options"] == "DENY"


def test_system_user_cannot_log_in(client, db):
    user = factories.SystemUserFactory(username="svc")
    user.set_password(DEFAULT_PASSWORD)
    user.save()
    response = client.post(LOGIN, {"username": "svc", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_signup_creates_a_community_user(client, db):
    response = client.post(
        "/id/account/signup",
        {"username": "newbie", "email": "n@example.com", "password1": "a-Long-pass-phrase-9",
         "password2": "a-Long-pass-phrase-9", "kind": "internal", "is_staff": "on"},
    )  # fmt: skip
    assert response.status_code == 200
    user = get_user_model().objects.get(username="newbie")
    assert user.kind == "community"
    assert not user.is_staff and not user.is_superuser
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signup_is_csrf_protected(db):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/id/account/signup", {"username": "x"})
    assert response.status_code == 403


def test_logout_needs_post(client, internal_user):
    client.force_login(internal_user)
    page = client.get("/id/account/logout")
    assert page.status_code == 200 and "_auth_user_id" in client.session
    client.post("/id/account/logout")
    assert "_auth_user_id" not in client.session
