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


def test_issuer_without_a_usable_host_is_an_error(settings):
    # Each of these passed the check and was published as is in discovery and every `iss`.
    for issuer in (
        "https:///id",
        "https://exa mple.com/id",
        "https://registry.example.com/id ",
        "https://registry.example.com:notaport/id",
        "https://registry.example.com:99999/id",
        "https://user:pw@registry.example.com/id",
        "https://registry.example.com/i\x00d",
    ):
        settings.TRUSTREGISTRY_ISSUER = issuer
        assert "trustregistry.E002" in ids(), issuer
    settings.TRUSTREGISTRY_ISSUER = "https://registry.example.com:8443/id"
    assert ids() == []


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


def test_issuer_with_a_query_or_fragment_is_an_error_and_one_not_ending_in_id_warns(settings):
    for issuer in ("https://registry.example.com/id?x=1", "https://registry.example.com/id#a"):
        settings.TRUSTREGISTRY_ISSUER = issuer
        assert "trustregistry.E002" in ids()
    settings.TRUSTREGISTRY_ISSUER = "https://registry.example.com/auth"
    assert ids() == ["trustregistry.W002"]


def test_token_lifetime_audience_and_aas_issuer_must_be_usable(settings):
    settings.TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME = 0
    assert "trustregistry.E007" in ids()
    # now + 10**12 s is past year 9999: every token request would fail
    settings.TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME = 10**12
    assert "trustregistry.E007" in ids()
    settings.TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME = 365 * 24 * 3600
    assert "trustregistry.E007" not in ids()
    settings.TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME = 3600
    settings.TRUSTREGISTRY_TOKEN_AUDIENCE = ""
    settings.TRUSTREGISTRY_AAS_ISSUER = " "
    assert ids() == ["trustregistry.E008", "trustregistry.E008"]
    settings.TRUSTREGISTRY_AAS_ISSUER = "SuperOffice AS"  # any name: SuperOffice's is no URL
    settings.TRUSTREGISTRY_TOKEN_AUDIENCE = "https://registry.example.com/api"
    assert ids() == []


def test_marketplace_system_user_must_be_a_valid_username(settings):
    settings.TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER = "bad user!"
    assert "trustregistry.E005" in ids()


def _manage(*args: str, timeout: float = 60, **env_changes: str | None):  # type: ignore[no-untyped-def]
    """`manage.py *args` in a process of its own, its environment changed (None: unset)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, **{k: v for k, v in env_changes.items() if v is not None}}
    for name in ("DJANGO_SETTINGS_MODULE", *(k for k, v in env_changes.items() if v is None)):
        env.pop(name, None)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_variable_that_cannot_be_read_is_one_line_from_manage_py_not_a_traceback():
    for name, value in (
        ("DATABASE_URL", "garbage"),
        ("DATABASE_URL", "mysql://u@h/db"),
        # django-environ warned about this one with the parsed URL, password included
        ("DATABASE_URL", "//admin:s3cret-pw@db.example.com/registry"),
        ("CACHE_URL", "foo://x"),
        ("TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME", "an hour"),
    ):
        done = _manage("check", DJANGO_DEBUG="1", **{name: value})
        assert done.returncode == 1
        assert f"Configuration error: {name}" in done.stderr
        assert "Traceback" not in done.stderr
        assert "s3cret-pw" not in done.stderr + done.stdout
    # and --settings is still honoured (read before the settings are)
    done = _manage(
        "check", "--settings=trustregistry.settings_test", DJANGO_SECRET_KEY=None, DJANGO_DEBUG=None
    )
    assert done.returncode == 0, done.stderr


def test_a_command_with_the_database_down_says_so_in_one_line():
    for command in ("export_trusted_apps", "purge_expired"):
        done = _manage(command, DJANGO_DEBUG="1", DATABASE_URL="postgres://postgres@127.0.0.1:1/x")
        assert done.returncode == 1
        assert done.stderr.startswith("Database error: ")
        assert "Traceback" not in done.stderr


def _connector_settings(settings, tmp_path):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import rsa

    from connector.keys import private_key_to_pem

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "connector.pem"
    key_file.write_bytes(private_key_to_pem(key))
    settings.CONNECTOR_APPLICATION_URI = "connector.example.com/c"
    settings.CONNECTOR_PRIVATE_KEY_FILE = str(key_file)
    settings.CONNECTOR_TRUSTED_ISSUER = "https://registry.example.com/id"
    settings.CONNECTOR_AAS_CERTIFICATE_FILE = ""
    settings.CONNECTOR_AAS_JWKS_URL = (
        "https://registry.example.com/id/.well-known/openid-configuration/jwks"
    )
    return settings


def test_a_usable_connector_configuration_is_clean(settings, tmp_path):
    _connector_settings(settings, tmp_path)
    assert ids() == []


def test_a_half_configured_connector_warns(settings, tmp_path):
    _connector_settings(settings, tmp_path)
    settings.CONNECTOR_TRUSTED_ISSUER = ""
    assert ids() == ["trustregistry.W003"]
    assert "CONNECTOR_TRUSTED_ISSUER" in check_configuration()[0].msg
    settings.CONNECTOR_TRUSTED_ISSUER = "https://registry.example.com/id"
    settings.CONNECTOR_AAS_JWKS_URL = ""
    assert ids() == ["trustregistry.W003"]


def test_a_connector_key_file_that_is_missing_or_no_key_warns(settings, tmp_path):
    _connector_settings(settings, tmp_path)
    settings.CONNECTOR_PRIVATE_KEY_FILE = str(tmp_path / "missing.pem")
    assert ids() == ["trustregistry.W003"]
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("not a key")
    settings.CONNECTOR_PRIVATE_KEY_FILE = str(not_a_key)
    assert ids() == ["trustregistry.W003"]
    assert "CONNECTOR_PRIVATE_KEY_FILE" in check_configuration()[0].msg
    settings.CONNECTOR_AAS_CERTIFICATE_FILE = str(tmp_path / "missing.crt")
    assert ids() == ["trustregistry.W003"]


def test_a_connector_jwks_url_that_is_no_http_url_warns(settings, tmp_path):
    # Taken before: the check was clean and every handshake was refused at request time.
    _connector_settings(settings, tmp_path)
    settings.CONNECTOR_AAS_JWKS_URL = "registry.example.com/id/.well-known/jwks"
    assert ids() == ["trustregistry.W003"]
    assert "CONNECTOR_AAS_JWKS_URL" in check_configuration()[0].msg


def test_a_cache_no_two_processes_share_is_a_deployment_warning(settings):
    # Without Redis each worker throttles on its own: 4 workers x 2 servers allow 8 times the
    # documented failures. Only `check --deploy` says so (development runs without Redis).
    from trustregistry.checks import check_shared_cache

    for backend in (
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    ):
        settings.CACHES = {"default": {"BACKEND": backend}}
        assert [p.id for p in check_shared_cache()] == ["trustregistry.W004"]
    settings.CACHES = {
        "default": {
            "BACKEND": "trustregistry.common.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
        }
    }
    assert check_shared_cache() == []
    assert ids() == []  # not among the checks every command runs


def test_check_deploy_names_the_unshared_cache(settings):
    # The checks `check --deploy` runs (not call_command: browser tests in the same process set
    # DJANGO_ALLOW_ASYNC_UNSAFE, which the deployment checks report as an error).
    from django.core.checks import run_checks

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "trustregistry.W004" in [m.id for m in run_checks(include_deployment_checks=True)]
    assert "trustregistry.W004" not in [m.id for m in run_checks()]


def test_the_cache_warning_says_the_dummy_cache_counts_nothing(settings):
    from trustregistry.checks import check_shared_cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert "nothing is counted at all" in check_shared_cache()[0].msg
