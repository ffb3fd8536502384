"""The making of a signing key: an RSA key, its public JWK and, for purpose `aas`, its
self-signed X.509 certificate (kid = the certificate's SHA-1 thumbprint in upper-case hex,
x5t = the same bytes base64url, as SuperOffice's AAS does; `oidc`: kid = RFC 7638
thumbprint). Pure cryptography: storing, choosing and publishing keys is keys/services.py's."""

from __future__ import annotations

import base64
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings

from connector.keys import (
    b64url_encode,
    certificate_sha1_thumbprint,
    private_key_to_pem,
    public_key_to_jwk,
)
from trustregistry.keys.models import KeyPurpose, SigningKey

RSA_BITS = 2048
CERTIFICATE_YEARS = 5


def self_signed_certificate(key: rsa.RSAPrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Trust registry AAS"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.TRUSTREGISTRY_AAS_ISSUER[:64]),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def new_key(purpose: str, now: dt.datetime) -> SigningKey:
    """An unsaved key of `purpose`, created and activated `now` (a staged key's activation is
    cleared by its caller)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    jwk: dict = public_key_to_jwk(key.public_key())
    cert_pem = ""
    if purpose == KeyPurpose.AAS:
        cert = self_signed_certificate(key, now)
        thumb = certificate_sha1_thumbprint(cert)
        jwk["kid"] = thumb.hex().upper()
        jwk["x5t"] = b64url_encode(thumb)
        jwk["x5c"] = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    jwk["use"] = "sig"
    jwk["alg"] = "RS256"
    pem = private_key_to_pem(key).decode()
    return SigningKey(
        purpose=purpose,
        kid=jwk["kid"],
        private_key_pem=pem,
        public_jwk=jwk,
        certificate_pem=cert_pem,
        created=now,
        activated_at=now,
    )
