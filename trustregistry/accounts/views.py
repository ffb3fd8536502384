"""The admin's sign-in page, answering a throttled sign-in as the registry's own page does."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from trustregistry.accounts.backends import login_block


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """`admin.site.login` (its form says why: `accounts.forms`), with 429 and Retry-After while
    the sign-in is throttled."""
    response = admin.site.login(request, extra_context)
    block = login_block(request)
    if block is not None and response.status_code == 200:
        response.status_code = 429
        response["Retry-After"] = str(block.retry_after)
    return response
