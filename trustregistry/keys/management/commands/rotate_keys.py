from django.core.management.base import BaseCommand, CommandError

from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import (
    JWKS_CACHE_SECONDS,
    get_active_key,
    rotate_key,
    stage_key,
    staged_key,
)


class Command(BaseCommand):
    help = (
        "Create the signing keys if missing, or rotate one purpose's key (--purpose oidc|aas): "
        "the staged key starts signing, or a new key if none is staged. --stage publishes the "
        "next key ahead of the rotation without signing with it. --withdraw is for keys that "
        "leaked: every other key of the purpose, a staged one included, leaves the JWKS at once "
        "and verifies nothing more."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--purpose", choices=KeyPurpose.values, help="rotate (or stage) this purpose's key"
        )
        what = parser.add_mutually_exclusive_group()
        what.add_argument(
            "--stage",
            action="store_true",
            help=(
                "publish the next key now and sign with it only from the next rotation (kept "
                "if one is staged already), so connectors that pin the AAS certificate and "
                "clients that cache the JWKS can know it in advance"
            ),
        )
        what.add_argument(
            "--withdraw",
            action="store_true",
            help=(
                "unpublish every older key of the purpose, and the staged one, at once instead "
                "of when its tokens expire: everything they signed stops verifying (reload the "
                "app servers so none keeps them in memory)"
            ),
        )

    def handle(self, *args, purpose=None, stage=False, withdraw=False, **options):  # type: ignore[no-untyped-def]
        if (withdraw or stage) and not purpose:
            option = "--withdraw" if withdraw else "--stage"
            raise CommandError(f"{option} needs --purpose oidc or --purpose aas.")
        if purpose and stage:
            self._stage(purpose)
        elif purpose:
            self._rotate(purpose, withdraw=withdraw)
        else:
            for p in KeyPurpose.values:
                line = f"{p}: active key {get_active_key(p).kid}"
                staged = staged_key(p)
                self.stdout.write(line + (f", staged key {staged.kid}" if staged else ""))

    def _stage(self, purpose: str) -> None:
        key, created = stage_key(purpose=purpose)
        if created:
            self.stdout.write(f"staged {purpose}: next key {key.kid}, published, not signing")
        else:
            self.stdout.write(
                f"{purpose}: key {key.kid} is staged already (kept), published, not signing"
            )
        if purpose == KeyPurpose.AAS:
            self.stdout.write(
                "Give connectors that pin the AAS certificate the current and the next "
                "certificate (manage.py aas_certificate FILE --with-next), then run "
                "`rotate_keys --purpose aas` to sign with it."
            )
        else:
            self.stdout.write(
                f"Wait at least {JWKS_CACHE_SECONDS} s (the JWKS's cache time) after it was "
                f"staged, then run `rotate_keys --purpose {purpose}` to sign with it."
            )

    def _rotate(self, purpose: str, *, withdraw: bool) -> None:
        key = rotate_key(purpose=purpose, withdraw=withdraw)
        if key.was_staged:
            self.stdout.write(f"rotated {purpose}: the staged key {key.kid} is the active key")
        else:
            self.stdout.write(f"rotated {purpose}: new active key {key.kid}")
        if withdraw:
            self.stdout.write(
                f"withdrew every older {purpose} key: it is no longer in the JWKS. Reload "
                "the app servers (gunicorn: kill -HUP) so none keeps it in memory."
            )
            # Withdrawn by this rotation (at the new key's creation) without ever signing.
            for staged in SigningKey.objects.filter(
                purpose=purpose, withdrawn_at=key.created, activated_at__isnull=True
            ):
                self.stdout.write(
                    f"withdrew the staged key {staged.kid} too: it may have leaked with the "
                    "others. Stage a new one for the next rotation."
                )
