from __future__ import annotations

import pytest

from connector.keys import load_private_key


@pytest.fixture
def superoffice_env(interop):  # type: ignore[no-untyped-def]
    """The CONNECTOR_* variables of a connector configured as SuperOffice's DevNet sample
    (interop README): its application URI, the sample .NET XML private key, SuperOffice's
    issuer and the DevNet AAS certificate pinned."""
    return {
        "CONNECTOR_APPLICATION_URI": "123123123123123123",
        "CONNECTOR_PRIVATE_KEY_FILE": str(interop / "connector-samples_LocalhostPrivateKey.xml"),
        "CONNECTOR_TRUSTED_ISSUER": "SuperOffice AS",
        "CONNECTOR_AAS_CERTIFICATE_FILE": str(interop / "devnet-auth_DevNet.crt"),
    }


@pytest.fixture
def public_key(interop):  # type: ignore[no-untyped-def]
    """The public half of that sample key: what the record holds to check the reply."""
    xml = (interop / "connector-samples_LocalhostPrivateKey.xml").read_bytes()
    return load_private_key(xml).public_key()
