"""The oauthlib server behind django-oauth-toolkit, with only what SPEC section 3 allows:
response type `code`, grants authorization_code, client_credentials and refresh_token. No
implicit, hybrid, password or device grant is even constructed.

Checks run before anything else on the authorization request, after the client and the
redirect URI are known good: `redirect_uri` must be given (an error page otherwise); then, with
failures going back to the client, no parameter repeated, `response_type` exactly `code`,
`state` required, and a PKCE challenge must use S256 (`plain` is refused, and so is a
challenge without a method, which RFC 7636 would read as plain). One runs last on the code's
token request: a `code_verifier` for a code issued without a challenge is refused (RFC 9700
section 2.1.1, the PKCE downgrade), which oauthlib would otherwise ignore.
"""

from __future__ import annotations

import re
from typing import Any

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant as OAuth2CodeGrant
from oauthlib.oauth2.rfc6749.grant_types import ClientCredentialsGrant
from oauthlib.oauth2.rfc6749.tokens import BearerToken
from oauthlib.openid.connect.core.endpoints.userinfo import UserInfoEndpoint
from oauthlib.openid.connect.core.grant_types import AuthorizationCodeGrant, RefreshTokenGrant
from oauthlib.openid.connect.core.grant_types.dispatchers import (
    AuthorizationCodeGrantDispatcher,
    AuthorizationTokenGrantDispatcher,
)


def require_state(request: Any) -> dict[str, Any]:
    if not request.state:
        raise errors.InvalidRequestError(
            description="The state parameter is required.", request=request
        )
    return {}


def require_redirect_uri(request: Any) -> dict[str, Any]:
    # OpenID Connect requires it, and so do ERP.net's identity server and Keycloak; and a code
    # asked for with one must be redeemed with the same (RFC 6749 section 4.1.3), which the
    # token endpoint can then always insist on. Not redirected: there is no address to answer.
    if request.using_default_redirect_uri:
        raise errors.InvalidRequestFatalError(
            description="The redirect_uri parameter is required.", request=request
        )
    return {}


def only_code(request: Any) -> dict[str, Any]:
    # oauthlib would hand "code id_token" to the code grant and answer unauthorized_client.
    if request.response_type is not None and request.response_type != "code":
        raise errors.UnsupportedResponseTypeError(request=request)
    return {}


def refuse_repeated_parameters(request: Any) -> dict[str, Any]:
    # RFC 6749 section 3.1: no parameter more than once. oauthlib checks five of them.
    if request.duplicate_params:
        raise errors.InvalidRequestError(
            description="Each parameter may appear only once (RFC 6749 section 3.1).",
            request=request,
        )
    return {}


_CODE_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{43,128}\Z")  # RFC 7636 section 4.2
MAX_NONCE_LENGTH = 255  # what a code keeps of it (django-oauth-toolkit's Grant.nonce)
MAX_STATE_LENGTH = 2000  # echoed into the redirect's Location header


def bound_values(request: Any) -> dict[str, Any]:
    # Values a code stores must fit where they are stored: PostgreSQL refuses one too long
    # (a 500), SQLite would keep it whole.
    if request.code_challenge is not None and not _CODE_CHALLENGE.match(request.code_challenge):
        raise errors.InvalidRequestError(
            description="The code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~ "
            "(RFC 7636 section 4.2).",
            request=request,
        )
    if request.nonce is not None and len(request.nonce) > MAX_NONCE_LENGTH:
        raise errors.InvalidRequestError(
            description=f"The nonce may be at most {MAX_NONCE_LENGTH} characters.",
            request=request,
        )
    if request.state is not None and len(request.state) > MAX_STATE_LENGTH:
        raise errors.InvalidRequestError(
            description=f"The state may be at most {MAX_STATE_LENGTH} characters.",
            request=request,
        )
    return {}


def require_s256(request: Any) -> dict[str, Any]:
    if request.code_challenge is not None and request.code_challenge_method != "S256":
        raise errors.InvalidRequestError(
            description="PKCE code_challenge_method must be S256 (plain is not accepted).",
            request=request,
        )
    return {}


def refuse_pkce_downgrade(request: Any) -> None:
    # `tr_grant` is the code's row, read by RegistryValidator.validate_code just before.
    grant = getattr(request, "tr_grant", None)
    if request.code_verifier is not None and grant is not None and not grant.code_challenge:
        raise errors.InvalidGrantError(
            description="A code_verifier was sent for a code issued without a PKCE challenge.",
            request=request,
        )


class RegistryServer(
    AuthorizationEndpoint,
    TokenEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    UserInfoEndpoint,
):
    def __init__(
        self,
        request_validator: Any,
        token_expires_in: Any = None,
        token_generator: Any = None,
        refresh_token_generator: Any = None,
        **_ignored: Any,
    ):
        checks = {
            "pre_auth": [
                require_redirect_uri,
                refuse_repeated_parameters,
                only_code,
                require_state,
                bound_values,
                require_s256,
            ],
            "post_token": [refuse_pkce_downgrade],
        }
        # Both run the checks, so no `plain` challenge is ever stored on a code.
        self.auth_grant = OAuth2CodeGrant(request_validator, **checks)
        self.openid_connect_auth = AuthorizationCodeGrant(request_validator, **checks)
        self.credentials_grant = ClientCredentialsGrant(request_validator)
        self.refresh_grant = RefreshTokenGrant(request_validator)
        self.bearer = BearerToken(
            request_validator, token_generator, token_expires_in, refresh_token_generator
        )
        code_choice = AuthorizationCodeGrantDispatcher(
            default_grant=self.auth_grant, oidc_grant=self.openid_connect_auth
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": code_choice},
            default_token_type=self.bearer,
        )
        token_choice = AuthorizationTokenGrantDispatcher(
            request_validator, default_grant=self.auth_grant, oidc_grant=self.openid_connect_auth
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={
                "authorization_code": token_choice,
                "client_credentials": self.credentials_grant,
                "refresh_token": self.refresh_grant,
            },
            default_token_type=self.bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": self.bearer})
        RevocationEndpoint.__init__(self, request_validator)
        UserInfoEndpoint.__init__(self, request_validator)
