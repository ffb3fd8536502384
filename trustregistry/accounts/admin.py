from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from trustregistry.accounts.models import User


@admin.register(User)
class KindUserAdmin(UserAdmin):
    list_display = ("username", "email", "kind", "is_staff", "is_active")
    list_filter = ("kind", "is_staff", "is_superuser", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Kind", {"fields": ("kind",)}))  # type: ignore[misc]
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Kind", {"fields": ("kind",)}))
