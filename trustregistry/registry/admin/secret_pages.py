"""The admin's secret pages: Generate secret and Rotate secret (the change page's buttons and
the list's actions), the question asked before they end a live secret, and the page that shows
each new secret once."""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trustregistry.registry import selectors, services
from trustregistry.registry.models import TrustedApplication

# Posted by the page that asks before live secrets end (`_confirm_secrets_page`): the answer,
# and the ids of the secrets it listed. The answer agrees to end those, not whatever would end
# by the time it arrives: another administrator may have added or renewed a secret meanwhile.
CONFIRM_FIELD = "confirm_end_secrets"
CONFIRMED_SECRETS_FIELD = "confirmed_secrets"


def _confirmed(request: HttpRequest) -> frozenset[int]:
    if request.POST.get(CONFIRM_FIELD) != "yes":
        return frozenset()
    return frozenset(
        int(part)
        for part in request.POST.get(CONFIRMED_SECRETS_FIELD, "").split(",")
        # ASCII only: str.isdigit() also takes "²" (which int() refuses) and "١" (read as 1).
        if part.isascii() and part.isdigit() and len(part) <= 18
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


class SecretPages:
    """Mixed into the trusted-application ModelAdmin, which supplies `_get_for_change`,
    `admin_site` and `model`."""

    if TYPE_CHECKING:
        admin_site: Any
        model: Any

        def _get_for_change(self, request: HttpRequest, object_id: str) -> TrustedApplication: ...

    @admin.action(
        description=_("Generate a new secret (replaces all; shown once)"), permissions=["change"]
    )
    def generate_secret(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return self._secrets_page(request, list(queryset), rotate=False)

    @admin.action(
        description=_("Rotate: add a second secret beside the newest (shown once)"),
        permissions=["change"],
    )
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return self._secrets_page(request, list(queryset), rotate=True)

    def _secrets_page(
        self, request: HttpRequest, apps: list[TrustedApplication], *, rotate: bool
    ) -> HttpResponse:
        confirmed = _confirmed(request)
        ending = [
            (app, ended)
            for app in apps
            if app.client_type != "public"
            and (ended := selectors.secrets_ending(application=app, replace_all=not rotate))
        ]
        if any(secret.pk not in confirmed for _app, ended in ending for secret in ended):
            if request.POST.get(CONFIRM_FIELD) == "yes":
                messages.warning(request, services.SecretsChangedMeanwhile().messages[0])
            return self._confirm_secrets_page(request, apps, ending, rotate=rotate)
        results = []
        for app in apps:
            if app.client_type == "public":
                messages.error(
                    request,
                    _("%(uri)s is a public client: it may hold no secret, none was made.")
                    % {"uri": app},
                )
                continue
            try:
                generated = services.secret_generate(
                    application=app,
                    actor=request.user,
                    replace_all=not rotate,
                    reason="secret rotated" if rotate else "secret generated",
                    confirmed_ending=confirmed,
                )
            except ValidationError as exc:
                # Changed between the records' reading above and this one's lock: a secret
                # arrived (SecretsChangedMeanwhile) or, having none, it was made public. The
                # other records' new secrets, committed, are still shown below; this one is
                # left as it is.
                messages.error(request, f"{app}: {exc.messages[0]}")
                continue
            except TrustedApplication.DoesNotExist:  # deleted meanwhile
                messages.error(request, f"{app}: {_('No such trusted application.')}")
                continue
            results.append((app, generated))
        if not results:
            if len(apps) == 1:
                return HttpResponseRedirect(
                    reverse("admin:registry_trustedapplication_change", args=[apps[0].pk])
                )
            return HttpResponseRedirect(reverse("admin:registry_trustedapplication_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("New secrets"),
            "results": results,
            "rotate": rotate,
        }
        response = TemplateResponse(request, "registry/admin/secret_result.html", context)
        return _no_store(response)

    def _confirm_secrets_page(
        self,
        request: HttpRequest,
        apps: list[TrustedApplication],
        ending: list[tuple[TrustedApplication, list[Any]]],
        *,
        rotate: bool,
    ) -> HttpResponse:
        """Asked before a live secret ends (as Django asks before a bulk delete): the page posts
        the same request again, with the confirmation."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Are you sure?"),
            "ending": ending,
            "rotate": rotate,
            "confirm_field": CONFIRM_FIELD,
            "confirmed_field": CONFIRMED_SECRETS_FIELD,
            "confirmed": ",".join(
                str(secret.pk)
                for _app, ended in ending
                for secret in sorted(ended, key=attrgetter("pk"))
            ),
            # From the list's action: the action and its records go back with the answer.
            "action": request.POST.get("action", ""),
            "selected": [app.pk for app in apps] if request.POST.get("action") else [],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "registry/admin/secret_confirm.html", context)

    def generate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._secrets_page(request, [self._get_for_change(request, object_id)], rotate=False)

    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._secrets_page(request, [self._get_for_change(request, object_id)], rotate=True)
