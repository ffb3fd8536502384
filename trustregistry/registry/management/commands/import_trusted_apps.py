"""`manage.py import_trusted_apps FILE`: upsert records from the JSON of SPEC section 6."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from trustregistry.common.logging import os_account
from trustregistry.common.text import unstorable_text
from trustregistry.registry import erpnet, serialization


class _Refused(Exception):
    pass


def _snapshot(app: Any) -> dict[str, Any]:
    data = serialization.application_to_dict(app, include_secret_hashes=True)
    # Ids and times of secrets are not what the file says; their expiries are (a changed
    # expiry can revoke a secret, and must be reported as a change).
    data["secrets"] = [secret["expires"] for secret in data["secrets"]]
    return data


def _exported_expiries(data: Any) -> list[dt.datetime | None] | str | None:
    """The expiry of each of `secret_hashes` from the exported `secrets` beside them (same
    order, as `export_trusted_apps` writes them): without it, a secret that had expired would
    come back live. None when the file has no such list; a message when it is malformed."""
    if not isinstance(data, dict):
        return None
    hashes, secrets = data.get("secret_hashes"), data.get("secrets")
    if not isinstance(hashes, list) or not isinstance(secrets, list) or not hashes:
        return None
    if len(secrets) != len(hashes):
        return None  # not an export's pairing: nothing to carry
    expiries: list[dt.datetime | None] = []
    for index, secret in enumerate(secrets):
        value = secret.get("expires") if isinstance(secret, dict) else None
        if value is None:
            expiries.append(None)
            continue
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # well formed, but no such date ("2030-13-45T00:00:00Z")
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            return f"secrets[{index}].expires: not an ISO 8601 date and time with its offset."
        try:
            parsed = parsed.astimezone(dt.UTC)
        except OverflowError:  # 9999-12-31T23:59:59-23:59 is past the last storable date
            return f"secrets[{index}].expires: outside the dates that can be stored."
        expiries.append(parsed)
    return expiries


def _duplicates(records: list[Any]) -> list[str]:
    """One record per application URI: a second one would silently overwrite the first."""
    first: dict[str, int] = {}
    problems = []
    for index, raw in enumerate(records):
        if not isinstance(raw, dict):
            continue
        uri = raw.get("application_uri", raw.get("ApplicationUri"))
        if not isinstance(uri, str) or unstorable_text(uri) is not None:
            continue
        if uri in first:
            problems.append(
                f"record {index + 1} ({uri}): application_uri: record {first[uri] + 1} of the "
                "file is for this application URI already."
            )
        else:
            first[uri] = index
    return problems


class Command(BaseCommand):
    help = (
        "Create or update trusted applications from FILE ('-' for standard input): a JSON list "
        "of records as `export_trusted_apps` writes them (ERP.net's PascalCase bodies are "
        "accepted too). One transaction: any invalid record changes nothing and is named."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="The JSON file, or '-' for standard input.")

    def handle(self, *args: Any, **options: Any) -> None:
        records = self._load(options["file"])
        report: list[tuple[str, str]] = []
        problems: list[str] = []
        try:
            with transaction.atomic():
                problems.extend(_duplicates(records))
                for index, raw in enumerate(records):
                    self._import_one(index, raw, report, problems)
                if problems:
                    raise _Refused
        except _Refused:
            raise CommandError(
                "Import refused; nothing was changed.\n" + "\n".join(problems)
            ) from None
        for action, uri in report:
            self.stdout.write(f"{action} {uri}")
        counts = {
            a: sum(1 for x, _ in report if x == a) for a in ("created", "changed", "unchanged")
        }
        self.stderr.write(
            f"{counts['created']} created, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged."
        )

    def _load(self, path: str) -> list[Any]:
        try:
            if path == "-":
                raw = sys.stdin.buffer.read()
            else:
                with open(path, "rb") as handle:
                    raw = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            text = raw.decode("utf-8-sig")  # a byte order mark, from a file or a pipe
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{path} is not UTF-8 text (byte {exc.start} cannot be read)."
            ) from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}.") from exc
        except RecursionError as exc:
            raise CommandError(f"{path} is not valid JSON: nested too deeply.") from exc
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise CommandError(f"{path} must hold a JSON list of trusted-application records.")
        return data

    def _import_one(
        self, index: int, raw: Any, report: list[tuple[str, str]], problems: list[str]
    ) -> None:
        label = f"record {index + 1}"
        where = unstorable_text(raw)
        if isinstance(raw, dict):
            uri = raw.get("application_uri", raw.get("ApplicationUri"))
            if isinstance(uri, str) and uri and unstorable_text(uri) is None:
                label = f"record {index + 1} ({uri})"
        if where is not None:
            problems.append(
                f"{label}: {where}: holds a NUL character or an unpaired surrogate, which "
                "cannot be stored."
            )
            return
        data = raw
        if erpnet.is_erpnet_form(raw):
            data, notes = erpnet.from_erpnet(raw)
            for note in notes:
                self.stderr.write(f"note: {note}")
        if isinstance(data, dict):
            # SPEC 9: the source comes from the file, `manual` when the file says nothing.
            data = {**data, "source": data.get("source", "manual")}
        before = None
        if isinstance(data, dict) and isinstance(data.get("application_uri"), str):
            from trustregistry.registry import selectors

            current = selectors.application_get(application_uri=data["application_uri"])
            before = _snapshot(current) if current is not None else None
        expiries = _exported_expiries(data)
        if isinstance(expiries, str):
            problems.append(f"{label}: {expiries}")
            return
        try:
            app, created = serialization.application_upsert(
                data=data,
                create_missing_system_user=True,
                accept_source=True,
                # A command has no signed-in user: the history names who ran it as the
                # operating system tells (its page shows "system" as the user).
                reason=f"imported; OS user: {os_account()}",
                secret_expiries=expiries,
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    problems.append(f"{label}: {field}: {message}")
            return
        if created:
            report.append(("created", app.client_id))
        else:
            app.refresh_from_db()
            if hasattr(app, "_prefetched_objects_cache"):
                app._prefetched_objects_cache.clear()
            changed = _snapshot(app) != before
            report.append(("changed" if changed else "unchanged", app.client_id))
