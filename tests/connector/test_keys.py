"""Key reading in every accepted format, without Django."""

import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from connector import keys


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key, fmt):
    return key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


def test_spki_and_pkcs1_pem_give_the_same_jwk(rsa_key):
    spki = keys.normalise_public_keys(
        _pem(rsa_key, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    pkcs1 = keys.normalise_public_keys(_pem(rsa_key, serialization.PublicFormat.PKCS1))
    assert spki == pkcs1 and len(spki) == 1
    assert spki[0]["kty"] == "RSA" and spki[0]["kid"] == keys.jwk_thumbprint(spki[0])


def test_certificate_gives_its_public_key(interop):
    cert_pem = (interop / "devnet-auth_DevNet.crt").read_text()
    private = keys.load_private_key((interop / "devnet-auth_DevNet_private.key").read_text())
    [jwk] = keys.normalise_public_keys(cert_pem)
    assert jwk == keys.public_jwk_of_private(private)


def test_dotnet_rsa_xml_private_key_from_superoffice_samples(interop):
    xml = (interop / "connector-samples_LocalhostPrivateKey.xml").read_bytes()
    private = keys.load_private_key(xml)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 1024
    signature = private.sign(b"nonce.202112160740", padding.PKCS1v15(), hashes.SHA256())
    public_xml = keys.rsa_public_key_to_xml(private.public_key())
    [public] = keys.load_public_keys(public_xml)
    public.verify(signature, b"nonce.202112160740", padding.PKCS1v15(), hashes.SHA256())


def test_jwk_and_jwks_round_trip(rsa_key):
    [jwk] = keys.normalise_public_keys(
        _pem(rsa_key, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert keys.normalise_public_keys(json.dumps(jwk)) == [jwk]
    assert keys.normalise_public_keys(json.dumps({"keys": [jwk]})) == [jwk]
    assert keys.normalise_public_keys([jwk]) == [jwk]


def test_ec_keys_are_accepted():
    key = ec.generate_private_key(ec.SECP256R1())
    [jwk] = keys.normalise_public_keys(_pem(key, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"


def test_rfc7638_thumbprint_example():
    # RFC 7638 section 3.1
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1"
            "L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4"
            "QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO"
            "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
            "Cur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
    }
    assert keys.jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    "garbage, message",
    [
        ("", "No key"),
        ("hello", "Unrecognised key format"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a readable public key"),
        (
            "<RSAKeyValue><Modulus>!!</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>",
            "invalid Modulus",
        ),
        ("<Foo/>", "RSAKeyValue"),
        ('{"kty": "oct", "k": "abc"}', "kty RSA or EC"),
        ("{not json", "not valid JSON"),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><RSAKeyValue>&a;</RSAKeyValue>', "well-formed"),
        # non-ASCII inside a PEM block, a JWK member that is no string, JSON nested deeper
        # than Python parses: each raised something else (a 500 in the admin and the API)
        ("-----BEGIN PUBLIC KEY-----\nAAé\n-----END PUBLIC KEY-----", "not a readable"),
        ('{"kty": "RSA", "n": 123, "e": "AQAB"}', "invalid value"),
        ('{"kty": "EC", "crv": "P-256", "x": [], "y": {}}', "invalid value"),
        ("[" * 30000 + "]" * 30000, "not valid JSON"),
    ],
)
def test_garbage_keys_are_refused_with_a_clear_message(garbage, message):
    with pytest.raises(keys.KeyFormatError, match=message):
        keys.normalise_public_keys(garbage)


def test_rsa_keys_over_16384_bits_are_refused():
    # Any odd number of the size will do: the size is checked before any use.
    numbers = rsa.RSAPublicNumbers(65537, (1 << 16392) + 1)
    pem = numbers.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(keys.KeyFormatError, match="at most 16384 bits"):
        keys.normalise_public_keys(pem.decode())
    assert keys.MAX_RSA_BITS == 16384


def test_a_certificate_that_is_not_ascii_is_refused_with_the_format_error():
    with pytest.raises(keys.KeyFormatError, match="neither PEM nor DER"):
        keys.load_certificate("-----BEGIN CERTIFICATE-----\né\n-----END CERTIFICATE-----")


def test_private_key_files_in_utf16_are_read_and_binary_ones_refused(interop):
    xml = (interop / "connector-samples_LocalhostPrivateKey.xml").read_text()
    expected = keys.load_private_key(xml).private_numbers()
    for encoding in ("utf-16", "utf-16-be", "utf-8-sig"):
        data = xml.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        assert keys.load_private_key(data).private_numbers() == expected
    with pytest.raises(keys.KeyFormatError, match="neither UTF-8 nor UTF-16"):
        keys.load_private_key(b"\x30\x82\x04\xa4\x02\x01\x00\xff\xfe")  # DER


def test_private_key_pasted_as_public_is_refused(rsa_key):
    pem = keys.private_key_to_pem(rsa_key).decode()
    with pytest.raises(keys.KeyFormatError, match="private key"):
        keys.normalise_public_keys(pem)


def test_dotnet_xml_private_key_pasted_as_public_is_refused(interop):
    """SuperOffice's sample connector key file as vendors hold it (BOM, declaration, tabs):
    pasted where a public key goes, refused like a PEM private key, not silently stripped to its
    public half (whoever pasted it has disclosed the key and must be told). Its public half,
    Modulus and Exponent only, is accepted."""
    xml = (interop / "connector-samples_LocalhostPrivateKey.xml").read_text(encoding="utf-8")
    with pytest.raises(keys.KeyFormatError, match="This is a private key"):
        keys.normalise_public_keys(xml)
    without_d = xml.replace(xml[xml.index("<P>") : xml.index("</RSAKeyValue>")], "")
    assert "<P>" not in without_d and "<Modulus>" in without_d
    [jwk] = keys.normalise_public_keys(without_d)
    assert jwk == keys.public_jwk_of_private(keys.load_private_key(xml))


def test_keys_module_imports_without_django():
    import subprocess
    import sys

    code = "import sys; import connector.keys; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": "/usr/bin"})


def test_a_private_key_written_as_pem_reads_back(rsa_key):
    pem = keys.private_key_to_pem(rsa_key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    again = keys.load_private_key(pem)
    assert again.private_numbers() == rsa_key.private_numbers()


@pytest.mark.parametrize(
    "make, message",
    [
        # The two files an operator mixes up most: the public half, and the AAS's certificate.
        (
            lambda key, interop: key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "a public key, not the private key",
        ),
        (
            lambda key, interop: key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
            ),
            "a public key, not the private key",
        ),
        (
            lambda key, interop: (interop / "devnet-auth_DevNet.crt").read_bytes(),
            "a certificate, not the private key",
        ),
        (
            lambda key, interop: keys.rsa_public_key_to_xml(key.public_key()).encode(),
            "a public key, not the private key",
        ),
        (
            lambda key, interop: key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            ),
            "encrypted",
        ),
    ],
)
def test_a_private_key_file_holding_something_else_says_what_it_holds(
    rsa_key, interop, make, message
):
    """Before, each was "neither readable PEM nor <RSAKeyValue> XML" (or "lacks <P>"), which
    sent the operator looking for a broken file rather than the wrong one."""
    with pytest.raises(keys.KeyFormatError, match=message):
        keys.load_private_key(make(rsa_key, interop))
