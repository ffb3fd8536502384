"""The record's history as events a person can read: who, when, what changed from what to
what. Built from django-simple-history's tables of the record, its names and its secrets.
Secret values never appear: only hashes were ever stored, and those are excluded from the
history tables themselves."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trustregistry.registry.models import ApplicationName, ApplicationSecret, TrustedApplication

# Bookkeeping columns whose changes say nothing to an administrator.
_HIDDEN_FIELDS = {"updated", "created", "last_used_at", "client_secret", "id"}


# The reasons the product's own flows store with a change (in English: they are data, and the
# history tables keep them as written). Listed here for the catalogue; the history page shows
# them in the viewer's language, and any other reason as it was stored.
KNOWN_REASONS = (
    gettext_noop("created"),
    gettext_noop("changed"),
    gettext_noop("saved"),
    gettext_noop("deleted"),
    gettext_noop("updated"),
    gettext_noop("enabled"),
    gettext_noop("disabled"),
    gettext_noop("changed in the admin"),
    gettext_noop("saved in the admin"),
    gettext_noop("sec trusted (confirmed)"),
    gettext_noop("secret hash added"),
    gettext_noop("secret generated"),
    gettext_noop("secret rotated"),
    gettext_noop("handshake tested: ok"),
    gettext_noop("created (API)"),
    gettext_noop("updated (API)"),
    gettext_noop("disabled (API)"),
    gettext_noop("imported"),
    gettext_noop("demo data"),
    gettext_noop("demo key replaced"),
    gettext_noop("marketplace install"),
    gettext_noop("marketplace reinstall"),
    gettext_noop("marketplace uninstall"),
)
_KNOWN = frozenset(KNOWN_REASONS)
_HANDSHAKE_FAILED = re.compile(r"handshake tested: failed \((?P<reason>.*)\)\Z", re.S)


def readable_reason(reason: str) -> str:
    """A stored reason ("disabled; sec trusted (confirmed)") in the active language: each
    known part translated, anything else (a reason an import or a script chose) as stored."""
    failed = _HANDSHAKE_FAILED.match(reason)
    if failed:
        # Stored alone. Its detail is one of the AAS's messages, and may hold "; " itself
        # (imported here: the aas app builds on the registry, not the other way round).
        from trustregistry.aas.errors import readable_message

        detail = readable_message(failed.group("reason"))
        return _("handshake tested: failed (%(reason)s)") % {"reason": detail}
    return "; ".join(_(part) if part in _KNOWN else part for part in reason.split("; "))


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass
class HistoryEvent:
    when: dt.datetime
    who: str
    what: str
    changes: list[Change] = field(default_factory=list)


def _label(model: Any, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:
        return name


def _show(name: str, value: Any, users: dict[int, str]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if name == "system_user":
        return users.get(value, _("user #%(id)s") % {"id": value})
    if name == "public_keys" and isinstance(value, list):
        # Keys are long; their thumbprints identify them.
        return ", ".join(f"{k.get('kty', '?')} {k.get('kid', '?')}" for k in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _who(record: Any) -> str:
    user = record.history_user
    return user.get_username() if user is not None else _("system")


def application_history(app: TrustedApplication) -> list[HistoryEvent]:
    """Every event of the record, newest first."""
    from django.contrib.auth import get_user_model

    records = list(
        app.history.select_related("history_user").order_by("history_date", "history_id")
    )
    user_ids = {r.system_user_id for r in records if r.system_user_id}
    users = dict(
        get_user_model()
        .objects.filter(pk__in=user_ids)
        .values_list("pk", get_user_model().USERNAME_FIELD)
    )
    events: list[HistoryEvent] = []
    previous = None
    for record in records:
        changes: list[Change] = []
        if previous is None:
            what = readable_reason(record.history_change_reason or "created")
        else:
            delta = record.diff_against(previous, excluded_fields=list(_HIDDEN_FIELDS))
            for change in delta.changes:
                changes.append(
                    Change(
                        _label(TrustedApplication, change.field),
                        _show(change.field, change.old, users),
                        _show(change.field, change.new, users),
                    )
                )
            what = readable_reason(
                record.history_change_reason or ("changed" if changes else "saved")
            )
        if record.history_type == "-":
            what = _("deleted")
        events.append(HistoryEvent(record.history_date, _who(record), what, changes))
        previous = record

    events.extend(_name_events(app))
    events.extend(_secret_events(app))
    events.sort(key=lambda e: e.when, reverse=True)
    return events


def _name_events(app: TrustedApplication) -> list[HistoryEvent]:
    history = ApplicationName.history.model.objects.filter(application_id=app.pk)
    events = []
    last_by_id: dict[int, Any] = {}
    for record in history.select_related("history_user").order_by("history_date", "history_id"):
        before = last_by_id.get(record.id)
        label = _("name (%(language)s)") % {"language": record.language}
        if record.history_type == "+":
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    _("name added"),
                    [Change(label, "—", record.name)],
                )
            )
        elif record.history_type == "-":
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    _("name removed"),
                    [Change(label, record.name, "—")],
                )
            )
        elif before is None or before.name != record.name:
            old = before.name if before is not None else "?"
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    _("name changed"),
                    [Change(label, old, record.name)],
                )
            )
        last_by_id[record.id] = record
    return events


def _secret_events(app: TrustedApplication) -> list[HistoryEvent]:
    history = ApplicationSecret.history.model.objects.filter(application_id=app.pk)
    events = []
    for record in history.select_related("history_user").order_by("history_date", "history_id"):
        expires = record.expires.isoformat(timespec="minutes") if record.expires else _("never")
        label = _("secret #%(id)s") % {"id": record.id}
        expiry = _("expires %(when)s") % {"when": expires}
        if record.history_type == "+":
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    _("secret added"),
                    [Change(label, "—", expiry)],
                )
            )
        elif record.history_type == "-":
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    _("secret removed"),
                    [Change(label, expiry, "—")],
                )
            )
        else:
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    _("secret changed"),
                    [Change(label, "", expiry)],
                )
            )
    return events
