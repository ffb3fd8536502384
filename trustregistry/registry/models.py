"""The trusted-application record (SPEC section 2), as django-oauth-toolkit's swapped
application model, with its per-language names and its (at most two) secrets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication
from simple_history.models import HistoricalRecords

from connector.keys import KeyFormatError, normalise_public_keys
from trustregistry.common import clock
from trustregistry.registry import scopes as scope_catalogue
from trustregistry.registry import validators


class ClientType(models.TextChoices):
    CONFIDENTIAL = "confidential", _("Confidential (can keep a secret: server apps)")
    PUBLIC = "public", _("Public (cannot keep a secret: browser and native apps)")


class Source(models.TextChoices):
    MANUAL = "manual", _("Manual")
    MARKETPLACE = "marketplace", _("Marketplace")


def _empty_list() -> list[Any]:
    return []


class TrustedApplication(AbstractApplication):
    # DOT's client_id *is* the application URI: exact, case-sensitive, unique.
    client_id = models.CharField(
        _("application URI"),
        max_length=200,
        unique=True,
        validators=[validators.validate_application_uri],
        help_text=_("The application's identifier and OAuth client_id, e.g. mywebsite.com/myapp1."),
    )
    client_type = models.CharField(
        _("client type"),
        max_length=32,
        choices=ClientType.choices,
        default=ClientType.CONFIDENTIAL,
        help_text=_(
            "Confidential apps keep a secret on a server; public apps (browser, native) cannot."
        ),
    )
    basic_auth_allowed = models.BooleanField(
        _("basic authentication allowed"),
        default=False,
        help_text=_("Lets callers use HTTP Basic user:password on the API as this application."),
    )
    impersonate_internal_allowed = models.BooleanField(
        _("impersonate as internal user allowed"),
        default=False,
        help_text=_("Internal users (staff) may log in to this app (authorization code flow)."),
    )
    impersonate_community_allowed = models.BooleanField(
        _("impersonate as community user allowed"),
        default=False,
        help_text=_("Community (external) users may log in to this app."),
    )
    login_urls = models.JSONField(
        _("login URLs"),
        default=_empty_list,
        blank=True,
        help_text=_(
            "Redirect URIs of the code flow, comma-separated; https (http only for loopback)."
        ),
    )
    logout_urls = models.JSONField(
        _("logout URLs"),
        default=_empty_list,
        blank=True,
        help_text=_(
            "Allowed post-logout redirect URIs, comma-separated; same rules as login URLs."
        ),
    )
    is_enabled = models.BooleanField(
        _("is enabled"),
        default=True,
        db_index=True,
        help_text=_("Off: refused everywhere at once; its tokens and sessions stop working."),
    )
    scope = models.CharField(
        _("scope"),
        max_length=500,
        blank=True,
        default="",
        help_text=_("The permissions the app is trusted with, space-delimited."),
    )
    system_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("system user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="system_applications",
        limit_choices_to={"kind": "system"},
        help_text=_("The user that client-credentials tokens act as."),
    )
    system_user_allowed = models.BooleanField(
        _("system user allowed"),
        default=False,
        help_text=_("The app may use client credentials (service access) as its system user."),
    )
    system_user_login_url = models.URLField(
        _("system user login URL"),
        max_length=2000,
        blank=True,
        default="",
        help_text=_("Reserved: stored and validated, no behaviour."),
    )
    connector_url = models.CharField(
        _("connector URL"),
        max_length=2000,
        blank=True,
        default="",
        validators=[validators.validate_connector_url],
        help_text=_(
            "The connector's real handshake URL; never shown to a caller before the handshake."
        ),
    )
    public_keys = models.JSONField(
        _("public keys"),
        default=_empty_list,
        blank=True,
        help_text=_("Public keys (JWK) for the connector handshake and private_key_jwt."),
    )
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.MANUAL, db_index=True
    )
    # DOT fields the record does not use as DOT does: grants follow from the impersonation and
    # system-user flags (see the OAuth validator), secrets live in ApplicationSecret (ERP.net
    # hashes), and ID/access tokens are always RS256 with the registry's keys.
    authorization_grant_type = models.CharField(
        max_length=44, default=AbstractApplication.GRANT_AUTHORIZATION_CODE, editable=False
    )
    client_secret = models.CharField(max_length=255, blank=True, default="", editable=False)
    hash_client_secret = models.BooleanField(default=False, editable=False)
    algorithm = models.CharField(
        max_length=5, default=AbstractApplication.RS256_ALGORITHM, editable=False
    )
    redirect_uris = models.TextField(blank=True, default="", editable=False)
    post_logout_redirect_uris = models.TextField(blank=True, default="", editable=False)

    uninstalled_at = models.DateTimeField(_("uninstalled"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    history = HistoricalRecords(
        excluded_fields=["client_secret", "updated", "last_used_at"],
        verbose_name=_("historical trusted application"),
    )

    class Meta(AbstractApplication.Meta):
        verbose_name = _("trusted application")
        verbose_name_plural = _("trusted applications")
        ordering = ["client_id"]
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    def __str__(self) -> str:
        return self.client_id

    # -------------------------------------------------------------- identity

    @property
    def application_uri(self) -> str:
        return self.client_id

    def localized_name(self, language: str | None = None) -> str:
        """The name in `language` (default: the active one), else in the default language,
        else the URI. Shown to people, so without control or invisible characters (a name
        stored before they were refused may still hold them)."""
        wanted = (language or translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
        names = {n.language: validators.visible_text(n.name) for n in self.names.all()}
        return names.get(wanted) or names.get(settings.LANGUAGE_CODE) or self.client_id

    @property
    def scopes(self) -> list[str]:
        return scope_catalogue.split(self.scope)

    @property
    def may_impersonate(self) -> bool:
        return self.impersonate_internal_allowed or self.impersonate_community_allowed

    def allows_user_kind(self, kind: str) -> bool:
        return (kind == "internal" and self.impersonate_internal_allowed) or (
            kind == "community" and self.impersonate_community_allowed
        )

    # -------------------------------------------------------------- DOT hooks

    def redirect_uri_allowed(self, uri: str) -> bool:
        return redirect_uri_matches(uri, self.login_urls)

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        return redirect_uri_matches(uri, self.logout_urls)

    def is_usable(self, request: Any) -> bool:
        return self.is_enabled

    # -------------------------------------------------------------- validation

    def clean(self) -> None:  # DOT's clean() checks its own grant-type model; ours replaces it.
        errors: dict[str, list[str]] = {}

        def add(field: str, message: Any) -> None:
            # Messages may be lazy translations, which are not `str`: only lists are spread.
            items = list(message) if isinstance(message, (list, tuple)) else [str(message)]
            errors.setdefault(field, []).extend(items)

        for field, label in (("login_urls", _("Login URL")), ("logout_urls", _("Logout URL"))):
            try:
                value = validators.parse_url_list(getattr(self, field))
                setattr(self, field, value)
                validators.validate_url_list(value, label=str(label))
            except ValidationError as exc:
                add(field, exc.messages)
        try:
            validators.validate_scope(self.scope)
            unknown = [s for s in self.scopes if s not in scope_catalogue.CATALOGUE]
            if unknown:
                add(
                    "scope",
                    _("Unknown scope: %(s)s. Choose from: %(c)s.")
                    % {"s": " ".join(unknown), "c": " ".join(scope_catalogue.CATALOGUE)},
                )
            self.scope = scope_catalogue.join(self.scopes)
        except ValidationError as exc:
            add("scope", exc.messages)
        try:
            self.public_keys = normalise_public_keys(self.public_keys) if self.public_keys else []
        except KeyFormatError as exc:
            add("public_keys", str(exc))
        if (
            self.system_user_id is not None
            and self.system_user is not None
            and not self.system_user.is_system
        ):
            add("system_user", _("The system user must be a user of kind 'system'."))
        if self.system_user_allowed and self.system_user_id is None:
            add("system_user", _("Choose the system user that client-credentials tokens act as."))
        if self.system_user_allowed and self.client_type == ClientType.PUBLIC:
            add("system_user_allowed", _("A public client cannot use client credentials."))
        if errors:
            raise ValidationError(errors)


def redirect_uri_matches(uri: str, registered: list[str]) -> bool:
    """Exact match; for loopback http URLs any port (RFC 8252 section 7.3)."""
    from urllib.parse import urlsplit

    if not isinstance(uri, str) or not uri:
        return False
    if uri in registered:
        return True
    # urlsplit drops tabs and line breaks and reads the port only when asked: without these
    # checks "http://127.0.0.1:evil/cb" or "http://127.0.0.1/c\tb" matched "http://127.0.0.1/cb"
    # and were redirected to as given. A registered URL never holds either (validators).
    if any(ch.isspace() for ch in uri) or validators.has_invisible_characters(uri):
        return False
    try:
        wanted = urlsplit(uri)
        if wanted.scheme != "http" or not validators.is_loopback_host(wanted.hostname):
            return False
        wanted.port  # noqa: B018 - raises ValueError on a port that is no port
        wanted_key = (
            wanted.scheme,
            wanted.hostname,
            wanted.path,
            wanted.query,
            wanted.fragment,
            wanted.username,
        )
    except ValueError:
        return False
    for candidate in registered:
        try:
            reg = urlsplit(candidate)
            if (
                reg.scheme,
                reg.hostname,
                reg.path,
                reg.query,
                reg.fragment,
                reg.username,
            ) == wanted_key and ("@" not in wanted.netloc):
                return True
        except ValueError:
            continue
    return False


class ApplicationName(models.Model):
    application = models.ForeignKey(
        TrustedApplication, on_delete=models.CASCADE, related_name="names"
    )
    language = models.CharField(_("language"), max_length=16, choices=settings.LANGUAGES)
    name = models.CharField(
        _("name"), max_length=200, validators=[validators.validate_visible_text]
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("name")
        verbose_name_plural = _("names")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "language"], name="unique_name_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.language}: {self.name}"


class ApplicationSecret(models.Model):
    """One live secret: only its ERP.net-format hash is stored."""

    MAX_PER_APPLICATION = 2

    application = models.ForeignKey(
        TrustedApplication, on_delete=models.CASCADE, related_name="secrets"
    )
    secret_hash = models.CharField(_("secret hash"), max_length=44)
    created = models.DateTimeField(_("created"), default=clock.now)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["secret_hash", "last_used"])

    class Meta:
        verbose_name = _("secret")
        verbose_name_plural = _("secrets")
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return gettext("secret #%(id)s of %(application)s") % {
            "id": self.pk,
            "application": self.application_id,
        }

    def is_live(self, at=None) -> bool:  # type: ignore[no-untyped-def]
        return self.expires is None or self.expires > (at or clock.now())

    @classmethod
    def pushed_out_by_one_more(
        cls, secrets: list[ApplicationSecret], at: dt.datetime | None = None
    ) -> list[ApplicationSecret]:
        """Which of a record's `secrets` go when one more is added (at most
        MAX_PER_APPLICATION): expired ones first, then the oldest, so making room never ends
        a live secret while an expired one stays."""
        excess = len(secrets) - (cls.MAX_PER_APPLICATION - 1)
        if excess <= 0:
            return []
        now = at or clock.now()
        return sorted(secrets, key=lambda s: (s.is_live(now), s.created, s.pk or 0))[:excess]
