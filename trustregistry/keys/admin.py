"""The signing keys in the admin (SPEC section 9), as Keycloak's "Realm settings → Keys": every
key read-only with its state, and the Stage next key, Rotate and Withdraw (key leaked) actions
of `manage.py rotate_keys` (keys/admin_actions.py).

The private key never leaves the database through the admin: it is in no form, column, search,
ordering or filter, and a URL lookup on it (`?private_key_pem__startswith=…`, which Django's
admin would otherwise answer with a row count, a way to read the key a character at a time) is
refused."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cryptography import x509
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trustregistry.common import clock
from trustregistry.common.admin import ActionSelectionChecked
from trustregistry.keys.admin_actions import SigningKeyActions
from trustregistry.keys.admin_texts import key_status, when
from trustregistry.keys.models import KeyPurpose, SigningKey

# Fields no admin page, parameter or lookup may reach.
SECRET_FIELDS = frozenset({"private_key_pem"})

SIGNING, STAGED, PUBLISHED, UNPUBLISHED, WITHDRAWN = (
    "signing",
    "staged",
    "published",
    "unpublished",
    "withdrawn",
)


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (
            (SIGNING, _("signing")),
            (STAGED, _("staged")),
            (PUBLISHED, _("retired, still published")),
            (UNPUBLISHED, _("no longer published")),
            (WITHDRAWN, _("withdrawn")),
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = clock.now()
        live = queryset.filter(withdrawn_at__isnull=True)
        retired = live.filter(retired_at__isnull=False)
        match self.value():
            case "signing":
                return live.filter(retired_at__isnull=True, activated_at__isnull=False)
            case "staged":
                return live.filter(retired_at__isnull=True, activated_at__isnull=True)
            case "published":
                return retired.filter(publish_until__gt=now)
            case "unpublished":
                return retired.filter(Q(publish_until__lte=now) | Q(publish_until__isnull=True))
            case "withdrawn":
                return queryset.filter(withdrawn_at__isnull=False)
        return queryset


def _certificate_not_after(key: SigningKey) -> dt.datetime | None:
    if not key.certificate_pem:
        return None
    try:
        certificate = x509.load_pem_x509_certificate(key.certificate_pem.encode())
    except ValueError:  # a row edited by hand: shown without a date rather than a 500
        return None
    return certificate.not_valid_after_utc


def _pre(text: str) -> str:
    # JWK members (x5c, n) and PEM lines are long unbroken strings: wrap them in the page.
    return format_html('<pre style="white-space: pre-wrap; overflow-wrap: anywhere">{}</pre>', text)


@admin.register(SigningKey)
class SigningKeyAdmin(ActionSelectionChecked, SigningKeyActions):
    list_display = (
        "purpose_code",
        "kid",
        "created",
        "status",
        "publish_until",
        "withdrawn_at",
        "certificate_valid_until",
    )
    list_display_links = ("kid",)
    list_filter = ("purpose", StatusFilter)
    search_fields = ("kid",)
    search_help_text = _("Search by key id.")
    ordering = ("purpose", "-created", "-id")
    # Named one by one: Django's view page would show every model field, the private key too.
    fields = (
        "purpose",
        "kid",
        "status",
        "created",
        "activated_at",
        "retired_at",
        "publish_until",
        "withdrawn_at",
        "certificate_valid_until",
        "public_jwk_pretty",
        "certificate_pem_pretty",
    )
    readonly_fields = fields
    exclude = tuple(SECRET_FIELDS)
    actions = ["stage", "rotate", "withdraw"]

    # ------------------------------------------------------------------ read-only rows

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are made by rotating (or on first need), never typed in

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a retired key would end its tokens without the withdrawal's record, and
        # deleting the signing one would have the next request make a key no one asked for.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # No field of a row may be edited; the model-wide change permission runs the actions.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.purpose == KeyPurpose.AAS:
            return self.fields
        return tuple(f for f in self.fields if not f.startswith("certificate"))

    def lookup_allowed(self, lookup: str, value: Any, request: HttpRequest | None = None) -> bool:
        first = lookup.split(LOOKUP_SEP, 1)[0]
        try:
            field = self.model._meta.get_field(first)
        except FieldDoesNotExist:
            field = None
        if field is not None and field.name in SECRET_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("purpose"), ordering="purpose")
    def purpose_code(self, obj: SigningKey) -> str:
        # The code (oidc, aas) as `rotate_keys --purpose` names it: the choice's label, a
        # sentence, took the list's width (the change page shows it).
        return obj.purpose

    @admin.display(description=_("status"))
    def status(self, obj: SigningKey) -> str:
        return key_status(obj)

    @admin.display(description=_("certificate valid until"))
    def certificate_valid_until(self, obj: SigningKey) -> str | None:
        not_after = _certificate_not_after(obj)
        return when(not_after) if not_after is not None else None

    @admin.display(description=_("public JWK"))
    def public_jwk_pretty(self, obj: SigningKey) -> str:
        return _pre(json.dumps(obj.public_jwk, indent=2, sort_keys=True))

    @admin.display(description=_("certificate (PEM)"))
    def certificate_pem_pretty(self, obj: SigningKey) -> str | None:
        return _pre(obj.certificate_pem) if obj.certificate_pem else None
