"""The remembered consents in the admin, and django-oauth-toolkit's token admins."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import get_access_token_model, get_grant_model

from tests import factories
from trustregistry.common import clock
from trustregistry.oauth.access_tokens import issue_access_token
from trustregistry.oauth.models import Consent


@pytest.mark.django_db
def test_a_consent_is_named_by_its_user_and_application_in_the_viewers_language(admin_client):
    user = factories.UserFactory(username="bob")
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app")
    consent = Consent.objects.create(
        user=user, application=app, scope="update", granted_at=clock.now(), updated_at=clock.now()
    )
    assert str(consent) == "consent of bob to shop.example.com/app"
    url = reverse("admin:tr_oauth_consent_change", args=[consent.pk])
    bg = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="bg").content.decode()
    assert "съгласие на bob за shop.example.com/app" in bg
    for label in ("Потребител:", "Приложение:", "Одобрени обхвати:", "Първо одобрение:"):
        assert label in bg
    listing = admin_client.get(
        reverse("admin:tr_oauth_consent_changelist"), HTTP_ACCEPT_LANGUAGE="bg"
    )
    assert "Последно одобрение" in listing.content.decode()


def _staff_with(*codenames: str):  # type: ignore[no-untyped-def]
    user = factories.UserFactory(username="-".join(codenames), is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # without the cached (empty) permissions


def _form_data(page) -> dict:  # type: ignore[no-untyped-def]
    data = {}
    for name, field in page.context["adminform"].form.fields.items():
        value = page.context["adminform"].form[name].value()
        if name in ("expires", "created"):
            data[f"{name}_0"], data[f"{name}_1"] = value.date(), value.strftime("%H:%M:%S")
        else:
            data[name] = "" if value is None else value
    return data


@pytest.mark.django_db
def test_a_token_row_cannot_be_made_to_act_as_another_user_in_the_admin(client):
    # The API acts as the token row's user: moving one's own token to a superuser (the change
    # permission on access tokens alone) would be acting as that superuser.
    root = factories.StaffUserFactory(username="root")
    holder = _staff_with("view_accesstoken", "change_accesstoken")
    app = factories.TrustedApplicationFactory(client_id="console.example.com/x", scope="sec update")
    raw, row = issue_access_token(application=app, user=holder, scope="sec update")
    client.force_login(holder)
    url = reverse("admin:oauth2_provider_accesstoken_change", args=[row.pk])
    page = client.get(url)
    assert page.status_code == 200  # still shown, read-only
    response = client.post(url, {**_form_data(page), "user": root.pk})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.user == holder
    me = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.json()["username"] == holder.username


@pytest.mark.django_db
def test_an_authorization_code_cannot_be_given_to_another_user_in_the_admin(client):
    root = factories.StaffUserFactory(username="root")
    holder = _staff_with("view_grant", "change_grant")
    app = factories.TrustedApplicationFactory()
    grant = get_grant_model().objects.create(
        user=holder,
        application=app,
        code="a-code-of-forty-characters-or-so-000000",
        expires=clock.now(),
        redirect_uri="https://example.com/callback",
        scope="openid",
    )
    client.force_login(holder)
    url = reverse("admin:oauth2_provider_grant_change", args=[grant.pk])
    response = client.post(url, {**_form_data(client.get(url)), "user": root.pk})
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.user == holder


@pytest.mark.django_db
def test_revoking_tokens_in_the_admin_needs_the_change_permission(client):
    app = factories.TrustedApplicationFactory()
    _raw, row = issue_access_token(application=app, user=factories.UserFactory(), scope="")
    client.force_login(_staff_with("view_accesstoken"))
    changelist = reverse("admin:oauth2_provider_accesstoken_changelist")
    assert "revoke_tokens" not in client.get(changelist).content.decode()
    client.post(changelist, {"action": "revoke_tokens", "_selected_action": [row.pk]})
    assert get_access_token_model().objects.filter(pk=row.pk).exists()
    client.force_login(_staff_with("view_accesstoken", "change_accesstoken"))
    client.post(changelist, {"action": "revoke_tokens", "_selected_action": [row.pk]})
    assert not get_access_token_model().objects.filter(pk=row.pk).exists()
