"""Fixtures of the keys tests."""

from __future__ import annotations

import time

import pytest

from trustregistry.keys import services
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import get_active_key, rotate_key


@pytest.fixture
def keys() -> dict[str, SigningKey]:
    """Both purposes' keys, and a retired (still published) oidc key."""
    first_oidc = get_active_key(KeyPurpose.OIDC).kid
    get_active_key(KeyPurpose.AAS)
    rotate_key(purpose=KeyPurpose.OIDC)
    return {
        "retired": SigningKey.objects.get(kid=first_oidc),
        "oidc": SigningKey.objects.get(purpose=KeyPurpose.OIDC, retired_at__isnull=True),
        "aas": SigningKey.objects.get(purpose=KeyPurpose.AAS, retired_at__isnull=True),
    }


@pytest.fixture
def superuser_client(client, staff_user):  # type: ignore[no-untyped-def]
    client.force_login(staff_user)
    return client


@pytest.fixture
def slow_to_store(monkeypatch):  # type: ignore[no-untyped-def]
    """Keys made beforehand (RSA's time varies too much to order the threads by) whose INSERT
    waits 0.3 s, so another writer starts while the first holds the lock of key writes."""
    made = {purpose: [services._new_key(purpose) for _ in range(3)] for purpose in KeyPurpose}

    def new_key(purpose):  # type: ignore[no-untyped-def]
        key = made[purpose].pop()
        store = key.save

        def save(*args, **kwargs):  # type: ignore[no-untyped-def]
            time.sleep(0.3)
            store(*args, **kwargs)

        key.save = save  # type: ignore[method-assign]
        return key

    monkeypatch.setattr(services, "_new_key", new_key)
