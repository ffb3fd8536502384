"""The record's history as events a person can read: who, when, what changed from what to
what. Built from django-simple-history's tables of the record, its names and its secrets.
Secret values never appear: only hashes were ever stored, and those are excluded from the
history tables themselves."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from trustregistry.registry.models import ApplicationName, ApplicationSecret, TrustedApplication

# Bookkeeping columns whose changes say nothing to an administrator.
_HIDDEN_FIELDS = {"updated", "created", "last_used_at", "client_secret", "id"}


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
        return users.get(value, f"user #{value}")
    if name == "public_keys" and isinstance(value, list):
        # Keys are long; their thumbprints identify them.
        return ", ".join(f"{k.get('kty', '?')} {k.get('kid', '?')}" for k in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _who(record: Any) -> str:
    user = record.history_user
    return user.get_username() if user is not None else "system"


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
            what = record.history_change_reason or "created"
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
            what = record.history_change_reason or ("changed" if changes else "saved")
        if record.history_type == "-":
            what = "deleted"
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
        label = f"name ({record.language})"
        if record.history_type == "+":
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    "name added",
                    [Change(label, "—", record.name)],
                )
            )
        elif record.history_type == "-":
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    "name removed",
                    [Change(label, record.name, "—")],
                )
            )
        elif before is None or before.name != record.name:
            old = before.name if before is not None else "?"
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    "name changed",
                    [Change(label, old, record.name)],
                )
            )
        last_by_id[record.id] = record
    return events


def _secret_events(app: TrustedApplication) -> list[HistoryEvent]:
    history = ApplicationSecret.history.model.objects.filter(application_id=app.pk)
    events = []
    for record in history.select_related("history_user").order_by("history_date", "history_id"):
        expires = record.expires.isoformat(timespec="minutes") if record.expires else "never"
        label = f"secret #{record.id}"
        if record.history_type == "+":
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    "secret added",
                    [Change(label, "—", f"expires {expires}")],
                )
            )
        elif record.history_type == "-":
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    "secret removed",
                    [Change(label, f"expires {expires}", "—")],
                )
            )
        else:
            events.append(
                HistoryEvent(
                    record.history_date,
                    _who(record),
                    "secret changed",
                    [Change(label, "", f"expires {expires}")],
                )
            )
    return events
