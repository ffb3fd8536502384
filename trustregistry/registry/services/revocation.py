"""Revoking a record's tokens when the record stops trusting what they act for.

Every token check also reads the record (enabled flag, permission flags, system user), so a
revoked permission stops its tokens at once either way; revoking the rows as well makes sure
that giving the permission back later brings no old token back to life.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from trustregistry.common import clock
from trustregistry.registry.models import ClientType, TrustedApplication


def _token_models() -> tuple[Any, Any, Any]:
    from oauth2_provider.models import (
        get_access_token_model,
        get_grant_model,
        get_refresh_token_model,
    )

    return get_access_token_model(), get_refresh_token_model(), get_grant_model()


def revoke_live_tokens(application: TrustedApplication) -> None:
    """Run when a record is disabled and again when it is enabled. Token checks also read
    is_enabled, so disabled tokens fail anyway; this makes sure a re-enabled record brings no
    old token back to life. At the enable it catches the tokens of requests that were under
    way when the record was disabled: validated while it was enabled, written after the
    disable's revocation ran."""
    access, refresh, grant = _token_models()
    now = clock.now()
    refresh.objects.filter(application=application, revoked__isnull=True).update(revoked=now)
    access.objects.filter(application=application, expires__gt=now).update(expires=now)
    # Authorization codes not yet redeemed: gone, or one issued before a disable could be
    # redeemed after the record is enabled again.
    grant.objects.filter(application=application).delete()


@dataclass(frozen=True)
class Permissions:
    """What a record lets its tokens act as: the fields `oauth.policy.token_user_allowed`
    reads."""

    client_type: str
    system_user_id: int | None
    system_user_allowed: bool
    impersonate_internal_allowed: bool
    impersonate_community_allowed: bool

    @classmethod
    def of(cls, application: TrustedApplication) -> Permissions:
        return cls(
            client_type=application.client_type,
            system_user_id=application.system_user_id,
            system_user_allowed=application.system_user_allowed,
            impersonate_internal_allowed=application.impersonate_internal_allowed,
            impersonate_community_allowed=application.impersonate_community_allowed,
        )

    def token_users(self) -> Q:
        """The token rows (by their user) these permissions let act: people of an allowed
        kind, and the system user where client credentials are allowed."""
        kinds = [
            kind
            for kind, allowed in (
                ("internal", self.impersonate_internal_allowed),
                ("community", self.impersonate_community_allowed),
            )
            if allowed
        ]
        users = Q(user__kind__in=kinds)
        if (
            self.system_user_allowed
            and self.client_type == ClientType.CONFIDENTIAL
            and self.system_user_id is not None
        ):
            users |= Q(user_id=self.system_user_id, user__kind="system")
        return users


def revoke_withdrawn_tokens(application: TrustedApplication, *, before: Permissions) -> None:
    """After a change of the record's permissions: revoke the tokens (access, refresh, and
    unredeemed codes) whose user it no longer lets them act as, or did not before the change.

    The second half is for a permission given back: a token endpoint request under way when
    it was withdrawn may have written its token after the revocation ran; the token checks
    refused it meanwhile, and it must not come to life now."""
    after = Permissions.of(application)
    if after == before:
        return
    kept = before.token_users() & after.token_users()
    access, refresh, grant = _token_models()
    now = clock.now()
    if before.client_type != after.client_type:
        # A refresh token or code given to a confidential client is used with its secret; a
        # public client has none, so one that leaked would be good with the client id alone.
        # The other way, a public client's refresh tokens (24 hours) would live again under
        # the confidential lifetime (30 days, read from the record's current type). The user
        # signs in again; access tokens, bearer tokens either way, run out.
        refresh.objects.filter(application=application, revoked__isnull=True).update(revoked=now)
        grant.objects.filter(application=application).delete()
    refresh.objects.filter(application=application, revoked__isnull=True).exclude(kept).update(
        revoked=now
    )
    access.objects.filter(application=application, expires__gt=now).exclude(kept).update(
        expires=now
    )
    grant.objects.filter(application=application).exclude(kept).delete()
