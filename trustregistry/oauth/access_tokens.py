"""RFC 9068 JWT access tokens: minted with the registry's `oidc` key, recorded in
django-oauth-toolkit's AccessToken table (only their SHA-256 checksum is stored), and checked
against that record on every use, so revocation and disabling a record act at once.

Claims (SPEC section 3): iss, aud, sub, client_id, scope, iat, exp, jti, user_type.
`sub` is the user's primary key as a string (stable, never reused).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from oauth2_provider.models import get_access_token_model, set_token_value

from trustregistry.common import clock
from trustregistry.keys.models import KeyPurpose
from trustregistry.keys.services import get_active_key, public_key_for_kid

ACCESS_TOKEN_TYP = "at+jwt"
LEEWAY_SECONDS = 30


class InvalidAccessToken(Exception):
    """The token is not a live access token of this registry. `reason` is safe to show."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def token_checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def encode_access_token(
    *,
    user: Any,
    client_id: str,
    scope: str,
    issued_at: dt.datetime,
    expires: dt.datetime,
    jti: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    key = get_active_key(KeyPurpose.OIDC)
    claims: dict[str, Any] = {
        "iss": settings.TRUSTREGISTRY_ISSUER,
        "aud": settings.TRUSTREGISTRY_TOKEN_AUDIENCE,
        "sub": str(user.pk),
        "client_id": client_id,
        "scope": scope,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": jti or uuid.uuid4().hex,
        "user_type": getattr(user, "kind", "internal"),
    }
    if extra:
        claims.update(extra)
    return jwt.encode(
        claims,
        key.private_key,
        algorithm="RS256",
        headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYP},
    )


def decode_access_token(token: str) -> dict[str, Any]:
    """Verify signature, typ, iss, aud and time. Raises InvalidAccessToken."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("The access token is malformed.") from exc
    if header.get("alg") != "RS256" or header.get("typ", "").lower() not in (
        ACCESS_TOKEN_TYP,
        "application/at+jwt",
    ):
        raise InvalidAccessToken("The access token is not an RS256 at+jwt token.")
    kid = header.get("kid")
    public_key = public_key_for_kid(kid, KeyPurpose.OIDC) if isinstance(kid, str) else None
    if public_key is None:
        raise InvalidAccessToken("The access token was not signed by a key of this registry.")
    try:
        return jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            audience=settings.TRUSTREGISTRY_TOKEN_AUDIENCE,
            issuer=settings.TRUSTREGISTRY_ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "client_id", "jti"]},
            # PyJWT reads the wall clock; the registry's clock is checked again below.
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidAccessToken("The access token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("The access token is invalid.") from exc


@dataclass(frozen=True)
class LiveAccessToken:
    token: Any  # oauth2_provider AccessToken
    claims: dict[str, Any]

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.token.scope.split())

    @property
    def application(self) -> Any:
        return self.token.application

    @property
    def user(self) -> Any:
        return self.token.user


def check_access_token(token: str) -> LiveAccessToken:
    """A live access token: valid JWT, recorded, not expired or revoked, its record enabled and
    its user active. Raises InvalidAccessToken with the reason."""
    claims = decode_access_token(token)
    row = (
        get_access_token_model()
        .objects.select_related("application", "user")
        .filter(token_checksum=token_checksum(token))
        .first()
    )
    if row is None:
        raise InvalidAccessToken("The access token has been revoked.")
    if row.expires <= clock.now():
        raise InvalidAccessToken("The access token has expired.")
    if row.application is None or not row.application.is_enabled:
        raise InvalidAccessToken("The application of this access token is disabled.")
    if row.user is not None and not row.user.is_active:
        raise InvalidAccessToken("The user of this access token is inactive.")
    return LiveAccessToken(token=row, claims=claims)


def issue_access_token(
    *,
    application: Any,
    user: Any,
    scope: str,
    lifetime: int | None = None,
) -> tuple[str, Any]:
    """Mint and record an access token outside the OAuth flow (tests, tools). The token
    endpoint goes through django-oauth-toolkit, whose generator produces the same format."""
    now = clock.now()
    seconds = lifetime if lifetime is not None else settings.TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME
    expires = now + dt.timedelta(seconds=seconds)
    raw = encode_access_token(
        user=user, client_id=application.client_id, scope=scope, issued_at=now, expires=expires
    )
    row = get_access_token_model()(user=user, application=application, expires=expires, scope=scope)
    set_token_value(row, raw)
    row.save()
    return raw, row
