"""A database outage answers 503, never a traceback (SPEC section 9): JSON at the machine
endpoints, a short page at a person's (trustregistry/common/views.py decides which)."""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from trustregistry.common.db import is_outage
from trustregistry.common.views import database_outage


class DatabaseOutageMiddleware:
    """An outage met by a view. One met after the view (saving the session, in the response
    phase of an inner middleware) reaches handler500 instead (common/views.server_error),
    because Django turns every inner middleware's exception into a response itself."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return database_outage(request, exception) if is_outage(exception) else None


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
