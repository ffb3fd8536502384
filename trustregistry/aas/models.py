from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PendingHandshake(models.Model):
    """A nonce the AAS has sent a connector and not yet seen answered.

    Single-use across every app server sharing the database: a reply is accepted only by the
    one conditional UPDATE that marks it used (see `services._consume_nonce`)."""

    # Unique by a constraint, not `unique=True`: on PostgreSQL that would also build a
    # `varchar_pattern_ops` index for LIKE queries, which nothing runs on a nonce, and every
    # handshake would write to it.
    nonce = models.CharField(_("nonce"), max_length=64)
    # No database-level constraint: PostgreSQL checks one by locking the record's row
    # (FOR KEY SHARE) in every handshake's commit, a write to the record's page and, with
    # handshakes of one record on several servers at once, a shared MultiXact. The nonce is
    # only ever stored by the statement that has just read the record (writes.lookup_and_store,
    # or after it), deleting the record still deletes its rows (Django's CASCADE), and a row
    # orphaned by a delete racing a handshake can never be consumed (the consume requires the
    # enabled record) and expires with the others.
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="pending_handshakes",
        verbose_name=_("application"),
    )
    context = models.CharField(_("context"), max_length=200, blank=True, default="")
    created = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["nonce"], name="tr_aas_pending_nonce_unique")
        ]
        verbose_name = _("pending handshake")
        verbose_name_plural = _("pending handshakes")

    def __str__(self) -> str:
        return f"{self.application_id} {self.nonce}"
