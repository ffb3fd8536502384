"""The scope rules of SPEC section 4 as DRF permissions.

`ScopePermission` is the API's default permission class (`REST_FRAMEWORK` in settings):

- the caller must be authenticated by one of `trustregistry.api.authentication`'s classes;
- unsafe methods (POST, PUT, PATCH, DELETE) need the `update` scope;
- a view may declare `required_scopes = ("sec",)` (or the string `"sec crm"`) to need more
  scopes, for every method; `read` is the baseline every caller holds;
- a view may set `update_scope_exempt = True` when its POST only *asks* something and changes
  no data (connector resolution is a query: it needs `sec` only).

A missing scope answers 403 `insufficient_scope`; for bearer callers the response also carries
`WWW-Authenticate: Bearer error="insufficient_scope"` naming the scope (RFC 6750 section 3.1).
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from trustregistry.api.authentication import ApiAuth, bearer_challenge
from trustregistry.registry import scopes as scope_catalogue


class InsufficientScope(exceptions.PermissionDenied):
    def __init__(self, missing: list[str], auth: ApiAuth):
        message = (
            f"This request needs the scope {' '.join(missing)}, which the caller does not hold."
        )
        super().__init__(detail=message, code="insufficient_scope")
        self.error_code = "insufficient_scope"
        self.www_authenticate = (
            bearer_challenge("insufficient_scope", message, scope=" ".join(missing))
            if auth.method == "bearer"
            else None
        )


def required_scopes_for(request: Request, view: Any) -> list[str]:
    declared = getattr(view, "required_scopes", ()) or ()
    # `required_scopes = "crm"` is read as the scope string it looks like, not as the
    # scopes c, r and m (an outside resource server's easy slip, which refused everything).
    wanted = declared.split() if isinstance(declared, str) else list(declared)
    if request.method not in SAFE_METHODS and not getattr(view, "update_scope_exempt", False):
        wanted.append(scope_catalogue.UPDATE)
    # `read` is the baseline every caller holds (SPEC 4), whether or not its token says so.
    return [s for s in dict.fromkeys(wanted) if s != scope_catalogue.READ]


class ScopePermission(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        auth = request.auth
        if not isinstance(auth, ApiAuth):
            raise exceptions.NotAuthenticated()
        missing = [s for s in required_scopes_for(request, view) if s not in auth.scopes]
        if missing:
            raise InsufficientScope(missing, auth)
        return True


class TrustedApplicationAdmin(BasePermission):
    """Staff internal users and system users, holding the model permission for the action
    (`registry.view_/add_/change_trustedapplication`), as in the Django admin."""

    message = (
        "Managing trusted applications needs a staff internal user or a system user "
        "with the permission."
    )

    ACTION_PERMISSIONS = {
        "GET": "registry.view_trustedapplication",
        "HEAD": "registry.view_trustedapplication",
        "OPTIONS": "registry.view_trustedapplication",
        "POST": "registry.change_trustedapplication",
        "PUT": "registry.change_trustedapplication",
        "PATCH": "registry.change_trustedapplication",
        "DELETE": "registry.change_trustedapplication",
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_active", False):
            return False
        kind = getattr(user, "kind", None)
        if not ((kind == "internal" and user.is_staff) or kind == "system"):
            return False
        permission = getattr(view, "create_permission", None) if request.method == "POST" else None
        permission = permission or self.ACTION_PERMISSIONS.get(request.method or "", "")
        return bool(permission) and user.has_perm(permission)
