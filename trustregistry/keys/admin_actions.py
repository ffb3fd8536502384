"""The actions of the signing keys' admin (keys/admin.py): Stage next key, Rotate and Withdraw
(key leaked), as `manage.py rotate_keys --stage`, plain and `--withdraw`. Each is asked for on a
confirmation page, needs the change permission, and is recorded in the admin's log together
with the change it made."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trustregistry.common import clock
from trustregistry.common.admin import warn_nothing_selected
from trustregistry.keys import services
from trustregistry.keys.admin_texts import ROTATE, STAGE, WITHDRAW, consequences, key_status
from trustregistry.keys.models import KeyPurpose, SigningKey

# Posted by the confirmation page: the answer, and the signing and staged kids of each purpose
# the page was shown with, so a resubmitted or stale page (a double click, the back button,
# another administrator's rotation or staging meanwhile) does not act a second time, nor
# activate a staged key the page did not name.
CONFIRM_FIELD = "confirm"
SHOWN_KID_FIELD = "shown_kid"
SHOWN_STAGED_FIELD = "shown_staged_kid"


class SigningKeyActions(admin.ModelAdmin):
    """The keys' ModelAdmin (keys/admin.py) is made from this one."""

    action_confirmation_template = "admin/keys/signingkey/action_confirmation.html"

    @admin.action(description=_("Stage next key"), permissions=["change"])
    def stage(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._act(request, queryset, STAGE)

    @admin.action(description=_("Rotate"), permissions=["change"])
    def rotate(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._act(request, queryset, ROTATE)

    @admin.action(description=_("Withdraw (key leaked)"), permissions=["change"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._act(request, queryset, WITHDRAW)

    def _act(self, request: HttpRequest, queryset: QuerySet, action: str) -> HttpResponse | None:
        chosen = set(queryset.values_list("purpose", flat=True))
        purposes = [p for p in KeyPurpose.values if p in chosen]
        if not purposes:  # ids of no row (deleted meanwhile, or forged)
            warn_nothing_selected(self, request)
            return None
        if request.POST.get(CONFIRM_FIELD) != "yes":
            return self._confirmation_page(request, queryset, purposes, action)
        shown = set(request.POST.getlist(SHOWN_KID_FIELD))
        shown_staged = set(request.POST.getlist(SHOWN_STAGED_FIELD))
        for purpose in purposes:
            if action == STAGE:
                self._stage_one(request, purpose, shown, shown_staged)
            else:
                self._rotate_one(request, purpose, shown, shown_staged, withdraw=action == WITHDRAW)
        return None

    def _changed_since_shown(
        self, request: HttpRequest, purpose: str, shown: set[str], shown_staged: set[str]
    ) -> bool:
        """Whether the purpose's keys changed after the confirmation page was shown (a double
        click, the back button, another administrator): then nothing is done, with a warning.
        Asked under the lock of the purpose's key writes (services.one_writer_of_keys): read
        before it, two confirmations sent at once both found the shown key signing, and the
        second rotated again (on PostgreSQL it withdrew the first one's new key)."""
        signing, staged = _signing_kid(purpose), _staged_kid(purpose)
        if (signing or "") not in shown:
            self._changed_meanwhile(
                request,
                gettext(
                    "The %(purpose)s key changed after the confirmation page was shown "
                    "(its signing key is now %(kid)s): nothing was done to it. Select it "
                    "again to go on."
                ),
                purpose,
                signing,
            )
            return True
        if staged is not None and staged not in shown_staged:
            self._changed_meanwhile(
                request,
                gettext(
                    "A %(purpose)s key was staged after the confirmation page was shown "
                    "(%(kid)s): nothing was done. Select it again to go on."
                ),
                purpose,
                staged,
            )
            return True
        return False

    def _changed_meanwhile(
        self, request: HttpRequest, text: str, purpose: str, kid: str | None
    ) -> None:
        self.message_user(request, text % {"purpose": purpose, "kid": kid or "—"}, messages.WARNING)

    def _stage_one(
        self, request: HttpRequest, purpose: str, shown: set[str], shown_staged: set[str]
    ) -> None:
        with transaction.atomic():
            services.one_writer_of_keys(purpose)
            if self._changed_since_shown(request, purpose, shown, shown_staged):
                return
            key, created = services.stage_key(purpose=purpose)
            if created:
                self.log_addition(request, key, f"stage {purpose} in the admin: new staged key")
        if created:
            text = gettext(
                "Staged the next %(purpose)s key %(kid)s: it is published, and signs from the "
                "next rotation."
            )
            level = messages.SUCCESS
        else:  # staged meanwhile by `rotate_keys --stage`, which the page could not know
            text = gettext(
                "The %(purpose)s key %(kid)s was staged already: it is kept, and nothing new was "
                "made."
            )
            level = messages.INFO
        self.message_user(request, text % {"purpose": purpose, "kid": key.kid}, level)

    def _rotate_one(
        self,
        request: HttpRequest,
        purpose: str,
        shown: set[str],
        shown_staged: set[str],
        *,
        withdraw: bool,
    ) -> None:
        # The rotation and its record in the admin's log commit together: no key changes
        # unaudited. The log is in English, as the registry's history: who, when, what, and on
        # each key's own history page who retired, withdrew or activated it. The keys it ends
        # are listed under the lock too, so the log names the keys the rotation really ended.
        what = "withdraw (key leaked)" if withdraw else "rotate"
        with transaction.atomic():
            services.one_writer_of_keys(purpose)
            if self._changed_since_shown(request, purpose, shown, shown_staged):
                return
            ended = list(_affected(purpose, WITHDRAW if withdraw else ROTATE))
            new = services.rotate_key(purpose=purpose, withdraw=withdraw)
            if new.was_staged:
                self.log_change(
                    request, new, f"{what} {purpose} in the admin: staged key, now signing"
                )
            else:
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
        elif new.was_staged:
            text = gettext(
                "Rotated the %(purpose)s key: the staged key %(kid)s now signs. The previous one "
                "stays published until the tokens it signed have expired."
            )
        else:
            text = gettext(
                "Rotated the %(purpose)s key: the new signing key is %(kid)s. The previous one "
                "stays published until the tokens it signed have expired."
            )
        self.message_user(request, text % {"purpose": purpose, "kid": new.kid}, messages.SUCCESS)

    def _confirmation_page(
        self, request: HttpRequest, queryset: QuerySet, purposes: list[str], action: str
    ) -> HttpResponse:
        """As Django's delete confirmation: the page posts the same action and selection again,
        with the answer."""
        now = clock.now()
        groups = []
        for purpose in purposes:
            staged = services.staged_key(purpose)
            groups.append(
                {
                    "purpose": purpose,
                    "label": KeyPurpose(purpose).label,
                    "signing_kid": _signing_kid(purpose) or "",
                    "staged_kid": staged.kid if staged is not None else "",
                    "consequences": consequences(purpose, action, staged),
                    "keys": [(key, key_status(key, now)) for key in _affected(purpose, action)],
                }
            )
        if action == WITHDRAW:
            title = gettext("Withdraw signing keys (key leaked)")
            affected = gettext("These keys will be withdrawn:")
            submit = gettext("Yes, withdraw")
        elif action == STAGE:
            title = gettext("Stage the next signing keys")
            affected = gettext("This key is staged already, and is kept:")
            submit = gettext("Yes, stage")
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
            "action": action,
            # The rows the action was given ("select all" included): posted back as such.
            "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "confirm_field": CONFIRM_FIELD,
            "shown_kid_field": SHOWN_KID_FIELD,
            "shown_staged_field": SHOWN_STAGED_FIELD,
        }
        return TemplateResponse(request, self.action_confirmation_template, context)


def _signing_kid(purpose: str) -> str | None:
    return SigningKey.objects.signing(purpose).values_list("kid", flat=True).first()


def _staged_kid(purpose: str) -> str | None:
    return SigningKey.objects.staged(purpose).values_list("kid", flat=True).first()


def _affected(purpose: str, action: str) -> QuerySet[SigningKey]:
    """The keys a rotation retires, a withdrawal withdraws (the staged one included), or a
    staging keeps (as services.rotate_key and stage_key do)."""
    if action == WITHDRAW:
        keys = SigningKey.objects.filter(purpose=purpose, withdrawn_at__isnull=True)
    elif action == STAGE:
        keys = SigningKey.objects.staged(purpose)
    else:
        keys = SigningKey.objects.signing(purpose)
    return keys.order_by("-created", "-id")
