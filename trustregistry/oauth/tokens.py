"""Token minting for django-oauth-toolkit's token endpoint.

`ACCESS_TOKEN_GENERATOR` makes RFC 9068 JWTs (trustregistry.oauth.access_tokens) with the claims
right for every grant; `REFRESH_TOKEN_GENERATOR` makes opaque refresh tokens. ID tokens are
signed and checked with PyJWT and the registry's `oidc` key.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import jwt
from django.conf import settings

from trustregistry.common import clock
from trustregistry.keys.models import KeyPurpose
from trustregistry.keys.services import get_active_key, hint_key_for_kid, public_key_for_kid
from trustregistry.oauth import access_tokens, policy
from trustregistry.registry import scopes as catalogue


def token_user(request: Any) -> Any:
    """Whom the token acts as: the record's system user for client credentials."""
    if request.grant_type == "client_credentials":
        return request.client.system_user
    return request.user


def generate_access_token(request: Any) -> str:
    user = token_user(request)
    # oauthlib writes the response's `scope` from request.scopes after this call, so the
    # community rule narrows both the token and the answer.
    request.scopes = policy.scopes_for_user(list(request.scopes or []), user)
    # Whole seconds: the JWT's `iat`/`exp` are whole seconds, and a row expiring a fraction
    # after `exp` kept the token working (API, userinfo, introspection) past its own `exp`.
    now = access_tokens.whole_second(clock.now())
    expires = now + dt.timedelta(seconds=int(request.expires_in))
    raw = access_tokens.encode_access_token(
        user=user,
        client_id=request.client.client_id,
        scope=catalogue.join(request.scopes),
        issued_at=now,
        expires=expires,
    )
    # The database row must expire exactly when the JWT does.
    request.tr_access_expires = expires
    return raw


def generate_refresh_token(request: Any) -> str:
    return secrets.token_urlsafe(48)


class InvalidIdToken(Exception):
    pass


def sign_id_token(claims: dict[str, Any]) -> str:
    key = get_active_key(KeyPurpose.OIDC)
    return jwt.encode(
        claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"}
    )


def verify_id_token(token: str, *, as_hint: bool = False) -> dict[str, Any]:
    """An ID token this registry signed (any published oidc key). RS256 only: `alg: none`,
    HMAC tricks and foreign keys are refused. Raises InvalidIdToken.

    `as_hint`: an id_token_hint, which may have expired and may be signed by a key retired
    within a session's lifetime (`hint_key_for_kid`)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidIdToken("not a JWT") from exc
    kid = header.get("kid")
    if header.get("alg") != "RS256" or not isinstance(kid, str):
        raise InvalidIdToken("not an RS256 token with a kid")
    public_key = hint_key_for_kid(kid) if as_hint else public_key_for_kid(kid, KeyPurpose.OIDC)
    if public_key is None:
        raise InvalidIdToken("unknown signing key")
    try:
        return jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            issuer=settings.TRUSTREGISTRY_ISSUER,
            leeway=access_tokens.LEEWAY_SECONDS,
            options={
                "require": ["iss", "sub", "aud", "jti", "exp"],
                "verify_aud": False,
                "verify_exp": not as_hint,
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidIdToken(str(exc)) from exc
