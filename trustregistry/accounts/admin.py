from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from trustregistry.accounts import delegation
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

    # No one is given more than the editor holds (accounts/delegation.py).

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Also guards the password page, which asks this with the user.
        return super().has_change_permission(request, obj) and (
            obj is None or delegation.may_manage(request.user, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or delegation.may_manage(request.user, obj)
        )

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The list's delete action asks only the model-wide permission: a user the editor may
        # not manage among the selected is a permission he lacks, and nothing is deleted.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if not all(delegation.may_manage(request.user, user) for user in objs):
            perms_needed = {*perms_needed, str(self.opts.verbose_name)}
        return deleted, counts, perms_needed, protected

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        if getattr(request.user, "is_superuser", False):
            return fields
        return (*fields, "is_superuser")

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user_permissions":
            kwargs["queryset"] = delegation.grantable_permissions(request.user).select_related(
                "content_type"
            )
        elif db_field.name == "groups":
            kwargs["queryset"] = delegation.grantable_groups(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if obj.kind == UserKind.SYSTEM:
            # A service identity: no password that could ever log in, no admin rights.
            obj.set_unusable_password()
            obj.is_staff = False
            obj.is_superuser = False
        super().save_model(request, obj, form, change)


# Django's group admin lets the holder of `change_group` give his own group any permission.
admin.site.unregister(Group)


@admin.register(Group)
class DelegatingGroupAdmin(ActionSelectionChecked, GroupAdmin):
    """As the user admin: a non-superuser gives no group a permission he does not hold, and a
    group that gives more than he holds is read-only to him (accounts/delegation.py)."""

    def _may_manage(self, request: HttpRequest, group: Any) -> bool:
        return group is None or delegation.may_manage_group(request.user, group)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_manage(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_manage(request, obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if not all(self._may_manage(request, group) for group in objs):
            perms_needed = {*perms_needed, str(self.opts.verbose_name)}
        return deleted, counts, perms_needed, protected

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "permissions":  # GroupAdmin adds its select_related
            kwargs["queryset"] = delegation.grantable_permissions(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    """The admin log, read-only: who added, changed or deleted what in the admin (users and
    groups, consents, token revocations: rows that may no longer exist to show their own
    history). A trusted-application record's changes are in its own history page."""

    date_hierarchy = "action_time"
    list_display = ("action_time", "user", "action_flag", "content_type", "object_repr", "message")
    list_filter = ("action_flag", "content_type")
    list_select_related = ("user", "content_type")
    search_fields = ("object_repr", "user__username")

    @admin.display(description=LogEntry._meta.get_field("change_message").verbose_name)
    def message(self, entry: LogEntry) -> str:
        return entry.get_change_message()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
