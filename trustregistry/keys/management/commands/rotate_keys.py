from django.core.management.base import BaseCommand, CommandError

from trustregistry.keys.models import KeyPurpose
from trustregistry.keys.services import get_active_key, rotate_key


class Command(BaseCommand):
    help = (
        "Create the signing keys if missing, or rotate one purpose's key (--purpose oidc|aas). "
        "--withdraw (with --purpose) is for keys that leaked: the old keys leave the JWKS at "
        "once and verify nothing more."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--purpose", choices=KeyPurpose.values, help="rotate this purpose's key"
        )
        parser.add_argument(
            "--withdraw",
            action="store_true",
            help=(
                "unpublish every older key of the purpose at once instead of when its tokens "
                "expire: everything they signed stops verifying (reload the app servers so "
                "none keeps them in memory)"
            ),
        )

    def handle(self, *args, purpose=None, withdraw=False, **options):  # type: ignore[no-untyped-def]
        if withdraw and not purpose:
            raise CommandError("--withdraw needs --purpose oidc or --purpose aas.")
        if purpose:
            key = rotate_key(purpose=purpose, withdraw=withdraw)
            self.stdout.write(f"rotated {purpose}: new active key {key.kid}")
            if withdraw:
                self.stdout.write(
                    f"withdrew every older {purpose} key: it is no longer in the JWKS. Reload "
                    "the app servers (gunicorn: kill -HUP) so none keeps it in memory."
                )
            return
        for p in KeyPurpose.values:
            self.stdout.write(f"{p}: active key {get_active_key(p).kid}")
