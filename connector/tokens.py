"""The two token formats of the app:// handshake (SPEC section 7), without Django.

* The AAS token: an RS256 JWT the AAS sends the connector (`SignedToken`), with `kid`/`x5t`
  naming the AAS certificate and the claims SuperOffice's AAS uses.
* The application token: `"<nonce>.<yyyyMMddHHmm>.<base64 PKCS#1 v1.5 SHA-256 signature>"`,
  signed with the application's private key (SuperOffice's `SignedApplicationToken`).

Every function takes `now` (epoch seconds) so callers decide which clock counts; the registry
passes its one clock, a plain connector the default `time.time()`. Failures raise
`HandshakeError` whose `reason` is short, stable and safe to send to the other side.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connector.keys import PublicKey

CONTEXT_CLAIM = "http://schemes.superoffice.net/identity/ctx"
TOKEN_LIFETIME_SECONDS = 300
NOT_BEFORE_SKEW_SECONDS = 60
MIN_AAS_KEY_BITS = 2048
LEEWAY_SECONDS = 60
REPLY_MAX_SKEW_SECONDS = 15 * 60
MAX_TOKEN_LENGTH = 16 * 1024

# A nonce travels inside the dotted reply token, so it may not contain a dot.
_NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,128}\Z")
_TIMESTAMP_RE = re.compile(r"^[0-9]{12}\Z")
_B64_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}\Z")


class HandshakeError(Exception):
    """A refused handshake token. `reason` is safe to show the other party."""

    code = "handshake_failed"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _JWS(jwt.PyJWS):
    """PyJWT's JWS, its segment check done by one C-speed regex.

    PyJWT 2.15 checks each segment's base64url alphabet with a Python generator, character by
    character: about 0.14 ms for a 2048-bit RS256 token, the connector's largest cost after
    the RSA operations themselves. The rules are PyJWT's own (GHSA-hxm8-2xgr-2p9m): at most
    two "=" and only where they complete a quantum, no length of 1 mod 4, nothing outside the
    alphabet, and the canonical encoding. Signature checking is PyJWT's, unchanged."""

    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        stripped = segment.rstrip(b"=")
        padding_length = len(segment) - len(stripped)
        if (
            padding_length > 2
            or (padding_length and len(segment) % 4)
            or len(stripped) % 4 == 1
            or not _BASE64URL_SEGMENT_RE.fullmatch(stripped)
        ):
            raise jwt.DecodeError(f"Invalid {name} padding")
        decoded = base64.urlsafe_b64decode(stripped + b"=" * (-len(stripped) % 4))
        if jwt.utils.base64url_encode(decoded) != stripped:
            raise jwt.DecodeError(f"Invalid {name} padding")
        return decoded


_BASE64URL_SEGMENT_RE = re.compile(rb"[A-Za-z0-9_\-]*")
_jws = _JWS()


def _decode_verified_claims(token: str, key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The claims of an RS256 JWS whose signature `key` verifies, no claim checked (the caller
    checks them against its own clock). Raises PyJWT's errors as `jwt.decode` would."""
    payload = _jws.decode_complete(token, key, algorithms=["RS256"])["payload"]
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[…" within the cap
        raise jwt.DecodeError("Invalid payload string") from exc
    if not isinstance(claims, dict):
        raise jwt.DecodeError("Invalid payload string: must be a json object")
    return claims


# ---------------------------------------------------------------- RSA primitives
# Kept as module functions so a benchmark can time exactly the RSA work.


def _rsa_sign(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _rsa_verify(public_key: rsa.RSAPublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


# ---------------------------------------------------------------- the AAS token


def new_nonce() -> str:
    """16 random bytes as 32 upper-case hex digits, as SuperOffice's AAS makes them."""
    return secrets.token_hex(16).upper()


def audience_for(application_uri: str) -> str:
    return f"spn:{application_uri}"


def build_aas_token(
    *,
    private_key: rsa.RSAPrivateKey,
    kid: str,
    x5t: str,
    issuer: str,
    application_uri: str,
    context: str,
    nonce: str,
    now: float | None = None,
) -> str:
    """The `SignedToken` the AAS sends a connector."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": issuer,
        "aud": audience_for(application_uri),
        "sub": context,
        CONTEXT_CLAIM: context,
        "nonce": nonce,
        "nbf": issued - NOT_BEFORE_SKEW_SECONDS,
        "exp": issued + TOKEN_LIFETIME_SECONDS,
        "iat": issued,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(
        claims, private_key, algorithm="RS256", headers={"kid": kid, "x5t": x5t, "typ": "JWT"}
    )


# Compact JWS: three base64url segments (PyJWT also accepts trailing "=" padding).
_COMPACT_JWS_RE = re.compile(
    r"^[A-Za-z0-9_\-]+={0,2}\.[A-Za-z0-9_\-]*={0,2}\.[A-Za-z0-9_\-]*={0,2}$"
)


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, to choose the key. Only the shape of the whole token (one C-speed
    regex) and the short header segment are checked here; `jwt.decode` then parses and checks
    the whole token once more, authoritatively. (`jwt.get_unverified_header` would check every
    character of all three segments in Python, the second time in one handshake.)"""
    if not _COMPACT_JWS_RE.match(token):
        raise HandshakeError("The SignedToken is not a well-formed JWT.")
    try:
        header = json.loads(jwt.utils.base64url_decode(token.split(".", 1)[0].rstrip("=")))
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:
        raise HandshakeError("The SignedToken is not a well-formed JWT.") from exc
    if not isinstance(header, dict) or ("kid" in header and not isinstance(header["kid"], str)):
        raise HandshakeError("The SignedToken is not a well-formed JWT.")
    return header


KeyLookup = Callable[[dict[str, Any]], Iterable[PublicKey]]
"""Given the token's (unverified) header, the keys that may have signed it. Raises
HandshakeError when none is known (unknown `kid`). Never follows `jku`/`x5u`."""


def _utf8(text: str) -> bytes:
    """Bytes to compare in constant time; a lone surrogate (JSON allows "\\ud800") compares
    as unequal instead of raising."""
    return text.encode("utf-8", "surrogatepass")


def _audience_matches(aud: Any, expected: str) -> bool:
    # The `spn:` scheme is compared case-insensitively (SPEC section 7), the application URI
    # exactly: URIs differing only in case are different records (SPEC section 2).
    def one(value: Any) -> bool:
        if not isinstance(value, str) or ":" not in value:
            return False
        scheme, _, rest = value.partition(":")
        want_scheme, _, want_rest = expected.partition(":")
        return scheme.lower() == want_scheme.lower() and hmac.compare_digest(
            _utf8(rest), _utf8(want_rest)
        )

    if isinstance(aud, list):
        return any(one(item) for item in aud)
    return one(aud)


@dataclass(frozen=True)
class VerifiedAasToken:
    nonce: str
    context: str
    expires: int
    claims: dict[str, Any]


def verify_aas_token(
    token: str,
    *,
    keys: KeyLookup,
    issuer: str,
    application_uri: str,
    now: float | None = None,
    leeway: int = LEEWAY_SECONDS,
) -> VerifiedAasToken:
    """Check a `SignedToken` as a connector must: RS256 only, a trusted key, exact issuer,
    `aud` = `spn:<application uri>`, `nbf`/`exp` within `leeway`, a nonce present.
    Replay is the caller's check (it needs storage): see `connector.service`."""
    current = time.time() if now is None else now
    if not isinstance(token, str) or not token.strip():
        raise HandshakeError("No SignedToken was given.")
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise HandshakeError("The SignedToken is too long.")
    header = _unverified_header(token)
    if header.get("alg") != "RS256":
        raise HandshakeError("The SignedToken must be signed with RS256.")
    candidates = list(keys(header))
    rsa_keys = [k for k in candidates if isinstance(k, rsa.RSAPublicKey)]
    if not rsa_keys:
        raise HandshakeError("The SignedToken was signed by a key this connector does not trust.")
    rsa_keys = [k for k in rsa_keys if k.key_size >= MIN_AAS_KEY_BITS]
    if not rsa_keys:
        # SPEC section 7: the AAS key is RSA of 2048 bits or more.
        raise HandshakeError("The AAS key is shorter than 2048 bits.")
    claims: dict[str, Any] | None = None
    for key in rsa_keys:
        try:
            claims = _decode_verified_claims(token, key)
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise HandshakeError("The SignedToken is not a well-formed JWT.") from exc
    if claims is None:
        raise HandshakeError("The SignedToken's signature does not verify.")

    iss = claims.get("iss")
    if not isinstance(iss, str) or not hmac.compare_digest(_utf8(iss), _utf8(issuer)):
        raise HandshakeError("The SignedToken has the wrong issuer.")
    if not _audience_matches(claims.get("aud"), audience_for(application_uri)):
        raise HandshakeError("The SignedToken is meant for another application (aud).")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or not math.isfinite(exp):
        raise HandshakeError("The SignedToken has no expiry (exp).")
    if current > exp + leeway:
        raise HandshakeError("The SignedToken has expired.")
    if nbf is not None:
        if not isinstance(nbf, int | float) or isinstance(nbf, bool) or not math.isfinite(nbf):
            raise HandshakeError("The SignedToken has an invalid nbf.")
        if current < nbf - leeway:
            raise HandshakeError("The SignedToken is not valid yet (nbf).")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise HandshakeError("The SignedToken has no nonce.")
    if not _NONCE_RE.match(nonce):
        raise HandshakeError("The SignedToken's nonce is not valid.")
    context = claims.get(CONTEXT_CLAIM, claims.get("sub", ""))
    return VerifiedAasToken(
        nonce=nonce,
        context=context if isinstance(context, str) else "",
        expires=int(exp),
        claims=claims,
    )


# ---------------------------------------------------------------- the application token


def format_timestamp(now: float) -> str:
    return dt.datetime.fromtimestamp(int(now), tz=dt.UTC).strftime("%Y%m%d%H%M")


def sign_application_token(
    *, nonce: str, private_key: rsa.RSAPrivateKey, now: float | None = None
) -> str:
    """`<nonce>.<yyyyMMddHHmm>.<signature>`: the connector's answer to a verified token."""
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise TypeError("the application token needs an RSA private key")
    if not _NONCE_RE.match(nonce):
        raise ValueError("invalid nonce")
    payload = f"{nonce}.{format_timestamp(time.time() if now is None else now)}"
    signature = _rsa_sign(private_key, payload.encode("utf-8"))
    return f"{payload}.{base64.b64encode(signature).decode('ascii')}"


def verify_application_token(
    token: Any,
    *,
    expected_nonce: str,
    public_keys: Iterable[PublicKey],
    now: float | None = None,
    max_skew: int = REPLY_MAX_SKEW_SECONDS,
) -> None:
    """The AAS's check of a connector's `SignedApplicationToken`. Raises HandshakeError."""
    current = time.time() if now is None else now
    if not isinstance(token, str) or not token:
        raise HandshakeError("The connector sent no SignedApplicationToken.")
    if len(token) > MAX_TOKEN_LENGTH:
        raise HandshakeError("The SignedApplicationToken is too long.")
    parts = token.split(".")
    if len(parts) != 3:
        raise HandshakeError("The SignedApplicationToken must have exactly three parts.")
    nonce, stamp, signature_b64 = parts
    if not hmac.compare_digest(_utf8(nonce), _utf8(expected_nonce)):
        raise HandshakeError("The SignedApplicationToken answers another handshake (nonce).")
    if not _TIMESTAMP_RE.match(stamp):
        raise HandshakeError("The SignedApplicationToken's time is not yyyyMMddHHmm.")
    try:
        when = dt.datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=dt.UTC).timestamp()
    except ValueError as exc:
        raise HandshakeError("The SignedApplicationToken's time is not a valid date.") from exc
    if abs(current - when) > max_skew:
        raise HandshakeError("The SignedApplicationToken's time is more than 15 minutes off.")
    if not _B64_RE.match(signature_b64) or len(signature_b64) % 4:
        raise HandshakeError("The SignedApplicationToken's signature is not base64.")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HandshakeError("The SignedApplicationToken's signature is not base64.") from exc
    data = f"{nonce}.{stamp}".encode()
    for key in public_keys:
        if isinstance(key, rsa.RSAPublicKey) and _rsa_verify(key, signature, data):
            return
    raise HandshakeError("The SignedApplicationToken is not signed by the application's key.")
