from __future__ import annotations

import pytest
from defusedxml import ElementTree

from connector import soap, tokens
from connector.keys import load_private_key

# SuperOffice's DevNet SignedToken: its nonce, and a moment inside its validity window.
SUPEROFFICE_NONCE = "9AB41493762B0C5B6E0F1AB35F032B95"
SUPEROFFICE_INSIDE = 1639640500


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


def assert_soap_reply_verifies(xml: bytes, public_key) -> None:  # type: ignore[no-untyped-def]
    """A SOAP AuthenticateResponse that succeeded, its SignedApplicationToken answering
    SuperOffice's DevNet nonce and signed by the sample key."""
    ns = {"m": soap.MIRRORING_NS}
    root = ElementTree.fromstring(xml)
    assert root.find(".//m:IsSuccessful", ns).text == "true"
    reply = root.find(".//m:SignedApplicationToken", ns).text
    tokens.verify_application_token(
        reply,
        expected_nonce=SUPEROFFICE_NONCE,
        public_keys=[public_key],
        now=SUPEROFFICE_INSIDE,
    )
