"""The handshake across a staged rotation (SPEC section 7): a staged AAS key is published but
signs no handshake; the rotation makes it sign at once, on every server."""

from __future__ import annotations

import jwt

from tests.aas.conftest import CONNECTOR_URI
from trustregistry.aas import services
from trustregistry.aas.selectors import ACTIVE_KID_ATTRIBUTE, connector_application_get
from trustregistry.keys import services as keys_services
from trustregistry.keys.models import KeyPurpose
from trustregistry.keys.services import get_active_key, rotate_key, stage_key


def _signed_by(application) -> str:  # type: ignore[no-untyped-def]
    attempt = services.begin_handshake(application=application, context="Cust1")
    return jwt.get_unverified_header(attempt.signed_token)["kid"]


def test_a_staged_key_signs_no_handshake_until_the_rotation(connector_record, connector_url):
    # The connector pins the active certificate alone (tests/aas/conftest.py).
    active = get_active_key(KeyPurpose.AAS).kid
    staged, _ = stage_key(purpose=KeyPurpose.AAS)
    keys_services.clear_active_key_cache()  # as a server that reads the keys afresh
    record = connector_application_get(application_uri=CONNECTOR_URI)
    assert getattr(record, ACTIVE_KID_ATTRIBUTE) == active
    assert _signed_by(record) == active
    assert _signed_by(connector_record) == active  # a record from elsewhere (the admin)
    resolved = services.resolve_connector(url=f"app://{CONNECTOR_URI}", context="Cust1")
    assert resolved.url == connector_url  # the connector verified it with the active key

    kept = dict(keys_services._active_key_cache)
    rotate_key(purpose=KeyPurpose.AAS)
    keys_services._active_key_cache.update(kept)  # a server that read the keys before
    record = connector_application_get(application_uri=CONNECTOR_URI)
    assert getattr(record, ACTIVE_KID_ATTRIBUTE) == staged.kid
    assert _signed_by(record) == staged.kid
