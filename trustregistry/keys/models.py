from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class KeyPurpose(models.TextChoices):
    OIDC = "oidc", _("OpenID Connect (ID and access tokens)")
    AAS = "aas", _("Application Authorization Service (handshake tokens)")


class SigningKey(models.Model):
    """One RSA signing key of the registry. The newest unretired key of a purpose signs; retired
    keys stay published in the JWKS until every token they signed has expired, withdrawn keys
    not at all."""

    purpose = models.CharField(
        _("purpose"), max_length=8, choices=KeyPurpose.choices, db_index=True
    )
    kid = models.CharField(_("key id"), max_length=100, unique=True)
    private_key_pem = models.TextField(_("private key (PEM)"))
    public_jwk = models.JSONField(_("public JWK"))
    certificate_pem = models.TextField(_("certificate (PEM)"), blank=True, default="")
    created = models.DateTimeField(_("created"))
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)
    publish_until = models.DateTimeField(_("published until"), null=True, blank=True)
    # Set by `rotate_keys --withdraw` (a key that leaked): unpublished at once, and never again
    # used to verify anything, not even a logout's expired id_token_hint.
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["purpose", "-created", "-id"]
        constraints = [
            # One signing key per purpose: app servers starting at once on an empty database
            # each created one (PostgreSQL locks no row that does not exist yet).
            models.UniqueConstraint(
                fields=["purpose"],
                condition=models.Q(retired_at__isnull=True),
                name="keys_one_active_key_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.kid}"
