"""What django-oauth-toolkit's own tables do not keep: which tokens a redeemed authorization
code produced (so a second use can revoke them) and which `private_key_jwt` assertions were
already used (`jti` single-use). Both are shared through the database, so every app server
sees them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class RedeemedCode(models.Model):
    """An authorization code that was exchanged for tokens. Only the code's SHA-256 is kept."""

    code_checksum = models.CharField(_("code checksum"), max_length=64, unique=True)
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    access_token_checksum = models.CharField(_("access token checksum"), max_length=64)
    token_family = models.UUIDField(_("refresh token family"), null=True, blank=True)
    redeemed_at = models.DateTimeField(_("redeemed"))
    # Until every token issued from the code has expired: reuse detection needs the row so long.
    keep_until = models.DateTimeField(_("keep until"), db_index=True)

    class Meta:
        verbose_name = _("redeemed authorization code")
        verbose_name_plural = _("redeemed authorization codes")

    def __str__(self) -> str:
        return f"redeemed code #{self.pk}"


class UsedAssertion(models.Model):
    """A `private_key_jwt` client assertion already presented; refused if seen again."""

    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    jti = models.CharField(_("JWT ID"), max_length=255)
    expires = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("used client assertion")
        verbose_name_plural = _("used client assertions")
        constraints = [
            models.UniqueConstraint(fields=["application", "jti"], name="unique_assertion_jti")
        ]

    def __str__(self) -> str:
        return f"assertion {self.jti[:16]}"


class Consent(models.Model):
    """What a user approved for an application on the consent page: asked again only for a
    scope not approved before, with `prompt=consent`, or after the consent is deleted (the
    admin's "revoke"). `prompt=none` succeeds where the consent covers the request."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="oauth_consents",
    )
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="consents",
    )
    scope = models.TextField(_("approved scopes"), blank=True, help_text=_("Space-separated."))
    granted_at = models.DateTimeField(_("first approved"))
    updated_at = models.DateTimeField(_("last approved"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="unique_user_consent")
        ]

    def __str__(self) -> str:
        return gettext("consent of %(user)s to %(application)s") % {
            "user": self.user.get_username(),
            "application": self.application.client_id,
        }

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


class SignIn(models.Model):
    """When the user signed in for an authorization (OpenID Connect Core section 2,
    `auth_time`): kept with its code until the code is redeemed, then with the refresh-token
    family the code produced, so an ID token from a refresh names the original sign-in
    (section 12.2), not the user's latest sign-in anywhere (`last_login`); with the family, the
    scope it was granted."""

    code_checksum = models.CharField(_("code checksum"), max_length=64, unique=True)
    token_family = models.UUIDField(_("refresh token family"), null=True, blank=True, unique=True)
    auth_time = models.DateTimeField(_("signed in"))
    # The scope the code was redeemed for: a refresh that narrows its access token leaves the
    # family's scope as it was (RFC 6749 section 6). Empty: recorded before this field.
    scope = models.TextField(_("granted scopes"), blank=True, default="")
    keep_until = models.DateTimeField(_("keep until"), db_index=True)

    class Meta:
        verbose_name = _("sign-in of an authorization")
        verbose_name_plural = _("sign-ins of authorizations")

    def __str__(self) -> str:
        return f"sign-in #{self.pk}"
