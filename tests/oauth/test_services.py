"""Remembered consent: what is added, what is covered."""

from __future__ import annotations

import pytest

from tests import factories
from trustregistry.oauth import selectors, services
from trustregistry.oauth.models import Consent

pytestmark = pytest.mark.django_db


def test_approvals_add_up_and_a_narrower_one_takes_nothing_back():
    user, app = factories.UserFactory(), factories.TrustedApplicationFactory(scope="update sec")
    first = services.consent_remember(user=user, application=app, scopes=["openid", "update"])
    services.consent_remember(user=user, application=app, scopes=["update"])
    services.consent_remember(user=user, application=app, scopes=["sec"])
    consent = Consent.objects.get(user=user, application=app)
    assert consent.scope == "openid sec update"
    assert consent.granted_at == first.granted_at <= consent.updated_at
    assert Consent.objects.count() == 1


def test_covers_only_what_was_approved_by_that_user_for_that_application():
    user, app = factories.UserFactory(), factories.TrustedApplicationFactory()
    other_user, other_app = factories.UserFactory(), factories.TrustedApplicationFactory()
    services.consent_remember(user=user, application=app, scopes=["openid", "update"])

    def covers(who, where, scopes):  # type: ignore[no-untyped-def]
        return selectors.consent_covers(user_id=who.pk, application=where, scopes=scopes)

    assert (
        covers(user, app, ["update"])
        and covers(user, app, [])
        and covers(user, app, ["openid", "update"])
    )
    assert not covers(user, app, ["update", "sec"])
    assert not covers(other_user, app, ["update"]) and not covers(user, other_app, ["update"])
    assert not selectors.consent_covers(user_id=None, application=app, scopes=[])


def test_the_admin_lists_and_revokes(admin_client):
    user, app = factories.UserFactory(username="zoe"), factories.TrustedApplicationFactory()
    consent = services.consent_remember(user=user, application=app, scopes=["update"])
    page = admin_client.get("/admin/tr_oauth/consent/?q=zoe")
    assert page.status_code == 200 and b"zoe" in page.content
    assert admin_client.get("/admin/tr_oauth/consent/add/").status_code == 403
    revoked = admin_client.post(
        "/admin/tr_oauth/consent/",
        {"action": "delete_selected", "_selected_action": [consent.pk], "post": "yes"},
    )
    assert revoked.status_code == 302 and not Consent.objects.exists()
