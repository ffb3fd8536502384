import pytest
from django.core.exceptions import ValidationError

from trustregistry.registry import services
from trustregistry.registry.models import TrustedApplication


@pytest.mark.django_db
def test_create_through_service_validates_and_stores_lists():
    app = services.application_create(
        application_uri="mywebsite.com/myapp1",
        names={"en": "My app", "bg": "Моето приложение"},
        login_urls="https://mywebsite.com/cb, http://127.0.0.1/cb",
        scope="update sec",
    )
    app.refresh_from_db()
    assert app.login_urls == ["https://mywebsite.com/cb", "http://127.0.0.1/cb"]
    assert app.localized_name("bg") == "Моето приложение"
    assert app.localized_name("de") == "My app"
    assert app.client_secret == "" and app.history.count() == 1


@pytest.mark.django_db
def test_bad_login_url_is_named_in_the_message():
    with pytest.raises(ValidationError) as exc:
        services.application_create(
            application_uri="x.com/a",
            names={"en": "A"},
            login_urls=["https://ok.com/cb", "http://evil.com/cb"],
        )
    assert "http://evil.com/cb" in str(exc.value.message_dict["login_urls"])
    assert not TrustedApplication.objects.exists()
