"""The API over real HTTP on a live server (127.0.0.1), with tokens from the real token
endpoint: what an integration service does with `requests`."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from django.contrib.auth.models import Permission

from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "live-api-secret-0123456789"


@pytest.fixture
def live_issuer(live_server, settings):  # type: ignore[no-untyped-def]
    issuer = f"{live_server.url}/id"
    settings.TRUSTREGISTRY_ISSUER = issuer
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": issuer}
    return live_server.url


@pytest.fixture
def admin_service(db):  # type: ignore[no-untyped-def]
    """A service app whose system user may manage trusted applications."""
    app = factories.ServiceApplicationFactory(
        client_id="eis.example.com/integration", scope="sec update", secret=SECRET
    )
    app.system_user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="registry",
            codename__in=["view_trustedapplication", "add_trustedapplication",
                          "change_trustedapplication"],
        )
    )  # fmt: skip
    return app


def _token(base: str, client_id: str, secret: str = SECRET, **data: str) -> requests.Response:
    return requests.post(
        f"{base}/id/connect/token",
        data={"grant_type": "client_credentials", **data},
        auth=(quote(client_id, safe=""), quote(secret, safe="")),
        timeout=10,
    )


def test_client_credentials_token_drives_the_api(live_issuer, admin_service):
    base = live_issuer
    issued = _token(base, admin_service.client_id)
    assert issued.status_code == 200, issued.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {issued.json()['access_token']}"

    me = session.get(f"{base}/api/me", timeout=10)
    assert me.status_code == 200
    assert me.json()["username"] == admin_service.system_user.username
    assert me.json()["auth"] == "bearer" and set(me.json()["scopes"]) == {"sec", "update"}

    created = session.post(
        f"{base}/api/trusted-applications/",
        json={"application_uri": "shop.example.com/web", "names": {"en": "Shop"}, "scope": "crm"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    secret = session.post(
        f"{base}/api/trusted-applications/shop.example.com%2Fweb/secrets/", timeout=10
    )
    assert secret.status_code == 201
    assert secret.headers["Cache-Control"] == "no-store"
    # The generated secret is a working client secret at once (a service app needs a
    # system user for client credentials: the API grants it, then the token endpoint agrees).
    system = factories.SystemUserFactory(username="shop-service")
    patched = session.patch(
        f"{base}/api/trusted-applications/shop.example.com/web/",
        json={"system_user": system.username, "system_user_allowed": True},
        timeout=10,
    )
    assert patched.status_code == 200, patched.text
    shop_token = _token(base, "shop.example.com/web", secret.json()["secret"])
    assert shop_token.status_code == 200, shop_token.text

    missing = session.get(f"{base}/api/nothing", timeout=10)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/json"


def test_revoked_and_disabled_tokens_stop_at_once_over_http(live_issuer, admin_service):
    base = live_issuer
    first = _token(base, admin_service.client_id).json()["access_token"]
    second = _token(base, admin_service.client_id).json()["access_token"]
    assert requests.get(f"{base}/api/me", headers={"Authorization": f"Bearer {first}"},
                        timeout=10).status_code == 200  # fmt: skip

    revoked = requests.post(
        f"{base}/id/connect/revocation",
        data={"token": first},
        auth=(quote(admin_service.client_id, safe=""), SECRET),
        timeout=10,
    )
    assert revoked.status_code == 200
    refused = requests.get(
        f"{base}/api/me", headers={"Authorization": f"Bearer {first}"}, timeout=10
    )
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]

    # The app disables itself through the API: its other live token dies with it.
    disabled = requests.delete(
        f"{base}/api/trusted-applications/eis.example.com/integration/",
        headers={"Authorization": f"Bearer {second}"},
        timeout=10,
    )
    assert disabled.status_code == 200 and disabled.json()["is_enabled"] is False
    after = requests.get(
        f"{base}/api/me", headers={"Authorization": f"Bearer {second}"}, timeout=10
    )
    assert after.status_code == 401
