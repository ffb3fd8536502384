"""Remembered consents in the admin: to see who approved what, and to revoke (delete) one, so
the user is asked again. They are made only by users on the consent page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from trustregistry.common.admin import ActionSelectionChecked
from trustregistry.oauth.models import Consent


@admin.register(Consent)
class ConsentAdmin(ActionSelectionChecked, admin.ModelAdmin):
    list_display = ("user", "application", "scope", "granted_at", "updated_at")
    list_select_related = ("user", "application")
    search_fields = ("user__username", "application__client_id")
    list_filter = ("updated_at",)
    readonly_fields = ("user", "application", "scope", "granted_at", "updated_at")
    ordering = ("-updated_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Consent]:
        # Each consent is named by its user and application (the history, the delete page).
        return super().get_queryset(request).select_related("user", "application")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only: approved by the user, revoked by deleting
