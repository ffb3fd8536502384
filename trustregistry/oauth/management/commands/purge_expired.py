"""`manage.py purge_expired`: delete expired authorization codes, tokens and used client
assertion ids in bounded batches (run it from cron; safe to run on several servers)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from trustregistry.oauth.purge import purge_expired


class Command(BaseCommand):
    help = "Purge expired OAuth codes, tokens and client-assertion ids in bounded batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--max-batches", type=int, default=None, help="Stop after this many batches."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            self.stderr.write("--batch-size must be at least 1")
            raise SystemExit(2)
        report = purge_expired(batch_size=options["batch_size"], max_batches=options["max_batches"])
        for name, count in sorted(report.deleted.items()):
            self.stdout.write(f"{name}: {count} deleted")
        if not report.complete:
            self.stdout.write("stopped at --max-batches; run again to continue")
        elif not report.deleted:
            self.stdout.write("nothing to purge")
