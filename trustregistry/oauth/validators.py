"""django-oauth-toolkit's validator, taught the trusted-application record (SPEC sections 3, 4).

Every decision reads the record: who may authenticate how (`oauth/client_auth.py`), which
grants follow from its flags, which scopes it may receive, which users may log in to it, what
consent covers `prompt=none`. Token storage keeps django-oauth-toolkit's tables; what they
lack (redeemed codes, used assertion ids, consents) lives in `trustregistry.oauth.models`.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from trustregistry.common import clock
from trustregistry.oauth import access_tokens, policy, services, sign_ins, tokens
from trustregistry.oauth import selectors as oauth_selectors
from trustregistry.oauth.client_auth import ClientAuthentication, request_param
from trustregistry.oauth.token_saving import TokenSaving

Application = get_application_model()
AccessToken = get_access_token_model()
Grant = get_grant_model()
IDToken = get_id_token_model()
RefreshToken = get_refresh_token_model()

SESSION_USER_KEY = "TR_SESSION_USER"


class RegistryValidator(ClientAuthentication, TokenSaving):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "user_type": "openid",
    }

    # ------------------------------------------------------------------ grants and scopes

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return policy.may_use_grant(client, grant_type)

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return response_type == "code" and policy.may_use_grant(client, "authorization_code")

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        grant_type = request_param(request, "grant_type")
        return set(scopes) <= policy.allowed_scopes(client, grant_type=grant_type)

    def get_default_scopes(
        self, client_id: str, request: Any, *args: Any, **kwargs: Any
    ) -> list[str]:
        return policy.default_scopes(request.client)

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        client = request.client if isinstance(request.client, Application) else None
        client = client or self._load_application(client_id, request)
        return client is None or not policy.is_confidential(client)

    def validate_silent_authorization(self, request: Any) -> bool:
        # prompt=none: silent only where the user approved every scope of this request for
        # this application before (oauth.models.Consent); else consent_required.
        user_id = request.headers.get(SESSION_USER_KEY)
        if not user_id or not isinstance(request.client, Application):
            return False
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None:
            return False
        if not policy.user_may_log_in_to(request.client, user):
            # Not a matter of consent: the view refuses this user with access_denied.
            return True
        granted = policy.scopes_for_user(list(request.scopes or []), user)
        return oauth_selectors.consent_covers(
            user_id=user.pk, application=request.client, scopes=granted
        )

    def validate_silent_login(self, request: Any) -> bool:
        # Set by the authorization view from the session (a WSGI key no client can send).
        if not request.headers.get(SESSION_USER_KEY):
            return False
        try:
            max_age = sign_ins.parse_max_age(getattr(request, "max_age", None))
        except ValueError:
            return True  # the view answers invalid_request
        if max_age is None:
            return True
        signed_in = sign_ins.of_oauth_request(request)
        return sign_ins.fresh_enough(signed_in.timestamp() if signed_in else None, max_age)

    # ------------------------------------------------------------------ authorization codes

    def validate_code(self, client_id, code, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        grant = Grant.objects.select_related("user").filter(code=code, application=client).first()
        if grant is None:
            if isinstance(code, str):
                self._code_reused(code, client)
            return False
        if grant.expires <= clock.now():
            return False
        if not policy.user_may_log_in_to(client, grant.user):
            return False
        # The code keeps what was approved; the record may have lost a scope since (a code
        # lives 60 s, and narrowing a record leaves its unredeemed codes in place).
        trusted = policy.still_trusted(grant.scope.split(), client, grant_type="authorization_code")
        request.scopes = policy.scopes_for_user(trusted, grant.user)
        request.user = grant.user
        request.tr_grant = grant
        request.tr_auth_time = services.sign_in_for_code(code=code)
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        grant = self._code_row(code, request)
        return (grant.code_challenge or None) if grant is not None else None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        grant = self._code_row(code, request)
        return (grant.code_challenge_method or None) if grant is not None else None

    @staticmethod
    def _code_row(code: str, request: Any) -> Any:
        """The code's row as validate_code read it. django-oauth-toolkit reads it again with
        `get()`, which raised (a 500) when a concurrent exchange had redeemed the code in
        between; this exchange then fails in `_redeem_code`, which revokes the winner's
        tokens as for any second use."""
        grant = getattr(request, "tr_grant", None)
        if grant is not None and grant.code == code:
            return grant
        return Grant.objects.filter(code=code, application=request.client).first()

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if getattr(request, "using_default_redirect_uri", False):
            # Every code was asked for with a redirect_uri (server.require_redirect_uri), so
            # the token request must repeat it (RFC 6749 section 4.1.3).
            raise errors.InvalidRequestError(
                description="The redirect_uri parameter is required: repeat the authorization "
                "request's.",
                request=request,
            )
        grant = getattr(request, "tr_grant", None)  # read by validate_code just before
        if grant is None or grant.code != code:
            grant = Grant.objects.filter(code=code, application=client).first()
        if grant is None or not grant.redirect_uri_allowed(redirect_uri):
            # RFC 6749 section 5.2 names this case invalid_grant.
            raise errors.InvalidGrantError(
                description="The redirect_uri differs from the authorization request's.",
                request=request,
            )
        return True

    def _create_authorization_code(self, request, code, expires=None):  # type: ignore[no-untyped-def]
        grant = super()._create_authorization_code(request, code, expires)
        services.sign_in_record(
            code=code["code"],
            auth_time=sign_ins.of_oauth_request(request) or clock.now(),
            keep_until=grant.expires,
        )
        return grant

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The code was consumed inside the token transaction (_redeem_code).
        return None

    # ------------------------------------------------------------------ refresh tokens

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            if isinstance(refresh_token, str):
                self._log_refresh_reuse(refresh_token, client)
            return False
        rt = request.refresh_token_instance
        if rt.created + policy.refresh_lifetime(client) <= clock.now():
            return False
        if not policy.user_may_log_in_to(client, rt.user):
            return False
        # A refreshed ID token names the original sign-in (OpenID Connect Core 12.2).
        family = services.sign_in_for_family(
            token_family=rt.token_family, keep_until=clock.now() + policy.LONGEST_REFRESH_LIFETIME
        )
        request.tr_auth_time = family.auth_time if family else None
        request.tr_family_scope = family.scope if family else ""
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The family's granted scope, not its last access token's: a refresh that asked for
        # less narrowed only that access token (RFC 6749 section 6).
        original = getattr(request, "tr_family_scope", "") or super().get_original_scopes(
            refresh_token, request, *args, **kwargs
        )
        original = original.split() if isinstance(original, str) else list(original or [])
        # A scope the record no longer trusts is not renewed.
        return policy.still_trusted(original, request.client, grant_type="refresh_token")

    # ------------------------------------------------------------------ bearer tokens (userinfo)

    def validate_bearer_token(self, token, scopes, request):  # type: ignore[no-untyped-def]
        if not token:
            return False
        try:
            live = access_tokens.check_access_token(token)
        except access_tokens.InvalidAccessToken as exc:
            request.oauth2_error = {"error": "invalid_token", "error_description": exc.reason}
            return False
        # The userinfo endpoint asks for ["openid"] and checks it again itself, answering 403
        # insufficient_scope (RFC 6750) rather than the 401 a refusal here would give.
        if scopes and list(scopes) != ["openid"] and not set(scopes) <= live.scopes:
            request.oauth2_error = {
                "error": "insufficient_scope",
                "error_description": "The access token does not carry the required scope.",
            }
            return False
        request.client = live.application
        request.user = live.user
        request.scopes = sorted(live.scopes)
        request.access_token = live.token
        return True

    # ------------------------------------------------------------------ OpenID Connect

    def get_oidc_issuer_endpoint(self, request: Any) -> str:
        return settings.TRUSTREGISTRY_ISSUER

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        claims: dict[str, Any] = {"user_type": getattr(user, "kind", "internal")}
        name = user.get_full_name() if hasattr(user, "get_full_name") else ""
        claims["preferred_username"] = user.get_username()
        claims["name"] = name or user.get_username()
        if getattr(user, "first_name", ""):
            claims["given_name"] = user.first_name
        if getattr(user, "last_name", ""):
            claims["family_name"] = user.last_name
        return claims

    def finalize_id_token(self, id_token, token, token_handler, request):  # type: ignore[no-untyped-def]
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        signed_in = getattr(request, "tr_auth_time", None)
        if signed_in is not None:  # else DOT's: the user's last_login
            claims["auth_time"] = int(signed_in.timestamp())
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        signed = tokens.sign_id_token(dict(id_token))
        row = self._save_id_token(id_token["jti"], request, expiration_time)
        request.tr_id_token = row
        request.id_token = row
        return signed

    def _load_id_token(self, token):  # type: ignore[no-untyped-def]
        try:
            claims = tokens.verify_id_token(token)
        except tokens.InvalidIdToken:
            return None
        return IDToken.objects.filter(jti=claims["jti"]).first()

    def _get_key_for_token(self, token):  # type: ignore[no-untyped-def]
        # Never used: ID tokens are verified with PyJWT (tokens.verify_id_token).
        return None

    def validate_user_match(self, id_token_hint, scopes, claims, request):  # type: ignore[no-untyped-def]
        if not id_token_hint:
            return True
        try:
            hint = tokens.verify_id_token(id_token_hint, as_hint=True)
        except tokens.InvalidIdToken:
            return False
        user = request_param(request, "user")
        return user is None or str(getattr(user, "pk", "")) == str(hint.get("sub"))
