"""Settings, read from the environment once (django-environ).

Every variable is listed in the README. Secrets have no insecure default outside development
mode (`DJANGO_DEBUG=on`, which `make run` sets); broken configuration is reported by the system
checks in `trustregistry.checks`.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_DATABASE_ENGINES = ("django.db.backends.postgresql", "django.db.backends.sqlite3")


class _Env(environ.Env):
    """django-environ, with a value it cannot read named in one line (`manage.py` prints it
    without a traceback) instead of whatever its parser raised."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):  # type: ignore[no-untyped-def]
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"{var} cannot be read: {exc}") from exc

    def db_url(self, var="DATABASE_URL", default=environ.Env.NOTSET, engine=None):  # type: ignore[no-untyped-def]
        try:
            with warnings.catch_warnings():
                # django-environ warns about an unknown engine with the parsed URL, password
                # included; the error below names the variable instead.
                warnings.simplefilter("ignore")
                config = super().db_url(var, default=default, engine=engine)
        except ImproperlyConfigured as exc:
            raise ImproperlyConfigured(f"{var}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - the parser raises KeyError, ValueError, ...
            raise ImproperlyConfigured(f"{var} is not a database URL.") from exc
        if config.get("ENGINE") not in _DATABASE_ENGINES:
            raise ImproperlyConfigured(
                f"{var} must be a postgres:// (production) or sqlite:// URL."
            )
        return config

    def cache_url(self, var="CACHE_URL", default=environ.Env.NOTSET, backend=None):  # type: ignore[no-untyped-def]
        try:
            config = super().cache_url(var, default=default, backend=backend)
        except ImproperlyConfigured as exc:
            raise ImproperlyConfigured(f"{var}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001
            raise ImproperlyConfigured(f"{var} is not a cache URL (redis://host:port/db).") from exc
        _check_cache_config(var, config)
        return config


def _check_cache_config(var: str, config: dict[str, Any]) -> None:
    """A cache URL django-environ parses may still be unusable: its backend cannot be loaded
    (memcache:// names a class Django no longer has; pymemcache:// needs a package that is not
    installed) or its Redis address is malformed (a port that is no number). Either failed only
    at the first cache use: a traceback from every `manage.py` command, or a 500 from every
    token request while /readyz answered 200."""
    backend = config.get("BACKEND", "")
    clients = {
        "django.core.cache.backends.memcached.PyLibMCCache": "pylibmc",
        "django.core.cache.backends.memcached.PyMemcacheCache": "pymemcache",
    }
    try:
        module_name, _, class_name = backend.rpartition(".")
        if not hasattr(importlib.import_module(module_name), class_name):
            raise ImportError(backend)
        if backend in clients:
            importlib.import_module(clients[backend])
    except Exception as exc:  # noqa: BLE001 - ImportError, ...
        raise ImproperlyConfigured(
            f"{var} cannot be used ({type(exc).__name__}: {exc}); production takes "
            "redis://host:port/db."
        ) from exc
    if backend == "django.core.cache.backends.redis.RedisCache":
        from redis.connection import parse_url

        for name, value in (config.get("OPTIONS") or {}).items():
            # A timeout that is no number fails only at the first cache use, as a TypeError
            # the throttles cannot treat as an outage.
            if name.endswith("timeout") and (
                isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
            ):
                raise ImproperlyConfigured(f"{var}: {name} must be a number of seconds above 0.")

        location = config.get("LOCATION", "")
        for server in location.split(",") if isinstance(location, str) else location:
            try:
                parse_url(server)
            except Exception:  # noqa: BLE001 - ValueError, ...
                # Neither the parser's message nor its exception: a password holding a "/"
                # would be read as the port and printed in it.
                raise ImproperlyConfigured(
                    f"{var} cannot be used: a Redis address is malformed (its scheme, port or "
                    "database; percent-encode a password's / ? # @); production takes "
                    "redis://host:port/db."
                ) from None


env = _Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY and DEBUG:
    # Development only: a per-checkout key kept out of the repository.
    _dev_key = BASE_DIR / ".demo" / "secret_key"
    if _dev_key.exists():
        SECRET_KEY = _dev_key.read_text().strip()
    else:
        import secrets as _secrets

        _dev_key.parent.mkdir(exist_ok=True)
        SECRET_KEY = _secrets.token_urlsafe(50)
        _dev_key.write_text(SECRET_KEY)
# An empty SECRET_KEY in production is refused by Django itself on first use and reported by
# the `trustregistry.E001` check.

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "oauth2_provider",
    "simple_history",
    "trustregistry.accounts",
    "trustregistry.registry",
    "trustregistry.keys",
    "trustregistry.oauth",
    "trustregistry.api",
    "trustregistry.aas",
    "trustregistry.marketplace",
    "connector.django_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "trustregistry.common.middleware.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "trustregistry.common.middleware.RefuseNulInAdminQueries",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "trustregistry.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "trustregistry.wsgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=0))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL only; seconds (psycopg waits at least 2 to connect); 0 = no statement timeout.
DB_CONNECT_TIMEOUT = env.int("DJANGO_DB_CONNECT_TIMEOUT", default=5)
DB_STATEMENT_TIMEOUT = env.int("DJANGO_DB_STATEMENT_TIMEOUT", default=10)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with a health check that needs no `SELECT 1` round trip on a
    # connection whose socket shows nothing wrong (trustregistry/common/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "trustregistry.common.postgresql"
    # The precompiled hot-path queries as prepared statements (same module); off behind a
    # transaction-mode pooler that cannot keep them (PgBouncer before 1.21).
    DATABASES["default"]["PREPARED_STATEMENTS"] = env.bool(
        "DJANGO_DB_PREPARED_STATEMENTS", default=True
    )
    # psycopg waits 130 s to connect to a server that does not answer, a query waits on a lock
    # without limit: gunicorn killed the worker at 30 s (an HTML 500, a traceback). Failing
    # sooner is an OperationalError, answered 503. manage.py sets no statement timeout.
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
    # A statement_timeout in DATABASE_URL's `?options=` wins, as its connect_timeout does:
    # appended after it, ours would be the one PostgreSQL applies (the last `-c` of a name).
    _server_options = str(_db_options.get("options", ""))
    if DB_STATEMENT_TIMEOUT > 0 and "statement_timeout" not in _server_options:
        _db_options["options"] = " ".join(
            (_server_options, f"-c statement_timeout={DB_STATEMENT_TIMEOUT}s")
        ).strip()
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    _sqlite = DATABASES["default"].setdefault("OPTIONS", {})
    # A busy wait instead of "database is locked" under concurrent requests (make run, tests).
    _sqlite.setdefault("timeout", 20)
    # Write-ahead log: readers never wait for the writer, and a commit appends to the log
    # instead of rewriting the database through a rollback journal; NORMAL syncs the log at
    # checkpoints, not at every commit (a power cut, not a crash of the process, can lose the
    # last commits). bench/resolve.py on SQLite: the nonce stored 1.2 -> 0.3 ms, consumed
    # 1.8 -> 0.9 ms.
    _sqlite.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    # A write transaction takes the write lock when it begins, so two of them queue on the busy
    # timeout instead of one failing at once with "database is locked" on its first write.
    _sqlite.setdefault("transaction_mode", "IMMEDIATE")

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://trustregistry")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same backend, keeping its Redis client between operations
    # (trustregistry/common/redis_cache.py).
    CACHES["default"]["BACKEND"] = "trustregistry.common.redis_cache.RedisCache"
    # Give up quickly on a cache that does not answer: the throttles then let requests
    # through (trustregistry/common/throttle.py) rather than holding them.
    _cache_options = CACHES["default"].setdefault("OPTIONS", {})
    _cache_options.setdefault("socket_connect_timeout", 1)
    _cache_options.setdefault("socket_timeout", 1)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["trustregistry.accounts.backends.KindAwareModelBackend"]
LOGIN_URL = "/id/account/login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/id/account/login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("bg", _("Bulgarian"))]
LOCALE_PATHS = [BASE_DIR / "trustregistry" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "trustregistry.common.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Strict Transport Security is opt-in: browsers remember it for this many seconds, so turn it
# on once every host name of the registry serves https.
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
# Plain http redirected to https by Django, where the proxy does not do it; the health probes
# answer on plain http (a load balancer's probe rarely follows a redirect).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# ------------------------------------------------------------------ the registry

TRUSTREGISTRY_ISSUER = env.str("TRUSTREGISTRY_ISSUER", default="http://127.0.0.1:8000/id").rstrip(
    "/"
)
_BASE_URL = TRUSTREGISTRY_ISSUER.removesuffix("/id")
TRUSTREGISTRY_TOKEN_AUDIENCE = env.str("TRUSTREGISTRY_TOKEN_AUDIENCE", default=f"{_BASE_URL}/api")
TRUSTREGISTRY_AAS_ISSUER = env.str("TRUSTREGISTRY_AAS_ISSUER", default=TRUSTREGISTRY_ISSUER)
TRUSTREGISTRY_BASIC_AUTH_APPLICATION = env.str(
    "TRUSTREGISTRY_BASIC_AUTH_APPLICATION", default="DomainApiBasicAuthentication"
)
TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER = env.str(
    "TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER", default="system-application"
)
TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME = env.int("TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME", default=3600)
TRUSTREGISTRY_THROTTLE_FAILURES = 20
TRUSTREGISTRY_THROTTLE_WINDOW = 300
# Failed sign-ins from one address, whatever the usernames, before that address may not sign in
# until the window ends (password spraying); 0 turns this off.
TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = env.int("TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES", default=100)
TRUSTREGISTRY_TRUSTED_PROXY_COUNT = env.int("TRUSTREGISTRY_TRUSTED_PROXY_COUNT", default=0)

# A history note may carry a connector's whole reason for a failed handshake test (up to 200
# characters), longer than the 100 the default column would keep.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# ------------------------------------------------------------------ the connector app (SPEC 7)

CONNECTOR_APPLICATION_URI = env.str("CONNECTOR_APPLICATION_URI", default="")
CONNECTOR_PRIVATE_KEY_FILE = env.str("CONNECTOR_PRIVATE_KEY_FILE", default="")
CONNECTOR_TRUSTED_ISSUER = env.str("CONNECTOR_TRUSTED_ISSUER", default="")
CONNECTOR_AAS_CERTIFICATE_FILE = env.str("CONNECTOR_AAS_CERTIFICATE_FILE", default="")
CONNECTOR_AAS_JWKS_URL = env.str("CONNECTOR_AAS_JWKS_URL", default="")

# ------------------------------------------------------------------ OAuth (django-oauth-toolkit)

OAUTH2_PROVIDER_APPLICATION_MODEL = "registry.TrustedApplication"
OAUTH2_PROVIDER = {
    # The record decides; django-oauth-toolkit carries it out (trustregistry.oauth).
    "OAUTH2_VALIDATOR_CLASS": "trustregistry.oauth.validators.RegistryValidator",
    "OAUTH2_SERVER_CLASS": "trustregistry.oauth.server.RegistryServer",
    "SCOPES_BACKEND_CLASS": "trustregistry.oauth.scopes.RegistryScopes",
    "SCOPES": {"openid": "OpenID Connect", "read": "Read", "update": "Update", "sec": "Security"},
    "ACCESS_TOKEN_GENERATOR": "trustregistry.oauth.tokens.generate_access_token",
    "REFRESH_TOKEN_GENERATOR": "trustregistry.oauth.tokens.generate_refresh_token",
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": TRUSTREGISTRY_ISSUER,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "PKCE_REQUIRED": False,  # per client type, decided in the validator (public clients only)
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME,
    "ID_TOKEN_EXPIRE_SECONDS": TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    # The outer bound; public records get 24 hours (trustregistry.oauth.policy).
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ROTATE_REFRESH_TOKEN": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    # RFC 9700: store only SHA-256 checksums of access and refresh tokens, never the tokens.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
}

# ------------------------------------------------------------------ DRF

# The API's defaults, and those of every other helper's API view: bearer JWT or Basic
# (trustregistry.api.authentication), the scope rules of SPEC section 4
# (trustregistry.api.permissions.ScopePermission: unsafe methods need `update`; a view adds
# `required_scopes = ("sec",)`, or `update_scope_exempt = True` for a POST that changes nothing),
# and one JSON error shape (trustregistry.api.exceptions).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trustregistry.api.authentication.BearerTokenAuthentication",
        "trustregistry.api.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["trustregistry.api.permissions.ScopePermission"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "EXCEPTION_HANDLER": "trustregistry.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "trustregistry.api.schema.ApiAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["trustregistry.api.parsers.StrictJSONParser"],
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trust registry API",
    "DESCRIPTION": (
        "Trusted-application records and app:// connector resolution. Authenticate with a "
        "bearer access token from /id/connect/token, or HTTP Basic with the X-Application-Uri "
        "header. Unsafe methods need the `update` scope; trusted applications and connector "
        'resolution need `sec`. Errors are JSON {"error", "message"}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api",
    "COMPONENT_SPLIT_REQUEST": True,
}

# ------------------------------------------------------------------ logging

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "trustregistry.common.logging.RedactSecretsFilter"},
        "no_traceback": {"()": "trustregistry.common.logging.WithoutTraceback"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django logs 4xx with the full path; the redact filter strips query secrets from it.
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # oauthlib's and django-oauth-toolkit's debug lines print tokens, codes and refresh
        # tokens as they are ("Validating refresh token <token> for client …"): never below
        # INFO, whatever DJANGO_LOG_LEVEL says.
        "oauthlib": {"level": "INFO"},
        "oauth2_provider": {"level": "INFO"},
        # A forged Host header is the caller's mistake: answered 400, logged in one line.
        "django.security.DisallowedHost": {
            "handlers": ["console"],
            "filters": ["no_traceback"],
            "level": "WARNING",
            "propagate": False,
        },
    },
}
