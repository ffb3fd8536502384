"""POST /connector/authenticate (JSON) and POST /connector/mirroring (SOAP): thin wrappers
around the framework-free functions of `connector.wsgi`, with the registry's clock."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connector import soap
from connector.django_app.config import NotConfigured, current_connector
from connector.service import Connector
from connector.wsgi import MAX_JSON_BYTES, authenticate_json, authenticate_soap
from trustregistry.common import clock

logger = logging.getLogger(__name__)


class _ClockedConnector:
    """The connector with `now` taken from the registry's one clock (tests move it)."""

    def __init__(self, inner: Connector):
        self.inner = inner

    def authenticate(self, signed_token):  # type: ignore[no-untyped-def]
        return self.inner.authenticate(signed_token, now=clock.now().timestamp())


def _body(request: HttpRequest, limit: int) -> bytes | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _not_configured(exc: NotConfigured) -> JsonResponse:
    logger.warning("connector not configured: %s", exc)
    return JsonResponse(
        {
            "error": "connector_not_configured",
            "message": "This connector is not configured.",
            "Succeeded": False,
            "Reason": "The connector is not configured.",
            "SignedApplicationToken": None,
        },
        status=503,
    )


@csrf_exempt
@never_cache
@require_POST
def authenticate(request: HttpRequest) -> HttpResponse:
    try:
        connector = current_connector()
    except NotConfigured as exc:
        return _not_configured(exc)
    status, answer = authenticate_json(_ClockedConnector(connector), _body(request, MAX_JSON_BYTES))  # type: ignore[arg-type]
    return JsonResponse(answer, status=status)


@csrf_exempt
@never_cache
@require_POST
def mirroring(request: HttpRequest) -> HttpResponse:
    try:
        connector = current_connector()
    except NotConfigured as exc:
        version = soap.envelope_ns_for(request.META.get("CONTENT_TYPE"))
        response = HttpResponse(
            soap.fault(
                "connector_not_configured: The connector is not configured.",
                envelope_ns=version,
                sender=False,
            ),
            status=503,
            content_type=soap.content_type(version),
        )
        logger.warning("connector not configured: %s", exc)
        return response
    status, content_type, payload = authenticate_soap(
        _ClockedConnector(connector),  # type: ignore[arg-type]
        _body(request, soap.MAX_SOAP_BYTES),
        request.META.get("HTTP_SOAPACTION"),
        request.META.get("CONTENT_TYPE"),
    )
    return HttpResponse(payload, status=status, content_type=content_type)
