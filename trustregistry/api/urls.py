"""The API's URLs (SPEC section 6). The catch-all must stay last: any other /api/ path answers
JSON 404, never Django's HTML page."""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer

from trustregistry.aas.views import ResolveConnectorView
from trustregistry.api import views
from trustregistry.api.exceptions import api_not_found


class SchemaView(SpectacularAPIView):
    # The OpenAPI document describes the API; it reveals no data, so it needs no token.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        if response.status_code >= 400:
            # Errors in the API's JSON shape, not in the OpenAPI document's YAML.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


urlpatterns = [
    path("me", views.MeView.as_view(), name="api-me"),
    path("trusted-applications/", views.TrustedApplicationListView.as_view(), name="api-apps"),
    # Before the detail route: `<uri>` is a path and would swallow `/secrets`.
    path(
        "trusted-applications/<path:uri>/secrets/",
        views.TrustedApplicationSecretsView.as_view(),
        name="api-app-secrets",
    ),
    path(
        "trusted-applications/<path:uri>/",
        views.TrustedApplicationDetailView.as_view(),
        name="api-app",
    ),
    path("connectors/resolve", ResolveConnectorView.as_view(), name="api-connectors-resolve"),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    # Any other path, a newline in it too (`path:` stops at one).
    re_path(r"^(?P<path>[\s\S]*)\Z", api_not_found),
]
