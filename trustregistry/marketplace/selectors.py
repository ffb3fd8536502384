"""Reads for the marketplace pages: what an install link would create or change on a record.

The same plan is computed for the confirmation page (GET) and again, under a row lock, when
the administrator confirms (POST); `state` fingerprints the record so a confirmation given
for a record that changed in between is not applied blindly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from trustregistry.marketplace.params import UNNAMED, ClientType, InstallRequest
from trustregistry.registry import risks, validators
from trustregistry.registry import selectors as registry_selectors
from trustregistry.registry.models import Source, TrustedApplication

NEW_RECORD_STATE = "new"

LABELS = {
    "application_uri": pgettext_lazy("marketplace", "Application URI"),
    "name": pgettext_lazy("marketplace", "Name"),
    "client_type": pgettext_lazy("marketplace", "Client type"),
    "login_urls": pgettext_lazy("marketplace", "Login URLs"),
    "impersonate_internal_allowed": pgettext_lazy(
        "marketplace", "Impersonate as internal user allowed"
    ),
    "impersonate_community_allowed": pgettext_lazy(
        "marketplace", "Impersonate as community user allowed"
    ),
    "scope": pgettext_lazy("marketplace", "Scope"),
    "system_user_allowed": pgettext_lazy("marketplace", "System user allowed"),
    "system_user": pgettext_lazy("marketplace", "System user"),
    "is_enabled": pgettext_lazy("marketplace", "Is enabled"),
    "source": pgettext_lazy("marketplace", "Source"),
    "uninstalled_at": pgettext_lazy("marketplace", "Uninstalled"),
    "secret": pgettext_lazy("marketplace", "Secret"),
}


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str | None  # None: the record does not exist yet
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class InstallPlan:
    request: InstallRequest
    application: TrustedApplication | None
    state: str
    rows: list[FieldChange]
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # faults that depend on the stored record

    @property
    def creates(self) -> bool:
        return self.application is None

    @property
    def changes(self) -> list[FieldChange]:
        return [row for row in self.rows if row.changed]


def application_for_marketplace(*, application_uri: str) -> TrustedApplication | None:
    return registry_selectors.application_get(application_uri=application_uri)


def marketplace_system_username() -> str:
    return settings.TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER


def record_state(application: TrustedApplication | None) -> str:
    """A fingerprint of everything an install reads or writes on the record."""
    if application is None:
        return NEW_RECORD_STATE
    snapshot = {
        "pk": application.pk,
        "updated": application.updated.isoformat() if application.updated else None,
        "names": sorted((n.language, n.name) for n in application.names.all()),
        "secrets": sorted(s.pk for s in application.secrets.all()),
    }
    digest = hashlib.sha256(json.dumps(snapshot, sort_keys=True).encode()).hexdigest()
    return digest[:32]


def target_fields(request: InstallRequest) -> dict[str, Any]:
    """The record fields an install link sets: the link describes them all, with its defaults.

    Fields the marketplace does not describe (logout URLs, Basic, connector URL, public keys,
    other languages' names) keep their values on an existing record. With `serviceAccess=none`
    the system user itself is left as it is: without *system user allowed* it has no effect.
    """
    return {
        "client_type": request.client_type.value,
        "login_urls": [request.redirect_uri] if request.redirect_uri else [],
        "impersonate_internal_allowed": request.impersonate_internal,
        "impersonate_community_allowed": request.impersonate_community,
        "scope": request.scope,
        "system_user_allowed": request.system_user_allowed,
        "is_enabled": True,
        "source": Source.MARKETPLACE.value,
    }


def _yes_no(value: bool) -> str:
    return pgettext("marketplace", "yes") if value else pgettext("marketplace", "no")


def _display(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return _yes_no(value)
    if name == "client_type":
        return (
            pgettext("marketplace", "public")
            if value == ClientType.PUBLIC
            else pgettext("marketplace", "confidential")
        )
    if name == "source":
        return (
            pgettext("marketplace", "marketplace")
            if value == Source.MARKETPLACE
            else pgettext("marketplace", "manual")
        )
    if name == "uninstalled_at":
        return (
            formats.date_format(value, "DATETIME_FORMAT")
            if value
            else pgettext("marketplace", "no")
        )
    if isinstance(value, list):
        return ", ".join(value) if value else pgettext("marketplace", "(none)")
    return str(value) if value not in (None, "") else pgettext("marketplace", "(none)")


def install_plan(
    *, request: InstallRequest, application: TrustedApplication | None = None, lookup: bool = True
) -> InstallPlan:
    """What confirming `request` would do. Pass the (locked) record, or let it be looked up."""
    if application is None and lookup:
        application = application_for_marketplace(application_uri=request.application_uri)
    user_model = get_user_model()
    system_username = marketplace_system_username()
    rows: list[FieldChange] = []
    warnings: list[str] = []
    blockers: list[str] = []

    def row(name: str, old: Any, new: Any, *, exists: bool) -> None:
        rows.append(
            FieldChange(
                field=name,
                label=str(LABELS[name]),
                old=_display(name, old) if exists else None,
                new=_display(name, new),
            )
        )

    exists = application is not None
    if not exists:
        row("application_uri", None, request.application_uri, exists=False)
    default_language = settings.LANGUAGE_CODE
    current_name = None
    if application is not None:
        current_name = next(
            (n.name for n in application.names.all() if n.language == default_language), None
        )
    new_name = request.application_name or (current_name if exists else UNNAMED)
    row("name", current_name, new_name, exists=exists)

    for name, value in target_fields(request).items():
        row(
            name,
            getattr(application, name) if application is not None else None,
            value,
            exists=exists,
        )

    if request.system_user_allowed:
        current_user = (
            application.system_user.username if application and application.system_user else None
        )
        row("system_user", current_user, system_username, exists=exists)
        existing_user = user_model.objects.filter(username=system_username).first()
        if existing_user is not None and not existing_user.is_system:
            blockers.append(
                _(
                    "The user %(user)s named by TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER exists "
                    "but is not a system user, so it cannot act for a service application."
                )
                % {"user": system_username}
            )
        elif existing_user is None and (variant := case_variant(system_username)) is not None:
            blockers.append(case_variant_message(system_username, variant))
        elif existing_user is None:
            warnings.append(
                _(
                    "The system user %(user)s does not exist yet: "
                    "it will be created as a system user."
                )
                % {"user": system_username}
            )
    if application is not None and application.uninstalled_at is not None:
        row("uninstalled_at", application.uninstalled_at, None, exists=True)
    if request.request_secret:
        rows.append(
            FieldChange(
                field="secret",
                label=str(LABELS["secret"]),
                old=None
                if application is None
                else _("%(count)d stored") % {"count": application.secrets.count()},
                new=_("a new 24-character secret, shown once after you confirm"),
            )
        )

    if (
        application is not None
        and request.client_type == ClientType.PUBLIC
        and application.secrets.exists()
    ):
        blockers.append(
            _(
                "The existing record holds secrets, and a public client may hold none. Remove its "
                "secrets in the administration first, or install it as a confidential client."
            )
        )
    warnings.extend(_warnings(request, application))
    return InstallPlan(
        request=request,
        application=application,
        state=record_state(application),
        rows=rows,
        warnings=warnings,
        blockers=blockers,
    )


def _warnings(request: InstallRequest, application: TrustedApplication | None) -> list[str]:
    warnings = []
    if "sec" in request.scope.split():
        warnings.append(
            _(
                "This application asks for the sec scope: access to the security infrastructure "
                "(trusted applications and connector resolution). Grant it only to applications "
                "you trust with that."
            )
        )
    if not validators.application_uri_is_domain_based(request.application_uri):
        warnings.append(
            _(
                "The application URI does not look like a domain-based URI (recommended form: "
                "mywebsite.com/myapp1)."
            )
        )
    if application is None:
        for other in registry_selectors.application_uris_differing_in_case(
            application_uri=request.application_uri
        ):
            warnings.append(
                _(
                    "The record %(other)s has the same URI but for letter case. URIs are "
                    "case-sensitive, so this install adds another application, %(uri)s. "
                    "Is that intended?"
                )
                % {"uri": request.application_uri, "other": other}
            )
    if request.protocol_scopes:
        warnings.append(
            _(
                "%(scopes)s: every application that signs users in may ask for these; they are "
                "not stored on the record."
            )
            % {"scopes": " ".join(request.protocol_scopes)}
        )
    if not request.impersonate_internal and not request.system_user_allowed:
        warnings.append(
            _(
                "With impersonate=none and serviceAccess=none the application can neither sign "
                "users in nor obtain tokens of its own."
            )
        )
    has_secret = request.request_secret or (
        application is not None and application.secrets.exists()
    )
    if request.system_user_allowed and not has_secret:
        warnings.append(
            _(
                "Client credentials need a secret: the link does not request one, so generate one "
                "in the administration before the application can use them."
            )
        )
    if request.redirect_uri:
        # A homograph of the vendor's host (or "vendor.example。evil.com") reads as the old
        # login URL on the review page while codes would go elsewhere.
        warnings.extend(r.message for r in risks.url_host_risks([request.redirect_uri]))
    if application is not None and application.source == Source.MANUAL:
        warnings.append(
            _("This record was created by hand; after the install its source is the marketplace.")
        )
    return warnings


def case_variant(username: str) -> str | None:
    """The name of a user whose username differs from `username` only in letter case (usernames
    are unique whatever their case, so there is at most one), or None."""
    # Folded as the index folds (LOWER): `iexact` compares UPPER, which differs for some
    # letters on PostgreSQL ("İ" lowers to "i" but uppers to itself), and the plan would then
    # not say what the install then fails on.
    return (
        get_user_model()
        .objects.annotate(folded=Lower("username"))
        .filter(folded=Lower(Value(username)))
        .exclude(username=username)
        .values_list("username", flat=True)
        .first()
    )


def case_variant_message(username: str, variant: str) -> str:
    return _(
        "The user %(user)s named by TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER cannot be created: "
        "the user %(other)s differs from it only in letter case."
    ) % {"user": username, "other": variant}
