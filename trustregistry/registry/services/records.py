"""Writes to trusted-application records: create, change, enable and disable, names, history
notes. One action each, keyword-only, atomic, validated with full_clean() before save; every
change lands in the record's history with its actor. Every write to a record or its secrets
locks the record first (`_lock`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from trustregistry.common import clock
from trustregistry.registry.models import ApplicationName, ApplicationSecret, TrustedApplication
from trustregistry.registry.services.revocation import (
    Permissions,
    revoke_live_tokens,
    revoke_withdrawn_tokens,
)

# Fields a caller may set through create/update (the JSON of SPEC section 6 minus names/secrets).
EDITABLE_FIELDS = (
    "client_type",
    "basic_auth_allowed",
    "impersonate_internal_allowed",
    "impersonate_community_allowed",
    "login_urls",
    "logout_urls",
    "is_enabled",
    "scope",
    "system_user",
    "system_user_allowed",
    "system_user_login_url",
    "connector_url",
    "public_keys",
    "source",
)


class ApplicationExists(ValidationError):
    """A record with this application URI exists (the URI is unique)."""

    def __init__(self, application_uri: str, *, field: str = "client_id"):
        self.application_uri = application_uri
        super().__init__(
            {field: [f"An application with the URI {application_uri!r} already exists."]}
        )


def _attach_actor(app: TrustedApplication, actor: Any, reason: str | None) -> None:
    # django-simple-history reads these when it writes the historical row.
    if actor is not None and getattr(actor, "pk", None) is not None:
        app._history_user = actor  # type: ignore[attr-defined]
    if reason:
        app._change_reason = reason  # type: ignore[attr-defined]


@transaction.atomic
def application_create(
    *,
    application_uri: str,
    names: dict[str, str],
    actor: Any = None,
    reason: str | None = None,
    **fields: Any,
) -> TrustedApplication:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    app = TrustedApplication(client_id=application_uri, **fields)
    try:
        app.full_clean()
    except ValidationError as exc:
        if "client_id" in exc.error_dict and _uri_taken(application_uri):
            raise ApplicationExists(application_uri) from exc
        raise
    _attach_actor(app, actor, reason or "created")
    try:
        with transaction.atomic():
            app.save()
    except IntegrityError as exc:
        # Created by a concurrent request since full_clean() looked.
        if _uri_taken(application_uri):
            raise ApplicationExists(application_uri) from exc
        raise
    application_set_names(application=app, names=names, actor=actor)
    return app


def _uri_taken(application_uri: str) -> bool:
    return TrustedApplication.objects.filter(client_id=application_uri).exists()


@transaction.atomic
def application_update(
    *, application: TrustedApplication, actor: Any = None, reason: str | None = None, **fields: Any
) -> TrustedApplication:
    # `uninstalled_at`: the marketplace's own field (a reinstall clears it), not editable.
    unknown = set(fields) - {*EDITABLE_FIELDS, "uninstalled_at"}
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    # The row is locked and read again before the change: a save writes every field, and a
    # field this call does not change (say, a disable committed meanwhile) must keep its value.
    _lock(application)
    application.refresh_from_db()
    was_enabled = application.is_enabled
    before = Permissions.of(application)
    for name, value in fields.items():
        setattr(application, name, value)
    application.full_clean()
    if application.client_type == "public" and _secrets_now(application).exists():
        raise ValidationError({"client_type": PUBLIC_STILL_HOLDS_SECRETS})
    _attach_actor(application, actor, reason)
    application.save()
    if was_enabled != application.is_enabled:
        # As `application_set_enabled`: the REST API and import disable and enable through
        # here too.
        revoke_live_tokens(application)
    else:
        revoke_withdrawn_tokens(application, before=before)
    return application


@transaction.atomic
def application_save_edited(*, application: TrustedApplication, actor: Any = None) -> None:
    """Save a record as an edit form validated it (the admin's change form, which refuses a
    record changed elsewhere since its page was shown), under the record's lock. Enabling or
    disabling revokes the record's tokens, as `application_set_enabled`; withdrawing a
    permission revokes the tokens it gave (`revoke_withdrawn_tokens`)."""
    _lock(application)
    stored = TrustedApplication.objects.filter(pk=application.pk).first()
    _attach_actor(application, actor, None)  # the form's caller set the reason
    application.save()
    if stored is None or stored.is_enabled != application.is_enabled:
        revoke_live_tokens(application)
    else:
        revoke_withdrawn_tokens(application, before=Permissions.of(stored))


@transaction.atomic
def application_set_names(
    *, application: TrustedApplication, names: dict[str, str], actor: Any = None
) -> None:

    languages = dict(settings.LANGUAGES)
    cleaned = {lang: (name or "").strip() for lang, name in (names or {}).items()}
    unknown = [lang for lang in cleaned if lang not in languages]
    if unknown:
        raise ValidationError({"names": f"Unknown language: {', '.join(unknown)}."})
    if not cleaned.get(settings.LANGUAGE_CODE):
        raise ValidationError(
            {"names": f"The name in the default language ({settings.LANGUAGE_CODE}) is required."}
        )
    existing = {n.language: n for n in application.names.all()}
    for lang, name in cleaned.items():
        current = existing.get(lang)
        if not name:
            if current:
                current.delete()
            continue
        if current is None:
            current = ApplicationName(application=application, language=lang, name=name)
        elif current.name == name:
            continue
        current.name = name
        try:
            current.full_clean()
        except ValidationError as exc:
            # Named as the caller wrote it: names.<language>, not the model's "name".
            raise ValidationError({f"names.{lang}": exc.messages}) from exc
        if actor is not None:
            current._history_user = actor  # type: ignore[attr-defined,union-attr]
        current.save()
    for lang, current in existing.items():
        if lang not in cleaned:
            current.delete()
    if hasattr(application, "_prefetched_objects_cache"):
        application._prefetched_objects_cache.pop("names", None)


@transaction.atomic
def application_set_enabled(
    *, application: TrustedApplication, enabled: bool, actor: Any = None, reason: str | None = None
) -> TrustedApplication:
    """Disabling takes effect everywhere at once: every token check reads the flag."""
    _lock(application)
    application.is_enabled = (
        type(application).objects.values_list("is_enabled", flat=True).get(pk=application.pk)
    )
    if application.is_enabled == enabled:
        return application
    application.is_enabled = enabled
    _attach_actor(application, actor, reason or ("enabled" if enabled else "disabled"))
    application.save(update_fields=["is_enabled", "updated"])
    revoke_live_tokens(application)
    return application


def application_lock(*, application: TrustedApplication) -> None:
    """Lock the record for the rest of the caller's transaction, before the service that
    writes it locks it again: for a caller that checks the record first (the API's
    `If-Match`), so that no other write comes between its check and the write."""
    _lock(application)


def _lock(application: TrustedApplication) -> None:
    """Lock the record's row for the rest of the transaction. Every write to a record or its
    secrets takes this lock first, so concurrent writes of one record run one after the other
    and always lock in the same order (record, then secrets): no deadlock, no lost update."""
    TrustedApplication.objects.select_for_update(no_key=True).filter(pk=application.pk).values_list(
        "pk", flat=True
    ).first()


def _secrets_now(application: TrustedApplication) -> Any:
    """The record's secrets as the database holds them now (under `_lock`): never the
    `secrets` a caller may have prefetched before the lock, which a concurrent write has
    made stale."""
    return ApplicationSecret.objects.filter(application_id=application.pk).order_by("created", "id")


PUBLIC_STILL_HOLDS_SECRETS = _(
    "The record still holds secrets: a public client may hold none. Remove them with the change."
)
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
HISTORY_NOTE_LENGTH = 1000


def _stale(last_used: dt.datetime | None, now: dt.datetime) -> bool:
    return last_used is None or now - last_used >= LAST_USED_RESOLUTION


def application_mark_used(
    *, application: TrustedApplication, now: dt.datetime | None = None
) -> None:
    now = now or clock.now()
    if _stale(application.last_used_at, now):
        TrustedApplication.objects.filter(pk=application.pk).update(last_used_at=now)
        application.last_used_at = now


def history_note(*, application: TrustedApplication, actor: Any, reason: str) -> None:
    """Record an event that changes no field (a handshake test, an install) in the history.
    The note is kept whole up to `HISTORY_NOTE_LENGTH` characters (a connector's reason is at
    most 200)."""
    _attach_actor(application, actor, reason[:HISTORY_NOTE_LENGTH])
    application.save(update_fields=["updated"])
