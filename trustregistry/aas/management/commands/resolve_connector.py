from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from trustregistry.aas.errors import ResolveError
from trustregistry.aas.services import resolve_connector


class Command(BaseCommand):
    help = (
        "Resolve app://<application uri> to the connector's URL after the signed-JWT handshake "
        "(SPEC section 7). Prints the URL; on failure prints the error code and reason and "
        "exits non-zero."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("url", help="app://<application uri> (or an https:// URL)")
        parser.add_argument("--context", default=None, help="the tenant context id sent as sub")

    def handle(self, *args, url: str, context: str | None = None, **options):  # type: ignore[no-untyped-def]
        try:
            resolved = resolve_connector(url=url, context=context)
        except ResolveError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(resolved.url)
