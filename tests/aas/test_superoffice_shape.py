"""The registry's AAS token next to SuperOffice's own (interop/superoffice_signed_token_devnet-
auth.jwt): a connector written for SuperOffice's token reads the registry's the same way."""

from __future__ import annotations

import base64
import hashlib

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from connector import tokens
from connector.keys import b64url_encode
from trustregistry.aas import services
from trustregistry.aas.errors import HandshakeFailed


def _sections(token: str) -> tuple[dict, dict]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


@pytest.mark.django_db(transaction=True)
def test_the_aas_token_has_the_shape_of_superoffices(scripted, interop, live_server):
    devnet_header, devnet_claims = _sections(
        (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    )
    scripted.answer = lambda c: ("200 OK", [], b'{"Succeeded": false, "Reason": "looking"}')
    with pytest.raises(HandshakeFailed):
        services.resolve_connector(url="app://scripted.example.com/app", context="Cust12020")
    [(environ, token)] = scripted.requests
    assert environ["CONTENT_TYPE"].split(";")[0] == "application/json"
    header, claims = _sections(token)

    # The same header members, in the same forms: kid the certificate's SHA-1 thumbprint in
    # upper-case hex, x5t the same 20 bytes in base64url.
    assert set(header) == set(devnet_header) == {"alg", "kid", "x5t", "typ"}
    for h in (devnet_header, header):
        assert (h["alg"], h["typ"]) == ("RS256", "JWT")
        assert len(h["kid"]) == 40 and h["kid"] == h["kid"].upper()
        assert h["x5t"] == b64url_encode(bytes.fromhex(h["kid"]))
    # ... naming the certificate the registry publishes, as DevNet's names DevNet.crt.
    pem = requests.get(f"{live_server.url}/id/.well-known/aas-certificate.pem", timeout=10)
    der = x509.load_pem_x509_certificate(pem.content).public_bytes(serialization.Encoding.DER)
    assert header["kid"] == hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - a thumbprint
    devnet_der = base64.b64decode(
        "".join((interop / "devnet-auth_DevNet.crt").read_text().splitlines()[1:-1])
    )
    assert devnet_header["kid"] == hashlib.sha1(devnet_der).hexdigest().upper()  # noqa: S324

    # Every claim of SuperOffice's, in its form; only iat and jti added.
    assert set(claims) - set(devnet_claims) == {"iat", "jti"}
    assert set(devnet_claims) <= set(claims)
    assert claims["aud"].startswith("spn:") and devnet_claims["aud"].startswith("spn:")
    assert claims["sub"] == claims[tokens.CONTEXT_CLAIM] == devnet_claims["sub"] == "Cust12020"
    for c in (devnet_claims, claims):
        assert (
            len(c["nonce"]) == 32 and int(c["nonce"], 16) >= 0 and c["nonce"] == c["nonce"].upper()
        )
        assert isinstance(c["nbf"], int) and isinstance(c["exp"], int)
    assert claims["exp"] - claims["nbf"] == 360 == devnet_claims["exp"] - devnet_claims["nbf"]
