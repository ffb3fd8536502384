"""The remembered consents in the admin."""

import pytest
from django.urls import reverse

from tests import factories
from trustregistry.common import clock
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
