"""Reads of trusted-application records."""

from __future__ import annotations

from urllib.parse import unquote

from django.db.models import QuerySet

from trustregistry.registry.models import TrustedApplication


def application_list() -> QuerySet[TrustedApplication]:
    return TrustedApplication.objects.select_related("system_user").prefetch_related(
        "names", "secrets"
    )


def application_get(*, application_uri: str) -> TrustedApplication | None:
    """Exact, case-sensitive lookup by URI (a percent-encoded URI is decoded first)."""
    if not application_uri:
        return None
    uri = unquote(application_uri) if "%" in application_uri else application_uri
    return application_list().filter(client_id=uri).first()


def application_get_enabled(*, application_uri: str) -> TrustedApplication | None:
    app = application_get(application_uri=application_uri)
    return app if app is not None and app.is_enabled else None
