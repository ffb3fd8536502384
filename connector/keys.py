"""Key reading and normalisation, without Django.

Vendors hold their keys in many forms: PEM (SPKI, PKCS#1, PKCS#8), X.509 certificates, the
.NET `<RSAKeyValue>` XML that SuperOffice's samples ship, and JWK/JWKS. Everything is read
into `cryptography` key objects, and public keys are normalised to JWK dicts carrying their
RFC 7638 thumbprint as `kid`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from defusedxml import ElementTree

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

MIN_RSA_BITS = 1024  # SuperOffice's own sample connector key is 1024 bits.
MAX_RSA_BITS = 16384  # the largest size common tools make (OpenSSL, .NET)
_MAX_KEY_TEXT = 64 * 1024


class KeyFormatError(ValueError):
    """The text is not a key this module can read. The message is safe to show a user."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_to_b64url(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def _b64url_to_int(text: str) -> int:
    return int.from_bytes(b64url_decode(text), "big")


def _b64_to_int(text: str) -> int:
    return int.from_bytes(base64.b64decode("".join(text.split()), validate=True), "big")


# ---------------------------------------------------------------- .NET RSA XML


def _xml_fields(text: str) -> dict[str, str]:
    try:
        root = ElementTree.fromstring(text.lstrip("\ufeff").strip().encode("utf-8"))
    except Exception as exc:  # defusedxml raises several types for hostile input
        raise KeyFormatError("The RSA XML key is not well-formed XML.") from exc
    if root.tag.split("}")[-1] != "RSAKeyValue":
        raise KeyFormatError("An XML key must be an <RSAKeyValue> element.")
    return {child.tag.split("}")[-1]: (child.text or "").strip() for child in root}


# The elements only a .NET `<RSAKeyValue>` private key has (`ToXmlString(true)`).
_XML_PRIVATE_PARTS = frozenset({"P", "Q", "DP", "DQ", "InverseQ", "D"})


def _rsa_public_from_xml(fields: dict[str, str]) -> rsa.RSAPublicKey:
    try:
        n, e = _b64_to_int(fields["Modulus"]), _b64_to_int(fields["Exponent"])
        return rsa.RSAPublicNumbers(e, n).public_key()
    except KeyError as exc:
        raise KeyFormatError("The RSA XML key needs <Modulus> and <Exponent>.") from exc
    except ValueError as exc:
        raise KeyFormatError("The RSA XML key has an invalid Modulus or Exponent.") from exc


def _rsa_private_from_xml(fields: dict[str, str]) -> rsa.RSAPrivateKey:
    names = ("Modulus", "Exponent", "P", "Q", "DP", "DQ", "InverseQ", "D")
    missing = [name for name in names if not fields.get(name)]
    if missing:
        raise KeyFormatError(f"The RSA XML private key lacks <{missing[0]}>.")
    try:
        n, e, p, q, dp, dq, iq, d = (_b64_to_int(fields[name]) for name in names)
        public = rsa.RSAPublicNumbers(e, n)
        return rsa.RSAPrivateNumbers(p, q, d, dp, dq, iq, public).private_key()
    except ValueError as exc:
        raise KeyFormatError("The RSA XML private key is not a consistent RSA key.") from exc


def rsa_public_key_to_xml(key: rsa.RSAPublicKey) -> str:
    numbers = key.public_numbers()

    def b64(value: int) -> str:
        return base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).decode()

    return (
        f"<RSAKeyValue><Modulus>{b64(numbers.n)}</Modulus>"
        f"<Exponent>{b64(numbers.e)}</Exponent></RSAKeyValue>"
    )


# ---------------------------------------------------------------- JWK


def _public_from_jwk(jwk: dict[str, Any]) -> PublicKey:
    if not isinstance(jwk, dict):
        raise KeyFormatError("A JWK must be a JSON object.")
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            return rsa.RSAPublicNumbers(
                _b64url_to_int(jwk["e"]), _b64url_to_int(jwk["n"])
            ).public_key()
        if kty == "EC":
            curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
            curve = curves.get(jwk.get("crv", ""))
            if curve is None:
                raise KeyFormatError("Only the EC curves P-256, P-384 and P-521 are supported.")
            x, y = _b64url_to_int(jwk["x"]), _b64url_to_int(jwk["y"])
            return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
    except KeyFormatError:
        raise
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        # AttributeError: a member that is no string ({"n": 123}).
        raise KeyFormatError(f"The {kty} JWK is missing a member or has an invalid value.") from exc
    raise KeyFormatError("A JWK must have kty RSA or EC.")


def public_key_to_jwk(key: PublicKey) -> dict[str, str]:
    """The public JWK (required members only, in RFC 7638 order) plus `kid` = its thumbprint."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        jwk = {"e": _int_to_b64url(numbers.e), "kty": "RSA", "n": _int_to_b64url(numbers.n)}
    elif isinstance(key, ec.EllipticCurvePublicKey):
        numbers_ec = key.public_numbers()
        size = (key.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(key.curve.name)
        if crv is None:
            raise KeyFormatError("Only the EC curves P-256, P-384 and P-521 are supported.")
        jwk = {
            "crv": crv,
            "kty": "EC",
            "x": b64url_encode(numbers_ec.x.to_bytes(size, "big")),
            "y": b64url_encode(numbers_ec.y.to_bytes(size, "big")),
        }
    else:
        raise KeyFormatError("Only RSA and EC public keys are supported.")
    jwk["kid"] = jwk_thumbprint(jwk)
    return jwk


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url."""
    kty = jwk.get("kty")
    members = ("e", "kty", "n") if kty == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def jwk_to_public_key(jwk: dict[str, Any]) -> PublicKey:
    return _public_from_jwk(jwk)


# ---------------------------------------------------------------- reading


def _check_strength(key: PublicKey) -> PublicKey:
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise KeyFormatError(f"RSA keys must be at least {MIN_RSA_BITS} bits.")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size > MAX_RSA_BITS:
        # Each check with a huge modulus costs the checker more than the key is worth.
        raise KeyFormatError(f"RSA keys must be at most {MAX_RSA_BITS} bits.")
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise KeyFormatError("Only RSA and EC public keys are supported.")
    return key


def _pem_blocks(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("-----BEGIN "):
            current = [line]
        elif line.startswith("-----END ") and current:
            current.append(line)
            blocks.append("\n".join(current) + "\n")
            current = []
        elif current:
            current.append(line)
    return blocks


def _public_from_pem_block(block: str) -> PublicKey:
    try:
        data = block.encode("ascii", errors="strict")  # UnicodeEncodeError is a ValueError
        if "CERTIFICATE" in block.split("\n", 1)[0]:
            return x509.load_pem_x509_certificate(data).public_key()  # type: ignore[return-value]
        if "PRIVATE KEY" in block.split("\n", 1)[0]:
            raise KeyFormatError("This is a private key: paste only the public key.")
        return serialization.load_pem_public_key(data)  # type: ignore[return-value]
    except KeyFormatError:
        raise
    except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
        raise KeyFormatError("The PEM block is not a readable public key or certificate.") from exc


def load_public_keys(text: str) -> list[PublicKey]:
    """Read every public key in `text`: PEM blocks, a certificate, RSA XML, a JWK or a JWKS."""
    if not isinstance(text, str) or not text.strip():
        raise KeyFormatError("No key was given.")
    if len(text) > _MAX_KEY_TEXT:
        raise KeyFormatError("The key text is too long.")
    text = text.lstrip("\ufeff").strip()
    keys: list[PublicKey]
    if text.startswith("-----BEGIN"):
        blocks = _pem_blocks(text)
        if not blocks:
            raise KeyFormatError("The PEM text has no complete BEGIN/END block.")
        keys = [_public_from_pem_block(b) for b in blocks]
    elif text.startswith("<"):
        fields = _xml_fields(text)
        if fields.keys() & _XML_PRIVATE_PARTS:
            # As for PEM and JWK: whoever pasted it has disclosed the key and must be told,
            # rather than the key quietly reduced to its public half.
            raise KeyFormatError("This is a private key: paste only the public key.")
        keys = [_rsa_public_from_xml(fields)]
    elif text.startswith("{") or text.startswith("["):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[…" within the cap
            raise KeyFormatError("The JSON key is not valid JSON.") from exc
        keys = list(_keys_from_json(data))
    else:
        raise KeyFormatError(
            "Unrecognised key format: paste PEM (public key or certificate), "
            "<RSAKeyValue> XML, or a JWK/JWKS."
        )
    if not keys:
        raise KeyFormatError("No key was found in the text.")
    return [_check_strength(k) for k in keys]


def _keys_from_json(data: Any) -> Iterable[PublicKey]:
    if isinstance(data, dict) and "keys" in data:
        data = data["keys"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise KeyFormatError("A JSON key must be a JWK object, a list of JWKs or a JWKS.")
    for item in data:
        if isinstance(item, dict) and ("d" in item or "p" in item):
            raise KeyFormatError("This JWK holds a private key: paste only the public key.")
        yield _public_from_jwk(item)


def normalise_public_keys(value: Any) -> list[dict[str, str]]:
    """Public keys in any accepted form (text, a JWK, or a list of those) as a list of JWKs."""
    items: list[Any] = value if isinstance(value, list) else [value]
    result: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in items:
        keys = (
            [_check_strength(_public_from_jwk(item))]
            if isinstance(item, dict) and "keys" not in item
            else load_public_keys(item if isinstance(item, str) else json.dumps(item))
        )
        for key in keys:
            jwk = public_key_to_jwk(key)
            if jwk["kid"] not in seen:
                seen.add(jwk["kid"])
                result.append(jwk)
    return result


def private_key_to_pem(key: PrivateKey) -> bytes:
    """A private key as unencrypted PKCS#8 PEM, the form `load_private_key` reads back (keep
    the file readable by its owner only)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(text: str | bytes, password: bytes | None = None) -> PrivateKey:
    """Read a private key: PEM (PKCS#1, PKCS#8, SEC1) or .NET RSA XML."""
    if isinstance(text, bytes):
        try:
            # Windows PowerShell's Out-File writes UTF-16 with a byte order mark.
            utf16 = text.startswith((b"\xff\xfe", b"\xfe\xff"))
            text = text.decode("utf-16" if utf16 else "utf-8-sig")
        except UnicodeDecodeError as exc:
            raise KeyFormatError(
                "The private key file is neither UTF-8 nor UTF-16 text (PEM or XML)."
            ) from exc
    text = text.lstrip("\ufeff").strip()
    # The files an operator mixes up most with the private key: its public half, and a
    # certificate (the AAS's, or one of the key's own).
    first_line = text.split("\n", 1)[0]
    if text.startswith("<"):
        fields = _xml_fields(text)
        public_half = "Modulus" in fields and not fields.keys() & _XML_PRIVATE_PARTS
    else:
        if first_line.startswith("-----BEGIN") and "CERTIFICATE" in first_line:
            raise KeyFormatError(
                "This is a certificate, not the private key: the connector needs the private "
                "key it signs with (its public half goes to the registry's record)."
            )
        public_half = first_line.startswith("-----BEGIN") and "PUBLIC KEY" in first_line
    if public_half:
        raise KeyFormatError(
            "This is a public key, not the private key: the connector needs the private key "
            "it signs with (its public half goes to the registry's record)."
        )
    if text.startswith("<"):
        return _rsa_private_from_xml(fields)
    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=password)
    except TypeError as exc:
        if password is None and "ENCRYPTED" in text[:200]:
            raise KeyFormatError(
                "The private key is encrypted: give its password, or store it unencrypted "
                "(`openssl pkey -in encrypted.pem -out private.pem`) readable by its owner only."
            ) from exc
        raise KeyFormatError(
            "The private key is neither readable PEM nor <RSAKeyValue> XML."
        ) from exc
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise KeyFormatError(
            "The private key is neither readable PEM nor <RSAKeyValue> XML."
        ) from exc
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyFormatError("Only RSA and EC private keys are supported.")
    return key


def load_certificate(data: str | bytes) -> x509.Certificate:
    try:
        raw = data.encode("ascii") if isinstance(data, str) else data
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError as exc:
        raise KeyFormatError("The certificate is neither PEM nor DER X.509.") from exc


def certificate_sha1_thumbprint(cert: x509.Certificate) -> bytes:
    """The SHA-1 thumbprint Windows and SuperOffice use as `kid` (hex) and `x5t` (base64url)."""
    return cert.fingerprint(hashes.SHA1())  # noqa: S303 - identifier, not a security hash


def public_jwk_of_private(key: PrivateKey) -> dict[str, str]:
    return public_key_to_jwk(key.public_key())
