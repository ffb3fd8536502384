"""The OAuth layer's security events in the log, each naming who and what, never a token,
code, secret or assertion (README, Audit trail); and token revocations in the admin log."""

from __future__ import annotations

import base64
import logging

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model
from oauthlib.oauth2.rfc6749 import errors

from tests import factories
from tests.oauth.conftest import basic, cc
from trustregistry.oauth.token_saving import TokenSaving

pytestmark = pytest.mark.django_db

AccessToken = get_access_token_model()
Grant = get_grant_model()
RefreshToken = get_refresh_token_model()


@pytest.fixture
def lines(caplog):
    """The registry's own log lines from here on (not the request log's)."""
    caplog.set_level(logging.INFO)
    caplog.clear()
    return lambda: [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("trustregistry")
    ]


def test_a_failed_client_authentication_names_the_client_not_the_secret(
    client, service_app, lines, caplog
):
    header = basic(service_app.client_id, "not-the-secret")
    response = client.post(
        "/id/connect/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 401
    assert lines() == [
        (
            "INFO",
            "client authentication failed at /id/connect/token: client 'svc.example.com/sync' "
            "from 127.0.0.1",
        )
    ]
    assert "not-the-secret" not in caplog.text and header[6:] not in caplog.text
    assert cc(client, service_app).status_code == 200
    assert len(lines()) == 1  # a success adds nothing


def test_a_basic_header_without_a_colon_is_not_logged_as_the_client_id(client, lines, caplog):
    # Only a secret (an API key) in the header: there is no client id, and the line printed
    # the whole decoded value as one.
    header = "Basic " + base64.b64encode(b"s3cr3t-api-key-value").decode()
    response = client.post(
        "/id/connect/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 401
    assert lines() == [
        ("INFO", "client authentication failed at /id/connect/token: client '' from 127.0.0.1")
    ]
    assert "s3cr3t-api-key-value" not in caplog.text


def test_a_reused_refresh_token_is_logged_with_its_family_revoked(
    flow, confidential_app, internal_user, lines, caplog
):
    tokens = flow.tokens(confidential_app, internal_user)
    rotated = flow.refresh(confidential_app, tokens["refresh_token"]).json()
    assert flow.refresh(confidential_app, tokens["refresh_token"]).status_code == 400
    assert [line for line in lines() if "consent" not in line[1]] == [
        (
            "WARNING",
            "refresh token reuse: a used or revoked refresh token of user alice at "
            "app.example.com/erp was presented by app.example.com/erp; its family was revoked",
        )
    ]
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    for value in (tokens["refresh_token"], rotated["refresh_token"], rotated["access_token"]):
        assert value not in caplog.text


def test_an_unknown_refresh_token_is_no_reuse(flow, confidential_app, lines):
    assert flow.refresh(confidential_app, "no-such-refresh-token").status_code == 400
    assert lines() == []


def test_a_refresh_token_used_twice_at_once_is_logged_too(
    flow, confidential_app, internal_user, lines, monkeypatch
):
    # The loser of two concurrent refreshes (services.refresh_token_claim found the token
    # claimed by the other) revokes the family as any reuse does, and says so.
    tokens = flow.tokens(confidential_app, internal_user)
    monkeypatch.setattr("trustregistry.oauth.services.refresh_token_claim", lambda **kw: False)
    assert flow.refresh(confidential_app, tokens["refresh_token"]).status_code == 400
    assert [line for _, line in lines() if "refresh token reuse" in line] == [
        "refresh token reuse: a used or revoked refresh token of user alice at "
        "app.example.com/erp was presented by app.example.com/erp; its family was revoked"
    ]
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_a_code_redeemed_twice_at_once_is_logged_as_a_reuse(
    flow, confidential_app, internal_user, lines, monkeypatch, caplog
):
    # As test_validators' PostgreSQL race, on either database: the second exchange passed
    # validate_code, then found the code redeemed by the first.
    code = flow.code(confidential_app, internal_user)
    row = Grant.objects.get(code=code)
    first = flow.exchange(confidential_app, code)
    assert first.status_code == 200
    row.pk = None
    row.save()  # as the second exchange read it, before the first committed

    def raced(self, request):  # type: ignore[no-untyped-def]
        request.tr_code_raced = True
        raise errors.InvalidGrantError(request=request)

    monkeypatch.setattr(TokenSaving, "_redeem_code", raced)
    assert flow.exchange(confidential_app, code).status_code == 400
    assert [line for line in lines() if "consent" not in line[1]] == [
        ("WARNING", "authorization code reused by app.example.com/erp: its tokens were revoked")
    ]
    assert not AccessToken.objects.filter(application=confidential_app).exists()
    assert code not in caplog.text


def test_consent_given_and_refused_are_logged(flow, confidential_app, lines):
    alice = factories.UserFactory(username="alice2")
    bob = factories.UserFactory(username="bob2")
    lines()  # the users' creation
    flow.code(confidential_app, alice)
    assert flow.consent(confidential_app, bob, allow=False).status_code == 302
    assert lines()[-2:] == [
        (
            "INFO",
            "consent given: user alice2 to app.example.com/erp "
            "(scope 'openid update offline_access')",
        ),
        (
            "INFO",
            "consent refused: user bob2 to app.example.com/erp "
            "(scope 'openid update offline_access')",
        ),
    ]


def test_tokens_revoked_in_the_admin_are_in_the_admin_log(
    flow, confidential_app, internal_user, staff_user
):
    tokens = flow.tokens(confidential_app, internal_user)
    admin = Client()
    admin.force_login(staff_user)
    refresh = RefreshToken.objects.get(revoked__isnull=True)
    access = AccessToken.objects.get(application=confidential_app)
    admin.post(
        reverse("admin:oauth2_provider_refreshtoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [refresh.pk]},
    )
    # The second time it revokes nothing new, and notes nothing.
    admin.post(
        reverse("admin:oauth2_provider_refreshtoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [refresh.pk]},
    )
    other = flow.tokens(confidential_app, internal_user, scope="openid update")
    lone = AccessToken.objects.get(source_refresh_token__isnull=True, refresh_token__isnull=True)
    admin.post(
        reverse("admin:oauth2_provider_accesstoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [lone.pk]},
    )
    assert not AccessToken.objects.filter(pk__in=[access.pk, lone.pk]).exists()
    entries = list(LogEntry.objects.order_by("pk"))
    assert [(e.user, e.action_flag, e.object_repr, e.get_change_message()) for e in entries] == [
        (
            staff_user,
            CHANGE,
            f"RefreshToken #{refresh.pk}",
            "Revoked (user alice, application app.example.com/erp).",
        ),
        (
            staff_user,
            CHANGE,
            f"AccessToken #{lone.pk}",
            "Revoked (user alice, application app.example.com/erp).",
        ),
    ]
    stored = " ".join(f"{e.object_repr} {e.change_message}" for e in entries)
    for value in (*tokens.values(), *other.values()):
        assert str(value) not in stored


def test_a_consent_revoked_in_the_admin_is_in_the_admin_log(flow, confidential_app, staff_user):
    from trustregistry.oauth.models import Consent

    flow.code(confidential_app, factories.UserFactory(username="carol2"))
    consent = Consent.objects.get()
    admin = Client()
    admin.force_login(staff_user)
    admin.post(
        reverse("admin:tr_oauth_consent_changelist"),
        {"action": "delete_selected", "_selected_action": [consent.pk], "post": "yes"},
    )
    assert not Consent.objects.exists()
    [entry] = LogEntry.objects.all()
    assert (entry.user, entry.action_flag, entry.object_repr) == (
        staff_user,
        DELETION,
        "consent of carol2 to app.example.com/erp",
    )
