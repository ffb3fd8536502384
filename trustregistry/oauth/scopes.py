"""django-oauth-toolkit's scopes backend: the registry's catalogue (SPEC 4) and protocol scopes."""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import BaseScopes

from trustregistry.oauth import policy
from trustregistry.registry import scopes as catalogue


def descriptions() -> dict[str, Any]:
    """Scope -> plain words for a person (lazy translations)."""
    return {**catalogue.CATALOGUE, **catalogue.PROTOCOL_SCOPES}


def supported() -> list[str]:
    return list(dict.fromkeys([*catalogue.PROTOCOL_SCOPES, *catalogue.CATALOGUE]))


class RegistryScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, Any]:
        return descriptions()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if application is None:
            return supported()
        grant_type = getattr(request, "grant_type", None) if request is not None else None
        return sorted(policy.allowed_scopes(application, grant_type=grant_type))

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        return policy.default_scopes(application) if application is not None else []
