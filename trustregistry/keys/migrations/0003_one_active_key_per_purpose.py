import datetime as dt

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def _published_after_retirement(purpose: str) -> dt.timedelta:
    # As keys.services._publish_after_retirement: what the key signed stays verifiable.
    if purpose == "aas":
        return dt.timedelta(seconds=360)
    oauth = getattr(settings, "OAUTH2_PROVIDER", {})
    longest = max(
        int(oauth.get("ACCESS_TOKEN_EXPIRE_SECONDS", 3600)),
        int(oauth.get("ID_TOKEN_EXPIRE_SECONDS", 36000)),
    )
    return dt.timedelta(seconds=longest + 60)


def retire_all_but_the_newest_active_key(apps, schema_editor):
    """Servers started at once on an empty database could each create a signing key: keep the
    newest of a purpose signing, retire the others as a rotation would (still published)."""
    SigningKey = apps.get_model("keys", "SigningKey")
    now = timezone.now()
    for purpose in SigningKey.objects.order_by().values_list("purpose", flat=True).distinct():
        active = SigningKey.objects.filter(purpose=purpose, retired_at__isnull=True).order_by(
            "-created", "-id"
        )
        extra = list(active.values_list("pk", flat=True)[1:])
        if extra:
            SigningKey.objects.filter(pk__in=extra).update(
                retired_at=now, publish_until=now + _published_after_retirement(purpose)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("keys", "0002_signingkey_withdrawn_at"),
    ]

    operations = [
        migrations.RunPython(retire_all_but_the_newest_active_key, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="signingkey",
            constraint=models.UniqueConstraint(
                condition=models.Q(("retired_at__isnull", True)),
                fields=("purpose",),
                name="keys_one_active_key_per_purpose",
            ),
        ),
    ]
