"""`manage.py import_trusted_apps FILE`: upsert records from the JSON of SPEC section 6."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from trustregistry.registry import serialization


class _Refused(Exception):
    pass


def _snapshot(app: Any) -> dict[str, Any]:
    data = serialization.application_to_dict(app, include_secret_hashes=True)
    data.pop("secrets")  # ids and times of secrets are not what the file says
    return data


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
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8-sig") as handle:
                    text = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}.") from exc
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise CommandError(f"{path} must hold a JSON list of trusted-application records.")
        return data

    def _import_one(
        self, index: int, raw: Any, report: list[tuple[str, str]], problems: list[str]
    ) -> None:
        label = f"record {index + 1}"
        if isinstance(raw, dict):
            uri = raw.get("application_uri", raw.get("ApplicationUri"))
            if isinstance(uri, str) and uri:
                label = f"record {index + 1} ({uri})"
        data = raw
        if serialization.is_erpnet_form(raw):
            data, notes = serialization.from_erpnet(raw)
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
        try:
            app, created = serialization.application_upsert(
                data=data,
                create_missing_system_user=True,
                accept_source=True,
                reason="imported",
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
