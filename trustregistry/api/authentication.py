"""DRF authentication for resource servers that trust this registry (SPEC sections 4 and 5).

Two classes, both setting `request.user` to the acting user and `request.auth` to an
`ApiAuth` (the application, the scopes in effect, how the caller authenticated):

- `BearerTokenAuthentication`: an RFC 9068 access token of this registry, checked on every
  request against the registry's record of the token, the application's enabled flag and the
  user's active flag, so revocation and disabling take effect at once (the rules of
  `access_tokens.check_access_token`, asked in one lean query by `token_lookup`).
- `BasicAuthentication`: `Authorization: Basic user:password` as the application named by
  `X-Application-Uri` (or `settings.TRUSTREGISTRY_BASIC_AUTH_APPLICATION`), refused with one
  of five messages, failures throttled per user name and client address.

Both answer 401 with a `WWW-Authenticate` challenge (RFC 6750 for bearer).
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from trustregistry.accounts.backends import ADDRESS_THROTTLE, ANY_USERNAME
from trustregistry.api.token_lookup import check_bearer_token
from trustregistry.common.logging import shown
from trustregistry.common.throttle import FailureThrottle, client_address
from trustregistry.oauth import policy
from trustregistry.oauth.access_tokens import InvalidAccessToken
from trustregistry.registry import scopes as scope_catalogue
from trustregistry.registry import selectors as registry_selectors
from trustregistry.registry.models import TrustedApplication

logger = logging.getLogger(__name__)

REALM = "trustregistry"
APPLICATION_URI_HEADER = "X-Application-Uri"

AuthMethod = Literal["bearer", "basic"]


@dataclass(frozen=True)
class ApiAuth:
    """What `request.auth` holds after a successful authentication."""

    application: TrustedApplication
    scopes: frozenset[str]
    method: AuthMethod
    claims: dict[str, Any] = field(default_factory=dict)  # the access token's claims (bearer)

    def has_scopes(self, *wanted: str) -> bool:
        return all(scope in self.scopes for scope in wanted)


def effective_scopes(
    *, granted: frozenset[str] | set[str], application: Any, user: Any
) -> frozenset[str]:
    """The scopes a request may use: granted ones the record still trusts; never `sec` for a
    community user (SPEC section 4).

    Protocol scopes (openid, profile, offline_access) come with an interactive sign-in only,
    as when they are issued (`policy.allowed_scopes`). A system user's token, from client
    credentials, may carry `profile` only as the reserved scope of the catalogue, so it keeps
    it only while the record trusts it."""
    grant_type = (
        "client_credentials" if getattr(user, "kind", None) == "system" else "authorization_code"
    )
    trusted = policy.allowed_scopes(application, grant_type=grant_type)
    scopes = {s for s in granted if s in trusted}
    if getattr(user, "kind", None) == "community":
        scopes.discard(scope_catalogue.SEC)
    return frozenset(scopes)


class ChallengeFailed(exceptions.AuthenticationFailed):
    """A 401 that carries its own stable error code and `WWW-Authenticate` challenge."""

    def __init__(self, message: str, *, code: str, challenge: str):
        super().__init__(detail=message, code=code)
        self.error_code = code
        self.www_authenticate = challenge


def _quote(value: str) -> str:
    # RFC 7235 quoted-string: no bare quotes or backslashes inside.
    return value.replace("\\", "\\\\").replace('"', '\\"')


def bearer_challenge(
    error: str | None = None, description: str | None = None, scope: str | None = None
) -> str:
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{_quote(description)}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


def basic_challenge() -> str:
    return f'Basic realm="{REALM}", charset="UTF-8"'


# ------------------------------------------------------------------ bearer


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiAuth] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        if len(header) != 2:
            raise self._fail(
                "The Authorization header must be 'Bearer <token>'.", "invalid_request"
            )
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise self._fail("The access token is malformed.") from exc
        try:
            live = check_bearer_token(raw)
        except InvalidAccessToken as exc:
            raise self._fail(exc.reason) from exc
        application = live.application
        user = live.user
        if user is None or not user.is_active:
            raise self._fail("The access token does not act as an active user.")
        scopes = effective_scopes(granted=live.scopes, application=application, user=user)
        return user, ApiAuth(
            application=application, scopes=scopes, method="bearer", claims=live.claims
        )

    def _fail(self, message: str, error: str = "invalid_token") -> ChallengeFailed:
        return ChallengeFailed(message, code=error, challenge=bearer_challenge(error, message))

    def authenticate_header(self, request: Request) -> str:
        return bearer_challenge()


# ------------------------------------------------------------------ basic


class BasicRefusal:
    """The five refusals of SPEC section 5, each a stable code and its message."""

    UNKNOWN_APPLICATION = "unknown_application"
    APPLICATION_DISABLED = "application_disabled"
    BASIC_NOT_ALLOWED = "basic_auth_not_allowed"
    WRONG_USER = "system_user_only"
    INVALID_CREDENTIALS = "invalid_credentials"


# Per user name and address, as the token endpoint (SPEC section 5). Besides, Basic checks the
# same users' passwords as the sign-in page, so a wrong password here also counts toward the
# page's address-wide count against password spraying (`ADDRESS_THROTTLE`), and an address
# blocked there is blocked here: otherwise Basic would be a second door without that count.
_throttle = FailureThrottle("basic")


class BasicAuthentication(BaseAuthentication):
    keyword = "basic"

    def authenticate(self, request: Request) -> tuple[Any, ApiAuth] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        username, password = self._credentials(header)
        address = client_address(request)
        # TooManyFailures (429 + Retry-After) goes to the API's exception handler.
        _throttle.check(username, address)
        ADDRESS_THROTTLE.check(ANY_USERNAME, address)
        try:
            return self._authenticate(request, username, password)
        except ChallengeFailed as exc:
            # The user and the rule that refused, never the password or the header.
            logger.info(
                "Basic authentication refused: user %s as %s from %s: %s",
                shown(username),
                shown(_application_uri(request)),
                address,
                exc.error_code,
            )
            try:
                _throttle.record_failure(username, address)
            finally:
                # Also when the user's count has just raised TooManyFailures: that guess was
                # a wrong password like the others, and the sign-in page counts it in both.
                if exc.error_code == BasicRefusal.INVALID_CREDENTIALS:
                    ADDRESS_THROTTLE.record_failure(ANY_USERNAME, address)
            raise

    def _credentials(self, header: list[bytes]) -> tuple[str, str]:
        if len(header) != 2:
            raise self._fail(
                "The Authorization header must be 'Basic <base64 of user:password>'.",
                BasicRefusal.INVALID_CREDENTIALS,
            )
        try:
            decoded = base64.b64decode(header[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise self._fail(
                "The Basic credentials are not valid base64 of user:password.",
                BasicRefusal.INVALID_CREDENTIALS,
            ) from exc
        username, sep, password = decoded.partition(":")
        if not sep or not username or "\x00" in decoded:
            raise self._fail(
                "The Basic credentials must be user:password.", BasicRefusal.INVALID_CREDENTIALS
            )
        return username, password

    def _authenticate(self, request: Request, username: str, password: str) -> tuple[Any, ApiAuth]:
        application = self._application(request, username)
        user = self._check_password(username, password)
        if user is None:
            raise self._fail(
                "The user name or password is wrong.", BasicRefusal.INVALID_CREDENTIALS
            )
        return user, self._as(application, user, username)

    def authenticate_again(self, request: Request, user: Any) -> tuple[Any, ApiAuth]:
        """The checks of `authenticate` once more for a caller whose password they verified
        already: the record and the user as they are now, its password unchanged (no password
        hashing, no throttle)."""
        username = user.get_username()
        application = self._application(request, username)
        # The stored hash still the one the password was checked against: a password changed
        # or made unusable meanwhile (how a leaked one is withdrawn) would be refused now.
        user = (
            type(user)
            ._default_manager.filter(pk=user.pk, is_active=True, password=user.password)
            .first()
        )
        if user is None or not user.has_usable_password():
            raise self._fail(
                "The user name or password is wrong.", BasicRefusal.INVALID_CREDENTIALS
            )
        return user, self._as(application, user, username)

    def _application(self, request: Request, username: str) -> TrustedApplication:
        uri = _application_uri(request)
        application = registry_selectors.application_for_client(client_id=uri)
        if application is None:
            raise self._fail(
                f"The application '{uri}' does not exist.", BasicRefusal.UNKNOWN_APPLICATION
            )
        if not application.is_enabled:
            raise self._fail(
                f"The application '{uri}' is not enabled.", BasicRefusal.APPLICATION_DISABLED
            )
        if not application.basic_auth_allowed:
            raise self._fail(
                f"The application '{uri}' does not allow Basic authentication.",
                BasicRefusal.BASIC_NOT_ALLOWED,
            )
        system_user = application.system_user
        if system_user is not None and system_user.get_username() != username:
            raise self._fail(
                f"The application '{uri}' has a system user: Basic authentication is allowed "
                "only for that user.",
                BasicRefusal.WRONG_USER,
            )
        return application

    def _as(self, application: TrustedApplication, user: Any, username: str) -> ApiAuth:
        system_user = application.system_user
        if user.kind == "system" and (system_user is None or system_user.pk != user.pk):
            # A system user is a service identity of one application, nothing else.
            raise self._fail(
                f"The user '{username}' is a system user and may use Basic authentication only "
                "for the application it is the system user of.",
                BasicRefusal.WRONG_USER,
            )
        scopes = effective_scopes(
            granted=set(application.scopes), application=application, user=user
        )
        return ApiAuth(application=application, scopes=scopes, method="basic")

    @staticmethod
    def _check_password(username: str, password: str) -> Any:
        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None or not user.has_usable_password():
            # Spend the same hashing time as for a real user, so timing reveals neither names
            # nor which users have no password (system users: check_password answers those
            # at once).
            make_password(password)
            return None
        if not user.check_password(password) or not user.is_active:
            return None
        return user

    def _fail(self, message: str, code: str) -> ChallengeFailed:
        return ChallengeFailed(message, code=code, challenge=basic_challenge())

    def authenticate_header(self, request: Request) -> str:
        return basic_challenge()


def authenticate_again(request: Request) -> None:
    """Check the request's caller again as its authentication did when the request began (the
    bearer token, or the Basic caller's record and user, as they are now; never the password
    once more), for an answer that waited so long that the caller may have been disabled or
    its token revoked meanwhile. Raises what the authentication raises; the view then checks
    its permissions (scopes) again."""
    auth = request.auth
    if not isinstance(auth, ApiAuth):
        raise exceptions.NotAuthenticated()
    if auth.method == "bearer":
        again = BearerTokenAuthentication().authenticate(request)
    else:
        again = BasicAuthentication().authenticate_again(request, request.user)
    if again is None:  # the header cannot have gone; nothing to trust if it has
        raise exceptions.NotAuthenticated()
    request.user, request.auth = again


def _application_uri(request: Request) -> str:
    """The application a Basic caller acts as (SPEC section 5)."""
    return (request.headers.get(APPLICATION_URI_HEADER) or "").strip() or str(
        settings.TRUSTREGISTRY_BASIC_AUTH_APPLICATION
    )
