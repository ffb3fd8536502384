"""Withdrawing signing keys (`rotate_keys --withdraw`) and the keys that verify hints."""

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command

from tests import factories
from tests.oauth.conftest import SECRET, cc
from trustregistry.common import clock
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import (
    get_active_key,
    hint_key_for_kid,
    jwks,
    public_key_for_kid,
    rotate_key,
)
from trustregistry.oauth import access_tokens


def _published_kids() -> set[str]:
    return {k["kid"] for k in jwks()["keys"]}


def test_withdrawing_unpublishes_every_older_key_of_the_purpose_at_once(db):
    first = get_active_key(KeyPurpose.OIDC).kid
    second = rotate_key(purpose=KeyPurpose.OIDC).kid  # `first` stays published for its tokens
    aas = get_active_key(KeyPurpose.AAS).kid
    assert {first, second, aas} <= _published_kids()
    assert public_key_for_kid(first, KeyPurpose.OIDC) is not None  # now in this process's cache

    third = rotate_key(purpose=KeyPurpose.OIDC, withdraw=True).kid

    assert get_active_key(KeyPurpose.OIDC).kid == third
    published = _published_kids()
    assert third in published and aas in published  # the other purpose is untouched
    assert first not in published and second not in published
    for kid in (first, second):
        assert public_key_for_kid(kid, KeyPurpose.OIDC) is None
        assert hint_key_for_kid(kid) is None
    rows = SigningKey.objects.filter(kid__in=[first, second])
    assert all(row.withdrawn_at is not None for row in rows)
    assert SigningKey.objects.get(kid=third).withdrawn_at is None


def test_an_access_token_signed_by_a_withdrawn_key_stops_at_once(db, client):
    app = factories.ServiceApplicationFactory(secret=SECRET, scope="update")
    token = cc(client, app).json()["access_token"]
    access_tokens.check_access_token(token)  # verified, and remembered by this process
    rotate_key(purpose=KeyPurpose.OIDC)
    access_tokens.check_access_token(token)  # a plain rotation keeps it good
    rotate_key(purpose=KeyPurpose.OIDC, withdraw=True)
    with pytest.raises(access_tokens.InvalidAccessToken):
        access_tokens.check_access_token(token)


def test_a_key_retired_within_a_session_lifetime_still_verifies_hints(db, settings):
    settings.SESSION_COOKIE_AGE = 14 * 24 * 3600
    old = get_active_key(KeyPurpose.OIDC).kid
    rotate_key(purpose=KeyPurpose.OIDC)
    with time_machine.travel(clock.now() + dt.timedelta(days=1), tick=False):
        assert public_key_for_kid(old, KeyPurpose.OIDC) is None  # out of the JWKS
        assert hint_key_for_kid(old) is not None
    with time_machine.travel(clock.now() + dt.timedelta(days=14, minutes=1), tick=False):
        assert hint_key_for_kid(old) is None


def test_hint_keys_are_oidc_keys_only(db):
    aas = get_active_key(KeyPurpose.AAS).kid
    assert hint_key_for_kid(aas) is None
    assert hint_key_for_kid("no-such-kid") is None


def test_rotate_keys_withdraw_command(db, capsys):
    old = get_active_key(KeyPurpose.AAS).kid
    call_command("rotate_keys", "--purpose", "aas", "--withdraw")
    out = capsys.readouterr().out
    assert "rotated aas" in out and "withdrew" in out and "kill -HUP" in out
    assert old not in _published_kids()


def test_rotate_keys_withdraw_needs_a_purpose(db):
    before = set(SigningKey.objects.values_list("kid", flat=True))
    with pytest.raises(CommandError, match="--purpose"):
        call_command("rotate_keys", "--withdraw")
    assert set(SigningKey.objects.values_list("kid", flat=True)) == before


def test_servers_creating_the_first_key_at_once_end_with_one(db, monkeypatch):
    # Each server found no key and made one; on PostgreSQL both inserts went through (there
    # was no row to lock), leaving two signing keys of one purpose.
    from trustregistry.keys import services

    other_servers_key = services._new_key(KeyPurpose.OIDC)
    make_key = services._new_key

    def while_another_server_stores_its_own(purpose):  # type: ignore[no-untyped-def]
        candidate = make_key(purpose)
        other_servers_key.save()
        return candidate

    monkeypatch.setattr(services, "_new_key", while_another_server_stores_its_own)
    assert get_active_key(KeyPurpose.OIDC).kid == other_servers_key.kid
    assert SigningKey.objects.filter(purpose=KeyPurpose.OIDC, retired_at__isnull=True).count() == 1


def _model_at(migration: str):  # type: ignore[no-untyped-def]
    """SigningKey as the keys migration `migration` left it: the current model (and the
    services using it) names columns an earlier schema does not have."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    state = MigrationExecutor(connection).loader.project_state(("keys", migration))
    return state.apps.get_model("keys", "SigningKey")


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_keeps_the_newest_of_two_signing_keys_and_publishes_the_other():
    # An installation whose servers raced before keys 0003: two active oidc keys.
    from trustregistry.keys import services

    call_command("migrate", "keys", "0002", verbosity=0)
    try:
        old_model = _model_at("0002_signingkey_withdrawn_at")
        pem = services._new_key(KeyPurpose.OIDC).private_key_pem  # made, not stored
        for kid, later in (("older", 0), ("newer", 1)):
            old_model.objects.create(
                purpose=KeyPurpose.OIDC,
                kid=kid,
                private_key_pem=pem,
                public_jwk={"kid": kid},
                created=clock.now() + dt.timedelta(seconds=later),
            )
        call_command("migrate", "keys", verbosity=0)
    finally:
        call_command("migrate", verbosity=0)
    assert list(
        SigningKey.objects.filter(purpose=KeyPurpose.OIDC, retired_at__isnull=True).values_list(
            "kid", flat=True
        )
    ) == ["newer"]
    retired = SigningKey.objects.get(kid="older")
    assert retired.publish_until is not None and retired.publish_until > clock.now()
    assert retired.withdrawn_at is None


def test_the_database_holds_one_signing_key_per_purpose(db):
    from django.db import IntegrityError, transaction

    from trustregistry.keys import services

    get_active_key(KeyPurpose.AAS)
    with pytest.raises(IntegrityError), transaction.atomic():
        services._new_key(KeyPurpose.AAS).save()


@pytest.mark.django_db(transaction=True)
def test_two_rotations_at_once_leave_one_signing_key(slow_to_store):
    # On PostgreSQL the second rotation's UPDATE waited for the first's row lock, then found
    # the old key retired and the first's new key outside its snapshot: it retired nothing
    # and its insert broke the one-active-key constraint (before the constraint: two keys).
    from django.db import connection

    from tests.keys.concurrency import at_once, refused_by_sqlite

    first = get_active_key(KeyPurpose.OIDC).kid

    def rotation() -> SigningKey:
        return rotate_key(purpose=KeyPurpose.OIDC)

    outcomes = at_once((0.0, rotation), (0.1, rotation))
    rotated = [o for o in outcomes if not refused_by_sqlite(o)]
    if connection.vendor == "postgresql":
        assert len(rotated) == 2, outcomes  # both went through, one after the other
    assert rotated and all(isinstance(o, SigningKey) for o in rotated), outcomes
    active = SigningKey.objects.filter(purpose=KeyPurpose.OIDC, retired_at__isnull=True)
    assert list(active.values_list("kid", flat=True)) == [rotated[-1].kid]  # type: ignore[union-attr]
    assert first not in {o.kid for o in rotated}  # type: ignore[union-attr]


@pytest.mark.django_db(transaction=True)
def test_a_key_withdrawn_before_a_rollback_verifies_no_hint_once_upgraded_again():
    # Rolling back before keys 0002 drops `withdrawn_at`; a withdrawn key kept as a merely
    # retired one verified id_token_hints again after the next upgrade (it was retired within
    # a session's lifetime). Its reverse now deletes withdrawn keys; the others stay.
    leaked = get_active_key(KeyPurpose.OIDC).kid
    signing = rotate_key(purpose=KeyPurpose.OIDC, withdraw=True).kid
    retired_aas = get_active_key(KeyPurpose.AAS).kid
    signing_aas = rotate_key(purpose=KeyPurpose.AAS).kid
    assert hint_key_for_kid(leaked) is None
    call_command("migrate", "keys", "0001", verbosity=0)
    try:
        assert set(SigningKey.objects.values_list("kid", flat=True)) == {
            signing,
            retired_aas,
            signing_aas,
        }
    finally:
        call_command("migrate", "keys", verbosity=0)
    assert hint_key_for_kid(leaked) is None
    assert hint_key_for_kid(signing) is not None
    assert SigningKey.objects.get(kid=retired_aas).publish_until > clock.now()


@pytest.mark.django_db(transaction=True)
def test_keys_0004_makes_every_key_signing_from_its_creation_and_back_retires_a_staged_one():
    from trustregistry.keys import services
    from trustregistry.keys.services import stage_key

    call_command("migrate", "keys", "0003", verbosity=0)
    try:
        before = _model_at("0003_one_active_key_per_purpose")
        now = clock.now()
        for kid, retired in (("retired", now), ("signing", None)):
            before.objects.create(
                purpose=KeyPurpose.AAS,
                kid=kid,
                private_key_pem=services._new_key(KeyPurpose.AAS).private_key_pem,
                public_jwk={"kid": kid},
                created=now - dt.timedelta(days=1 if retired else 0),
                retired_at=retired,
                publish_until=retired,
            )
        call_command("migrate", "keys", "0004", verbosity=0)
        rows = SigningKey.objects.filter(kid__in=["retired", "signing"])
        assert all(row.activated_at == row.created for row in rows)
        assert SigningKey.objects.signing(KeyPurpose.AAS).get().kid == "signing"
        staged, _ = stage_key(purpose=KeyPurpose.AAS)

        call_command("migrate", "keys", "0003", verbosity=0)  # 0003's constraint holds again
        after = _model_at("0003_one_active_key_per_purpose")
        row = after.objects.get(kid=staged.kid)
        assert row.retired_at is not None and row.publish_until <= clock.now()
        assert row.withdrawn_at is None  # it did not leak
        unretired = after.objects.filter(purpose=KeyPurpose.AAS, retired_at__isnull=True)
        assert list(unretired.values_list("kid", flat=True)) == ["signing"]
    finally:
        call_command("migrate", verbosity=0)
