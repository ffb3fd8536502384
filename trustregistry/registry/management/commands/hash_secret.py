"""`manage.py hash_secret`: the ERP.net secret hash of a secret read from standard input."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from trustregistry.registry import secrets


class Command(BaseCommand):
    help = (
        "Read a secret from standard input (a prompt when it is a terminal) and print "
        "base64(sha256(utf8(secret))), the secret hash a trusted-application record stores."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--hex", action="store_true", help="Print the hash as 64 hex digits too."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stdin = self.stdin if hasattr(self, "stdin") else sys.stdin
        if stdin.isatty():
            secret = getpass.getpass("Secret: ")
        else:
            # Only the line ending is removed: spaces are part of the secret.
            secret = stdin.read().removesuffix("\n").removesuffix("\r")
        if not secret:
            raise CommandError("No secret on standard input.")
        try:
            secret.encode("utf-8")
        except UnicodeEncodeError as exc:
            # A byte that is no UTF-8 arrives as a lone surrogate: the hash is of UTF-8 text.
            raise CommandError("The secret on standard input is not UTF-8 text.") from exc
        self.stdout.write(secrets.hash_secret(secret))
        if options["hex"]:
            self.stdout.write(secrets.hash_secret_hex(secret))
