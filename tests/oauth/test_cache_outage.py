"""A cache that cannot be reached (Redis down): the throttles let requests through, sign-ins
and token requests work on the database alone, and nothing answers 500."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, override_settings

from tests import factories
from tests.oauth.conftest import SECRET, basic, cc

pytestmark = pytest.mark.django_db

DOWN = {
    "default": {
        "BACKEND": "trustregistry.common.redis_cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def test_token_introspection_and_sign_in_work_without_the_cache(service_app, caplog, monkeypatch):
    from trustregistry.common import throttle

    monkeypatch.setattr(throttle, "_last_logged", 0.0)  # one line a minute: this test's line
    with override_settings(CACHES=DOWN), caplog.at_level(logging.ERROR):
        client = Client(raise_request_exception=False)
        token = cc(client, service_app)
        assert token.status_code == 200
        assert cc(client, service_app, secret="wrong").status_code == 401
        introspected = client.post(
            "/id/connect/introspect",
            {"token": token.json()["access_token"]},
            HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET),
        )
        assert introspected.status_code == 200 and introspected.json()["active"] is True
        factories.UserFactory(username="ivan")
        page = client.post("/id/account/login", {"username": "ivan", "password": "wrong"})
        assert page.status_code == 200  # the form again, with its error
        signed_in = client.post(
            "/id/account/login",
            {"username": "ivan", "password": factories.DEFAULT_PASSWORD},
        )
        assert signed_in.status_code == 302
    outage = [r for r in caplog.records if "cache cannot be reached" in r.getMessage()]
    assert outage and all(r.exc_info is None for r in outage)
