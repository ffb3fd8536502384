"""`private_key_jwt` client authentication (RFC 7523 section 2.2, OIDC Core section 9), without
Django or a database: the caller supplies the record's public keys and remembers the `jti`.

An assertion is accepted only if it is RS256 or ES256, signed by one of the record's keys, has
`iss` = `sub` = the client id, names this registry in `aud`, carries `exp` (at most
MAX_LIFETIME_SECONDS ahead) and a `jti`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import jwt

from connector.keys import jwk_to_public_key
from trustregistry.common.text import unstorable_text

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "ES256")
# One hour, as Okta allows: Authlib's PrivateKeyJWT signs `exp` = now + 3600 by default and
# was refused by the ten minutes this was before. The jti is single-use whatever the lifetime,
# so a longer one only keeps its row longer.
MAX_LIFETIME_SECONDS = 3600
LEEWAY_SECONDS = 30


class InvalidAssertion(Exception):
    code = "invalid_client"
    message = "The client assertion is not valid."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message


@dataclass(frozen=True)
class VerifiedAssertion:
    client_id: str
    jti: str
    expires: dt.datetime


def unverified_client_id(assertion: str) -> str | None:
    """The `iss` of an assertion before any check: only to find the record to check it with."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) and iss else None


def _candidate_keys(header: dict[str, Any], public_keys: list[dict[str, Any]]) -> list[Any]:
    kid = header.get("kid")
    wanted_kty = "RSA" if header.get("alg") == "RS256" else "EC"
    keys = []
    for jwk in public_keys:
        if jwk.get("kty") != wanted_kty:
            continue
        if kid is not None and jwk.get("kid") not in (kid, None):
            continue
        try:
            keys.append(jwk_to_public_key(jwk))
        except Exception:  # noqa: BLE001,S112 - a malformed stored key simply cannot verify
            continue
    return keys


def verify_client_assertion(
    assertion: str,
    *,
    client_id: str,
    public_keys: list[dict[str, Any]],
    audiences: list[str],
    now: dt.datetime,
) -> VerifiedAssertion:
    """Check an assertion for `client_id`. Raises InvalidAssertion with the reason."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise InvalidAssertion("The client assertion is not a JWT.") from exc
    if header.get("alg") not in ALGORITHMS:
        raise InvalidAssertion("The client assertion must be signed with RS256 or ES256.")
    keys = _candidate_keys(header, public_keys)
    if not keys:
        raise InvalidAssertion("No public key of this application matches the client assertion.")
    claims: dict[str, Any] | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=[header["alg"]],
                options={
                    "require": ["iss", "sub", "aud", "exp", "jti"],
                    # Time is checked below against the registry's clock.
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                },
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise InvalidAssertion(f"The client assertion is invalid: {exc}.") from exc
    if claims is None:
        raise InvalidAssertion("The client assertion's signature does not verify.")
    if claims["iss"] != client_id or claims["sub"] != client_id:
        raise InvalidAssertion("The client assertion's iss and sub must be the client id.")
    aud = claims["aud"]
    aud_values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(isinstance(a, str) and a in audiences for a in aud_values):
        raise InvalidAssertion("The client assertion's aud does not name this registry.")
    stamp = now.timestamp()
    exp, nbf = claims["exp"], claims.get("nbf", stamp)
    if not all(_is_time(value) for value in (exp, nbf)):
        # NaN would pass every comparison below (each is False) and then fail to convert.
        raise InvalidAssertion("The client assertion's exp or nbf is not a number.")
    if exp + LEEWAY_SECONDS <= stamp:
        raise InvalidAssertion("The client assertion has expired.")
    if nbf - LEEWAY_SECONDS > stamp:
        raise InvalidAssertion("The client assertion is not valid yet.")
    if exp - stamp > MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise InvalidAssertion("The client assertion lives too long (at most one hour).")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 255 or unstorable_text(jti) is not None:
        raise InvalidAssertion("The client assertion's jti must be a non-empty string.")
    return VerifiedAssertion(
        client_id=client_id,
        jti=jti,
        expires=dt.datetime.fromtimestamp(exp + LEEWAY_SECONDS, tz=dt.UTC),
    )


def _is_time(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) < 1e11  # within datetime's years; the lifetime checks do the rest
    )
