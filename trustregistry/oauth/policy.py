"""The record's rules, as small pure functions the validator and the views share (SPEC 3, 4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from trustregistry.registry import scopes as catalogue

PROTOCOL_SCOPES = frozenset(catalogue.PROTOCOL_SCOPES)
OFFLINE_ACCESS = "offline_access"
CONFIDENTIAL_REFRESH_LIFETIME = dt.timedelta(days=30)
PUBLIC_REFRESH_LIFETIME = dt.timedelta(hours=24)
LONGEST_REFRESH_LIFETIME = max(CONFIDENTIAL_REFRESH_LIFETIME, PUBLIC_REFRESH_LIFETIME)


def is_confidential(application: Any) -> bool:
    return getattr(application, "client_type", None) == "confidential"


def refresh_lifetime(application: Any) -> dt.timedelta:
    return (
        CONFIDENTIAL_REFRESH_LIFETIME if is_confidential(application) else PUBLIC_REFRESH_LIFETIME
    )


def allowed_scopes(application: Any, *, grant_type: str | None) -> set[str]:
    """The scopes the record may receive through this grant. Protocol scopes (openid, profile,
    offline_access) come with interactive login only. `read` is the baseline every record has
    (SPEC 4: accepted for compatibility), so asking for it is never `invalid_scope`."""
    allowed = set(application.scopes) | {catalogue.READ}
    if grant_type != "client_credentials" and application.may_impersonate:
        allowed |= PROTOCOL_SCOPES
    return allowed


def still_trusted(scopes: list[str], application: Any, *, grant_type: str) -> list[str]:
    """Of scopes granted earlier (a code's, a refresh family's), those the record still
    trusts: a scope taken away between the grant and its use is not issued (SPEC 3, 4)."""
    allowed = allowed_scopes(application, grant_type=grant_type)
    return [s for s in scopes if s in allowed]


def default_scopes(application: Any) -> list[str]:
    """Nothing requested: all of the record's trusted scopes."""
    return list(application.scopes)


def scopes_for_user(scopes: list[str], user: Any) -> list[str]:
    """The scopes this user's token may carry: a community user's never `sec` (SPEC 4); each
    once (RFC 6749 section 3.3: a set), as the JWT's `scope` has them, so the token's answer,
    row and consent page do not repeat one the request repeated."""
    unique = list(dict.fromkeys(scopes))
    if getattr(user, "kind", None) == "community":
        return [s for s in unique if s != catalogue.SEC]
    return unique


def may_use_grant(application: Any, grant_type: str) -> bool:
    if grant_type in ("authorization_code", "refresh_token"):
        return bool(application.may_impersonate)
    if grant_type == "client_credentials":
        user = application.system_user
        return (
            is_confidential(application)
            and application.system_user_allowed
            and user is not None
            and user.is_active
            # The record was checked when saved; the user's kind can change after that (the
            # user admin allows it), and a person must never be acted as by a service.
            and getattr(user, "is_system", False)
        )
    return False


def token_user_allowed(
    application: Any, *, user_id: Any, user_kind: str | None, issued_as: str | None = None
) -> str | None:
    """Why the record no longer lets a token act as this user, or None if it still does.

    A token outlives the permission that let it be issued: client credentials as the record's
    system user, or a sign-in by a user of this kind. Withdrawn on the record, that permission
    stops the tokens it gave at once, as disabling the record does (SPEC section 2), instead of
    leaving them to run for up to an hour. `issued_as` is the kind the token was issued for
    (an access token's `user_type`): a client-credentials token stops when its user is no
    longer of kind `system`, even where the record lets that kind sign in, since a person must
    never be acted as by a service."""
    if "system" in (issued_as, user_kind) or user_id is None:
        if (
            user_kind == "system"
            and application.system_user_allowed
            and is_confidential(application)
            and user_id is not None
            and application.system_user_id == user_id
        ):
            return None
        return "The application no longer allows client credentials as this user."
    if application.allows_user_kind(user_kind or ""):
        return None
    return "The application no longer allows this kind of user to sign in."


def user_may_log_in_to(application: Any, user: Any) -> bool:
    return bool(
        user is not None
        and user.is_active
        and application.allows_user_kind(getattr(user, "kind", ""))
    )
