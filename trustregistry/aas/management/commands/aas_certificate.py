from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trustregistry.keys.services import NoStagedKey, aas_certificate_pem, aas_next_certificate_pem


class Command(BaseCommand):
    help = (
        "Print the active AAS certificate as PEM (or write it to FILE), for connectors that pin "
        "it with CONNECTOR_AAS_CERTIFICATE_FILE; --next: the staged key's certificate instead, "
        "--with-next: the active and the staged one (a pinning file across the next rotation). "
        "Creates the AAS key on first use; stage the next one with `rotate_keys --purpose aas "
        "--stage`, rotate with `rotate_keys --purpose aas`."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file", nargs="?", help="write the PEM here instead of printing it")
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--next",
            action="store_true",
            help="the staged key's certificate (signs from the next rotation)",
        )
        which.add_argument(
            "--with-next",
            action="store_true",
            help=(
                "the active certificate, then the staged one: a pinning connector's file that "
                "keeps accepting handshakes across the next rotation"
            ),
        )

    def handle(self, *args, file: str | None = None, **options):  # type: ignore[no-untyped-def]
        if options["next"] or options["with_next"]:
            try:
                pem = aas_next_certificate_pem(with_active=options["with_next"])
            except NoStagedKey as exc:
                # Nothing written: a file with the active certificate alone would look ready
                # for a rotation that would then fail every pinning connector.
                raise CommandError(
                    "No AAS key is staged: run `manage.py rotate_keys --purpose aas --stage` first."
                ) from exc
        else:
            pem = aas_certificate_pem()
        if file:
            try:
                Path(file).write_text(pem, encoding="ascii")
            except OSError as exc:
                raise CommandError(f"cannot write {file}: {exc.strerror or exc}") from exc
            self.stdout.write(f"wrote {file}")
        else:
            self.stdout.write(pem, ending="")
