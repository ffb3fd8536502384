"""Thin HTTP views of the AAS: connector resolution (DRF) and the AAS certificate download."""

from __future__ import annotations

import logging
import time

from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trustregistry.aas.errors import InvalidResolveRequest, ResolveError
from trustregistry.aas.services import resolve_connector
from trustregistry.api.authentication import authenticate_again
from trustregistry.api.schema import ErrorResponse, no_store
from trustregistry.common.logging import shown
from trustregistry.keys.services import aas_certificate_pem

logger = logging.getLogger(__name__)

# A resolve that waited this long on its connector (up to 13 s) checks its caller again before
# it hands over the URL: SPEC section 2 stops a disabled application's tokens at once, and an
# administrator has had time to disable the caller (or revoke its token, or withdraw `sec`)
# while it waited. A quicker answer is as old as any API answer, and is spared the query.
RECHECK_CALLER_AFTER_SECONDS = 1.0


class ResolveConnectorView(APIView):
    """POST /api/connectors/resolve (SPEC section 7). Authentication, the scope check and the
    error shape come from the API's REST_FRAMEWORK defaults."""

    required_scopes = ("sec",)
    update_scope_exempt = True  # resolving asks a question; it changes no record

    @extend_schema(
        request=inline_serializer(
            "ResolveConnectorRequest",
            {
                "url": serializers.CharField(
                    max_length=2000,
                    validators=[RegexValidator(r"^(?:app://|[Hh][Tt][Tt][Pp][Ss]://)")],
                    help_text="app://<application uri>, or an https:// URL (answered as it is).",
                ),
                "context": serializers.CharField(
                    required=False,
                    max_length=200,
                    help_text="The tenant context id: required for an app:// URL.",
                ),
            },
        ),
        parameters=[no_store(200)],
        responses={
            200: inline_serializer("ResolveConnectorResponse", {"url": serializers.CharField()}),
            403: ErrorResponse("application_disabled"),
            404: ErrorResponse("unknown_application"),
            502: ErrorResponse("handshake_failed"),
            504: ErrorResponse("connector_unreachable"),
        },
        examples=[
            OpenApiExample(
                "app:// URL",
                value={"url": "app://mywebsite.com/myapp1", "context": "Cust12345"},
                request_only=True,
            )
        ],
        description=(
            "Turns app://<application uri> into the connector's URL after the signed-JWT "
            "handshake; an https:// URL is returned unchanged. Needs the `sec` scope. Errors: "
            "unknown_application, application_disabled, handshake_failed, connector_unreachable."
        ),
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, dict):
            raise InvalidResolveRequest()
        started = time.monotonic()
        try:
            resolved = resolve_connector(url=data.get("url"), context=data.get("context"))
        except ResolveError as exc:
            # Who asked, for what, and the code answered (the services' lines say why).
            logger.warning(
                "connector resolve refused: %s asked by user %s through %s: %s",
                shown(data.get("url")),
                request.user.get_username(),
                request.auth.application.client_id,  # type: ignore[union-attr]
                exc.code,
            )
            raise
        if time.monotonic() - started >= RECHECK_CALLER_AFTER_SECONDS:
            self._check_caller_again(request, data)
        return Response({"url": resolved.url}, headers={"Cache-Control": "no-store"})

    def _check_caller_again(self, request: Request, data: dict) -> None:
        asked_by = request.user.get_username()
        through = request.auth.application.client_id  # type: ignore[union-attr]
        try:
            authenticate_again(request)
            self.check_permissions(request)
        except APIException as exc:
            logger.warning(
                "connector resolve refused: %s asked by user %s through %s: the caller lost "
                "its authorization while the connector answered (%s)",
                shown(data.get("url")),
                asked_by,
                through,
                getattr(exc, "error_code", None) or type(exc).__name__,
            )
            raise


@require_GET
def aas_certificate(request: HttpRequest) -> HttpResponse:
    """The active AAS certificate as PEM, for connectors that pin it."""
    response = HttpResponse(aas_certificate_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'inline; filename="aas-certificate.pem"'
    # Revalidated on every use: right after a rotation a connector's operator must get the new
    # certificate, not a proxy's copy of the retired one.
    response["Cache-Control"] = "no-cache"
    return response
