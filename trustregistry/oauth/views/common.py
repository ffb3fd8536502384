"""Response helpers shared by the OAuth endpoints and pages."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils import translation

from trustregistry.common.exceptions import TooManyFailures
from trustregistry.common.logging import shown
from trustregistry.common.throttle import FailureThrottle, client_address
from trustregistry.common.views import PAGE_CSP
from trustregistry.oauth import client_assertion

logger = logging.getLogger(__name__)

TOKEN_THROTTLE = FailureThrottle("token")


def no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def secure_page(response: HttpResponse) -> HttpResponse:
    response["Content-Security-Policy"] = PAGE_CSP
    response["X-Frame-Options"] = "DENY"
    # same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form
    # posts, which CSRF protection rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    return no_store(response)


class SecurePageMixin:
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return secure_page(super().dispatch(request, *args, **kwargs))  # type: ignore[misc]


def ui_locale(ui_locales: str) -> str | None:
    """The first language of OpenID Connect's `ui_locales` (space-separated BCP 47 tags,
    preferred first, Core section 3.1.2.1) the registry speaks, or None."""
    for tag in ui_locales.split()[:10]:
        try:
            return translation.get_supported_language_variant(tag)
        except LookupError:
            continue
    return None


class UiLocalesMixin:
    """Pages of an authorization request speak its `ui_locales` where the registry can (else
    the browser's language, as the locale middleware chose it). `ui_locales_from` gives the
    parameter's value for the request."""

    def ui_locales_from(self, request: HttpRequest) -> str:
        return request.GET.get("ui_locales", "")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            wanted = self.ui_locales_from(request)
        except SuspiciousOperation:  # an unreadable request: the view answers that itself
            wanted = ""
        language = ui_locale(wanted)
        if language is not None:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc,no-any-return]


def ui_locales_of_next(next_url: str) -> str:
    """`ui_locales` of the authorization request a login page continues to."""
    values = parse_qs(urlsplit(next_url).query).get("ui_locales") or [""]
    return values[0]


def oauth_error(error: str, description: str, status: int = 400) -> HttpResponse:
    """RFC 6749 section 5.2 error body."""
    return no_store(JsonResponse({"error": error, "error_description": description}, status=status))


def parameter_problem(request: HttpRequest) -> tuple[str, int] | None:
    """Why the request's parameters cannot be read as an OAuth endpoint must read them, with
    the HTTP status to answer, or None. A form body Django refuses to parse (not UTF-8, too
    many fields, too large, a multipart body without its boundary) would get Django's HTML
    400 page; a NUL character reaches PostgreSQL, which refuses it in any text comparison
    (a 500)."""
    try:
        params = [*request.GET.lists(), *request.POST.lists()]
    except RequestDataTooBig:
        return "The request body is too large.", 413
    except (BadRequest, SuspiciousOperation, MultiPartParserError, UnicodeDecodeError):
        return "The request body cannot be read as a UTF-8 form.", 400
    for name, values in params:
        if "\x00" in name or any("\x00" in value for value in values):
            return "Parameters may not contain NUL characters.", 400
    return None


def error_page(
    request: HttpRequest, *, error: str, description: str, status: int = 400, detail: str = ""
) -> HttpResponse:
    """`description` for the person (translated); `detail`, if any, the protocol's own words
    for whoever debugs the client (oauthlib's, in English)."""
    context = {"error_code": error, "error_description": description, "error_detail": detail}
    if detail == description:
        context["error_detail"] = ""
    response = render(request, "oauth/error.html", context, status=status)
    return secure_page(response)


def add_iss(uri: str) -> str:
    """RFC 9207: the authorization response names its issuer (query responses only)."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", settings.TRUSTREGISTRY_ISSUER))
    return urlunsplit(parts._replace(query=urlencode(query)))


def client_identity(request: HttpRequest) -> str:
    """The client id a token-endpoint request claims, for throttling its failures."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            claimed, colon, _ = decoded.partition(":")
            # No colon, no client id: the whole value may be a secret sent on its own, which
            # the failure's log line would print as the client id.
            return unquote_plus(claimed) if colon else ""
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return ""
    client_id = request.POST.get("client_id")
    if client_id:
        return client_id
    assertion = request.POST.get("client_assertion")
    if assertion:
        return client_assertion.unverified_client_id(assertion) or ""
    return ""


def too_many(exc: TooManyFailures) -> HttpResponse:
    response = oauth_error(exc.code, exc.message, status=exc.status)
    response["Retry-After"] = str(exc.retry_after)
    return response


def throttled_client_auth(request: HttpRequest, handle: Callable[[], HttpResponse]) -> HttpResponse:
    """Run `handle` unless this client id is blocked from this address; count its
    `invalid_client` answers (SPEC 3: from the 20th failure in 5 minutes, 429)."""
    identity, address = client_identity(request), client_address(request)
    try:
        TOKEN_THROTTLE.check(identity, address)
    except TooManyFailures as exc:
        return too_many(exc)
    response = handle()
    if response.status_code == 401:
        # As a failed sign-in: the client id it claimed, never its secret or assertion.
        logger.info(
            "client authentication failed at %s: client %s from %s",
            request.path,
            shown(identity),
            address,
        )
        try:
            TOKEN_THROTTLE.record_failure(identity, address)
        except TooManyFailures as exc:
            return too_many(exc)
    return response


def fix_client_challenge(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """oauthlib answers invalid_client with a Bearer challenge; client authentication at the
    token, revocation and introspection endpoints is Basic (RFC 6749 section 5.2)."""
    if response.status_code == 401:
        response["WWW-Authenticate"] = f'Basic realm="{settings.TRUSTREGISTRY_ISSUER}"'
    return response


class JsonMethodNotAllowed:
    """A 405 in the endpoint's own error shape (RFC 6749 section 5.2 JSON, SPEC section 3),
    not Django's empty page."""

    def http_method_not_allowed(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        allowed = self._allowed_methods()  # type: ignore[attr-defined]
        usable = " or ".join(m for m in allowed if m not in ("OPTIONS", "HEAD"))
        response = oauth_error("invalid_request", f"Use {usable}.", status=405)
        response["Allow"] = ", ".join(allowed)
        return response


# ------------------------------------------------------------------ requests that may come by POST
# The authorization and logout endpoints take the client's request by GET or POST (OpenID
# Connect Core 3.1.2.1, RP-Initiated Logout 2), cross-site, so without a CSRF token; their own
# confirmation forms post back to them, with one. The views are CSRF-exempt and tell the two
# apart: a form of theirs carries a marker field and its CSRF token (and `allow` to approve),
# none of which is a protocol parameter.


class ClientRequestByPostMixin:
    """For a view (before its other bases) whose own form carries `form_marker`: a POST
    without it is the client's request, answered as the same GET; a POST with it is the
    form's, CSRF-checked here since the view itself is exempt."""

    form_marker: str

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)  # type: ignore[misc]
        view.csrf_exempt = True
        return view

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            if not is_form_submission(request, self.form_marker):
                return same_request_as_get(request)
            refused = csrf_refusal(request)
            if refused is not None:
                return refused
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc,no-any-return]

    def get_initial(self) -> dict[str, Any]:
        return {**super().get_initial(), self.form_marker: "1"}  # type: ignore[misc]


def is_form_submission(request: HttpRequest, marker: str) -> bool:
    return any(name in request.POST for name in (marker, "csrfmiddlewaretoken", "allow"))


def csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """Django's CSRF check of a form submission, as the middleware would make it."""
    return CsrfViewMiddleware(_never_called).process_view(request, _never_called, (), {})


def _never_called(request: HttpRequest) -> HttpResponse:
    raise AssertionError("stands for the view in the CSRF check")


def same_request_as_get(request: HttpRequest) -> HttpResponse:
    """The client's request sent by POST: the same request as a GET (303), so it is validated,
    logged in for and answered exactly as one; repeated parameters stay repeated."""
    query = "&".join(
        part for part in (request.META.get("QUERY_STRING", ""), request.POST.urlencode()) if part
    )
    response = HttpResponse(status=303)
    response["Location"] = f"{request.path}?{query}" if query else request.path
    return secure_page(response)
