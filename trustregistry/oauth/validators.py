"""django-oauth-toolkit's validator, taught the trusted-application record (SPEC sections 3, 4).

Every decision reads the record: who may authenticate how (`oauth/client_auth.py`), which
grants follow from its flags, which scopes it may receive, which users may log in to it, what
consent covers `prompt=none`. Token storage keeps django-oauth-toolkit's tables; what they
lack (redeemed codes, used assertion ids, consents) lives in `trustregistry.oauth.models`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from oauth2_provider.exceptions import FatalClientError
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
from trustregistry.oauth import access_tokens, policy, services, sign_ins, token_writes, tokens
from trustregistry.oauth import selectors as oauth_selectors
from trustregistry.oauth.client_auth import ClientAuthentication, request_param

log = logging.getLogger(__name__)

Application = get_application_model()
AccessToken = get_access_token_model()
Grant = get_grant_model()
IDToken = get_id_token_model()
RefreshToken = get_refresh_token_model()

SESSION_USER_KEY = "TR_SESSION_USER"


class RegistryValidator(ClientAuthentication, OAuth2Validator):
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
            if isinstance(code, str) and services.redeemed_code_revoke_tokens(
                application=client, code=code
            ):
                log.warning("authorization code reused by %s: its tokens were revoked", client_id)
            return False
        if grant.expires <= clock.now():
            return False
        if not policy.user_may_log_in_to(client, grant.user):
            return False
        request.scopes = policy.scopes_for_user(grant.scope.split(), grant.user)
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

    def _redeem_code(self, request: Any) -> None:
        deleted, _ = Grant.objects.filter(code=request.code, application=request.client).delete()
        if not deleted:
            # A concurrent exchange of the same code won; this one must issue nothing, and
            # once this transaction is rolled back the winner's tokens are revoked
            # (save_bearer_token), as for any second use of a code.
            request.tr_code_raced = True
            raise errors.InvalidGrantError(
                description="The authorization code has already been used.", request=request
            )

    # ------------------------------------------------------------------ refresh tokens

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
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
        allowed = policy.allowed_scopes(request.client, grant_type="refresh_token")
        return [s for s in original if s in allowed]

    # ------------------------------------------------------------------ saving tokens

    def save_bearer_token(self, token, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if request.grant_type == "client_credentials":
            # Client credentials write one row (the access token: no refresh token, no ID
            # token, no code). One INSERT in autocommit is atomic by itself; DOT's transaction
            # around it only adds a BEGIN and a COMMIT round trip to every such token.
            return self._save_bearer_token(token, request, *args, **kwargs)
        try:
            return super().save_bearer_token(token, request, *args, **kwargs)
        except errors.InvalidGrantError:
            if getattr(request, "tr_code_raced", False):
                # After DOT's transaction rolled back (a revocation inside it would be undone
                # with it); the winner has committed, its RedeemedCode row is visible now.
                services.redeemed_code_revoke_tokens(application=request.client, code=request.code)
            if getattr(request, "tr_refresh_raced", False):
                # Two uses of one refresh token at once are a reuse like any other (RFC 9700
                # section 4.14.2): the winner's new tokens go with the family.
                services.refresh_family_revoke(
                    token_family=request.refresh_token_instance.token_family
                )
            raise

    def _save_bearer_token(self, token, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "scope" not in token:
            raise FatalClientError("Failed to renew access token: missing scope")
        self._check_and_set_request_resource(request)
        grant_type = request.grant_type
        expires = getattr(request, "tr_access_expires", None) or (
            clock.now() + dt.timedelta(seconds=int(token.get("expires_in", 3600)))
        )
        request.user = tokens.token_user(request)
        previous = None
        if grant_type == "authorization_code":
            self._redeem_code(request)
            if policy.OFFLINE_ACCESS not in (request.scopes or []):
                token.pop("refresh_token", None)
        elif grant_type == "refresh_token":
            previous = request.refresh_token_instance
            if not services.refresh_token_claim(refresh_token=previous):
                # A concurrent refresh with the same token won: this is a reuse, and the
                # family is revoked once this transaction is rolled back (save_bearer_token).
                request.tr_refresh_raced = True
                raise errors.InvalidGrantError(
                    description="The refresh token has already been used.", request=request
                )
        else:
            token.pop("refresh_token", None)
            if grant_type == "client_credentials":
                # One row and nothing links to it: one precompiled INSERT (token_writes).
                token_writes.insert_access_token(
                    raw_token=token["access_token"],
                    application_id=request.client.pk,
                    user_id=request.user.pk if request.user else None,
                    scope=token["scope"],
                    expires=expires,
                    resource=_resource_list(request),
                )
                return

        access_token = self._create_access_token(
            expires, request, token, source_refresh_token=previous
        )
        family = None
        if token.get("refresh_token"):
            refresh = self._create_refresh_token(
                request, token["refresh_token"], access_token, previous
            )
            family = refresh.token_family
        if grant_type == "authorization_code":
            keep_until = clock.now() + policy.LONGEST_REFRESH_LIFETIME
            services.redeemed_code_record(
                application=request.client,
                code=request.code,
                access_token_checksum=access_token.token_checksum,
                token_family=family,
                keep_until=keep_until,
            )
            if family is not None:
                services.sign_in_follow_family(
                    code=request.code,
                    token_family=family,
                    keep_until=keep_until,
                    scope=token["scope"],
                )

    def _create_access_token(self, expires, request, token, source_refresh_token=None):  # type: ignore[no-untyped-def]
        id_token = getattr(request, "tr_id_token", None) if token.get("id_token") else None
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=_resource_list(request),
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _create_refresh_token(
        self, request, refresh_token_code, access_token, previous_refresh_token
    ):  # type: ignore[no-untyped-def]
        family = previous_refresh_token.token_family if previous_refresh_token else None
        refresh_token = RefreshToken(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=family or uuid.uuid4(),
            resource=_resource_list(request),
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        return refresh_token

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        """RFC 7009, for the authenticated client's own tokens only. Revoking either token of
        a refresh family ends the whole family, its access tokens included."""
        if not isinstance(token, str) or request.client is None:
            return
        digest = services.checksum(token)
        client = request.client
        refresh = RefreshToken.objects.filter(token_checksum=digest, application=client).first()
        if refresh is None:
            access = AccessToken.objects.filter(token_checksum=digest, application=client).first()
            if access is None:
                return
            refresh = RefreshToken.objects.filter(access_token=access).first()
            if refresh is None:
                access.delete()
                return
        if refresh.token_family:
            services.refresh_family_revoke(token_family=refresh.token_family)
        else:
            refresh.revoke()

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
            hint = tokens.verify_id_token(id_token_hint, verify_exp=False)
        except tokens.InvalidIdToken:
            return False
        user = request_param(request, "user")
        return user is None or str(getattr(user, "pk", "")) == str(hint.get("sub"))


def _resource_list(request: Any) -> list[str]:
    """RFC 8707's `resource` as the token rows keep it, a list: checked before (server.py) to
    be the registry's own audience, and given once (repeated parameters are refused)."""
    resource = getattr(request, "resource", None)
    if resource is None:
        return []
    return list(resource) if isinstance(resource, list | tuple) else [resource]
