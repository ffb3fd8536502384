from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from trustregistry.accounts.forms import (
    KindUserCreationForm,
    ThrottleAwareAdminAuthenticationForm,
)
from trustregistry.accounts.models import User, UserKind
from trustregistry.common.admin import ActionSelectionChecked

# The admin's sign-in form says when a throttled sign-in may be retried (accounts/backends.py).
admin.site.login_form = ThrottleAwareAdminAuthenticationForm
# The product's name in the header and the window title, as on the sign-in and marketplace
# pages (the msgid is the oauth catalogue's), instead of "Django administration".
admin.site.site_header = _("Trust registry")
admin.site.site_title = _("Trust registry")

_staff_may_use_the_admin = admin.site.has_permission


def _internal_staff_only(request: HttpRequest) -> bool:
    """The admin is for active staff users of kind `internal` (as the REST API's trusted-
    application endpoints and the marketplace require): a community or system user marked
    staff, or a staff user whose kind was changed while signed in, is not let in."""
    return bool(
        _staff_may_use_the_admin(request)
        and getattr(request.user, "kind", None) == UserKind.INTERNAL
    )


admin.site.has_permission = _internal_staff_only  # type: ignore[method-assign]


@admin.register(User)
class KindUserAdmin(ActionSelectionChecked, UserAdmin):
    add_form = KindUserCreationForm
    list_display = ("username", "email", "kind", "is_staff", "is_active")
    list_filter = ("kind", "is_staff", "is_superuser", "is_active")
    fieldsets = (*UserAdmin.fieldsets, (_("Kind"), {"fields": ("kind",)}))  # type: ignore[misc]
    # The kind first: choosing System turns password sign-in off (KindUserCreationForm).
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "kind", "usable_password", "password1", "password2"),
            },
        ),
    )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if obj.kind == UserKind.SYSTEM:
            # A service identity: no password that could ever log in, no admin rights.
            obj.set_unusable_password()
            obj.is_staff = False
            obj.is_superuser = False
        super().save_model(request, obj, form, change)
