"""SPEC section 2, "is enabled": disabling stops every live token, refresh token and unredeemed
code of the record, by whichever way it is disabled, so that enabling it again brings none of
them back (`registry.services.revoke_live_tokens`)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from tests import factories
from tests.oauth.conftest import cc
from trustregistry.oauth.access_tokens import issue_access_token

pytestmark = pytest.mark.django_db


def _console(staff):
    console = factories.TrustedApplicationFactory(
        client_id="admin.example.com/console", scope="sec update"
    )
    raw, _ = issue_access_token(application=console, user=staff, scope="sec update")
    api = Client()
    api.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return api


def _me(token):
    return Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def _set_enabled_by_api(api, app, enabled):
    response = api.patch(
        f"/api/trusted-applications/{app.client_id}/",
        json.dumps({"is_enabled": enabled}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


def _set_enabled_by_import(app, enabled, tmp_path):
    path = tmp_path / "apps.json"
    call_command("export_trusted_apps", str(path), stdout=io.StringIO())
    records = [r for r in json.loads(path.read_text()) if r["application_uri"] == app.client_id]
    records[0]["is_enabled"] = enabled
    path.write_text(json.dumps(records))
    call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())


def _set_enabled_by_admin(staff, app, enabled):
    admin = Client()
    admin.force_login(staff)
    response = admin.post(
        "/admin/registry/trustedapplication/",
        {"action": "enable" if enabled else "disable", "_selected_action": [app.pk]},
    )
    assert response.status_code == 302


@pytest.mark.parametrize("how", ["api", "import", "admin"])
def test_tokens_stay_dead_after_a_disabled_record_is_enabled_again(
    flow, confidential_app, internal_user, staff_user, tmp_path, how
):
    tokens = flow.tokens(confidential_app, internal_user)
    code = flow.code(confidential_app, internal_user)
    api = _console(staff_user)
    for enabled in (False, True):
        if how == "api":
            _set_enabled_by_api(api, confidential_app, enabled)
        elif how == "import":
            _set_enabled_by_import(confidential_app, enabled, tmp_path)
        else:
            _set_enabled_by_admin(staff_user, confidential_app, enabled)
        confidential_app.refresh_from_db()
        assert confidential_app.is_enabled is enabled
    assert _me(tokens["access_token"]) == 401
    refreshed = flow.refresh(confidential_app, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    # the code issued before the disable: not redeemable after it
    exchanged = flow.exchange(confidential_app, code)
    assert exchanged.status_code == 400 and exchanged.json()["error"] == "invalid_grant"
    # the record itself works again: a new sign-in gets new tokens
    assert _me(flow.tokens(confidential_app, internal_user)["access_token"]) == 200


def test_client_credentials_tokens_stay_dead_after_the_api_re_enables(service_app, staff_user):
    token = cc(Client(), service_app).json()["access_token"]
    api = _console(staff_user)
    _set_enabled_by_api(api, service_app, False)
    assert _me(token) == 401
    _set_enabled_by_api(api, service_app, True)
    assert _me(token) == 401
    assert _me(cc(Client(), service_app).json()["access_token"]) == 200


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_disable_racing_refreshes_neither_deadlocks_nor_lets_their_tokens_live_on(
    confidential_app, internal_user
):
    """The disable locks the record while refreshes write tokens that reference it (their
    foreign keys take a key-share lock on it): the disable must wait for them, never deadlock,
    and enabling again must leave none of what they wrote working."""
    from oauth2_provider.models import RefreshToken

    from tests.oauth.conftest import Flow
    from tests.registry.test_services import _race
    from trustregistry.registry import services
    from trustregistry.registry.models import TrustedApplication

    for _round in range(3):
        refresh_tokens = [
            Flow(Client()).tokens(confidential_app, internal_user)["refresh_token"]
            for _ in range(5)
        ]

        def work(i: int, refresh_tokens: list[str] = refresh_tokens):
            if i == len(refresh_tokens):
                record = TrustedApplication.objects.get(pk=confidential_app.pk)
                return services.application_set_enabled(application=record, enabled=False)
            return Flow(Client()).refresh(confidential_app, refresh_tokens[i]).status_code

        outcomes = _race(len(refresh_tokens) + 1, work)
        assert isinstance(outcomes[-1], TrustedApplication), outcomes  # no deadlock error
        assert all(o in (200, 400, 401) for o in outcomes[:-1]), outcomes  # 401: disabled
        services.application_set_enabled(application=outcomes[-1], enabled=True)
        assert not RefreshToken.objects.filter(
            application=confidential_app, revoked__isnull=True
        ).exists()
