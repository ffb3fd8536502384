from __future__ import annotations

from django.db import models


class AnsweredNonce(models.Model):
    """A `SignedToken` nonce this connector has answered: kept until the token has expired, so
    a replayed token is refused on every server sharing the database."""

    nonce = models.CharField(max_length=128, unique=True)
    keep_until = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "answered handshake nonce"

    def __str__(self) -> str:
        return self.nonce
