"""How the registry's validator writes tokens (the token endpoint's last step) and revokes
them: one row per client-credentials token, a code redeemed inside the token transaction and
its reuse revoking what it produced, refresh tokens rotated once, with their family, resources
as lists. `RegistryValidator` (validators.py) is this plus the record's decisions."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.db.models import F
from oauth2_provider.exceptions import FatalClientError
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from trustregistry.common import clock
from trustregistry.oauth import policy, services, token_writes, tokens

log = logging.getLogger(__name__)

AccessToken = get_access_token_model()
Grant = get_grant_model()
RefreshToken = get_refresh_token_model()


class TokenSaving(OAuth2Validator):
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
                self._code_reused(request.code, request.client)
            if getattr(request, "tr_refresh_raced", False):
                # Two uses of one refresh token at once are a reuse like any other (RFC 9700
                # section 4.14.2): the winner's new tokens go with the family.
                refresh = request.refresh_token_instance
                services.refresh_family_revoke(token_family=refresh.token_family)
                _log_family_revoked(refresh, presented_by=request.client)
            raise

    @staticmethod
    def _code_reused(code: str, client: Any) -> None:
        """A redeemed code presented again: revoke what it gave (`services`), and say so."""
        redeemer = services.redeemed_code_revoke_tokens(code=code, presented_by=client)
        if redeemer is not None and redeemer.pk == client.pk:
            log.warning(
                "authorization code reused by %s: its tokens were revoked", client.client_id
            )
        elif redeemer is not None:
            log.warning(
                "authorization code of %s presented by %s: its tokens were revoked",
                redeemer.client_id,
                client.client_id,
            )

    @staticmethod
    def _log_refresh_reuse(refresh_token: str, client: Any) -> None:
        """After django-oauth-toolkit refused a refresh token: if it was a revoked one (a
        rotated token used again, or one revoked on purpose), DOT revoked its whole family
        (REFRESH_TOKEN_REUSE_PROTECTION); say so. Reads the row only on this refusal."""
        row = (
            RefreshToken.objects.select_related("user", "application")
            .filter(token_checksum=services.checksum(refresh_token))
            .order_by(F("revoked").desc(nulls_first=True))
            .first()
        )
        if row is not None and row.revoked is not None and row.token_family is not None:
            _log_family_revoked(row, presented_by=client)

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


def _log_family_revoked(refresh: Any, *, presented_by: Any) -> None:
    log.warning(
        "refresh token reuse: a used or revoked refresh token of user %s at %s was presented "
        "by %s; its family was revoked",
        refresh.user.get_username() if refresh.user is not None else "-",
        refresh.application.client_id if refresh.application is not None else "-",
        presented_by.client_id if presented_by is not None else "-",
    )


def _resource_list(request: Any) -> list[str]:
    """RFC 8707's `resource` as the token rows keep it, a list: checked before (server.py) to
    be the registry's own audience, and given once (repeated parameters are refused)."""
    resource = getattr(request, "resource", None)
    if resource is None:
        return []
    return list(resource) if isinstance(resource, list | tuple) else [resource]
