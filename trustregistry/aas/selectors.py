"""Reads of the AAS: the record and the signing key, each with one light query per handshake."""

from __future__ import annotations

import threading

from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import LoadedKey, get_active_key
from trustregistry.registry.models import TrustedApplication

_HANDSHAKE_FIELDS = ("id", "client_id", "is_enabled", "connector_url", "public_keys")

_key_lock = threading.Lock()
_cached_key: LoadedKey | None = None


def connector_application_get(*, application_uri: str) -> TrustedApplication | None:
    """Exact, case-sensitive lookup with only the fields the handshake reads."""
    return (
        TrustedApplication.objects.only(*_HANDSHAKE_FIELDS)
        .filter(client_id=application_uri)
        .first()
    )


def active_aas_key() -> LoadedKey:
    """The active AAS key. The database is asked every time which key is active (one indexed
    query for its kid), so a rotation on any server takes effect at once; only the parsed key
    is reused while the kid stays the same."""
    global _cached_key
    kid = (
        SigningKey.objects.filter(purpose=KeyPurpose.AAS, retired_at__isnull=True)
        .order_by("-created", "-id")
        .values_list("kid", flat=True)
        .first()
    )
    with _key_lock:
        cached = _cached_key
    if cached is not None and kid is not None and cached.kid == kid:
        return cached
    loaded = get_active_key(KeyPurpose.AAS)
    with _key_lock:
        _cached_key = loaded
    return loaded
