from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trustregistry.keys.services import aas_certificate_pem


class Command(BaseCommand):
    help = (
        "Print the active AAS certificate as PEM (or write it to FILE), for connectors that pin "
        "it with CONNECTOR_AAS_CERTIFICATE_FILE. Creates the AAS key on first use; rotate it "
        "with `rotate_keys --purpose aas`."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file", nargs="?", help="write the PEM here instead of printing it")

    def handle(self, *args, file: str | None = None, **options):  # type: ignore[no-untyped-def]
        pem = aas_certificate_pem()
        if file:
            try:
                Path(file).write_text(pem, encoding="ascii")
            except OSError as exc:
                raise CommandError(f"cannot write {file}: {exc.strerror or exc}") from exc
            self.stdout.write(f"wrote {file}")
        else:
            self.stdout.write(pem, ending="")
