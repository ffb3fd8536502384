"""Staging and rotating at the same moment (two administrators, or `rotate_keys` run twice):
the per-purpose writer lock (services.one_writer_of_keys) makes them one after the other, on
both databases, so a rotation that starts while a key is being staged activates that key, and
two stagings make one key."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from tests.keys.concurrency import at_once, refused_by_sqlite
from trustregistry.keys import services
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import get_active_key, rotate_key, stage_key

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rotation_started_while_a_key_is_being_staged_activates_that_key(slow_to_store):
    first = get_active_key(KeyPurpose.OIDC).kid
    staging, rotation = at_once(
        (0.0, lambda: stage_key(purpose=KeyPurpose.OIDC)),
        (0.1, lambda: rotate_key(purpose=KeyPurpose.OIDC)),
    )
    assert isinstance(staging, tuple), staging
    staged, created = staging
    assert created
    signing = SigningKey.objects.signing(KeyPurpose.OIDC)
    if refused_by_sqlite(rotation):
        assert list(signing.values_list("kid", flat=True)) == [first]
        assert services.staged_key(KeyPurpose.OIDC) == staged
        return
    # Without the lock (PostgreSQL) the rotation did not see the key being staged: it signed
    # with a key of its own and left the staged one for later, a key the operator had not
    # handed to anyone.
    assert isinstance(rotation, SigningKey), rotation
    assert rotation.kid == staged.kid
    assert list(signing.values_list("kid", flat=True)) == [staged.kid]
    assert services.staged_key(KeyPurpose.OIDC) is None
    assert SigningKey.objects.get(kid=first).retired_at is not None


def test_two_stagings_at_once_stage_one_key(slow_to_store):
    get_active_key(KeyPurpose.OIDC)
    outcomes = at_once(
        (0.0, lambda: stage_key(purpose=KeyPurpose.OIDC)),
        (0.1, lambda: stage_key(purpose=KeyPurpose.OIDC)),
    )
    staged = list(SigningKey.objects.staged(KeyPurpose.OIDC))
    assert len(staged) == 1
    done = [o for o in outcomes if not refused_by_sqlite(o)]
    # Without the lock (PostgreSQL) the second INSERT broke the one-staged-key constraint.
    assert all(isinstance(o, tuple) for o in done), outcomes
    assert {key.pk for key, _ in done} == {staged[0].pk}  # type: ignore[union-attr]
    if connection.vendor == "postgresql":
        assert [created for _, created in done] == [True, False]  # type: ignore[misc]


def test_two_rotations_at_once_with_a_key_staged_rotate_twice(slow_to_store, monkeypatch):
    first = get_active_key(KeyPurpose.OIDC).kid
    staged, _ = stage_key(purpose=KeyPurpose.OIDC)
    store = SigningKey.save

    def slow_activation(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.3)  # the other rotation reads the keys while this one activates
        store(self, *args, **kwargs)

    monkeypatch.setattr(SigningKey, "save", slow_activation)
    outcomes = at_once(
        (0.0, lambda: rotate_key(purpose=KeyPurpose.OIDC)),
        (0.1, lambda: rotate_key(purpose=KeyPurpose.OIDC)),
    )
    done = [o for o in outcomes if not refused_by_sqlite(o)]
    assert done and all(isinstance(o, SigningKey) for o in done), outcomes
    kids = [o.kid for o in done]  # type: ignore[union-attr]
    assert kids[0] == staged.kid  # the first activated the staged key
    signing = list(SigningKey.objects.signing(KeyPurpose.OIDC).values_list("kid", flat=True))
    assert signing == [kids[-1]]
    if connection.vendor == "postgresql":
        # The second, after the first, retired the key just activated for one of its own.
        # Without the lock it read the key as staged still and "activated" it a second time.
        assert len(kids) == 2 and kids[1] not in (first, staged.kid)
    assert services.staged_key(KeyPurpose.OIDC) is None
