"""A database outage answers 503, never a traceback (SPEC section 9): JSON at the machine
endpoints, a short page at a person's (trustregistry/common/views.py decides which)."""

from __future__ import annotations

import functools
import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from trustregistry.common.db import outage_cause
from trustregistry.common.views import database_unavailable

logger = logging.getLogger(__name__)


class DatabaseOutageMiddleware:
    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:
            return self._unavailable(request, exc)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)) or (
            isinstance(exception, DatabaseError) and _is_connection_error(exception)
        ):
            return self._unavailable(request, exception)
        return None

    def _unavailable(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.error(
            "database unavailable: %s %s (%s)", request.method, request.path, outage_cause(exc)
        )
        response = database_unavailable(request)
        # One line per failed request: without this, django.request logged a second one
        # ("Service Unavailable: /path") for every request of an outage.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response


def _is_connection_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "connection" in text or "could not connect" in text


class RefuseNulInAdminQueries:
    """The admin's list filters and search put query-string values into SQL; PostgreSQL
    refuses a NUL character in text with an error the admin does not catch (a 500). A query
    string carrying one is answered 400 before any view runs."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(_admin_prefix()) and "\x00" in _query_text(request):
            return HttpResponseBadRequest(
                "A NUL character is not allowed in a query.", content_type="text/plain"
            )
        return self.get_response(request)


@functools.cache
def _admin_prefix() -> str:
    # Once per process: this middleware sees every request, the token endpoint's included.
    from django.urls import reverse

    return reverse("admin:index")


def _query_text(request: HttpRequest) -> str:
    return "".join(key + "".join(request.GET.getlist(key)) for key in request.GET)
