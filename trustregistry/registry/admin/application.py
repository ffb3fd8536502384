from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_application_model

from trustregistry.common.admin import ActionSelectionChecked
from trustregistry.registry import history, risks, selectors, services
from trustregistry.registry.admin.forms import (
    TrustedApplicationForm,
)
from trustregistry.registry.admin.parts import (
    AddsWhatItAccepts,
    ApplicationNameInline,
    ApplicationSecretInline,
    ConnectorFilter,
    ScopeFilter,
)
from trustregistry.registry.admin.secret_pages import SecretPages
from trustregistry.registry.models import ApplicationName, TrustedApplication

# django-oauth-toolkit registers its own admin for the (swapped) application model; the
# registry's admin replaces it.
if admin.site.is_registered(get_application_model()):
    admin.site.unregister(get_application_model())


# Labels of django-oauth-toolkit's own fields that the change form shows (the "Record"
# section): DOT ships no Bulgarian catalogue, so its msgids are in this app's.
DOT_FIELD_LABELS = (gettext_noop("created"), gettext_noop("updated"))

RECORD_FIELDS = ("created", "updated", "last_used_at", "uninstalled_at")


def case_variant_warning(uri: str, other: str) -> str:
    return _(
        "The record %(other)s has the same URI but for letter case. URIs are case-sensitive, "
        "so %(uri)s is another application, with its own secrets and tokens. Is that intended?"
    ) % {"uri": uri, "other": other}


@admin.register(TrustedApplication)
class TrustedApplicationAdmin(ActionSelectionChecked, SecretPages, admin.ModelAdmin):
    form = TrustedApplicationForm
    inlines = [ApplicationNameInline, ApplicationSecretInline]
    fieldsets = (
        (_("Identity"), {"fields": ("client_id", "is_enabled", "source", "tr_shown")}),
        (
            _("Client type and secrets"),
            {"fields": ("client_type", "new_secret_hash", "new_secret_expires")},
        ),
        (_("Basic authentication"), {"fields": ("basic_auth_allowed",)}),
        (
            _("Impersonation"),
            {"fields": ("impersonate_internal_allowed", "impersonate_community_allowed")},
        ),
        (_("URLs"), {"fields": ("login_urls", "logout_urls")}),
        (_("Scope"), {"fields": ("scope", "confirm_sec")}),
        (
            _("System user"),
            {"fields": ("system_user", "system_user_allowed", "system_user_login_url")},
        ),
        (
            _("Connector"),
            {"fields": ("connector_url", "public_keys", "public_key_thumbprints")},
        ),
        (_("Record"), {"fields": RECORD_FIELDS}),
    )
    readonly_fields = (
        "source",
        "public_key_thumbprints",
        "created",
        "updated",
        "last_used_at",
        "uninstalled_at",
    )
    list_display = (
        "client_id",
        "localized_name",
        "client_type_code",
        "is_enabled",
        "scope",
        "source",
        "last_used_at",
    )
    list_filter = (
        "is_enabled",
        "client_type",
        "source",
        ScopeFilter,
        "impersonate_internal_allowed",
        "impersonate_community_allowed",
        "system_user_allowed",
        "basic_auth_allowed",
        ConnectorFilter,
    )
    search_fields = ("client_id", "names__name")
    search_help_text = _("Search by application URI or name (any language).")
    list_per_page = 50
    # Counting every row of a large registry on each page view costs more than it tells.
    show_full_result_count = False
    actions = ["enable", "disable", "generate_secret", "rotate_secret"]
    autocomplete_fields = ()
    change_form_template = "admin/registry/trustedapplication/change_form.html"
    # DOT's get_absolute_url points at its own application pages, which the registry replaces.
    view_on_site = False

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if db_field.name == "system_user" and formfield is not None:
            if isinstance(widget, RelatedFieldWidgetWrapper):
                formfield.widget = AddsWhatItAccepts.around(widget)
        return formfield

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # SPEC 2: records are never hard-deleted by the product's own flows; tokens and history
        # refer to them. Disable a record instead.
        return False

    # ------------------------------------------------------------------ list

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("names")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """URI or any-language name; every word must match. Names are matched by
        `pk IN (ids of matching names)`, not a join: no DISTINCT over the whole registry, and
        the databases scan the names once instead of once per record."""
        for word in search_term.split()[:10]:
            matching_names = ApplicationName.objects.filter(name__icontains=word).values(
                "application_id"
            )
            queryset = queryset.filter(Q(client_id__icontains=word) | Q(pk__in=matching_names))
        return queryset, False

    @admin.display(description=_("client type"), ordering="client_type")
    def client_type_code(self, obj: TrustedApplication) -> str:
        return obj.client_type

    @admin.display(description=_("name"))
    def localized_name(self, obj: TrustedApplication) -> str:
        return obj.localized_name()

    @admin.display(description=_("public key thumbprints (RFC 7638)"))
    def public_key_thumbprints(self, obj: TrustedApplication) -> str:
        keys = obj.public_keys or []
        if not keys:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} {} <code>{}</code></li>",
                ((k.get("kty", "?"), k.get("crv", ""), k.get("kid", "?")) for k in keys),
            ),
        )

    # ------------------------------------------------------------------ the change form

    # What a record has only once it exists: not shown on the add page, where each would read "—".
    _EXISTING_ONLY = ("source", "public_key_thumbprints", *RECORD_FIELDS)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        return [
            (name, {**options, "fields": kept})
            for name, options in fieldsets
            if (kept := [f for f in options["fields"] if f not in self._EXISTING_ONLY])
        ]

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        # A new record has no secrets to list (one is added with the hash field above it).
        inlines = super().get_inlines(request, obj)
        return inlines if obj is not None else [ApplicationNameInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The URI is the OAuth client_id, the connector's audience and the key of every import
        # and API call: renaming it would strand every client and connector configured with
        # it, so it is chosen once, as the REST API and imports enforce too.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "client_id") if obj is not None else fields

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, ApplicationNameInline) and request.method != "POST":
            present = set(obj.names.values_list("language", flat=True)) if obj.pk else set()
            kwargs["initial"] = [
                {"language": code} for code, _label in settings.LANGUAGES if code not in present
            ]
        return kwargs

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        reasons = []
        changed = form.changed_data
        if not change:
            reasons.append("created")
        else:
            if "is_enabled" in changed:
                reasons.append("enabled" if obj.is_enabled else "disabled")
            others = [f for f in changed if f not in ("is_enabled", "confirm_sec", "tr_shown")]
            others = [f for f in others if not f.startswith("new_secret")]
            if others:
                reasons.append("changed in the admin")
        if form.sec_newly_granted():
            reasons.append("sec trusted (confirmed)")
        obj._change_reason = "; ".join(reasons) or "saved in the admin"
        if change:
            services.application_save_edited(application=obj, actor=request.user)
        else:
            obj.save()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        app = form.instance
        new_hash = form.cleaned_data.get("new_secret_hash")
        if new_hash:
            services.secret_add_hash(
                application=app,
                secret_hash=new_hash,
                expires=form.cleaned_data.get("new_secret_expires"),
                actor=request.user,
            )
            services.history_note(application=app, actor=request.user, reason="secret hash added")
        for risk in risks.application_risks(app):
            messages.warning(request, risk.message)
        if not change:  # the URI is chosen once, when the record is added
            uri = app.client_id
            for other in selectors.application_uris_differing_in_case(application_uri=uri):
                messages.warning(request, case_variant_warning(uri, other))

    # ------------------------------------------------------------------ actions

    def _check_change(self, request: HttpRequest) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied

    @admin.action(description=_("Enable the selected applications"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for app in queryset:
            if not app.is_enabled:
                services.application_set_enabled(application=app, enabled=True, actor=request.user)
                count += 1
        self.message_user(request, _("%(n)d application(s) enabled.") % {"n": count})

    @admin.action(description=_("Disable the selected applications"), permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for app in queryset:
            if app.is_enabled:
                services.application_set_enabled(application=app, enabled=False, actor=request.user)
                count += 1
        self.message_user(
            request,
            _("%(n)d application(s) disabled: their tokens stopped working.") % {"n": count},
        )

    # ------------------------------------------------------------------ buttons

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        custom = [
            path(
                "<path:object_id>/generate-secret/",
                wrap(require_POST(self.generate_secret_view)),
                name="registry_trustedapplication_generate_secret",
            ),
            path(
                "<path:object_id>/rotate-secret/",
                wrap(require_POST(self.rotate_secret_view)),
                name="registry_trustedapplication_rotate_secret",
            ),
            path(
                "<path:object_id>/test-handshake/",
                wrap(require_POST(self.test_handshake_view)),
                name="registry_trustedapplication_test_handshake",
            ),
        ]
        return custom + super().get_urls()

    def _record_or_404(self, request: HttpRequest, object_id: str) -> TrustedApplication:
        # As the admin's own pages: an id that is no id ("abc") is a 404, not a 500.
        app = self.get_object(request, unquote(object_id))
        if app is None:
            raise Http404(_("No such trusted application."))
        return app

    def _get_for_change(self, request: HttpRequest, object_id: str) -> TrustedApplication:
        self._check_change(request)
        return self._record_or_404(request, object_id)

    def test_handshake_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        app = self._get_for_change(request, object_id)
        back = reverse("admin:registry_trustedapplication_change", args=[app.pk])
        if not app.connector_url:
            messages.error(request, _("This record has no connector URL to test."))
            return HttpResponseRedirect(back)
        # Imported here: the handshake lives in the aas app, which imports the registry.
        from trustregistry.aas.services import run_handshake_test

        result = run_handshake_test(application=app, actor=request.user)
        (messages.success if result.ok else messages.error)(
            request, _("Handshake test: %(m)s") % {"m": result.message}
        )
        return HttpResponseRedirect(back)

    # ------------------------------------------------------------------ history

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        app = self._record_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, app):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": app,
            "object": app,
            "title": _("History: %(uri)s") % {"uri": app.client_id},
            "events": history.application_history(app),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "registry/admin/history.html", context)
