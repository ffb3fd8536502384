"""The marketplace pages (SPEC section 8): thin views over params, selectors and services.

Only an administrator (active, staff, internal, allowed to add and change trusted
applications) may use them; anyone else signed in gets a 403 page, and an anonymous visitor
goes to the login page with the whole link kept in `next`. Pages are never cached or framed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from trustregistry.marketplace import selectors, services
from trustregistry.marketplace.params import MarketplaceRefusal, parse_install, parse_uninstall

INSTALL_PERMISSIONS = ("registry.add_trustedapplication", "registry.change_trustedapplication")
UNINSTALL_PERMISSIONS = ("registry.change_trustedapplication",)


def is_marketplace_administrator(user: Any, permissions: Sequence[str]) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and getattr(user, "kind", None) == "internal"
        and user.has_perms(permissions)
    )


def _administrators_only(permissions: Sequence[str]) -> Callable[..., Any]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                # The full path keeps every marketplace parameter for the way back.
                return redirect_to_login(request.get_full_path())
            if not is_marketplace_administrator(request.user, permissions):
                return render(request, "marketplace/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The protections every marketplace page shares."""
    return never_cache(
        xframe_options_deny(csrf_protect(require_http_methods(["GET", "POST"])(view)))
    )


def _query(request: HttpRequest) -> dict[str, list[str]]:
    return {name: values for name, values in request.GET.lists()}


def _refused(
    request: HttpRequest, problems: Sequence[str], *, action: str, status: int = 400
) -> HttpResponse:
    return render(
        request,
        "marketplace/refused.html",
        {"problems": problems, "action": action},
        status=status,
    )


def _install_page(
    request: HttpRequest, plan: selectors.InstallPlan, *, notice: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "marketplace/install.html",
        {
            "plan": plan,
            "application_name": plan.application.localized_name() if plan.application else None,
            "notice": notice,
        },
        status=status,
    )


@_page
@_administrators_only(INSTALL_PERMISSIONS)
def install(request: HttpRequest) -> HttpResponse:
    try:
        install_request = parse_install(_query(request))
    except MarketplaceRefusal as exc:
        return _refused(request, exc.problems, action="install")

    if request.method == "POST":
        try:
            result = services.marketplace_install(
                request=install_request,
                actor=request.user,
                expected_state=request.POST.get("state", ""),
            )
        except services.StaleConfirmation:
            plan = selectors.install_plan(request=install_request)
            if plan.blockers:
                return _refused(request, plan.blockers, action="install")
            notice = _(
                "The record changed since the page was shown. Review the changes and confirm again."
            )
            return _install_page(request, plan, notice=notice, status=409)
        except MarketplaceRefusal as exc:
            return _refused(request, exc.problems, action="install")
        except ValidationError as exc:
            return _refused(request, exc.messages, action="install")
        return render(
            request,
            "marketplace/install_done.html",
            {
                "result": result,
                "application_name": result.application.localized_name(),
            },
        )

    plan = selectors.install_plan(request=install_request)
    if plan.blockers:
        return _refused(request, plan.blockers, action="install")
    return _install_page(request, plan)


@_page
@_administrators_only(UNINSTALL_PERMISSIONS)
def uninstall(request: HttpRequest) -> HttpResponse:
    try:
        application_uri = parse_uninstall(_query(request))
    except MarketplaceRefusal as exc:
        return _refused(request, exc.problems, action="uninstall")

    if request.method == "POST":
        try:
            application = services.marketplace_uninstall(
                application_uri=application_uri, actor=request.user
            )
        except services.ApplicationNotFound:
            return _not_found(request, application_uri)
        return render(
            request,
            "marketplace/uninstall_done.html",
            {"application": application, "application_name": application.localized_name()},
        )

    found = selectors.application_for_marketplace(application_uri=application_uri)
    if found is None:
        return _not_found(request, application_uri)
    return render(
        request,
        "marketplace/uninstall.html",
        {"application": found, "application_name": found.localized_name()},
    )


def _not_found(request: HttpRequest, application_uri: str) -> HttpResponse:
    problem = _("No trusted application has the application URI %(uri)s.") % {
        "uri": application_uri
    }
    return _refused(request, [problem], action="uninstall", status=404)
