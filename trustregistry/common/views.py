"""Project-wide error views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as html_csrf_failure

# Machine clients never get an HTML page (SPEC section 6).
_JSON_PREFIXES = ("/api/", "/id/connect/", "/connector/")
# Under /id/connect/, but pages a person's browser posts (the consent and logout forms).
_BROWSER_PAGES = ("/id/connect/authorize", "/id/connect/endsession")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith(_JSON_PREFIXES) and not request.path.startswith(_BROWSER_PAGES):
        return JsonResponse(
            {
                "error": "csrf_failed",
                "message": "The request was refused by the CSRF check: "
                "send it without a session cookie, or with the CSRF token.",
            },
            status=403,
        )
    return html_csrf_failure(request, reason=reason)
