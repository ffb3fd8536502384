from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def every_existing_key_signed_from_its_creation(apps, schema_editor):
    """Before staged keys, every key signed from the moment it was made."""
    SigningKey = apps.get_model("keys", "SigningKey")
    SigningKey.objects.filter(activated_at__isnull=True).update(activated_at=F("created"))


def retire_staged_keys(apps, schema_editor):
    """Back to a schema where every unretired key signs: a staged key would become a second
    signing key (refused by 0003's constraint). It has signed nothing, so it is retired and
    unpublished at once, not withdrawn (it did not leak)."""
    SigningKey = apps.get_model("keys", "SigningKey")
    now = timezone.now()
    SigningKey.objects.filter(activated_at__isnull=True, retired_at__isnull=True).update(
        retired_at=now, publish_until=now
    )


class Migration(migrations.Migration):
    dependencies = [
        ("keys", "0003_one_active_key_per_purpose"),
    ]

    # Reversed bottom-up: the new constraints go, staged keys are retired, and only then does
    # 0003's constraint (every unretired key counts) come back.
    operations = [
        migrations.RemoveConstraint(
            model_name="signingkey",
            name="keys_one_active_key_per_purpose",
        ),
        migrations.AddField(
            model_name="signingkey",
            name="activated_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="activated"),
        ),
        migrations.RunPython(every_existing_key_signed_from_its_creation, retire_staged_keys),
        migrations.AddConstraint(
            model_name="signingkey",
            constraint=models.UniqueConstraint(
                condition=models.Q(("activated_at__isnull", False), ("retired_at__isnull", True)),
                fields=("purpose",),
                name="keys_one_active_key_per_purpose",
            ),
        ),
        migrations.AddConstraint(
            model_name="signingkey",
            constraint=models.UniqueConstraint(
                condition=models.Q(("activated_at__isnull", True), ("retired_at__isnull", True)),
                fields=("purpose",),
                name="keys_one_staged_key_per_purpose",
            ),
        ),
    ]
