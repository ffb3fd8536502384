from __future__ import annotations

import base64

import pytest

from tests import factories
from trustregistry.keys import services as key_services
from trustregistry.oauth.access_tokens import issue_access_token


@pytest.fixture(autouse=True)
def _fresh_public_key_cache():  # type: ignore[no-untyped-def]
    # The cache is per process; each test's database starts without the previous test's keys.
    key_services.clear_public_key_cache()
    yield
    key_services.clear_public_key_cache()


@pytest.fixture
def bearer(db):  # type: ignore[no-untyped-def]
    """bearer(app, user, scope) -> the Authorization header value of a fresh access token."""

    def make(app, user, scope: str = "", **kwargs) -> str:  # type: ignore[no-untyped-def]
        raw, _row = issue_access_token(application=app, user=user, scope=scope, **kwargs)
        return f"Bearer {raw}"

    return make


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def admin_client(client, bearer):  # type: ignore[no-untyped-def]
    """A test client acting as a staff internal user through an app trusted with sec + update."""
    app = factories.TrustedApplicationFactory(
        client_id="admin.example.com/console", scope="sec update"
    )
    user = factories.StaffUserFactory(username="admin")
    client.defaults["HTTP_AUTHORIZATION"] = bearer(app, user, "sec update")
    client.user = user
    client.app = app
    return client
