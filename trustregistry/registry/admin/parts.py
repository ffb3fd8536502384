"""The pieces of the trusted-application admin's pages: the names and secrets inlines of the
change form, the system user's add link, and the list's filters by scope and by connector."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper, url_params_from_lookup_dict
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from trustregistry.registry import scopes as scope_catalogue
from trustregistry.registry.admin.inline_forms import (
    ApplicationNameForm,
    ApplicationNameFormSet,
    SecretsOfPublicRecords,
)
from trustregistry.registry.models import ApplicationName, ApplicationSecret


class PartOfTheRecord:
    """Mixed into the names and secrets inlines. Names and secrets are parts of the record, as
    the REST API treats them, so the record's permissions decide what may be done to them (as
    Django decides for an auto-created many-to-many inline): on the add page the record's add
    permission, on a change page its change permission, and its view permission to see them.
    Django would ask for the ApplicationName and ApplicationSecret models' own permissions,
    which nobody thinks of giving: staff holding only the record's add permission then got an
    add page without names and saved records without the required default-language name, and
    staff holding its change permission saw neither the names nor the secrets to revoke."""

    parent_model: Any
    admin_site: Any

    def _may_write(self, request: HttpRequest, obj: Any) -> bool:
        record = self.admin_site.get_model_admin(self.parent_model)
        if obj is None:
            return bool(record.has_add_permission(request))
        return bool(record.has_change_permission(request, obj))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_write(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_write(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_write(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        record = self.admin_site.get_model_admin(self.parent_model)
        return self._may_write(request, obj) or bool(record.has_view_permission(request, obj))


class ApplicationNameInline(PartOfTheRecord, admin.TabularInline):
    model = ApplicationName
    form = ApplicationNameForm
    formset = ApplicationNameFormSet
    fields = ("language", "name")
    min_num = 0
    verbose_name = _("name")
    verbose_name_plural = _("names (one per language; the default language is required)")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        present = obj.names.count() if obj is not None and obj.pk else 0
        return max(0, len(settings.LANGUAGES) - present)

    def get_max_num(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return len(settings.LANGUAGES)


class ApplicationSecretInline(PartOfTheRecord, admin.TabularInline):
    model = ApplicationSecret
    formset = SecretsOfPublicRecords
    fields = ("hash_prefix", "created", "expires", "last_used")
    readonly_fields = ("hash_prefix", "created", "expires", "last_used")
    extra = 0
    can_delete = True
    verbose_name = _("live secret")
    verbose_name_plural = _("secrets (tick 'delete' to revoke one)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # secrets are added by pasting a hash or generating one

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("hash"))
    def hash_prefix(self, obj: ApplicationSecret) -> str:
        # Enough to tell two secrets apart, not enough to be worth stealing.
        return f"{obj.secret_hash[:6]}…"


class ScopeFilter(admin.SimpleListFilter):
    title = _("scope")
    parameter_name = "scope_has"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(name, name) for name in scope_catalogue.CATALOGUE]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        token = self.value()
        if token not in scope_catalogue.CATALOGUE:
            return queryset
        return queryset.filter(
            Q(scope=token)
            | Q(scope__startswith=f"{token} ")
            | Q(scope__endswith=f" {token}")
            | Q(scope__contains=f" {token} ")
        )


class ConnectorFilter(admin.SimpleListFilter):
    title = _("connector")
    parameter_name = "connector"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("has a connector URL")), ("no", _("no connector URL"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.exclude(connector_url="")
        if self.value() == "no":
            return queryset.filter(connector_url="")
        return queryset


class AddsWhatItAccepts(RelatedFieldWidgetWrapper):
    """The "+" beside a foreign key whose choices are limited (the system user: kind `system`)
    opens the add form with those values chosen, so what is added there can be chosen here."""

    @classmethod
    def around(cls, wrapper: RelatedFieldWidgetWrapper) -> AddsWhatItAccepts:
        return cls(
            wrapper.widget,
            wrapper.rel,
            wrapper.admin_site,
            can_add_related=wrapper.can_add_related,
            can_change_related=wrapper.can_change_related,
            can_delete_related=wrapper.can_delete_related,
            can_view_related=wrapper.can_view_related,
        )

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        # As the admin's raw-id lookup passes the same limit to its list (lists, booleans and
        # callables included).
        limits = url_params_from_lookup_dict(self.rel.limit_choices_to)
        if limits:
            context["url_params"] += "&" + urlencode(limits)
        return context
