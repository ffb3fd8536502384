"""Project-wide error views, and the answer to a request a database outage stops."""

from __future__ import annotations

import logging
import sys

from django.core.exceptions import DisallowedHost
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.defaults import bad_request as html_bad_request
from django.views.defaults import page_not_found as html_page_not_found
from django.views.defaults import server_error as html_server_error

from trustregistry.common.db import is_outage, outage_cause

logger = logging.getLogger(__name__)

# Machine clients never get an HTML page (SPEC section 6).
# /id/.well-known/: discovery, the JWKS and the AAS certificate, read by OIDC clients and
# connectors.
_JSON_PREFIXES = ("/api/", "/id/connect/", "/id/.well-known/", "/connector/")
# Read by browser clients of other origins (CORS): their errors must be readable there too.
_CORS_PREFIXES = ("/id/connect/userinfo", "/id/.well-known/")
# Under /id/connect/, but pages a person's browser posts (the consent and logout forms).
_BROWSER_PAGES = ("/id/connect/authorize", "/id/connect/endsession")

# The registry's own pages: no framing, no external anything; inline styles only.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)

# Seconds a client is asked to wait before trying again during a database outage.
OUTAGE_RETRY_AFTER = "5"


def is_machine_endpoint(request: HttpRequest) -> bool:
    # path_info: the path below the script prefix, as the URLconf sees it (request.path holds
    # the prefix too when a proxy serves the registry under one, SCRIPT_NAME=/auth).
    path = request.path_info
    return path.startswith(_JSON_PREFIXES) and not path.startswith(_BROWSER_PAGES)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_machine_endpoint(request):
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


def _readable_by_every_origin(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    # Userinfo, discovery and the JWKS answer every origin (no credentials): errors answered
    # outside their views too.
    if request.path_info.startswith(_CORS_PREFIXES):
        response["Access-Control-Allow-Origin"] = "*"
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refuses before any view (a Host header not in
    DJANGO_ALLOWED_HOSTS, too many fields) answers a machine client in JSON too."""
    if not is_machine_endpoint(request):
        return html_bad_request(request, exception)
    description = (
        "The request's Host header names no host this server answers for."
        if isinstance(exception, DisallowedHost)
        else "The request is malformed."
    )
    response = machine_error("invalid_request", description, status=400)
    return _readable_by_every_origin(request, response)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a path under a machine prefix that names no endpoint (a client configured
    with a wrong URL) is told so in JSON; the API answers its own (trustregistry/api)."""
    if not is_machine_endpoint(request):
        return html_page_not_found(request, exception)
    response = machine_error("not_found", f"There is no endpoint at {request.path}.", status=404)
    return _readable_by_every_origin(request, response)


def _readable_by_browser_app(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The CORS headers the token or revocation view gives its answers (oauth/cors.py), for
    an error answered outside it; nothing at the other endpoints."""
    match = request.resolver_match
    view_class = getattr(match.func, "view_class", None) if match is not None else None
    if not getattr(view_class, "browser_apps", False):
        return response
    from trustregistry.oauth import cors  # the oauth app builds on this module, not the reverse

    try:
        return cors.allow_browser_app(request, response)
    except DatabaseError:
        # Deciding reads the record; the error stays an error with or without CORS.
        return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unexpected error (a bug; it is logged with its traceback) answers a
    machine client in JSON, with RFC 6749's `server_error` code and the API's `message`, never
    an HTML page; a person's browser gets Django's page. Nothing of the error is shown."""
    exc = sys.exc_info()[1]
    if exc is not None and is_outage(exc):
        # Met outside a view (the session saved in the response phase), where
        # DatabaseOutageMiddleware does not see it: still an outage, not a bug.
        return database_outage(request, exc)
    if not is_machine_endpoint(request):
        return html_server_error(request)
    response = machine_error("server_error", "The server met an unexpected error.", status=500)
    return _readable_by_browser_app(request, _readable_by_every_origin(request, response))


# ------------------------------------------------------------------ database outage


def _prefers_json(request: HttpRequest) -> bool:
    """A client that ranks JSON above HTML in its `Accept` header (a script's request, e.g.
    `Accept: application/json`). No header, `*/*` and a browser's navigation all prefer HTML."""
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def _page_language(request: HttpRequest) -> str:
    # The language the locale middleware (or an authorization request's ui_locales) chose; a
    # request that failed before the locale middleware ran has none yet.
    chosen = getattr(request, "LANGUAGE_CODE", None)
    return chosen or translation.get_language_from_request(request)


def _outage_page(request: HttpRequest) -> HttpResponse:
    language = _page_language(request)
    # Rendered without the request: no context processor (the signed-in user, messages)
    # may reach for the database that is down.
    with translation.override(language):
        html = render_to_string("registry/unavailable.html")
    response = HttpResponse(html, status=503)
    response["Content-Language"] = language
    response["Content-Security-Policy"] = PAGE_CSP
    response["X-Frame-Options"] = "DENY"
    response["Cache-Control"] = "no-store"
    return response


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The answer to a request a database outage stopped (SPEC section 9), with
    `Retry-After`, never cached, nothing of the error in it. The machine endpoints (the fixed
    set above: the API, the token, revocation, introspection and userinfo endpoints,
    discovery, the JWKS, the connector) answer 503 JSON; every other path is a person's page
    (sign-in, sign-up, logout, the authorization and logout pages, the marketplace, the
    tools, the admin) and answers a short translated page, unless the client ranks JSON above
    HTML."""
    browser_page = not is_machine_endpoint(request)
    if browser_page and not _prefers_json(request):
        response = _outage_page(request)
    else:
        response = machine_error(
            "temporarily_unavailable", "The database is unavailable. Try again shortly.", status=503
        )
    if browser_page:  # the same path answers HTML or JSON by the Accept header
        patch_vary_headers(response, ("Accept",))
    # Not the token and revocation endpoints' CORS: that needs the record, in the database
    # that is down (oauth/cors.py).
    _readable_by_every_origin(request, response)
    response["Retry-After"] = OUTAGE_RETRY_AFTER
    return response


def database_outage(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """`database_unavailable`, with the one log line a request of an outage gets."""
    # The path escaped as Django's own request log escapes it: `.` in a URL pattern matches
    # a carriage return or an escape sequence, which would rewrite the line in a terminal.
    path = request.path.encode("unicode_escape").decode("ascii")
    logger.error("database unavailable: %s %s (%s)", request.method, path, outage_cause(exc))
    response = database_unavailable(request)
    # One line per failed request: without this, django.request logged a second one
    # ("Service Unavailable: /path") for every request of an outage.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
