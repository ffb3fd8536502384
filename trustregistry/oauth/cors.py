"""CORS at the token and revocation endpoints, for the browser apps among public records.

A browser app (SPA) calls the token endpoint from its own origin: without
`Access-Control-Allow-Origin` the browser hides the answer, so the app can neither redeem its
code nor refresh (openid-client in Chromium: "Failed to fetch"). The record decides, as
everywhere else: an enabled *public* record's app may read the answers from the origin of one
of its login URLs, where the code was delivered (a loopback `http` login URL at any port, as
redirects are matched, RFC 8252 section 7.3). Confidential records get none: they are servers,
and a browser must not hold their secret. The app names itself with `client_id` in the form
body (authentication `none`), which a browser sends as a simple request, without a preflight.
Errors are readable too, so an app can tell `invalid_grant` (sign in again) from a network
failure: the refusals of unreadable parameters before the grant is looked at (a NUL
character), and an unexpected error's 500 (trustregistry/common/views.py), as well.

A body that cannot be read at all (over Django's 2.5 MB limit, over 1,000 fields, a broken
multipart body, a charset other than UTF-8) names no record, so its refusal gets no CORS. Not
"any enabled public record's origin": such a refusal is cheap to provoke (a Content-Length
over the limit is refused unread) and would make each one read every public record's login
URLs (no index answers "which record lists this origin"), and whether the header came would
tell anyone, without a client id, which origins some app is registered for. No browser app
sends such a body through a standard OAuth library, and a reverse proxy's own size refusal
carries no CORS either. During a database outage the record cannot be read: the 503 gets none.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.cache import patch_vary_headers

from trustregistry.registry import selectors as registry_selectors
from trustregistry.registry.models import ClientType
from trustregistry.registry.validators import browser_host, is_loopback_host

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    # A browser names an internationalised host by its ASCII form ("xn--…"); a login URL may
    # be written with the Unicode one.
    host = browser_host(url) or parts.hostname
    return parts.scheme, host, port or _DEFAULT_PORTS[parts.scheme]


def _matches(origin: str, login_url: str) -> bool:
    wanted, registered = _origin(origin), _origin(login_url)
    if wanted is None or registered is None:
        return False
    if registered[0] == "http" and is_loopback_host(registered[1]):
        return wanted[:2] == registered[:2]
    return wanted == registered


def _form_client_id(request: HttpRequest) -> str | None:
    """`client_id` of the form body, or None when the body cannot be read (module docstring:
    no record, no CORS). Django raises again at each reading of most bodies it refused (too
    large, too many fields, a charset other than UTF-8)."""
    try:
        return request.POST.get("client_id")
    except (BadRequest, SuspiciousOperation, MultiPartParserError, UnicodeDecodeError):
        return None


def allowed_origin(request: HttpRequest) -> str | None:
    """The request's `Origin` if the public record it names may read the answer there."""
    origin = request.headers.get("Origin", "")
    # A browser sends the bare origin; anything else (a path, "null") is no app's.
    try:
        parts = urlsplit(origin) if origin.isascii() else None
    except ValueError:  # "http://[::1": an unclosed IPv6 address
        return None
    if parts is None or parts.path or parts.query or parts.fragment or parts.username:
        return None
    client_id = _form_client_id(request)
    if not client_id or "HTTP_AUTHORIZATION" in request.META:
        return None
    application = registry_selectors.application_for_client(client_id=client_id)
    if (
        application is None
        or not application.is_enabled
        or application.client_type != ClientType.PUBLIC
    ):
        return None
    if any(_matches(origin, url) for url in application.login_urls or []):
        return origin
    return None


def allow_browser_app(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if "Origin" not in request.headers:
        return response
    patch_vary_headers(response, ("Origin",))
    origin = allowed_origin(request)
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
        # A script sees only the safelisted headers: a 429's wait must be readable too.
        response["Access-Control-Expose-Headers"] = "Retry-After"
    return response
