"""Health probes and the secret-hash tool (SPEC section 9)."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from trustregistry.common.db import outage_cause
from trustregistry.registry import secrets

logger = logging.getLogger(__name__)

# A secret longer than this is not a secret anyone types; refuse rather than hash megabytes.
MAX_SECRET_LENGTH = 4096


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive. Touches no database, so a database outage does not restart it."""
    response = JsonResponse({"status": "ok"})
    add_never_cache_headers(response)
    return response


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: the database answers a query."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("readiness: database unavailable (%s)", outage_cause(exc))
        response = JsonResponse(
            {
                "status": "unavailable",
                "error": "temporarily_unavailable",
                "message": "The database is unavailable.",
            },
            status=503,
        )
        response["Retry-After"] = "5"
        # One line per probe, not a second from django.request ("Service Unavailable: /readyz").
        response._has_been_logged = True  # type: ignore[attr-defined]
    else:
        response = JsonResponse({"status": "ok", "database": "ok"})
    add_never_cache_headers(response)
    return response


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    # No "Referrer-Policy: no-referrer" here: Chromium then posts the form with
    # "Origin: null", which Django's CSRF check rightly refuses.
    return response


@sensitive_variables("secret")
@sensitive_post_parameters("secret")
@csrf_protect
@require_http_methods(["GET", "POST"])
def sha256_tool(request: HttpRequest) -> HttpResponse:
    """ERP.net's `/tools/sha256`: `GET ?secret=DEMO` answers the hash as plain text; without a
    `secret` (or by POST, which keeps the secret out of URLs and access logs) it is a form page.
    The secret is never logged: request logs pass through the redaction filter, and gunicorn's
    access log omits query strings."""
    if request.method == "GET" and "secret" in request.GET:
        secret = request.GET["secret"]
        if len(secret) > MAX_SECRET_LENGTH:
            return _no_store(
                HttpResponse("The secret is too long.", status=400, content_type="text/plain")
            )
        return _no_store(
            HttpResponse(secrets.hash_secret(secret), content_type="text/plain; charset=utf-8")
        )
    context: dict[str, object] = {"max_length": MAX_SECRET_LENGTH}
    status = 200
    if request.method == "POST":
        secret = request.POST.get("secret", "")
        if not secret:
            context["error"] = _("Enter a secret.")
            status = 400
        elif len(secret) > MAX_SECRET_LENGTH:
            context["error"] = _("The secret is too long.")
            status = 400
        else:
            context["secret_hash"] = secrets.hash_secret(secret)
            context["secret_hash_hex"] = secrets.hash_secret_hex(secret)
    return _no_store(render(request, "registry/sha256_tool.html", context, status=status))
