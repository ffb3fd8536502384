"""One error shape for the whole API (SPEC section 6): `{"error": "<code>", "message": "..."}`,
validation errors adding `"fields": {"<json field>": ["..."]}`.

Installed as `REST_FRAMEWORK["EXCEPTION_HANDLER"]`. Every 401 carries `WWW-Authenticate`, every
429 `Retry-After`; a database outage answers 503 `temporarily_unavailable`; an unexpected error
is logged and answered as JSON 500, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response

from trustregistry.api.authentication import bearer_challenge
from trustregistry.common.db import outage_cause
from trustregistry.common.exceptions import ApplicationError, TooManyFailures

logger = logging.getLogger(__name__)

_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "invalid_json",
    exceptions.Throttled: "too_many_requests",
    exceptions.ValidationError: "invalid_request",
}


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flatten(value)]
    if isinstance(detail, (list, tuple)):
        return [m for value in detail for m in _flatten(value)]
    return [str(detail)]


def _fields(detail: Any) -> dict[str, list[str]]:
    if not isinstance(detail, dict):
        return {}
    return {str(name): _flatten(value) for name, value in detail.items()}


def _validation_response(fields: dict[str, list[str]], general: list[str]) -> Response:
    messages = general + [
        f"{name}: {m}" for name, ms in fields.items() for m in ms if name != "__all__"
    ]
    body: dict[str, Any] = {
        "error": "invalid_request",
        "message": " ".join(messages) or "The request is not valid.",
    }
    if fields:
        body["fields"] = fields
    return Response(body, status=400)


def _challenges(context: dict[str, Any]) -> str:
    request = context.get("request")
    headers = [
        a.authenticate_header(request) for a in getattr(request, "authenticators", None) or ()
    ]
    return ", ".join(h for h in headers if h) or bearer_challenge()


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, (OperationalError, InterfaceError)):
        request = context.get("request")
        method, path = getattr(request, "method", ""), getattr(request, "path", "")
        path = path.encode("unicode_escape").decode("ascii")  # as common/views.database_outage
        logger.error("database unavailable: %s %s (%s)", method, path, outage_cause(exc))
        response = Response(
            {
                "error": "temporarily_unavailable",
                "message": "The database is unavailable. Try again shortly.",
            },
            status=503,
            headers={"Retry-After": "5", "Cache-Control": "no-store"},
        )
        # One line per request, as DatabaseOutageMiddleware's (not django.request's as well).
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
    if isinstance(exc, TooManyFailures):
        return Response(
            exc.as_dict(), status=exc.status, headers={"Retry-After": str(exc.retry_after)}
        )
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            fields = {name: list(messages) for name, messages in exc.message_dict.items()}
            return _validation_response(fields, [])
        return _validation_response({}, list(exc.messages))
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        return _validation_response(fields, [] if fields else _flatten(exc.detail))
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"error": "request_too_large", "message": "The request body is too large."},
            status=413,
        )
    if isinstance(exc, SuspiciousOperation):  # Django's own 400s (bad multipart, …)
        return Response({"error": "invalid_request", "message": "Bad request."}, status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        return _api_exception_response(exc, context)
    logger.exception("unexpected error in %s", type(context.get("view")).__name__)
    return Response(
        {"error": "server_error", "message": "An unexpected error occurred."}, status=500
    )


def _api_exception_response(exc: exceptions.APIException, context: dict[str, Any]) -> Response:
    code = (
        getattr(exc, "error_code", None)
        or next((c for cls, c in _CODES.items() if isinstance(exc, cls)), None)
        or (exc.get_codes() if isinstance(exc.get_codes(), str) else "error")
    )
    message = " ".join(_flatten(exc.detail))
    headers: dict[str, str] = {}
    status = exc.status_code
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        # DRF turns a 401 into a 403 when the view has no authenticator; here a 401 stays a 401.
        # A malformed Authorization header is a bad request (RFC 6750 section 3.1), still
        # with its challenge.
        status = 400 if getattr(exc, "error_code", None) == "invalid_request" else 401
        challenge = getattr(exc, "www_authenticate", None)
        headers["WWW-Authenticate"] = challenge or _challenges(context)
    elif getattr(exc, "www_authenticate", None):
        headers["WWW-Authenticate"] = exc.www_authenticate  # type: ignore[attr-defined]
    if isinstance(exc, exceptions.Throttled):
        headers["Retry-After"] = str(int(getattr(exc, "wait", None) or 1))
    return Response({"error": code, "message": message}, status=status, headers=headers)


@csrf_exempt  # a POST to an unknown path is a 404, not a CSRF refusal
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """The catch-all at the end of the API's URLs: JSON 404, never Django's HTML page."""
    message = f"There is no API endpoint at {request.path}."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
            if match.func is not api_not_found:
                message += f" Did you mean {request.path}/ ?"
        except Resolver404:
            pass
    return JsonResponse({"error": "not_found", "message": message}, status=404)
