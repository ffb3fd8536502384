"""`manage.py export_trusted_apps [FILE]`: every record as the JSON of SPEC section 6."""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from trustregistry.registry import selectors, serialization


class Command(BaseCommand):
    help = (
        "Write every trusted-application record (secret hashes included, never secrets) as a "
        "JSON list to FILE, or to standard output. `import_trusted_apps` reads it back."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", nargs="?", help="Output file (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        records = [
            serialization.application_to_dict(app, include_secret_hashes=True)
            for app in selectors.application_list().order_by("client_id").iterator(chunk_size=500)
        ]
        text = json.dumps(records, ensure_ascii=False, indent=2) + "\n"
        path = options["file"]
        if not path or path == "-":
            self.stdout.write(text, ending="")
            return
        # Secret hashes are not secrets, but they are what a caller is checked against:
        # the file is readable by its owner only.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # also when the file was there before, with its own mode
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}.") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        self.stderr.write(f"Exported {len(records)} trusted application(s) to {path}.")
