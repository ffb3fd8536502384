from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class KeyPurpose(models.TextChoices):
    OIDC = "oidc", _("OpenID Connect (ID and access tokens)")
    AAS = "aas", _("Application Authorization Service (handshake tokens)")


class SigningKeyQuerySet(models.QuerySet["SigningKey"]):
    """The states of a key: every read of "the key that signs" or "the staged key" goes through
    these two, so a staged key (published, not signing) can never be taken for the signing
    one."""

    def signing(self, purpose: str) -> SigningKeyQuerySet:
        return self.filter(purpose=purpose, retired_at__isnull=True, activated_at__isnull=False)

    def staged(self, purpose: str) -> SigningKeyQuerySet:
        return self.filter(purpose=purpose, retired_at__isnull=True, activated_at__isnull=True)


class SigningKey(models.Model):
    """One RSA signing key of the registry. The activated, unretired key of a purpose signs; a
    staged key (`rotate_keys --stage`: not yet activated) is published in the JWKS before it
    signs, so those who cache the JWKS or pin the AAS certificate can know it in advance;
    retired keys stay published until every token they signed has expired, withdrawn keys not
    at all."""

    purpose = models.CharField(
        _("purpose"), max_length=8, choices=KeyPurpose.choices, db_index=True
    )
    kid = models.CharField(_("key id"), max_length=100, unique=True)
    private_key_pem = models.TextField(_("private key (PEM)"))
    public_jwk = models.JSONField(_("public JWK"))
    certificate_pem = models.TextField(_("certificate (PEM)"), blank=True, default="")
    created = models.DateTimeField(_("created"))
    # When the key began to sign; empty while it is staged. A key made by a plain rotation (or
    # on first need) signs from its creation; a staged one from the rotation after.
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)
    publish_until = models.DateTimeField(_("published until"), null=True, blank=True)
    # Set by `rotate_keys --withdraw` (a key that leaked): unpublished at once, and never again
    # used to verify anything, not even a logout's expired id_token_hint.
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["purpose", "-created", "-id"]
        constraints = [
            # One signing key per purpose: app servers starting at once on an empty database
            # each created one (PostgreSQL locks no row that does not exist yet).
            models.UniqueConstraint(
                fields=["purpose"],
                condition=models.Q(retired_at__isnull=True, activated_at__isnull=False),
                name="keys_one_active_key_per_purpose",
            ),
            # At most one next key: a rotation activates "the" staged key, and a pinning
            # connector's file is written with it; a second one would be a key no rotation
            # ever activates, published for nothing.
            models.UniqueConstraint(
                fields=["purpose"],
                condition=models.Q(retired_at__isnull=True, activated_at__isnull=True),
                name="keys_one_staged_key_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.kid}"

    @property
    def is_staged(self) -> bool:
        return self.activated_at is None and self.retired_at is None

    @property
    def was_staged(self) -> bool:
        """Activated by a rotation after it was staged (a key made to sign at once is activated
        at its creation)."""
        return self.activated_at is not None and self.activated_at != self.created
