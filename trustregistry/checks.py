"""System checks: broken configuration is reported, not discovered at the first request."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

MAX_ACCESS_TOKEN_LIFETIME = 365 * 24 * 3600


@register()
def check_configuration(app_configs=None, **kwargs):  # type: ignore[no-untyped-def]
    problems: list[CheckMessage] = []
    try:
        secret_key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to even read an empty key
        secret_key = ""
    if not secret_key:
        problems.append(
            Error(
                "DJANGO_SECRET_KEY is not set.",
                hint="Set DJANGO_SECRET_KEY to a long random value "
                "(only development mode has a default).",
                id="trustregistry.E001",
            )
        )
    issuer = settings.TRUSTREGISTRY_ISSUER
    if not _is_issuer_url(issuer):
        # RFC 8414 section 2: an https URL with no query or fragment.
        problems.append(
            Error(
                "TRUSTREGISTRY_ISSUER must be an absolute URL without query or fragment.",
                hint="An http(s) URL with a host name (and a valid port, if any), no user "
                "info and no spaces, e.g. https://registry.example.com/id.",
                id="trustregistry.E002",
            )
        )
    elif not issuer.endswith("/id"):
        problems.append(
            Warning(
                "TRUSTREGISTRY_ISSUER does not end in /id, where the registry serves its "
                "endpoints: clients looking for <issuer>/.well-known/openid-configuration "
                "will not find it.",
                id="trustregistry.W002",
            )
        )
    elif issuer.startswith("http://") and not settings.DEBUG and not _is_loopback_url(issuer):
        problems.append(
            Warning(
                "TRUSTREGISTRY_ISSUER uses plain http on a non-loopback host.",
                hint="OAuth 2.0 requires TLS in production: use an https issuer.",
                id="trustregistry.W001",
            )
        )
    if settings.OAUTH2_PROVIDER_APPLICATION_MODEL != "registry.TrustedApplication":
        problems.append(
            Error(
                "OAUTH2_PROVIDER_APPLICATION_MODEL must be registry.TrustedApplication.",
                id="trustregistry.E003",
            )
        )
    if settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES < 0:
        problems.append(
            Error(
                "TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES must be 0 (off) or a positive count.",
                id="trustregistry.E006",
            )
        )
    if not 0 < settings.TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME <= MAX_ACCESS_TOKEN_LIFETIME:
        # Past a point, now + lifetime overflows a datetime: every token request (and a key
        # rotation, which publishes the old key that long) would fail.
        problems.append(
            Error(
                "TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME must be a positive number of seconds, "
                f"at most {MAX_ACCESS_TOKEN_LIFETIME} (a year).",
                id="trustregistry.E007",
            )
        )
    if settings.DB_CONNECT_TIMEOUT <= 0 or settings.DB_STATEMENT_TIMEOUT < 0:
        # A connect timeout of 0 is psycopg's 130 s, past gunicorn's 30 s worker timeout.
        problems.append(
            Error(
                "DJANGO_DB_CONNECT_TIMEOUT must be a positive number of seconds, "
                "DJANGO_DB_STATEMENT_TIMEOUT 0 (none) or a positive number of seconds.",
                id="trustregistry.E009",
            )
        )
    for name in ("TRUSTREGISTRY_TOKEN_AUDIENCE", "TRUSTREGISTRY_AAS_ISSUER"):
        if not str(getattr(settings, name, "")).strip():
            problems.append(Error(f"{name} must not be empty.", id="trustregistry.E008"))
    problems.extend(_check_application_uri_settings())
    problems.extend(_check_connector_settings())
    return problems


# Caches each process keeps to itself (or none at all): throttles need one shared by every
# worker and server, or each counts failures on its own and the limits multiply.
_UNSHARED_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(deploy=True)
def check_shared_cache(app_configs=None, **kwargs):  # type: ignore[no-untyped-def]
    if settings.CACHES["default"]["BACKEND"] not in _UNSHARED_CACHES:
        return []
    return [
        Warning(
            "CACHE_URL names no cache shared between processes: every gunicorn worker and "
            "app server counts failed sign-ins and token requests on its own, so the "
            "throttles' limits are multiplied by their number (with the dummy cache nothing "
            "is counted at all).",
            hint="Set CACHE_URL to Redis, e.g. redis://127.0.0.1:6379/0.",
            id="trustregistry.W004",
        )
    ]


_CONNECTOR_SETTINGS = (
    "CONNECTOR_APPLICATION_URI",
    "CONNECTOR_PRIVATE_KEY_FILE",
    "CONNECTOR_TRUSTED_ISSUER",
    "CONNECTOR_AAS_CERTIFICATE_FILE",
    "CONNECTOR_AAS_JWKS_URL",
)


def _check_connector_settings() -> list[CheckMessage]:
    """The connector app (SPEC section 7) is optional: none of its settings, no connector. Once
    one is set, what the first handshake would find (a missing setting, a key or certificate
    file that cannot be read) is reported now. A warning: the registry itself still works."""
    if not any(getattr(settings, name, "") for name in _CONNECTOR_SETTINGS):
        return []
    from connector.django_app.config import NotConfigured, current_connector

    try:
        current_connector()  # reads the files; fetches nothing
    except NotConfigured as exc:
        return [
            Warning(
                f"The connector app is not usable: {exc} It answers 503 connector_not_configured.",
                hint="Set CONNECTOR_APPLICATION_URI, CONNECTOR_PRIVATE_KEY_FILE, "
                "CONNECTOR_TRUSTED_ISSUER and CONNECTOR_AAS_CERTIFICATE_FILE or "
                "CONNECTOR_AAS_JWKS_URL, or none of them.",
                id="trustregistry.W003",
            )
        ]
    return []


def refuse_configuration_errors() -> None:
    """Raise ImproperlyConfigured naming every error of `check_configuration` (for the WSGI
    entry point: a server refuses to start instead of answering every request 500)."""
    errors = [problem for problem in check_configuration() if problem.is_serious()]
    if errors:
        raise ImproperlyConfigured(
            "Refusing to serve: "
            + " ".join(f"({problem.id}) {problem.msg}" for problem in errors)
            + " Run `manage.py check --deploy` for details."
        )


def _check_application_uri_settings() -> list[CheckMessage]:
    from trustregistry.registry.validators import APPLICATION_URI_RE

    problems: list[CheckMessage] = []
    for name in ("TRUSTREGISTRY_BASIC_AUTH_APPLICATION",):
        value = getattr(settings, name, "")
        if not APPLICATION_URI_RE.match(value or ""):
            problems.append(
                Error(
                    f"{name} ({value!r}) is not a valid application URI.",
                    hint="1-200 characters of latin letters, digits and . - _ ~ : /",
                    id="trustregistry.E004",
                )
            )
    username = getattr(settings, "TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER", "")
    if not username or len(username) > 150 or not _is_username(username):
        problems.append(
            Error(
                "TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER must be a username (1-150 letters, "
                "digits and @ . + - _).",
                id="trustregistry.E005",
            )
        )
    return problems


def _is_username(value: str) -> bool:
    from django.contrib.auth.validators import UnicodeUsernameValidator
    from django.core.exceptions import ValidationError

    try:
        UnicodeUsernameValidator()(value)
    except ValidationError:
        return False
    return True


def _is_issuer_url(issuer: str) -> bool:
    from urllib.parse import urlsplit

    if not issuer.startswith(("https://", "http://")) or "?" in issuer or "#" in issuer:
        return False
    if any(char.isspace() or not char.isprintable() for char in issuer):
        return False
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - raises ValueError on a port that is no number or out of range
    except ValueError:
        return False
    return bool(parts.hostname) and parts.username is None and parts.password is None


def _is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    from trustregistry.registry.validators import is_loopback_host

    return is_loopback_host(urlsplit(url).hostname)
