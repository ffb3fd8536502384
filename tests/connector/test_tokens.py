"""Both token formats of the handshake against fixed vectors and every refusal, without Django."""

import base64
import calendar
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connector import tokens
from connector.keys import b64url_encode, load_certificate, load_private_key, load_public_keys
from connector.tokens import HandshakeError
from connector.trust import PinnedCertificates

SO_NONCE = "9AB41493762B0C5B6E0F1AB35F032B95"
SO_NBF, SO_EXP = 1639640381, 1639640741
INSIDE = 1639640500
# The reply SuperOffice's sample connector key (1024-bit .NET RSA XML) gives for SO_NONCE at
# 2021-12-16 07:40 UTC; PKCS#1 v1.5 is deterministic, and `openssl dgst -sha256 -sign` with
# the same key gives the same bytes.
XML_KEY_REPLY = (
    "9AB41493762B0C5B6E0F1AB35F032B95.202112160740."
    "gzu8hXOq2p6lIyTh7Rg1muTKbVpM7n6IXfiV9SxgrmpY/QcdbYwVESgj4jWneKvPSd3dlfmWMoF4hThW6IHxPKQE"
    "DpOYujgRzD6aL6YdpQNx0n3DWksuaHYPT3ygkCM4qP5RZH/C+LquMwaVmZWfYkixLocmAvOsjO9v4135caM="
)
REPLY_TIME = calendar.timegm((2021, 12, 16, 7, 40, 30))


@pytest.fixture(scope="module")
def aas_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def devnet(interop):
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    pinned = PinnedCertificates.from_pem((interop / "devnet-auth_DevNet.crt").read_text())
    return token, pinned


@pytest.fixture
def xml_key(interop):
    return load_private_key((interop / "connector-samples_LocalhostPrivateKey.xml").read_bytes())


def _check(token, keys, *, now=INSIDE, issuer="SuperOffice AS", uri="123123123123123123"):
    return tokens.verify_aas_token(token, keys=keys, issuer=issuer, application_uri=uri, now=now)


def _sign_as_devnet(interop, claims, headers=None):
    key = load_private_key((interop / "devnet-auth_DevNet_private.key").read_text())
    base = {
        "iss": "SuperOffice AS",
        "aud": "spn:123123123123123123",
        "nonce": SO_NONCE,
        "nbf": SO_NBF,
        "exp": SO_EXP,
    }
    base.update(claims)
    base = {k: v for k, v in base.items() if v is not None}
    head = {"kid": "B0AD4C0BFD8913B8040F3E8AD16A91F585222C33"}
    head.update(headers or {})
    return jwt.encode(base, key, algorithm="RS256", headers=head)


# ---------------------------------------------------------------- the AAS token


def test_superoffice_signed_token_verifies_with_the_devnet_certificate(devnet):
    token, pinned = devnet
    verified = _check(token, pinned)
    assert verified.nonce == SO_NONCE
    assert verified.context == "Cust12020"
    assert verified.expires == SO_EXP


def test_token_we_build_has_the_superoffice_shape_and_verifies(aas_key):
    token = tokens.build_aas_token(
        private_key=aas_key,
        kid="ABCDEF",
        x5t="q83v",
        issuer="https://erp.example/id",
        application_uri="mywebsite.com/myapp1",
        context="Cust1",
        nonce="00FF" * 8,
        now=1_700_000_000,
    )
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "ABCDEF", "x5t": "q83v"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "spn:mywebsite.com/myapp1"
    assert claims["sub"] == claims[tokens.CONTEXT_CLAIM] == "Cust1"
    assert (claims["nbf"], claims["iat"], claims["exp"]) == (
        1_699_999_940,
        1_700_000_000,
        1_700_000_300,
    )
    assert claims["jti"]
    verified = tokens.verify_aas_token(
        token,
        keys=lambda h: [aas_key.public_key()],
        issuer="https://erp.example/id",
        application_uri="mywebsite.com/myapp1",
        now=1_700_000_100,
    )
    assert verified.nonce == "00FF" * 8


def test_nonce_is_16_random_bytes_in_upper_hex():
    a, b = tokens.new_nonce(), tokens.new_nonce()
    assert a != b and len(a) == 32 and a == a.upper() and bytes.fromhex(a)


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"iss": "SuperOffice"}, "wrong issuer"),
        ({"iss": "superoffice as"}, "wrong issuer"),
        ({"aud": "spn:999"}, "another application"),
        ({"aud": None}, "another application"),
        ({"nonce": None}, "no nonce"),
        ({"nonce": ""}, "no nonce"),
        ({"nonce": "a.b"}, "nonce is not valid"),
        ({"exp": None}, "no expiry"),
        ({"exp": float("inf")}, "no expiry"),  # JSON 1e999: signed, but not a time
        ({"nbf": float("nan")}, "invalid nbf"),
        # a lone surrogate (JSON "\\ud800"): compared as unequal, not raised
        ({"iss": "\ud800"}, "wrong issuer"),
        ({"aud": "spn:\ud800"}, "another application"),
    ],
)
def test_claims_refused(interop, devnet, claims, reason):
    _, pinned = devnet
    with pytest.raises(HandshakeError, match=reason):
        _check(_sign_as_devnet(interop, claims), pinned)


def test_audience_scheme_is_case_insensitive_but_the_uri_is_exact(interop, devnet):
    _, pinned = devnet
    token = _sign_as_devnet(interop, {"aud": "SPN:123123123123123123"})
    assert _check(token, pinned).nonce == SO_NONCE
    mixed = _sign_as_devnet(interop, {"aud": "spn:MyWebsite.com/App"})
    with pytest.raises(HandshakeError, match="another application"):
        _check(mixed, pinned, uri="mywebsite.com/app")


def test_expired_and_not_yet_valid_with_60_seconds_leeway(devnet):
    token, pinned = devnet
    assert _check(token, pinned, now=SO_EXP + 60).nonce == SO_NONCE
    with pytest.raises(HandshakeError, match="expired"):
        _check(token, pinned, now=SO_EXP + 61)
    assert _check(token, pinned, now=SO_NBF - 60).nonce == SO_NONCE
    with pytest.raises(HandshakeError, match="not valid yet"):
        _check(token, pinned, now=SO_NBF - 61)


def _unsigned(header, claims):
    encode = lambda d: b64url_encode(json.dumps(d).encode())  # noqa: E731
    return f"{encode(header)}.{encode(claims)}"


def test_alg_none_is_refused(devnet):
    token, pinned = devnet
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = _unsigned({"alg": "none", "typ": "JWT"}, claims) + "."
    with pytest.raises(HandshakeError, match="RS256"):
        _check(forged, pinned)


def test_hs256_signed_with_the_public_key_is_refused(interop, devnet):
    token, pinned = devnet
    cert = load_certificate((interop / "devnet-auth_DevNet.crt").read_bytes())
    public_pem = cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    head = {"alg": "HS256", "typ": "JWT", "kid": "B0AD4C0BFD8913B8040F3E8AD16A91F585222C33"}
    signing_input = _unsigned(head, claims)
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(HandshakeError, match="RS256"):
        _check(f"{signing_input}.{b64url_encode(mac)}", pinned)


def test_unknown_kid_is_refused_by_a_pinned_certificate(interop, devnet):
    _, pinned = devnet
    token = _sign_as_devnet(
        interop, {}, headers={"kid": "0000000000000000000000000000000000000000"}
    )
    with pytest.raises(HandshakeError, match="does not trust"):
        _check(token, pinned)


@pytest.mark.filterwarnings("ignore:The RSA key is 1024 bits")  # PyJWT, signing the test token
def test_an_aas_key_under_2048_bits_is_refused(aas_key):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    token = jwt.encode(
        {
            "iss": "SuperOffice AS",
            "aud": "spn:123123123123123123",
            "nonce": "N1",
            "exp": INSIDE + 60,
        },
        small,
        algorithm="RS256",
        headers={"kid": "SMALL"},
    )
    with pytest.raises(HandshakeError, match="shorter than 2048 bits"):
        _check(token, lambda header: [small.public_key()])


def test_signature_by_another_key_is_refused(devnet, other_key):
    token, pinned = devnet
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(
        claims, other_key, algorithm="RS256", headers=jwt.get_unverified_header(token)
    )
    with pytest.raises(HandshakeError, match="signature does not verify"):
        _check(forged, pinned)


def test_one_changed_byte_in_the_signature_is_refused(devnet):
    token, pinned = devnet
    head, body, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
    raw[10] ^= 0x01
    with pytest.raises(HandshakeError, match="signature does not verify"):
        _check(f"{head}.{body}.{b64url_encode(bytes(raw))}", pinned)


@pytest.mark.parametrize("claim", ["nonce", "exp", "nbf"])
def test_one_changed_byte_in_the_nonce_or_a_time_is_refused(devnet, claim):
    token, pinned = devnet
    _check(token, pinned)  # the genuine token verifies
    head, body, sig = token.split(".")
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    claims = json.loads(payload)
    value = str(claims[claim])
    changed = value[:-1] + ("1" if value[-1] != "1" else "2")  # one character, same shape
    tampered = payload.replace(f'"{value}"'.encode(), f'"{changed}"'.encode(), 1)
    if tampered == payload:  # a number, written without quotes
        tampered = payload.replace(value.encode(), changed.encode(), 1)
    assert tampered != payload and len(tampered) == len(payload)
    with pytest.raises(HandshakeError, match="signature does not verify"):
        _check(f"{head}.{b64url_encode(tampered)}.{sig}", pinned)


def test_a_signed_deeply_nested_payload_is_refused_not_raised(aas_key):
    # Only a trusted AAS key can sign it, yet the connector must answer, not fail with a 500.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = f"{b64url_encode(json.dumps({'alg': 'RS256'}).encode())}." + b64url_encode(
        b"[" * 5000 + b"]" * 5000
    )
    signature = aas_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(HandshakeError, match="not a well-formed JWT"):
        _check(f"{signing_input}.{b64url_encode(signature)}", lambda h: [aas_key.public_key()])


@pytest.mark.parametrize("garbage", ["", "   ", "abc", "a.b", "a.b.c.d", "x" * 20000, None, 42])
def test_garbage_tokens_are_refused_with_a_reason(devnet, garbage):
    _, pinned = devnet
    with pytest.raises(HandshakeError) as info:
        _check(garbage, pinned)
    assert info.value.reason


# ---------------------------------------------------------------- the application token


def test_fixed_reply_vector_from_the_dotnet_xml_key(xml_key):
    assert xml_key.key_size == 1024
    assert (
        tokens.sign_application_token(nonce=SO_NONCE, private_key=xml_key, now=REPLY_TIME)
        == XML_KEY_REPLY
    )
    public = load_public_keys(
        "<RSAKeyValue><Modulus>4N9HZ6q7R2c4JrlSmDx0YZNBRZDZ4BaAy/jwvZWrRXpQxGEaLtdVeZhfOMvzpC27tX+9"
        "KdnqOAboex33K8/o7KF2KaGbZvSJaqBaI+AEJMKq45Eib4MX3cOThb+Y1x6APs+6XmawN9kijjrBHtDdsRslmSeE"
        "vuK6+yXtkItIFS8=</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>"
    )
    tokens.verify_application_token(
        XML_KEY_REPLY, expected_nonce=SO_NONCE, public_keys=public, now=REPLY_TIME
    )


def _flip(text, index):
    char = text[index]
    replacement = "B" if char != "B" else "C"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize(
    "tampered, reason",
    [
        (_flip(XML_KEY_REPLY, 0), "another handshake"),  # nonce
        (_flip(XML_KEY_REPLY, 31), "another handshake"),
        (XML_KEY_REPLY.replace(".202112160740.", ".202112160741."), "not signed"),  # time
        (XML_KEY_REPLY.replace(".202112160740.", ".202112160730."), "not signed"),
        (_flip(XML_KEY_REPLY, 46 + 5), "not signed"),  # signature
        (_flip(XML_KEY_REPLY, len(XML_KEY_REPLY) - 3), "not signed"),
    ],
)
def test_one_changed_byte_fails_the_reply(xml_key, tampered, reason):
    assert tampered != XML_KEY_REPLY and len(tampered) == len(XML_KEY_REPLY)
    with pytest.raises(HandshakeError, match=reason):
        tokens.verify_application_token(
            tampered, expected_nonce=SO_NONCE, public_keys=[xml_key.public_key()], now=REPLY_TIME
        )


def test_changed_nonce_fails_the_signature_even_when_expected(xml_key):
    tampered = _flip(XML_KEY_REPLY, 0)
    with pytest.raises(HandshakeError, match="not signed"):
        tokens.verify_application_token(
            tampered,
            expected_nonce=tampered.split(".")[0],
            public_keys=[xml_key.public_key()],
            now=REPLY_TIME,
        )


@pytest.mark.parametrize(
    "token, reason",
    [
        (f"{SO_NONCE}.202112160740", "exactly three parts"),
        (f"{SO_NONCE}.202112160740.abc.def", "exactly three parts"),
        (f"{SO_NONCE}.2021121607400.AAAA", "yyyyMMddHHmm"),
        (f"{SO_NONCE}.20211216074.AAAA", "yyyyMMddHHmm"),
        (f"{SO_NONCE}.2021121607a0.AAAA", "yyyyMMddHHmm"),
        (f"{SO_NONCE}.202113160740.AAAA", "not a valid date"),
        (f"{SO_NONCE}.202112160740.not base64!", "not base64"),
        (f"{SO_NONCE}.202112160740.AAA", "not base64"),
        ("", "no SignedApplicationToken"),
        (None, "no SignedApplicationToken"),
    ],
)
def test_malformed_replies_are_refused(xml_key, token, reason):
    with pytest.raises(HandshakeError, match=reason):
        tokens.verify_application_token(
            token, expected_nonce=SO_NONCE, public_keys=[xml_key.public_key()], now=REPLY_TIME
        )


def test_reply_time_may_be_15_minutes_off_but_not_16(xml_key):
    public = [xml_key.public_key()]
    stamp_time = calendar.timegm((2021, 12, 16, 7, 40, 0))
    for offset in (-15 * 60, 15 * 60):
        tokens.verify_application_token(
            XML_KEY_REPLY, expected_nonce=SO_NONCE, public_keys=public, now=stamp_time + offset
        )
    for offset in (-16 * 60, 16 * 60):
        with pytest.raises(HandshakeError, match="15 minutes"):
            tokens.verify_application_token(
                XML_KEY_REPLY, expected_nonce=SO_NONCE, public_keys=public, now=stamp_time + offset
            )


def test_reply_signed_by_another_key_is_refused(xml_key, other_key):
    reply = tokens.sign_application_token(nonce=SO_NONCE, private_key=other_key, now=REPLY_TIME)
    with pytest.raises(HandshakeError, match="not signed"):
        tokens.verify_application_token(
            reply, expected_nonce=SO_NONCE, public_keys=[xml_key.public_key()], now=REPLY_TIME
        )
    # Any of the record's keys may have signed it (key rotation on the connector's side).
    tokens.verify_application_token(
        reply,
        expected_nonce=SO_NONCE,
        public_keys=[xml_key.public_key(), other_key.public_key()],
        now=REPLY_TIME,
    )


def test_a_nonce_with_a_final_newline_is_not_a_nonce():
    # `$` in the nonce pattern would have let "ABC\n" through into the dotted reply token.
    from cryptography.hazmat.primitives.asymmetric import rsa as _rsa

    key = _rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError):
        tokens.sign_application_token(nonce="ABC\n", private_key=key, now=0)
