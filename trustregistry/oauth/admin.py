"""Remembered consents in the admin: to see who approved what, and to revoke (delete) one, so
the user is asked again. They are made only by users on the consent page. Also
django-oauth-toolkit's token and code admins, made read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

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


# ------------------------------------------------------------------ django-oauth-toolkit's rows


class IssuedNotEdited:
    """Mixed into django-oauth-toolkit's admins of access and refresh tokens, codes and ID
    tokens: their rows are written by the OAuth flows only. The API acts as an access token
    row's user (api/token_lookup.py), and a refresh token or a code issues tokens for its row's
    user, so a form that could change a row's user, application or scope would let whoever
    holds the change permission on tokens act as any user, a superuser included. A row is
    shown read-only; the change permission still allows the revoke actions."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)  # type: ignore[misc]


def _revoked_note(row: Any) -> str:
    user = row.user.get_username() if row.user is not None else "-"
    application = row.application.client_id if row.application is not None else "-"
    return f"Revoked (user {user}, application {application})."


def _read_only(registered: type) -> type:
    """`registered` with rows read-only; its revoke action (django-oauth-toolkit names no
    permission for it, so Django offers it to everyone who may view the list) needs the change
    permission: revoking is a change, as disabling a record is."""
    attributes: dict[str, Any] = {}
    action = getattr(registered, "revoke_tokens", None)
    if action is not None:

        def revoke_tokens(self: Any, request: HttpRequest, queryset: QuerySet) -> Any:
            # django-oauth-toolkit's action leaves no trace: each token it revokes is noted
            # in the admin log (LogEntry) with who revoked it. A revoked access token's row
            # is deleted, so the note names the token's user and application itself.
            live = [
                row
                for row in queryset.select_related("user", "application")
                if getattr(row, "revoked", None) is None
            ]
            answer = action(self, request, queryset)
            for row in live:
                self.log_change(request, row, _revoked_note(row))
            return answer

        revoke_tokens.short_description = action.short_description  # type: ignore[attr-defined]
        revoke_tokens.allowed_permissions = ("change",)  # type: ignore[attr-defined]
        attributes["revoke_tokens"] = revoke_tokens
    return type(registered.__name__, (IssuedNotEdited, registered), attributes)


for _model in (
    get_access_token_model(),
    get_refresh_token_model(),
    get_grant_model(),
    get_id_token_model(),
):
    if admin.site.is_registered(_model):
        _registered = type(admin.site.get_model_admin(_model))
        admin.site.unregister(_model)
        admin.site.register(_model, _read_only(_registered))
