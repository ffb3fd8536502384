"""The machine-facing endpoints of SPEC section 3, as thin subclasses of django-oauth-toolkit's
views. Client authentication failures are throttled; every answer is `no-store`."""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.views import (
    ConnectDiscoveryInfoView,
    IntrospectTokenView,
    JwksInfoView,
    RevokeTokenView,
    TokenView,
    UserInfoView,
)
from oauthlib.common import Request as OauthlibRequest

from trustregistry.api.authentication import effective_scopes
from trustregistry.api.token_lookup import check_bearer_token
from trustregistry.common import clock
from trustregistry.keys.services import JWKS_CACHE_SECONDS, jwks
from trustregistry.oauth import access_tokens, cors, policy, scopes, selectors, services
from trustregistry.oauth.views.common import (
    JsonMethodNotAllowed,
    fix_client_challenge,
    no_store,
    oauth_error,
    parameter_problem,
    throttled_client_auth,
)

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CLAIMS = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "jti",
    "user_type", "name", "given_name", "family_name", "preferred_username",
]  # fmt: skip


def _absolute(name: str) -> str:
    # The issuer's scheme and host, the route's path: right behind a reverse proxy too.
    issuer = settings.TRUSTREGISTRY_ISSUER
    base = issuer.removesuffix("/id")
    return f"{base}{reverse(name)}"


class DiscoveryView(ConnectDiscoveryInfoView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data = {
            "issuer": settings.TRUSTREGISTRY_ISSUER,
            "authorization_endpoint": _absolute("oauth:authorize"),
            "token_endpoint": _absolute("oauth:token"),
            "userinfo_endpoint": _absolute("oauth:user-info"),
            "jwks_uri": _absolute("oauth:jwks-info"),
            "revocation_endpoint": _absolute("oauth:revoke-token"),
            "introspection_endpoint": _absolute("oauth:introspect"),
            "end_session_endpoint": _absolute("oauth:rp-initiated-logout"),
            "scopes_supported": scopes.supported(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS[:3],
            "introspection_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": CLAIMS,
            "prompt_values_supported": ["none", "login", "consent", "create"],
            "authorization_response_iss_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "ui_locales_supported": [code for code, _ in settings.LANGUAGES],
        }
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = "public, max-age=300"
        return response


class JwksView(JwksInfoView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = JsonResponse(jwks())
        response["Access-Control-Allow-Origin"] = "*"
        # Short: a key rotated in without staging signs at once, and clients refetch on an
        # unknown kid. `rotate_keys --stage` asks to wait this long before rotating.
        response["Cache-Control"] = f"public, max-age={JWKS_CACHE_SECONDS}"
        return response


class _MachineEndpoint(JsonMethodNotAllowed):
    """For the endpoints machines call on every request (token, revocation, introspection):
    django-oauth-toolkit decorates their `dispatch` with `method_decorator`, which builds new
    wrapper functions on every call (csrf_exempt, login_not_required, sensitive parameters).
    The same marks go on the view function once, in `as_view`, and `dispatch` is View's own.
    The sensitive POST parameters are named per view, for Django's error reports."""

    sensitive_post_parameters: tuple[str, ...] = ("client_secret", "client_assertion")
    # Public records' browser apps read the answers cross-origin (oauth/cors.py).
    browser_apps: bool = False

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)  # type: ignore[misc]
        view.csrf_exempt = True  # machine clients authenticate themselves; no cookies
        view.login_required = False
        return view

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.sensitive_post_parameters = self.sensitive_post_parameters  # type: ignore[attr-defined]
        response = self._answer(request, *args, **kwargs)
        # Every answer, the refusals of parameters below included (a NUL character): without
        # CORS a browser app sees a network failure, not its error. A body that cannot be read
        # names no record, and gets none (oauth/cors.py).
        return cors.allow_browser_app(request, response) if self.browser_apps else response

    def _answer(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            problem = parameter_problem(request)
            if problem is not None:
                return oauth_error("invalid_request", problem[0], status=problem[1])
        try:
            response: HttpResponse = View.dispatch(self, request, *args, **kwargs)  # type: ignore[arg-type,assignment]
        except RequestDataTooBig:
            # Django would answer its HTML 400 page: the endpoint's own JSON error instead.
            return oauth_error("invalid_request", "The request body is too large.", status=413)
        return response


class RegistryTokenView(_MachineEndpoint, TokenView):
    browser_apps = True
    sensitive_post_parameters = (
        "client_secret",
        "client_assertion",
        "code",
        "code_verifier",
        "refresh_token",
    )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if any(len(values) > 1 for _name, values in request.POST.lists()):
            # RFC 6749 section 3.2; django-oauth-toolkit would pass on the last value only.
            return oauth_error(
                "invalid_request", "Each parameter may appear only once (RFC 6749 section 3.2)."
            )
        grant_type = request.POST.get("grant_type")
        if not grant_type:
            return oauth_error("invalid_request", "The grant_type parameter is missing.")
        if grant_type not in ("authorization_code", "client_credentials", "refresh_token"):
            return oauth_error(
                "unsupported_grant_type",
                "Supported grant types: authorization_code, client_credentials, refresh_token.",
            )

        def handle() -> HttpResponse:
            response = self.token_response(request)
            response["Content-Type"] = "application/json"
            return fix_client_challenge(request, response)

        return no_store(throttled_client_auth(request, handle))

    def token_response(self, request: HttpRequest) -> HttpResponse:
        # DOT's authorization_flow_token_response re-reads the new token from the database
        # only to send its `app_authorized` signal, which nothing here listens to: one query
        # less on the hottest endpoint.
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


class RevocationView(_MachineEndpoint, RevokeTokenView):
    browser_apps = True
    sensitive_post_parameters = ("client_secret", "client_assertion", "token")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        def handle() -> HttpResponse:
            return fix_client_challenge(request, super(RevocationView, self).post(request))

        return no_store(throttled_client_auth(request, handle))


class IntrospectionView(_MachineEndpoint, IntrospectTokenView):
    """RFC 7662 for authenticated confidential clients (any client authentication method
    but `none`). Access tokens of any client; refresh tokens of the caller only."""

    sensitive_post_parameters = ("client_secret", "client_assertion", "token")
    # django-oauth-toolkit also introspects by GET (the token in the URL): POST only here.
    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return no_store(throttled_client_auth(request, lambda: self._introspect(request)))

    def _authenticated_client(self, request: HttpRequest) -> Any:
        core = self.get_oauthlib_core()
        uri, method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, method, body, headers)
        validator = core.server.request_validator
        if not validator.authenticate_client(oauth_request):
            return None
        return oauth_request.client

    def _introspect(self, request: HttpRequest) -> HttpResponse:
        client = self._authenticated_client(request)
        if client is None:
            return fix_client_challenge(
                request,
                oauth_error("invalid_client", "Client authentication failed.", status=401),
            )
        token = request.POST.get("token")
        if not token:
            return oauth_error("invalid_request", "The token parameter is missing.")
        return JsonResponse(introspect(token, client=client))


def introspect(token: str, *, client: Any) -> dict[str, Any]:
    # The lean form of access_tokens.check_access_token (same rules, one precompiled query;
    # tests/api/test_token_lookup.py keeps the two in step).
    try:
        live = check_bearer_token(token)
    except access_tokens.InvalidAccessToken:
        return _introspect_refresh(token, client=client)
    claims = live.claims
    data: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "scope": _scope_now(live.scope, application=live.application, user=live.user),
        "client_id": claims["client_id"],
        "sub": claims["sub"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "iss": claims["iss"],
        "aud": claims["aud"],
        "jti": claims["jti"],
        "user_type": claims.get("user_type"),
    }
    if live.user is not None:
        data["username"] = live.user.get_username()
    return data


def _scope_now(recorded: str, *, application: Any, user: Any) -> str:
    """The token's scopes that it may still use, as the API applies them (SPEC section 3:
    a scope the record no longer trusts, or `sec` of a user who is now community, is gone
    for every resource server at once), in the order recorded."""
    allowed = effective_scopes(
        granted=frozenset(recorded.split()), application=application, user=user
    )
    return " ".join(scope for scope in recorded.split() if scope in allowed)


def _introspect_refresh(token: str, *, client: Any) -> dict[str, Any]:
    row = (
        get_refresh_token_model()
        .objects.select_related("user", "application", "access_token")
        .filter(token_checksum=services.checksum(token), application=client, revoked__isnull=True)
        .first()
    )
    if row is None or not row.application.is_enabled or not row.user.is_active:
        return {"active": False}
    if policy.token_user_allowed(row.application, user_id=row.user_id, user_kind=row.user.kind):
        return {"active": False}  # the refresh grant would refuse it: the kind was withdrawn
    expires = row.created + policy.refresh_lifetime(row.application)
    if expires <= clock.now():
        return {"active": False}
    return {
        "active": True,
        "token_type": "refresh_token",
        "client_id": row.application.client_id,
        "username": row.user.get_username(),
        "sub": str(row.user.pk),
        "scope": _scope_now(
            selectors.family_scope(token_family=row.token_family)
            or (row.access_token.scope if row.access_token else ""),
            application=row.application,
            user=row.user,
        ),
        # Rounded up: the token ends a fraction of a second after the whole second before, and
        # an answer saying active must never name an exp already past (RFC 7662 section 2.2).
        "exp": math.ceil(expires.timestamp()),
        "iat": int(row.created.timestamp()),
    }


@method_decorator(csrf_exempt, name="dispatch")
class RegistryUserInfoView(JsonMethodNotAllowed, UserInfoView):
    """OIDC Core 5.3 with RFC 6750's rules: the access token in the Authorization header or
    (POST) the form body, never in the URL (RFC 9700 section 4.3.2) and never in both; every
    refusal carries its `WWW-Authenticate` challenge. Browser clients may call it (CORS)."""

    def _create_userinfo_response(self, request: HttpRequest) -> HttpResponse:
        in_header = request.headers.get("Authorization", "").lower().startswith("bearer ")
        problem = parameter_problem(request)
        if problem is not None:
            response = _bearer_error("invalid_request", problem[0], status=problem[1])
        elif "access_token" in request.GET or (in_header and "access_token" in request.POST):
            response = _bearer_error(
                "invalid_request",
                "Send the access token in the Authorization header (or a POST body), once.",
                status=400,
            )
        else:
            response = super()._create_userinfo_response(request)
            if response.status_code >= 400:
                error = "insufficient_scope" if response.status_code == 403 else "invalid_token"
                if not response.content:
                    response.content = json.dumps({"error": error}).encode()
                if response.status_code == 403 and "WWW-Authenticate" not in response:
                    response["WWW-Authenticate"] = (
                        'Bearer error="insufficient_scope", scope="openid"'
                    )
                if response.status_code == 401 and not (
                    in_header or "access_token" in request.POST
                ):
                    # RFC 6750 section 3.1: no credentials at all, so no error code either.
                    response["WWW-Authenticate"] = "Bearer"
                response["Content-Type"] = "application/json"
        response["Access-Control-Allow-Origin"] = "*"
        # A browser hides every response header but a few from a cross-origin script: the
        # challenge (invalid_token: refresh or sign in again) must be exposed to be read.
        response["Access-Control-Expose-Headers"] = "WWW-Authenticate"
        return no_store(response)

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Allow-Methods"] = "GET, POST"
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response["Access-Control-Max-Age"] = "600"
        return response


def _bearer_error(error: str, description: str, *, status: int) -> HttpResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["WWW-Authenticate"] = f'Bearer error="{error}"'
    return response
