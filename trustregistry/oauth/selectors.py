"""Reads of the OAuth layer."""

from __future__ import annotations

from typing import Any

from trustregistry.oauth.models import Consent, SignIn


def consent_covers(*, user_id: Any, application: Any, scopes: list[str]) -> bool:
    """True when the user approved every one of `scopes` for this application before."""
    if not user_id:
        return False
    consent = Consent.objects.filter(user_id=user_id, application=application).first()
    return consent is not None and set(scopes) <= consent.scopes


def family_scope(*, token_family: Any) -> str:
    """The scope a refresh-token family was granted ("" if unknown: recorded before it was)."""
    if token_family is None:
        return ""
    scope = SignIn.objects.filter(token_family=token_family).values_list("scope", flat=True)
    return scope.first() or ""
