"""RFC 9068 JWT access tokens: minted with the registry's `oidc` key, recorded in
django-oauth-toolkit's AccessToken table (only their SHA-256 checksum is stored), and checked
against that record on every use, so revocation and disabling a record act at once.

Claims (SPEC section 3): iss, aud, sub, client_id, scope, iat, exp, jti, user_type.
`sub` is the user's primary key as a string (stable, never reused).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from oauth2_provider.models import get_access_token_model, set_token_value

from trustregistry.common import clock
from trustregistry.keys.models import KeyPurpose
from trustregistry.keys.services import get_active_key, public_key_for_kid
from trustregistry.oauth import policy

ACCESS_TOKEN_TYP = "at+jwt"
LEEWAY_SECONDS = 30


class InvalidAccessToken(Exception):
    """The token is not a live access token of this registry. `reason` is safe to show."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def token_checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def whole_second(moment: dt.datetime) -> dt.datetime:
    """`moment` without its fraction of a second. An access token's row must expire exactly at
    the JWT's `exp` (RFC 7519 section 4.1.4: not accepted on or after it), which can only
    name whole seconds."""
    return moment.replace(microsecond=0)


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
    """Verify signature, typ, iss, aud and time. Raises InvalidAccessToken.

    A token whose signature was verified once is remembered (`_verified`) until it would fail
    PyJWT's expiry check, so a client that sends the same bearer token on every request pays
    for the RS256 verification and JOSE parsing once. Only this stateless part is remembered:
    the caller still checks the database (token row, record enabled, user active) every time.
    """
    issuer = settings.TRUSTREGISTRY_ISSUER
    audience = settings.TRUSTREGISTRY_TOKEN_AUDIENCE
    remembered = _verified.get(token, issuer, audience)
    if remembered is not None:
        return remembered
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
    if public_key is None or not isinstance(kid, str):
        raise InvalidAccessToken("The access token was not signed by a key of this registry.")
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "client_id", "jti"]},
            # PyJWT reads the wall clock; the registry's clock is checked again below.
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidAccessToken("The access token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("The access token is invalid.") from exc
    _verified.put(token, issuer, audience, kid, claims)
    return dict(claims)


class VerifiedClaims:
    """A bounded, per-process memory of access tokens whose signature and claims verified.

    An entry holds the claims, the signing key's kid and the wall-clock second from which
    PyJWT would call the token expired (`exp + LEEWAY_SECONDS`, the check `decode` just
    passed; `iat` and `nbf` only get easier with time). A hit is served only while that
    second has not come and the kid is still a published key (`public_key_for_kid`, itself
    cached per process as before), so retiring or withdrawing a key acts as it did without
    this memory. The issuer and audience in force are part of the key. Nothing about the
    token's database row, its record or its user is kept here.
    """

    def __init__(self, max_entries: int = 4096):
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str, str], tuple[float, str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, token: str, issuer: str, audience: str) -> dict[str, Any] | None:
        entry = self._entries.get((token, issuer, audience))
        if entry is None:
            return None
        expires_at, kid, claims = entry
        if time.time() >= expires_at or public_key_for_kid(kid, KeyPurpose.OIDC) is None:
            with self._lock:
                self._entries.pop((token, issuer, audience), None)
            return None
        return dict(claims)

    def put(self, token: str, issuer: str, audience: str, kid: str, claims: dict[str, Any]) -> None:
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                now = time.time()
                for key in [k for k, v in self._entries.items() if v[0] <= now]:
                    del self._entries[key]
                while len(self._entries) >= self.max_entries:
                    # Oldest first (dicts keep insertion order).
                    del self._entries[next(iter(self._entries))]
            self._entries[(token, issuer, audience)] = (
                float(exp) + LEEWAY_SECONDS,
                kid,
                dict(claims),
            )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_verified = VerifiedClaims()


def clear_verified_claims() -> None:
    _verified.clear()


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
    """A live access token: valid JWT, recorded, not expired or revoked, its record enabled,
    its user active and still allowed by the record (`policy.token_user_allowed`). Raises
    InvalidAccessToken with the reason."""
    claims = decode_access_token(token)
    row = (
        get_access_token_model()
        .objects.select_related("application", "user")
        .filter(token_checksum=token_checksum(token))
        .first()
    )
    if row is None:
        raise InvalidAccessToken("The access token has been revoked.")
    # The record and the user before the expiry: disabling either also ends the token rows,
    # and the reason the caller can act on is the disable, not the expiry it caused.
    if row.application is None or not row.application.is_enabled:
        raise InvalidAccessToken("The application of this access token is disabled.")
    if row.user is not None and not row.user.is_active:
        raise InvalidAccessToken("The user of this access token is inactive.")
    if row.expires <= clock.now():
        raise InvalidAccessToken("The access token has expired.")
    withdrawn = policy.token_user_allowed(
        row.application,
        user_id=row.user_id,
        user_kind=getattr(row.user, "kind", None),
        issued_as=claims.get("user_type"),
    )
    if withdrawn:
        raise InvalidAccessToken(withdrawn)
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
    now = whole_second(clock.now())
    seconds = lifetime if lifetime is not None else settings.TRUSTREGISTRY_ACCESS_TOKEN_LIFETIME
    expires = now + dt.timedelta(seconds=seconds)
    raw = encode_access_token(
        user=user, client_id=application.client_id, scope=scope, issued_at=now, expires=expires
    )
    row = get_access_token_model()(user=user, application=application, expires=expires, scope=scope)
    set_token_value(row, raw)
    row.save()
    return raw, row
