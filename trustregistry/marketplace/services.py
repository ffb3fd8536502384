"""Writes of the marketplace flow (SPEC section 8): install (create or update) and uninstall.

Both go through the registry's services, so validation, history (with the acting user and a
`marketplace …` reason) and token revocation are the registry's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trustregistry.common import clock
from trustregistry.common.exceptions import ApplicationError, NotFound
from trustregistry.marketplace import selectors
from trustregistry.marketplace.params import UNNAMED, InstallRequest, MarketplaceRefusal
from trustregistry.registry import services as registry_services
from trustregistry.registry.models import TrustedApplication

SECRET_LENGTH = 24
REASON_INSTALL = "marketplace install"
REASON_REINSTALL = "marketplace reinstall"
REASON_UNINSTALL = "marketplace uninstall"


class StaleConfirmation(ApplicationError):
    code = "conflict"
    status = 409
    message = "The record changed since the page was shown. Review the changes and confirm again."


class ApplicationNotFound(NotFound):
    code = "unknown_application"
    message = "No trusted application has this application URI."


@dataclass(frozen=True)
class InstallResult:
    application: TrustedApplication
    created: bool
    reinstalled: bool
    secret: str | None  # the plain secret, shown once; only its hash is stored


def system_user_get_or_create() -> Any:
    """The system application user named by the setting, created as a `system` user if missing."""
    username = settings.TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        try:
            with transaction.atomic():
                user = user_model.objects.create_system_user(username)
        except (IntegrityError, ValidationError) as exc:
            # Created by a concurrent install meanwhile, or a name taken whatever its case.
            user = user_model.objects.filter(username=username).first()
            if user is None:
                variant = selectors.case_variant(username)
                if variant is None:
                    raise
                raise MarketplaceRefusal(
                    [selectors.case_variant_message(username, variant)]
                ) from exc
    if not user.is_system:
        raise MarketplaceRefusal(
            [
                _(
                    "The user %(user)s named by TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER "
                    "is not a system user."
                )
                % {"user": username}
            ]
        )
    return user


@transaction.atomic
def marketplace_install(
    *, request: InstallRequest, actor: Any, expected_state: str
) -> InstallResult:
    """Create or update the record as the link describes, if it is still what the actor reviewed."""
    application = (
        TrustedApplication.objects.select_for_update(no_key=True)
        .filter(client_id=request.application_uri)
        .first()
    )
    plan = selectors.install_plan(request=request, application=application, lookup=False)
    if plan.state != expected_state:
        raise StaleConfirmation()
    if plan.blockers:
        raise MarketplaceRefusal(plan.blockers)

    fields = selectors.target_fields(request)
    if request.system_user_allowed:
        fields["system_user"] = system_user_get_or_create()
    default_language = settings.LANGUAGE_CODE

    created = application is None
    reinstalled = False
    if application is None:
        try:
            application = registry_services.application_create(
                application_uri=request.application_uri,
                names={default_language: request.application_name or UNNAMED},
                actor=actor,
                reason=REASON_INSTALL,
                **fields,
            )
        except registry_services.ApplicationExists as exc:
            # Another install of the same URI committed first: what was reviewed is stale.
            raise StaleConfirmation() from exc
    else:
        reinstalled = application.uninstalled_at is not None
        registry_services.application_update(
            application=application,
            actor=actor,
            reason=REASON_REINSTALL if reinstalled else REASON_INSTALL,
            uninstalled_at=None,
            **fields,
        )
        if request.application_name:
            names = {n.language: n.name for n in application.names.all()}
            names[default_language] = request.application_name
            registry_services.application_set_names(
                application=application, names=names, actor=actor
            )

    secret = None
    if request.request_secret:
        secret = registry_services.secret_generate(
            application=application, actor=actor, length=SECRET_LENGTH
        ).plain
    return InstallResult(
        application=application, created=created, reinstalled=reinstalled, secret=secret
    )


@transaction.atomic
def marketplace_uninstall(*, application_uri: str, actor: Any) -> TrustedApplication:
    """Disable the record and mark it uninstalled; never deleted, a reinstall revives it."""
    application = (
        TrustedApplication.objects.select_for_update(no_key=True)
        .filter(client_id=application_uri)
        .first()
    )
    if application is None:
        raise ApplicationNotFound()
    if application.uninstalled_at is not None and not application.is_enabled:
        return application
    now = clock.now()
    # application_set_enabled saves only is_enabled (and revokes the live tokens); the mark is
    # written here and set on the instance, so the one history row it writes shows both.
    TrustedApplication.objects.filter(pk=application.pk).update(uninstalled_at=now)
    application.uninstalled_at = now
    if application.is_enabled:
        registry_services.application_set_enabled(
            application=application, enabled=False, actor=actor, reason=REASON_UNINSTALL
        )
    else:
        registry_services.history_note(
            application=application, actor=actor, reason=REASON_UNINSTALL
        )
    return application
