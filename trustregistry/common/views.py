"""Project-wide error views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.defaults import server_error as html_server_error

# Machine clients never get an HTML page (SPEC section 6).
# /id/.well-known/: discovery, the JWKS and the AAS certificate, read by OIDC clients and
# connectors.
_JSON_PREFIXES = ("/api/", "/id/connect/", "/id/.well-known/", "/connector/")
# Read by browser clients of other origins (CORS): their errors must be readable there too.
_CORS_PREFIXES = ("/id/connect/userinfo", "/id/.well-known/")
# Under /id/connect/, but pages a person's browser posts (the consent and logout forms).
_BROWSER_PAGES = ("/id/connect/authorize", "/id/connect/endsession")


def _machine_endpoint(request: HttpRequest) -> bool:
    # path_info: the path below the script prefix, as the URLconf sees it (request.path holds
    # the prefix too when a proxy serves the registry under one, SCRIPT_NAME=/auth).
    path = request.path_info
    return path.startswith(_JSON_PREFIXES) and not path.startswith(_BROWSER_PAGES)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _machine_endpoint(request):
        return JsonResponse(
            {
                "error": "csrf_failed",
                "message": "The request was refused by the CSRF check: "
                "send it without a session cookie, or with the CSRF token.",
            },
            status=403,
        )
    return html_csrf_failure(request, reason=reason)


def machine_error(error: str, description: str, *, status: int) -> JsonResponse:
    """An error for any machine client: RFC 6749's `error` and `error_description`, and the
    API's `message` (the same text), never cached."""
    response = JsonResponse(
        {"error": error, "error_description": description, "message": description},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unexpected error (a bug; it is logged with its traceback) answers a
    machine client in JSON, with RFC 6749's `server_error` code and the API's `message`, never
    an HTML page; a person's browser gets Django's page. Nothing of the error is shown."""
    if not _machine_endpoint(request):
        return html_server_error(request)
    response = machine_error("server_error", "The server met an unexpected error.", status=500)
    if request.path_info.startswith(_CORS_PREFIXES):
        response["Access-Control-Allow-Origin"] = "*"
    return response
