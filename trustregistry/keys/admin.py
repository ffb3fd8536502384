"""The signing keys in the admin (SPEC section 9), as Keycloak's "Realm settings → Keys": every
key read-only with its state, and the Rotate and Withdraw (key leaked) actions of
`manage.py rotate_keys`, each asked for on a confirmation page and recorded in the admin's log.

The private key never leaves the database through the admin: it is in no form, column, search,
ordering or filter, and a URL lookup on it (`?private_key_pem__startswith=…`, which Django's
admin would otherwise answer with a row count, a way to read the key a character at a time) is
refused."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cryptography import x509
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trustregistry.common import clock
from trustregistry.common.admin import ActionSelectionChecked, warn_nothing_selected
from trustregistry.keys import services
from trustregistry.keys.admin_texts import consequences
from trustregistry.keys.models import KeyPurpose, SigningKey

# Fields no admin page, parameter or lookup may reach.
SECRET_FIELDS = frozenset({"private_key_pem"})

# Posted by the confirmation page: the answer, and the signing kid of each purpose the page
# was shown with, so a resubmitted or stale page (a double click, the back button, another
# administrator's rotation meanwhile) does not rotate or withdraw a second time.
CONFIRM_FIELD = "confirm"
SHOWN_KID_FIELD = "shown_kid"

SIGNING, PUBLISHED, UNPUBLISHED, WITHDRAWN = "signing", "published", "unpublished", "withdrawn"


def _when(value: dt.datetime) -> str:
    # As the admin shows the other dates of the row.
    return formats.localize(timezone.localtime(value))


def key_status(key: SigningKey, now: dt.datetime | None = None) -> str:
    now = now or clock.now()
    if key.withdrawn_at is not None:
        return gettext("withdrawn")
    if key.retired_at is None:
        return gettext("signing")
    if key.publish_until is not None and key.publish_until > now:
        return gettext("retired – published until %(date)s") % {"date": _when(key.publish_until)}
    return gettext("no longer published")


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (
            (SIGNING, _("signing")),
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
                return live.filter(retired_at__isnull=True)
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
class SigningKeyAdmin(ActionSelectionChecked, admin.ModelAdmin):
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
        "retired_at",
        "publish_until",
        "withdrawn_at",
        "certificate_valid_until",
        "public_jwk_pretty",
        "certificate_pem_pretty",
    )
    readonly_fields = fields
    exclude = tuple(SECRET_FIELDS)
    actions = ["rotate", "withdraw"]
    action_confirmation_template = "admin/keys/signingkey/action_confirmation.html"

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
        return _when(not_after) if not_after is not None else None

    @admin.display(description=_("public JWK"))
    def public_jwk_pretty(self, obj: SigningKey) -> str:
        return _pre(json.dumps(obj.public_jwk, indent=2, sort_keys=True))

    @admin.display(description=_("certificate (PEM)"))
    def certificate_pem_pretty(self, obj: SigningKey) -> str | None:
        return _pre(obj.certificate_pem) if obj.certificate_pem else None

    # ------------------------------------------------------------------ actions

    @admin.action(description=_("Rotate"), permissions=["change"])
    def rotate(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._rotate_purposes(request, queryset, withdraw=False)

    @admin.action(description=_("Withdraw (key leaked)"), permissions=["change"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._rotate_purposes(request, queryset, withdraw=True)

    def _rotate_purposes(
        self, request: HttpRequest, queryset: QuerySet, *, withdraw: bool
    ) -> HttpResponse | None:
        chosen = set(queryset.values_list("purpose", flat=True))
        purposes = [p for p in KeyPurpose.values if p in chosen]
        if not purposes:  # ids of no row (deleted meanwhile, or forged)
            warn_nothing_selected(self, request)
            return None
        if request.POST.get(CONFIRM_FIELD) != "yes":
            return self._confirmation_page(request, queryset, purposes, withdraw=withdraw)
        shown = set(request.POST.getlist(SHOWN_KID_FIELD))
        for purpose in purposes:
            signing = _signing_kid(purpose)
            if (signing or "") not in shown:
                self.message_user(
                    request,
                    gettext(
                        "The %(purpose)s key changed after the confirmation page was shown "
                        "(its signing key is now %(kid)s): nothing was done to it. Select it "
                        "again to go on."
                    )
                    % {"purpose": purpose, "kid": signing or "—"},
                    messages.WARNING,
                )
                continue
            self._rotate_one(request, purpose, withdraw=withdraw)
        return None

    def _rotate_one(self, request: HttpRequest, purpose: str, *, withdraw: bool) -> None:
        # The rotation and its record in the admin's log commit together: no key changes
        # unaudited. The log is in English, as the registry's history: who, when, what, and on
        # each key's own history page who retired or withdrew it.
        what = "withdraw (key leaked)" if withdraw else "rotate"
        with transaction.atomic():
            ended = list(_affected(purpose, withdraw=withdraw))
            new = services.rotate_key(purpose=purpose, withdraw=withdraw)
            self.log_addition(request, new, f"{what} {purpose} in the admin: new signing key")
            for key in ended:
                self.log_change(
                    request,
                    key,
                    f"{what} {purpose} in the admin: "
                    f"{'withdrawn' if withdraw else 'retired'}, replaced by {new.kid}",
                )
        # rotate_key emptied this process's key caches before the commit; a request served
        # meanwhile may have read the old keys into them again.
        services.clear_active_key_cache()
        if withdraw:
            services.clear_public_key_cache()
            text = gettext(
                "Withdrew every older %(purpose)s key: the new signing key is %(kid)s. Reload "
                "the app servers (gunicorn: kill -HUP) so none keeps a withdrawn key in memory."
            )
        else:
            text = gettext(
                "Rotated the %(purpose)s key: the new signing key is %(kid)s. The previous one "
                "stays published until the tokens it signed have expired."
            )
        self.message_user(request, text % {"purpose": purpose, "kid": new.kid}, messages.SUCCESS)

    def _confirmation_page(
        self, request: HttpRequest, queryset: QuerySet, purposes: list[str], *, withdraw: bool
    ) -> HttpResponse:
        """As Django's delete confirmation: the page posts the same action and selection again,
        with the answer."""
        now = clock.now()
        groups = [
            {
                "purpose": purpose,
                "label": KeyPurpose(purpose).label,
                "signing_kid": _signing_kid(purpose) or "",
                "consequences": consequences(purpose, withdraw=withdraw),
                "keys": [
                    (key, key_status(key, now)) for key in _affected(purpose, withdraw=withdraw)
                ],
            }
            for purpose in purposes
        ]
        if withdraw:
            title = gettext("Withdraw signing keys (key leaked)")
            affected = gettext("These keys will be withdrawn:")
            submit = gettext("Yes, withdraw")
        else:
            title = gettext("Rotate signing keys")
            affected = gettext(
                "This key will be retired (it stays published until its tokens have expired):"
            )
            submit = gettext("Yes, rotate")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "intro": gettext(
                "This acts on the keys of each purpose below, whichever of them you selected. "
                "Are you sure?"
            ),
            "affected_heading": affected,
            "submit": submit,
            "groups": groups,
            "action": "withdraw" if withdraw else "rotate",
            # The rows the action was given ("select all" included): posted back as such.
            "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "confirm_field": CONFIRM_FIELD,
            "shown_kid_field": SHOWN_KID_FIELD,
        }
        return TemplateResponse(request, self.action_confirmation_template, context)


def _signing_kid(purpose: str) -> str | None:
    return (
        SigningKey.objects.filter(purpose=purpose, retired_at__isnull=True)
        .order_by("-created", "-id")
        .values_list("kid", flat=True)
        .first()
    )


def _affected(purpose: str, *, withdraw: bool) -> QuerySet[SigningKey]:
    """The keys a rotation retires, or a withdrawal withdraws (as services.rotate_key does)."""
    keys = SigningKey.objects.filter(purpose=purpose).order_by("-created", "-id")
    if withdraw:
        return keys.filter(withdrawn_at__isnull=True)
    return keys.filter(retired_at__isnull=True)
