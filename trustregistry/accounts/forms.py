"""Sign-in forms that say why a throttled sign-in was refused (accounts/backends.py), instead
of "did not match", which would send a person on guessing."""

from __future__ import annotations

import math
from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from trustregistry.accounts.backends import LoginBlock, login_block
from trustregistry.accounts.models import UserKind


def block_message(block: LoginBlock) -> str:
    minutes = max(1, math.ceil(block.retry_after / 60))
    if block.whole_address:
        text = ngettext(
            "Too many failed sign-ins from your address. Try again in %(minutes)s minute.",
            "Too many failed sign-ins from your address. Try again in %(minutes)s minutes.",
            minutes,
        )
    else:
        text = ngettext(
            "Too many failed sign-ins with this username from your address. "
            "Try again in %(minutes)s minute.",
            "Too many failed sign-ins with this username from your address. "
            "Try again in %(minutes)s minutes.",
            minutes,
        )
    return text % {"minutes": minutes}


class ThrottleAwareAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in form (`admin.site.login_form`)."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if getattr(user, "kind", None) != UserKind.INTERNAL:
            # Only internal staff use the admin (accounts/admin.py); the same message as for a
            # non-staff user.
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )

    def get_invalid_login_error(self) -> ValidationError:
        block = login_block(self.request)
        if block is not None:
            return ValidationError(block_message(block), code="throttled")
        return super().get_invalid_login_error()


class KindUserCreationForm(AdminUserCreationForm):
    """The admin's add-user form. A system user is a service identity that never gets a
    password (`KindUserAdmin.save_model` makes it unusable), so choosing that kind asks for
    none: password-based authentication is off for it, whatever the radio buttons say."""

    def clean(self) -> dict[str, Any] | None:
        if self.cleaned_data.get("kind") == UserKind.SYSTEM:
            self.cleaned_data["usable_password"] = "false"
        return super().clean()
