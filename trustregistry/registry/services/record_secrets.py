"""Writes to a record's secrets: add a hash, generate, replace all, verify. At most two live
secrets; a public record holds none. Each locks the record first (records._lock), so secret
writes and record writes of one record run one after the other."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from trustregistry.common import clock
from trustregistry.registry import secrets as secret_hashing
from trustregistry.registry import selectors
from trustregistry.registry.models import ApplicationSecret, TrustedApplication
from trustregistry.registry.services.records import (
    _lock,
    _secrets_now,
    _stale,
    application_mark_used,
    history_note,
)

SECRET_ALREADY_ON_RECORD = _("This secret is already on the record.")
PUBLIC_HOLDS_NO_SECRET = _(
    "A public client cannot keep a secret (a secret shipped in a browser or native app is "
    "readable by anyone), so a public record may hold none. Make it confidential, or leave "
    "the secret out."
)


class SecretsChangedMeanwhile(ValidationError):
    """Generating would end a live secret the administrator was not shown (one added or
    renewed by someone else since the question was asked): nothing was changed."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "The record's secrets changed since you were asked: a secret you were not "
                "shown would stop working. Nothing was changed."
            )
        )


@dataclass(frozen=True)
class GeneratedSecret:
    secret: ApplicationSecret
    plain: str  # shown once, never stored


@transaction.atomic
def secret_add_hash(
    *,
    application: TrustedApplication,
    secret_hash: str,
    expires: dt.datetime | None = None,
    actor: Any = None,
) -> ApplicationSecret:
    """Store a secret hash (base64 or hex). At most two secrets: a third replaces an expired
    one, else the oldest."""
    normalised = secret_hashing.normalise_secret_hash(secret_hash)
    locked = TrustedApplication.objects.select_for_update(no_key=True).get(pk=application.pk)
    if locked.client_type == "public":
        # SPEC section 2, for every caller (the admin, the API and import check it sooner).
        raise ValidationError({"secret_hash": PUBLIC_HOLDS_NO_SECRET})
    existing = list(locked.secrets.order_by("created", "id"))
    if any(old.secret_hash == normalised for old in existing):
        # Added again, it would push the other live secret out while adding nothing.
        raise ValidationError({"secret_hash": SECRET_ALREADY_ON_RECORD})
    for old in ApplicationSecret.pushed_out_by_one_more(existing):
        if actor is not None:
            old._history_user = actor  # type: ignore[attr-defined]
        old.delete()
    secret = ApplicationSecret(
        application=locked, secret_hash=normalised, expires=expires, created=clock.now()
    )
    secret.full_clean()
    if actor is not None:
        secret._history_user = actor  # type: ignore[attr-defined]
    secret.save()
    if hasattr(application, "_prefetched_objects_cache"):
        application._prefetched_objects_cache.pop("secrets", None)
    return secret


@transaction.atomic
def secret_generate(
    *,
    application: TrustedApplication,
    expires: dt.datetime | None = None,
    actor: Any = None,
    length: int = 40,
    replace_all: bool = False,
    reason: str | None = None,
    confirmed_ending: Collection[int] | None = None,
) -> GeneratedSecret:
    """A new random secret; only its hash is stored, the plain value is returned once.

    `replace_all` removes every other secret first (a fresh start); otherwise the new secret
    sits beside the newest one (rotation: at most two, the oldest goes). `reason` also notes
    the event in the record's own history ("secret generated", "secret rotated").
    `confirmed_ending`: the ids of the live secrets the caller agreed to end (the admin's
    question); any other live secret this would end raises `SecretsChangedMeanwhile`,
    checked under the record's lock. None: no question was asked (the API)."""
    _lock(application)
    if confirmed_ending is not None:
        ending = selectors.secrets_ending(application=application, replace_all=replace_all)
        if any(secret.pk not in confirmed_ending for secret in ending):
            raise SecretsChangedMeanwhile()
    if replace_all:
        for old in _secrets_now(application):
            if actor is not None:
                old._history_user = actor  # type: ignore[attr-defined]
            old.delete()
    plain = secret_hashing.generate_secret(length)
    secret = secret_add_hash(
        application=application,
        secret_hash=secret_hashing.hash_secret(plain),
        expires=expires,
        actor=actor,
    )
    if reason:
        history_note(application=application, actor=actor, reason=reason)
    return GeneratedSecret(secret=secret, plain=plain)


@transaction.atomic
def secret_replace_all(
    *,
    application: TrustedApplication,
    secret_hashes: list[str],
    actor: Any = None,
    expiries: list[dt.datetime | None] | None = None,
) -> None:
    """Set the record's secret hashes to exactly these (import, API write of `secret_hashes`).
    `expiries`, aligned with `secret_hashes` (an import carries them from the exported
    `secrets`), set each one's expiry, so an expired secret stays expired."""
    from django.core.exceptions import ValidationError

    if len(secret_hashes) > ApplicationSecret.MAX_PER_APPLICATION:
        raise ValidationError({"secret_hashes": "At most two secret hashes."})
    try:
        normalised = [secret_hashing.normalise_secret_hash(h) for h in secret_hashes]
    except secret_hashing.SecretHashFormatError as exc:
        raise ValidationError({"secret_hashes": str(exc)}) from exc
    expiry_of = dict(zip(normalised, expiries, strict=True)) if expiries is not None else {}
    wanted = list(dict.fromkeys(normalised))
    _lock(application)
    client_type = (
        TrustedApplication.objects.filter(pk=application.pk)
        .values_list("client_type", flat=True)
        .first()
    )
    if wanted and client_type == "public":
        raise ValidationError({"secret_hashes": PUBLIC_HOLDS_NO_SECRET})
    current = {s.secret_hash: s for s in _secrets_now(application)}
    for h, s in current.items():
        if h not in wanted:
            if actor is not None:
                s._history_user = actor  # type: ignore[attr-defined]
            s.delete()
    for h in wanted:
        secret = current.get(h)
        if secret is None:
            secret = ApplicationSecret(application=application, secret_hash=h, created=clock.now())
        elif h not in expiry_of or secret.expires == expiry_of[h]:
            continue
        if h in expiry_of:
            secret.expires = expiry_of[h]
        if actor is not None:
            secret._history_user = actor  # type: ignore[attr-defined,union-attr]
        secret.save()
    if hasattr(application, "_prefetched_objects_cache"):
        application._prefetched_objects_cache.pop("secrets", None)


def secret_verify(*, application: TrustedApplication, secret: str) -> bool:
    """Check `secret` against every live secret of the record in constant time; marks last use."""
    now = clock.now()
    matched: ApplicationSecret | None = None
    for candidate in selectors.application_secrets(application=application):
        # Compare against every candidate, so timing does not tell which one matched.
        if secret_hashing.secret_matches(secret, candidate.secret_hash) and candidate.is_live(now):
            matched = candidate
    if matched is None:
        return False
    if _stale(matched.last_used, now):
        ApplicationSecret.objects.filter(pk=matched.pk).update(last_used=now)
    application_mark_used(application=application, now=now)
    return True


# "Last used" is kept to the minute: writing it on every request would add a commit (a WAL
# flush on PostgreSQL) to every token request and serialise busy clients on one row.
