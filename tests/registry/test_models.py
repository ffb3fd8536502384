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


def _app(**fields):
    from tests import factories

    return factories.TrustedApplicationFactory.build(**fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields,field,needle",
    [
        ({"scope": "update nonsense"}, "scope", "Unknown scope: nonsense"),
        ({"scope": "update  sec"}, "scope", "single spaces"),
        ({"public_keys": ["garbage"]}, "public_keys", "Unrecognised key format"),
        ({"system_user_allowed": True}, "system_user", "Choose the system user"),
        ({"connector_url": "http://c.example.com/"}, "connector_url", "https"),
        ({"system_user_login_url": "not a url"}, "system_user_login_url", "valid URL"),
        ({"client_id": "bad uri"}, "client_id", "1-200"),
        ({"client_type": "secretive"}, "client_type", "not a valid choice"),
    ],
)
def test_model_validation_rules(fields, field, needle):
    app = _app(**fields)
    with pytest.raises(ValidationError) as exc:
        app.full_clean()
    assert needle in " ".join(exc.value.message_dict[field])


@pytest.mark.django_db
def test_public_client_cannot_use_client_credentials():
    from tests import factories

    app = _app(
        client_type="public", system_user_allowed=True, system_user=factories.SystemUserFactory()
    )
    with pytest.raises(ValidationError) as exc:
        app.full_clean()
    assert "system_user_allowed" in exc.value.message_dict


@pytest.mark.django_db
def test_system_user_must_be_of_kind_system():
    from tests import factories

    app = _app(system_user=factories.UserFactory(), system_user_allowed=True)
    with pytest.raises(ValidationError) as exc:
        app.full_clean()
    assert "kind 'system'" in " ".join(exc.value.message_dict["system_user"])
    app.system_user = factories.SystemUserFactory()
    app.full_clean()


@pytest.mark.django_db
def test_scope_is_normalised_and_duplicates_dropped():
    app = _app(scope="update sec update")
    app.full_clean()
    assert app.scope == "update sec"


@pytest.mark.django_db
def test_uri_is_unique_and_case_sensitive():
    from tests import factories

    factories.TrustedApplicationFactory(client_id="a.com/App")
    factories.TrustedApplicationFactory(client_id="a.com/app").full_clean()
    with pytest.raises(ValidationError):
        _app(client_id="a.com/App").full_clean()


@pytest.mark.django_db
def test_private_and_weak_keys_are_refused(interop):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_pem = (interop / "devnet-auth_DevNet_private.key").read_text()
    app = _app(public_keys=[private_pem])
    with pytest.raises(ValidationError) as exc:
        app.full_clean()
    assert "private key" in exc.value.message_dict["public_keys"][0]
    # cryptography no longer generates 512-bit keys; a vendor may still paste one.
    weak = rsa.RSAPublicNumbers(65537, (1 << 511) | 0xF1).public_key()
    weak_pem = weak.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    app = _app(public_keys=[weak_pem])
    with pytest.raises(ValidationError) as exc:
        app.full_clean()
    assert "at least 1024 bits" in exc.value.message_dict["public_keys"][0]


@pytest.mark.django_db
def test_names_need_default_language_and_known_languages():
    from tests import factories

    app = factories.TrustedApplicationFactory()
    with pytest.raises(ValidationError) as exc:
        services.application_set_names(application=app, names={"bg": "Само"})
    assert "default language" in exc.value.message_dict["names"][0]
    with pytest.raises(ValidationError) as exc:
        services.application_set_names(application=app, names={"en": "A", "xx": "B"})
    assert "Unknown language: xx" in exc.value.message_dict["names"][0]


@pytest.mark.django_db
def test_localized_name_falls_back_to_default_language_then_uri(settings):
    from django.utils import translation

    from tests import factories

    app = factories.TrustedApplicationFactory(client_id="fallback.com/app", name="English")
    app.names.create(language="bg", name="Български")
    with translation.override("bg"):
        assert app.localized_name() == "Български"
    with translation.override("de"):
        assert app.localized_name() == "English"
    app.names.all().delete()
    assert app.localized_name("bg") == "fallback.com/app"
