"""The oauthlib server behind django-oauth-toolkit, with only what SPEC section 3 allows:
response type `code`, grants authorization_code, client_credentials and refresh_token. No
implicit, hybrid, password or device grant is even constructed.

Checks run before anything else on the authorization request, after the client and the
redirect URI are known good: `redirect_uri` must be given (an error page otherwise); then, with
failures going back to the client, no parameter repeated, `response_type` exactly `code`,
`state` required, OpenID Connect's `claims` a JSON object, and a PKCE challenge must use
S256 (`plain` is refused, and so is a challenge without a method, which RFC 7636 would read as
plain). One runs last on the code's
token request: a `code_verifier` for a code issued without a challenge is refused (RFC 9700
section 2.1.1, the PKCE downgrade), which oauthlib would otherwise ignore.

On every request, before anything reads them: a parameter sent without a value counts as
omitted (RFC 6749 section 3.1), a `resource` (RFC 8707) other than the registry's own token
audience is `invalid_target`, and the authorization request refuses what the registry does not
do rather than ignore it: a `response_mode` other than `query` (`form_post` is answered as
`query`), and OpenID Connect's `request`
and `request_uri` (Core section 6: `request_not_supported`, `request_uri_not_supported`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
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
from oauthlib.openid.connect.core.exceptions import RequestNotSupported, RequestURINotSupported
from oauthlib.openid.connect.core.grant_types import AuthorizationCodeGrant, RefreshTokenGrant
from oauthlib.openid.connect.core.grant_types.dispatchers import (
    AuthorizationCodeGrantDispatcher,
    AuthorizationTokenGrantDispatcher,
)


class InvalidTargetError(errors.OAuth2Error):
    """RFC 8707 section 2."""

    error = "invalid_target"


# Parameters oauthlib and django-oauth-toolkit read from the request object: blank means omitted.
_OMITTED_WHEN_BLANK = (
    "scope",
    "code_challenge",
    "code_challenge_method",
    "code_verifier",
    "nonce",
    "claims",
    "resource",
    "response_mode",
    "request",
    "request_uri",
)


def blank_means_omitted(request: Any) -> dict[str, Any]:
    # RFC 6749 section 3.1; oauthlib would read `scope=` as one scope named "".
    for name in _OMITTED_WHEN_BLANK:
        if getattr(request, name, None) == "":
            setattr(request, name, None)
    if request.scope is None and request.scopes == [""]:
        request.scopes = None  # the endpoint split the blank scope before any check ran
    return {}


def only_this_registry_as_resource(request: Any) -> dict[str, Any]:
    # Every token is for the registry's own audience, whatever is asked: a request naming
    # another resource cannot get what it asks for (RFC 8707 section 2).
    resource = getattr(request, "resource", None)
    if resource is None:
        return {}
    values = resource if isinstance(resource, list) else [resource]
    if any(value != settings.TRUSTREGISTRY_TOKEN_AUDIENCE for value in values):
        raise InvalidTargetError(
            description="This registry issues tokens only for the resource "
            f"{settings.TRUSTREGISTRY_TOKEN_AUDIENCE}.",
            request=request,
        )
    request.resource = values  # django-oauth-toolkit stores a list on the code and tokens
    return {}


def refuse_unsupported_requests(request: Any) -> dict[str, Any]:
    if getattr(request, "request", None) is not None:
        raise RequestNotSupported(request=request)
    if getattr(request, "request_uri", None) is not None:
        raise RequestURINotSupported(request=request)
    # form_post is answered in the query, as the registry always has: the code flow's
    # clients that ask for it by default (ASP.NET Core's OpenID Connect handler) accept that.
    # fragment would put the code where a code-flow client does not look for it.
    if request.response_mode not in (None, "query", "form_post"):
        raise errors.InvalidRequestError(
            description="Only response_mode=query is supported (form_post is answered as query).",
            request=request,
        )
    return {}


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
_CODE_VERIFIER = _CODE_CHALLENGE  # section 4.1: the same alphabet and lengths
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


def claims_is_an_object(request: Any) -> dict[str, Any]:
    # OpenID Connect Core 5.5. oauthlib reads it only later, and its refusal named no request:
    # the client got an error page, or an error without its state.
    claims = getattr(request, "claims", None)
    if not isinstance(claims, str) or "openid" not in (request.scopes or []):
        return {}  # without openid, not an OpenID Connect parameter: ignored
    try:
        parsed = json.loads(claims)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict) or any(
        not isinstance(parsed.get(member, {}), dict) for member in ("userinfo", "id_token")
    ):
        raise errors.InvalidRequestError(
            description="The claims parameter must be a JSON object whose userinfo and "
            "id_token members are objects (OpenID Connect Core section 5.5).",
            request=request,
        )
    request.claims = parsed  # oauthlib leaves a parsed one as it is
    return {}


def require_s256(request: Any) -> dict[str, Any]:
    if request.code_challenge is not None and request.code_challenge_method != "S256":
        raise errors.InvalidRequestError(
            description="PKCE code_challenge_method must be S256 (plain is not accepted).",
            request=request,
        )
    return {}


def well_formed_verifier(request: Any) -> None:
    if request.code_verifier is not None and not _CODE_VERIFIER.match(request.code_verifier):
        raise errors.InvalidRequestError(
            description="The code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~ "
            "(RFC 7636 section 4.1).",
            request=request,
        )


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
        token_checks = [blank_means_omitted, only_this_registry_as_resource]
        checks = {
            "pre_auth": [
                require_redirect_uri,
                blank_means_omitted,
                refuse_repeated_parameters,
                refuse_unsupported_requests,
                only_code,
                require_state,
                bound_values,
                claims_is_an_object,
                require_s256,
                only_this_registry_as_resource,
            ],
            "pre_token": [*token_checks, well_formed_verifier],
            "post_token": [refuse_pkce_downgrade],
        }
        # Both run the checks, so no `plain` challenge is ever stored on a code.
        self.auth_grant = OAuth2CodeGrant(request_validator, **checks)
        self.openid_connect_auth = AuthorizationCodeGrant(request_validator, **checks)
        self.credentials_grant = ClientCredentialsGrant(request_validator, pre_token=token_checks)
        self.refresh_grant = RefreshTokenGrant(request_validator, pre_token=token_checks)
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
