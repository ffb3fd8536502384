from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from trustregistry.common.logging import os_account

logger = logging.getLogger(__name__)


class UserKind(models.TextChoices):
    INTERNAL = "internal", _("Internal (staff of the organisation)")
    COMMUNITY = "community", _("Community (external)")
    SYSTEM = "system", _("System (service identity)")


class KindUserManager(UserManager["User"]):
    def _create_user_object(self, username, email, password, **extra_fields):  # type: ignore[no-untyped-def]
        # `createsuperuser` looks the username up as written only: a name taken in another
        # letter case would reach the index and stop the command with an IntegrityError
        # traceback. Checked here, it says so (a ValidationError, which the command reports).
        user = super()._create_user_object(username, email, password, **extra_fields)  # type: ignore[misc]
        user.validate_constraints()
        return user

    def create_superuser(self, username, email=None, password=None, **extra_fields):  # type: ignore[no-untyped-def,override]
        # `manage.py createsuperuser` (and scripts): no admin log entry is written for them.
        extra_fields.setdefault("kind", UserKind.INTERNAL)
        user = super().create_superuser(username, email, password, **extra_fields)
        logger.info("user %s: created as a superuser by %s", user.get_username(), changed_by())
        return user

    def create_system_user(self, username: str) -> User:
        user = self.model(username=username, kind=UserKind.SYSTEM, is_active=True)
        user.set_unusable_password()
        user.full_clean()
        user.save()
        return user


class User(AbstractUser):
    """A person or service identity. `kind` decides which applications it may use."""

    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=UserKind.choices,
        default=UserKind.INTERNAL,
        db_index=True,
        help_text=_(
            "Internal: staff. Community: external, self-registered. "
            "System: a service identity used only as an application's system user."
        ),
    )

    objects = KindUserManager()  # type: ignore[misc]

    def validate_constraints(self, exclude: Any = None) -> None:
        # The case-insensitive index is about the username: its refusal belongs beside that
        # field (Django files a constraint on an expression under the whole form).
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict({})
            general = errors.pop(NON_FIELD_ERRORS, [])
            username = [e for e in general if getattr(e, "code", None) == "unique"]
            if username:
                errors.setdefault("username", []).extend(username)
            rest = [e for e in general if e not in username]
            if rest:
                errors[NON_FIELD_ERRORS] = rest
            raise ValidationError(errors) from error

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        constraints = [
            # The forms refuse a username that differs from a taken one only in case, one
            # sign-up after the other; this index also refuses it from concurrent sign-ups.
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_code="unique",
                violation_error_message=_("A user with that username already exists."),
            )
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # set_password() keeps the new password until the save; the line names no password.
        password_changed = self.pk is not None and getattr(self, "_password", None) is not None
        self._save_revoking_tokens(*args, **kwargs)
        if password_changed:
            logger.info("user %s: password changed by %s", self.get_username(), changed_by())

    def _save_revoking_tokens(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if self.pk is None or (update_fields is not None and "is_active" not in update_fields):
            super().save(*args, **kwargs)  # a new user, or `last_login` at each sign-in
            return
        with transaction.atomic():
            # no_key: a token being written for this user takes a key-share lock on its row
            # (the foreign key) while holding its refresh token's or code's row, which the
            # revocation below waits for; FOR UPDATE would wait for that key-share lock in
            # turn (a deadlock on PostgreSQL). Concurrent saves of the user still queue here.
            was_active = (
                type(self)
                .objects.select_for_update(no_key=True)
                .filter(pk=self.pk)
                .values_list("is_active", flat=True)
                .first()
            )
            super().save(*args, **kwargs)
            if was_active is not None and was_active != self.is_active:
                # Deferred import: the OAuth layer's models refer to this one.
                from trustregistry.oauth.services import user_tokens_revoke

                user_tokens_revoke(user_id=self.pk)

    @property
    def is_system(self) -> bool:
        return self.kind == UserKind.SYSTEM

    @property
    def can_log_in_interactively(self) -> bool:
        return self.is_active and self.kind != UserKind.SYSTEM


def changed_by() -> str:
    """Who is changing a user, for the log lines above: the signed-in user of the web request
    being served (the admin; simple_history's middleware keeps the request), else the
    operating-system account running a command (`changepassword`, `createsuperuser`, a
    shell), for which the admin writes no log entry."""
    from simple_history.models import HistoricalRecords

    request = getattr(HistoricalRecords.context, "request", None)
    if request is None:
        return f"OS user {os_account()} (no web request)"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.get_username())
    return "an anonymous web request"
