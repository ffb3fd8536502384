from django.core.management.base import BaseCommand

from trustregistry.keys.models import KeyPurpose
from trustregistry.keys.services import get_active_key, rotate_key


class Command(BaseCommand):
    help = "Create the signing keys if missing, or rotate one purpose's key (--purpose oidc|aas)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--purpose", choices=KeyPurpose.values, help="rotate this purpose's key"
        )

    def handle(self, *args, purpose=None, **options):  # type: ignore[no-untyped-def]
        if purpose:
            key = rotate_key(purpose=purpose)
            self.stdout.write(f"rotated {purpose}: new active key {key.kid}")
            return
        for p in KeyPurpose.values:
            self.stdout.write(f"{p}: active key {get_active_key(p).kid}")
