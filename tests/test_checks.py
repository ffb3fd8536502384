"""System checks report broken configuration (README: `manage.py check --deploy`)."""

from trustregistry.checks import check_configuration


def ids():
    return [p.id for p in check_configuration()]


def test_default_test_configuration_is_clean():
    assert ids() == []


def test_missing_secret_key_is_an_error(settings):
    settings.SECRET_KEY = ""
    assert "trustregistry.E001" in ids()


def test_issuer_must_be_an_absolute_url(settings):
    settings.TRUSTREGISTRY_ISSUER = "registry.example.com/id"
    assert "trustregistry.E002" in ids()


def test_plain_http_issuer_warns_outside_loopback_and_debug(settings):
    settings.DEBUG = False
    settings.TRUSTREGISTRY_ISSUER = "http://registry.example.com/id"
    assert "trustregistry.W001" in ids()
    settings.TRUSTREGISTRY_ISSUER = "http://127.0.0.1:8000/id"
    assert "trustregistry.W001" not in ids()
    settings.TRUSTREGISTRY_ISSUER = "https://registry.example.com/id"
    assert ids() == []


def test_application_model_must_be_the_registry_record(settings):
    settings.OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
    assert "trustregistry.E003" in ids()


def test_basic_auth_application_must_be_a_valid_uri(settings):
    settings.TRUSTREGISTRY_BASIC_AUTH_APPLICATION = "Domain Api"
    assert "trustregistry.E004" in ids()


def test_marketplace_system_user_must_be_a_username(settings):
    settings.TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER = ""
    assert "trustregistry.E005" in ids()


def test_login_address_failures_may_not_be_negative(settings):
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = -1
    assert "trustregistry.E006" in ids()
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 0  # off is a valid choice
    assert "trustregistry.E006" not in ids()
