"""Rolling the AAS tables back, as an operator leaving a release does (`migrate tr_aas …`)."""

import datetime as dt

import pytest
from django.core.management import call_command

from tests import factories
from trustregistry.aas.models import PendingHandshake
from trustregistry.common import clock


@pytest.mark.django_db(transaction=True)
def test_rolling_back_the_pending_handshakes_foreign_key_forgets_orphaned_nonces():
    # Since tr_aas 0003 a pending nonce has no database-level foreign key, so a record deleted
    # while a handshake was stored leaves the nonce behind (models.PendingHandshake). Restoring
    # the constraint stopped the rollback on it (IntegrityError), on both databases.
    record = factories.TrustedApplicationFactory()
    now = clock.now()
    later = now + dt.timedelta(minutes=5)
    PendingHandshake.objects.create(application=record, nonce="live", created=now, expires_at=later)
    PendingHandshake.objects.create(
        application_id=record.pk + 1000, nonce="orphaned", created=now, expires_at=later
    )
    call_command("migrate", "tr_aas", "0002", verbosity=0)
    try:
        assert list(PendingHandshake.objects.values_list("nonce", "application_id")) == [
            ("live", record.pk)
        ]
    finally:
        call_command("migrate", "tr_aas", verbosity=0)
    assert list(PendingHandshake.objects.values_list("nonce", flat=True)) == ["live"]
