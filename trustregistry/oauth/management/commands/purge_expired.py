"""`manage.py purge_expired`: delete expired authorization codes, tokens, sign-ins, used client
assertion ids and handshake nonces in bounded batches (run it from cron; safe to run on several
servers)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from trustregistry.oauth.purge import purge_expired

MAX_BATCH_SIZE = 100_000


class Command(BaseCommand):
    help = (
        "Purge expired OAuth codes, tokens, ID tokens, sign-ins, client-assertion ids, pending "
        "handshakes and answered connector nonces in bounded batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--max-batches", type=int, default=None, help="Stop after this many batches."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["batch_size"] <= MAX_BATCH_SIZE:
            # Above the bound a "batch" is no longer bounded (and a huge number ended in a
            # database traceback: bigint out of range).
            self.stderr.write(f"--batch-size must be from 1 to {MAX_BATCH_SIZE}")
            raise SystemExit(2)
        if options["max_batches"] is not None and options["max_batches"] < 0:
            self.stderr.write("--max-batches must be 0 or more")
            raise SystemExit(2)
        report = purge_expired(batch_size=options["batch_size"], max_batches=options["max_batches"])
        for name, count in sorted(report.deleted.items()):
            self.stdout.write(f"{name}: {count} deleted")
        if not report.complete:
            self.stdout.write("stopped at --max-batches; run again to continue")
        elif not report.deleted:
            self.stdout.write("nothing to purge")
