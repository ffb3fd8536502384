"""Writes of the OAuth layer: single-use records and the revocations they trigger."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from trustregistry.common import clock
from trustregistry.oauth.models import Consent, RedeemedCode, SignIn, UsedAssertion


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def assertion_remember(*, application: Any, jti: str, expires: dt.datetime) -> bool:
    """Record a client assertion's jti. False when it was already used (a replay)."""
    row = UsedAssertion(application=application, jti=jti, expires=expires)
    row.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return False
    return True


def redeemed_code_record(
    *,
    application: Any,
    code: str,
    access_token_checksum: str,
    token_family: uuid.UUID | None,
    keep_until: dt.datetime,
) -> RedeemedCode:
    row = RedeemedCode(
        code_checksum=checksum(code),
        application=application,
        access_token_checksum=access_token_checksum,
        token_family=token_family,
        redeemed_at=clock.now(),
        keep_until=keep_until,
    )
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def redeemed_code_revoke_tokens(*, code: str, presented_by: Any) -> Any:
    """A redeemed code presented again: revoke everything it produced (RFC 6749 section
    4.1.2). The application that redeemed it, or None if nothing was revoked.

    Presented by its own client, or by another client that authenticated (a confidential
    one): the code has leaked into hands that could use it, so what it gave is suspect. Not
    by another public client, which proves nothing: anyone may name one, so its word must not
    let a stranger holding an old code end a confidential client's tokens."""
    row = (
        RedeemedCode.objects.select_related("application")
        .filter(code_checksum=checksum(code))
        .first()
    )
    if row is None:
        return None
    if row.application_id != presented_by.pk and presented_by.client_type != "confidential":
        return None
    get_access_token_model().objects.filter(token_checksum=row.access_token_checksum).delete()
    if row.token_family is not None:
        refresh_family_revoke(token_family=row.token_family)
    return row.application


def user_tokens_revoke(*, user_id: int) -> None:
    """Revoke every token acting as this user, at every record (access, refresh, and codes
    not yet redeemed). Run when the user is deactivated and again when reactivated: token
    checks read `is_active`, so the tokens stop at the deactivation anyway; revoking the rows
    makes sure reactivating brings none back (an administrator who deactivates an account
    that leaked, then reactivates it, must not revive what the intruder held), and the second
    run catches tokens written by requests under way at the deactivation, as with a record
    (`registry.services.revocation`)."""
    from oauth2_provider.models import get_grant_model

    now = clock.now()
    get_refresh_token_model().objects.filter(user_id=user_id, revoked__isnull=True).update(
        revoked=now, updated=now
    )
    get_access_token_model().objects.filter(user_id=user_id, expires__gt=now).update(expires=now)
    get_grant_model().objects.filter(user_id=user_id).delete()


def refresh_family_revoke(*, token_family: uuid.UUID) -> None:
    """Revoke every refresh token of the family and delete their access tokens."""
    get_refresh_token_model().revoke_family(token_family)


@transaction.atomic
def refresh_token_claim(*, refresh_token: Any) -> bool:
    """Mark a refresh token used, once: of concurrent refreshes exactly one gets True.

    The conditional UPDATE is the arbiter: PostgreSQL makes the second UPDATE wait for the
    first transaction and then finds the row already revoked."""
    now = clock.now()
    claimed = (
        get_refresh_token_model()
        .objects.filter(pk=refresh_token.pk, revoked__isnull=True)
        .update(revoked=now, updated=now)
    )
    if claimed and refresh_token.access_token_id:
        # The rotated token's access token goes with it, as django-oauth-toolkit's revoke() does.
        get_access_token_model().objects.filter(pk=refresh_token.access_token_id).delete()
    return bool(claimed)


@transaction.atomic
def consent_remember(*, user: Any, application: Any, scopes: list[str]) -> Consent:
    """Record that `user` approved `scopes` for `application` (added to what was approved
    before: approving a narrower request does not take back a wider one)."""
    now = clock.now()
    consent = Consent.objects.select_for_update().filter(user=user, application=application).first()
    if consent is None:
        consent = Consent(user=user, application=application, granted_at=now, scope="")
    consent.scope = " ".join(sorted(consent.scopes | set(scopes)))
    consent.updated_at = now
    consent.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            consent.save()
    except IntegrityError:  # approved at the same moment in another tab: add to that one
        consent = Consent.objects.select_for_update().get(user=user, application=application)
        consent.scope = " ".join(sorted(consent.scopes | set(scopes)))
        consent.updated_at = now
        consent.save(update_fields=["scope", "updated_at"])
    return consent


def sign_in_record(*, code: str, auth_time: dt.datetime, keep_until: dt.datetime) -> None:
    """The sign-in behind a new authorization code (see models.SignIn)."""
    row = SignIn(code_checksum=checksum(code), auth_time=auth_time, keep_until=keep_until)
    row.full_clean()
    row.save()


def sign_in_for_code(*, code: str) -> dt.datetime | None:
    return (
        SignIn.objects.filter(code_checksum=checksum(code)).values_list("auth_time", flat=True)
    ).first()


def sign_in_follow_family(
    *, code: str, token_family: Any, keep_until: dt.datetime, scope: str
) -> None:
    """The code was redeemed for a refresh-token family of `scope`: its sign-in stays with the
    family."""
    SignIn.objects.filter(code_checksum=checksum(code)).update(
        token_family=token_family, keep_until=keep_until, scope=scope
    )


@dataclass(frozen=True)
class FamilyGrant:
    auth_time: dt.datetime
    scope: str  # empty for a family recorded before scopes were


def sign_in_for_family(*, token_family: Any, keep_until: dt.datetime) -> FamilyGrant | None:
    """The family's original sign-in and granted scope, kept as long as the family may still
    be refreshed."""
    if token_family is None:
        return None
    row = SignIn.objects.filter(token_family=token_family).first()
    if row is None:
        return None
    if row.keep_until < keep_until:
        SignIn.objects.filter(pk=row.pk).update(keep_until=keep_until)
    return FamilyGrant(auth_time=row.auth_time, scope=row.scope)
