"""Fixtures of the keys admin's tests."""

from __future__ import annotations

import pytest

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
