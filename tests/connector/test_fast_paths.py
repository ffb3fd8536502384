"""The connector's fast paths: the JOSE header read without a second full parse, and the
environment-configured WSGI app a server such as gunicorn runs."""

from __future__ import annotations

import io
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connector import tokens
from connector.keys import b64url_encode, private_key_to_pem
from connector.tokens import HandshakeError
from connector.trust import PinnedCertificates
from connector.wsgi import from_environ
from tests.connector.test_tokens import INSIDE, _check


@pytest.fixture
def devnet(interop):
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    pinned = PinnedCertificates.from_pem((interop / "devnet-auth_DevNet.crt").read_text())
    return token, pinned


def _b64(data: dict) -> str:
    return b64url_encode(json.dumps(data).encode())


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h, b, s: f"{h}!.{b}.{s}",  # junk in the header segment
        lambda h, b, s: f"{h}.{b}!.{s}",  # junk in the payload segment
        lambda h, b, s: f"{h}.{b}.{s}*",  # junk in the signature segment
        lambda h, b, s: f"{h}===.{b}.{s}",  # three padding characters
        lambda h, b, s: f"{_b64([1, 2])}.{b}.{s}",  # a header that is not an object
        lambda h, b, s: f"{b64url_encode(b'not json')}.{b}.{s}",
        lambda h, b, s: f"{_b64({'alg': 'RS256', 'kid': 7})}.{b}.{s}",  # kid not a string
        lambda h, b, s: f".{b}.{s}",  # no header
    ],
)
def test_malformed_tokens_are_not_well_formed_jwts(devnet, mangle):
    token, pinned = devnet
    with pytest.raises(HandshakeError, match="not a well-formed JWT"):
        _check(mangle(*token.split(".")), pinned)


def test_the_header_is_read_once_but_the_whole_token_is_still_checked(devnet):
    token, pinned = devnet
    assert _check(token, pinned, now=INSIDE).nonce
    head, body, sig = token.split(".")
    # A payload segment that passes the shape check but is not canonical base64url is refused
    # by the full parse.
    with pytest.raises(HandshakeError):
        _check(f"{head}.{body[:-1]}.{sig}", pinned)


_SEGMENTS = [
    b"",
    b"A",
    b"AA",
    b"AAA",
    b"AAAA",
    b"AB",  # non-canonical: the last character carries bits that decode to nothing
    b"AQ",
    b"AQ=",
    b"AQ==",
    b"AQ===",
    b"AQI=",
    b"AQI",
    b"AQID",
    b"AQID=",
    b"=",
    b"==",
    b"A=A=",
    b"AQ+/",
    b"AQ-_",
    b"AQ\n",
    b"AQ ",
    b"\xc3\xa9AA",
    b"eyJhbGciOiJSUzI1NiJ9",
    b"eyJhbGciOiJSUzI1NiJ9=",
]


@pytest.mark.parametrize("segment", _SEGMENTS)
def test_the_segment_check_is_pyjwts_own_rule(segment):
    """The connector's regex segment check (speed) accepts and refuses what PyJWT does."""

    def outcome(decode):
        try:
            return decode(segment, "header")
        except jwt.DecodeError:
            return "refused"

    ours = outcome(tokens._JWS._decode_base64url_segment)
    assert ours == outcome(jwt.PyJWS._decode_base64url_segment)
    assert ours != "refused" or segment not in (b"", b"AQ", b"AQ==", b"AQID", b"AQ-_")


def test_from_environ_serves_a_connector(tmp_path):
    aas = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(private_key_to_pem(app_key))
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aas")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(aas.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(aas, hashes.SHA256())
    )
    cert_file = tmp_path / "aas.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    env = {
        "CONNECTOR_APPLICATION_URI": "env.example.com/app",
        "CONNECTOR_PRIVATE_KEY_FILE": str(key_file),
        "CONNECTOR_TRUSTED_ISSUER": "https://erp.example.com/id",
        "CONNECTOR_AAS_CERTIFICATE_FILE": str(cert_file),
    }
    app = from_environ(env)
    kid = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303
    token = tokens.build_aas_token(
        private_key=aas,
        kid=kid,
        x5t="x",
        issuer="https://erp.example.com/id",
        application_uri="env.example.com/app",
        context="c",
        nonce=tokens.new_nonce(),
    )

    def post(token):
        body = json.dumps({"SignedToken": token}).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/authenticate",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        return json.loads(b"".join(app(environ, lambda status, headers: None)))

    answer = post(token)
    assert answer["Succeeded"] is True
    tokens.verify_application_token(
        answer["SignedApplicationToken"],
        expected_nonce=answer["SignedApplicationToken"].split(".")[0],
        public_keys=[app_key.public_key()],
    )
    assert post(token)["Reason"].endswith("(replay).")

    for missing in ("CONNECTOR_APPLICATION_URI", "CONNECTOR_TRUSTED_ISSUER"):
        with pytest.raises(ValueError, match=missing):
            from_environ({k: v for k, v in env.items() if k != missing})
    with pytest.raises(ValueError, match="JWKS"):
        from_environ({k: v for k, v in env.items() if k != "CONNECTOR_AAS_CERTIFICATE_FILE"})
