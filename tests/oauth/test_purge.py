"""`manage.py purge_expired`: expired records go in bounded batches; reuse detection keeps
what it needs."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from tests.oauth.conftest import SECRET, basic
from trustregistry.common import clock
from trustregistry.oauth.models import RedeemedCode


def test_purge_keeps_live_families_and_drops_expired(
    flow, client, confidential_app, internal_user, service_app
):
    live = flow.tokens(confidential_app, internal_user)
    rotated = flow.refresh(confidential_app, live["refresh_token"]).json()
    flow.code(confidential_app, internal_user)  # an unexchanged code
    client.post(
        "/id/connect/token", {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET),
    )  # fmt: skip
    assert Grant.objects.count() == 1

    with time_machine.travel(clock.now() + dt.timedelta(hours=2)):
        out = StringIO()
        call_command("purge_expired", "--batch-size", "1", stdout=out)
        assert "grants: 1 deleted" in out.getvalue()
        # The client-credentials token is gone; the family's rows (the rotated, revoked one
        # included) stay for reuse detection.
        assert not AccessToken.objects.filter(application=service_app).exists()
        assert RefreshToken.objects.filter(application=confidential_app).count() == 2
        reuse = flow.refresh(confidential_app, live["refresh_token"])
        assert reuse.json()["error"] == "invalid_grant"
        assert RefreshToken.objects.filter(revoked__isnull=True).count() == 0

    with time_machine.travel(clock.now() + dt.timedelta(days=31)):
        out = StringIO()
        call_command("purge_expired", stdout=out)
        assert not RefreshToken.objects.exists()
        assert not AccessToken.objects.exists()
        assert not RedeemedCode.objects.exists()
    assert rotated["refresh_token"]


def test_purge_stops_at_max_batches(flow, confidential_app, internal_user):
    for _ in range(3):
        flow.code(confidential_app, internal_user)
    with time_machine.travel(clock.now() + dt.timedelta(minutes=5)):
        out = StringIO()
        call_command("purge_expired", "--batch-size", "1", "--max-batches", "2", stdout=out)
        assert "grants: 2 deleted" in out.getvalue()
        assert "run again" in out.getvalue()
        assert Grant.objects.count() == 1


@pytest.mark.django_db
def test_one_batch_on_an_empty_database_is_all_the_work_there_is():
    # Finding nothing spends no batch: it used to say "run again" with nothing left.
    out = StringIO()
    call_command("purge_expired", "--max-batches", "1", stdout=out)
    assert out.getvalue().strip() == "nothing to purge"


def test_purge_also_drops_expired_handshake_nonces_on_both_sides(confidential_app):
    from connector.django_app.models import AnsweredNonce
    from trustregistry.aas.models import PendingHandshake

    now = clock.now()
    PendingHandshake.objects.create(
        nonce="A" * 32,
        application=confidential_app,
        created=now,
        expires_at=now + dt.timedelta(minutes=5),
    )
    AnsweredNonce.objects.create(nonce="B" * 32, keep_until=now + dt.timedelta(minutes=7))
    out = StringIO()
    call_command("purge_expired", stdout=out)
    assert PendingHandshake.objects.count() == 1 and AnsweredNonce.objects.count() == 1
    with time_machine.travel(now + dt.timedelta(minutes=10)):
        out = StringIO()
        call_command("purge_expired", stdout=out)
    assert "pending handshakes: 1 deleted" in out.getvalue()
    assert "answered connector nonces: 1 deleted" in out.getvalue()
    assert not PendingHandshake.objects.exists() and not AnsweredNonce.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arguments",
    [
        ("--batch-size", "0"),
        ("--batch-size", "100001"),
        ("--batch-size", str(10**20)),  # was a database traceback (bigint out of range)
        ("--max-batches", "-1"),  # was "stopped at --max-batches", exit status 0
    ],
)
def test_out_of_range_arguments_exit_2_with_a_message(arguments):
    err = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("purge_expired", *arguments, stdout=StringIO(), stderr=err)
    assert exited.value.code == 2
    assert arguments[0] in err.getvalue()
