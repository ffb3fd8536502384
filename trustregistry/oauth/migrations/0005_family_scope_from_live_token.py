from django.db import migrations


def fill_family_scopes(apps, schema_editor):
    """0004 gave the families already refreshed under 0003 an empty scope ("unknown"), for
    which a refresh falls back to the scope of the family's current access token: one
    narrowing refresh after the upgrade then narrowed such a family for good. Record that
    current scope as the family's granted scope, which is what the earlier release granted
    (it narrowed the family itself), so a narrowing refresh narrows one access token only,
    as for families begun after the upgrade (RFC 6749 section 6)."""
    db = schema_editor.connection.alias
    SignIn = apps.get_model("tr_oauth", "SignIn")
    RefreshToken = apps.get_model("oauth2_provider", "RefreshToken")
    unknown = SignIn.objects.using(db).filter(scope="", token_family__isnull=False)
    for pk, family in unknown.values_list("pk", "token_family").iterator():
        scope = (
            RefreshToken.objects.using(db)
            .filter(token_family=family, revoked__isnull=True, access_token__isnull=False)
            .order_by("-created", "-id")
            .values_list("access_token__scope", flat=True)
            .first()
        )
        if scope:
            SignIn.objects.using(db).filter(pk=pk, scope="").update(scope=scope)


class Migration(migrations.Migration):
    dependencies = [
        ("tr_oauth", "0004_family_scope"),
        ("oauth2_provider", "0011_refreshtoken_token_family"),
    ]

    operations = [
        migrations.RunPython(fill_family_scopes, migrations.RunPython.noop, elidable=True),
    ]
