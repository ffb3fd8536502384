"""Management commands: hash_secret, export/import (SPEC section 9), load_demo_data."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from connector import keys
from tests import factories
from trustregistry.registry import history, secrets, serialization
from trustregistry.registry.models import TrustedApplication

DEMO_HASH = "T/AGymuI51LwjLeIFxRQXOs9IHnupDKs/ajhWODR2C4="


class _Stdin(io.StringIO):
    def isatty(self):
        return False


def test_hash_secret_reads_standard_input(monkeypatch, interop_json):
    vector = interop_json("secret_hash_vector.json")
    monkeypatch.setattr("sys.stdin", _Stdin(vector["secret"] + "\n"))
    out = io.StringIO()
    call_command("hash_secret", stdout=out)
    assert out.getvalue().strip() == vector["ApplicationSecretHash"]


def test_hash_secret_names_input_that_is_not_utf8(monkeypatch):
    # Python reads such a byte as a lone surrogate ("surrogateescape"); it used to crash.
    monkeypatch.setattr("sys.stdin", _Stdin("a\udcffb\n"))
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("hash_secret", stdout=io.StringIO())


def test_hash_secret_keeps_spaces_and_refuses_nothing(monkeypatch):
    monkeypatch.setattr("sys.stdin", _Stdin(" a b \n"))
    out = io.StringIO()
    call_command("hash_secret", "--hex", stdout=out)
    b64, hexa = out.getvalue().split()
    assert b64 == secrets.hash_secret(" a b ") and hexa == secrets.hash_secret_hex(" a b ")
    monkeypatch.setattr("sys.stdin", _Stdin(""))
    with pytest.raises(CommandError):
        call_command("hash_secret", stdout=io.StringIO())


@pytest.fixture
def full_record(db, interop):
    """A record with every field set to a non-default value."""
    system_user = factories.SystemUserFactory(username="svc-export")
    cert = (interop / "devnet-auth_DevNet.crt").read_text()
    app, _ = serialization.application_upsert(
        data={
            "application_uri": "export.example.com/app",
            "names": {"en": "Export app", "bg": "Приложение за износ"},
            "client_type": "confidential",
            "secret_hashes": [DEMO_HASH, secrets.hash_secret("second")],
            "basic_auth_allowed": True,
            "impersonate_internal_allowed": True,
            "impersonate_community_allowed": True,
            "login_urls": ["https://export.example.com/cb", "http://localhost:5080/cb"],
            "logout_urls": ["https://export.example.com/bye"],
            "is_enabled": False,
            "scope": "update sec finance",
            "system_user": system_user.username,
            "system_user_allowed": True,
            "system_user_login_url": "https://export.example.com/system",
            "connector_url": "https://connector.export.example.com/authenticate",
            "public_keys": [cert],
            "source": "marketplace",
        },
        accept_source=True,
    )
    return app


def _export(tmp_path):
    path = tmp_path / "apps.json"
    call_command("export_trusted_apps", str(path), stderr=io.StringIO())
    return path, json.loads(path.read_text())


@pytest.mark.django_db
def test_export_then_import_round_trips_every_field(full_record, tmp_path):
    factories.PublicApplicationFactory(client_id="other.example.com/spa")
    path, exported = _export(tmp_path)
    assert [r["application_uri"] for r in exported] == [
        "export.example.com/app",
        "other.example.com/spa",
    ]
    record = exported[0]
    assert set(record) == set(serialization.FIELDS)
    assert record["secret_hashes"] == [DEMO_HASH, secrets.hash_secret("second")]
    assert (path.stat().st_mode & 0o077) == 0  # hashes are for the owner's eyes only

    # Into an empty registry (system user missing too): everything comes back.
    TrustedApplication.objects.all().delete()
    get_user_model().objects.filter(username="svc-export").delete()
    out = io.StringIO()
    call_command("import_trusted_apps", str(path), stdout=out, stderr=io.StringIO())
    assert out.getvalue().split("\n")[:2] == [
        "created export.example.com/app",
        "created other.example.com/spa",
    ]
    _, again = _export(tmp_path)
    strip = lambda records: [{k: v for k, v in r.items() if k != "secrets"} for r in records]  # noqa: E731
    assert strip(again) == strip(exported)
    assert get_user_model().objects.get(username="svc-export").kind == "system"

    # Importing the same file again changes nothing.
    out = io.StringIO()
    call_command("import_trusted_apps", str(path), stdout=out, stderr=io.StringIO())
    assert out.getvalue().split() == [
        "unchanged",
        "export.example.com/app",
        "unchanged",
        "other.example.com/spa",
    ]


@pytest.mark.django_db
def test_import_reports_changed_records(full_record, tmp_path, monkeypatch):
    monkeypatch.setenv("LOGNAME", "ops-anna")  # what getpass reads first
    path, exported = _export(tmp_path)
    exported[0]["scope"] = "update"
    exported[0]["names"]["bg"] = "Ново име"
    path.write_text(json.dumps(exported))
    out = io.StringIO()
    call_command("import_trusted_apps", str(path), stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip() == "changed export.example.com/app"
    full_record.refresh_from_db()
    assert full_record.scope == "update" and full_record.localized_name("bg") == "Ново име"
    # A command has no signed-in user: the history names the account that ran it.
    assert full_record.history.first().history_change_reason == "imported; OS user: ops-anna"
    [event] = [e for e in history.application_history(full_record) if e.what.startswith("imp")]
    assert (event.who, event.what) == ("system", "imported; OS user: ops-anna")


@pytest.mark.django_db
def test_invalid_import_changes_nothing_and_names_record_and_field(full_record, tmp_path):
    path, exported = _export(tmp_path)
    exported[0]["scope"] = "update"  # valid change: must not survive the bad record below
    exported.append(
        dict(
            exported[0],
            application_uri="new.example.com/app",
            login_urls=["http://evil.example.com/cb"],
        )
    )
    path.write_text(json.dumps(exported))
    with pytest.raises(CommandError) as exc:
        call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    message = str(exc.value)
    assert "new.example.com/app" in message and "login_urls" in message
    assert "http://evil.example.com/cb" in message
    full_record.refresh_from_db()
    assert full_record.scope == "update sec finance"
    assert not TrustedApplication.objects.filter(client_id="new.example.com/app").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '"a string"',
        '[{"application_uri": "x.com/a", "names": {"en": "A"}, "colour": 1}]',
    ],
)
def test_malformed_files_exit_non_zero(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError):
        call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert not TrustedApplication.objects.exists()


def test_import_exit_status_is_non_zero_from_the_shell(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    manage = [sys.executable, "manage.py"]
    settings_arg = "--settings=trustregistry.settings_test"
    subprocess.run([*manage, "migrate", "-v0", settings_arg], env=env, check=True, timeout=120)
    path = tmp_path / "bad.json"
    path.write_text('[{"application_uri": "bad uri", "names": {"en": "A"}}]')
    done = subprocess.run(
        [*manage, "import_trusted_apps", str(path), settings_arg],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 1
    assert "bad uri" in done.stderr and "application_uri" in done.stderr


@pytest.mark.django_db
def test_import_accepts_erpnet_pascal_case_bodies(interop_json, tmp_path):
    path = tmp_path / "erpnet.json"
    path.write_text(
        json.dumps(
            [
                interop_json("register_service_app.json"),
                interop_json("register_public_interactive.json"),
            ]
        )
    )
    err = io.StringIO()
    out = io.StringIO()
    call_command("import_trusted_apps", str(path), stdout=out, stderr=err)
    assert (
        "created MYSERVICEDEMOCLIENT" in out.getvalue() and "created MYDEMOCLIENT" in out.getvalue()
    )
    assert "Systems_Security_Users(cc314327" in err.getvalue()
    service = TrustedApplication.objects.get(client_id="MYSERVICEDEMOCLIENT")
    assert service.system_user.kind == "system"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, uri",
    [
        ("register_confidential_interactive.json", "MYDEMOCLIENT"),
        ("register_public_interactive.json", "MYDEMOCLIENT"),
        ("register_service_app.json", "MYSERVICEDEMOCLIENT"),
    ],
)
def test_import_takes_erpnet_register_files_as_they_are(interop, interop_json, name, uri):
    """Each of ERP.net's register bodies, the file itself (one JSON object, not a list), every
    field mapped; imported again, unchanged."""
    body = interop_json(name)
    for expected in ("created", "unchanged"):
        out, err = io.StringIO(), io.StringIO()
        call_command("import_trusted_apps", str(interop / name), stdout=out, stderr=err)
        assert out.getvalue() == f"{expected} {uri}\n"
    app = TrustedApplication.objects.get(client_id=uri)
    assert app.source == "manual" and app.is_enabled
    assert {n.language: n.name for n in app.names.all()} == {"en": body["Name"]}
    assert app.client_type == body["ClientType"].lower()
    hashes = list(app.secrets.values_list("secret_hash", flat=True))
    assert hashes == ([DEMO_HASH] if "ApplicationSecretHash" in body else [])
    assert app.impersonate_internal_allowed is body.get("ImpersonateAsInternalUserAllowed", False)
    assert app.impersonate_community_allowed is body.get("ImpersonateAsCommunityUserAllowed", False)
    assert app.login_urls == [u for u in [body.get("ImpersonateLoginUrl")] if u]
    assert app.logout_urls == [u for u in [body.get("ImpersonateLogoutUrl")] if u]
    assert app.system_user_allowed is body["SystemUserAllowed"]
    if body["SystemUserAllowed"]:
        assert (app.system_user.username, app.system_user.kind) == ("system-application", "system")
        assert "Systems_Security_Users(cc314327-3d04-477f-ac53-cde19d8350e9)" in err.getvalue()
    else:
        assert app.system_user is None
    assert not app.basic_auth_allowed and app.scope == "" and app.public_keys == []


@pytest.mark.django_db
def test_load_demo_data_is_idempotent_and_prints_secrets_once(tmp_path, settings):
    settings.BASE_DIR = tmp_path
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    first = out.getvalue()
    assert "password:" in first and "client secret:" in first
    admin = get_user_model().objects.get(username="admin")
    password = first.split("password: ")[1].split()[0]
    assert admin.check_password(password) and admin.is_superuser and admin.kind == "internal"

    service = TrustedApplication.objects.get(client_id="demo.trustregistry.local/service")
    plain = first.split("client secret: ")[1].split()[0]
    assert secrets.secret_matches(plain, service.secrets.get().secret_hash)
    assert service.system_user.username == "demo-service" and service.system_user_allowed
    assert service.scope == "update sec" and service.localized_name("bg") == "Демо услуга"

    spa = TrustedApplication.objects.get(client_id="demo.trustregistry.local/spa")
    assert spa.client_type == "public" and spa.login_urls == ["http://127.0.0.1:8000/demo/callback"]
    assert spa.impersonate_internal_allowed and spa.impersonate_community_allowed

    basic = TrustedApplication.objects.get(client_id=settings.TRUSTREGISTRY_BASIC_AUTH_APPLICATION)
    assert basic.basic_auth_allowed and basic.scope == "update"

    connector = TrustedApplication.objects.get(client_id="demo.trustregistry.local/connector")
    key_path = tmp_path / ".demo" / "connector_private_key.pem"
    private = keys.load_private_key(key_path.read_text())
    assert private.key_size == 2048 and "BEGIN PRIVATE KEY" in key_path.read_text()
    assert connector.public_keys == [keys.public_jwk_of_private(private)]
    assert connector.connector_url == "http://127.0.0.1:8000/connector/authenticate"

    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    assert "password:" not in out.getvalue() and "client secret:" not in out.getvalue()
    assert "already exists" in out.getvalue()
    assert TrustedApplication.objects.count() == 4 and service.secrets.count() == 1


@pytest.mark.django_db
def test_load_demo_data_points_at_where_the_registry_serves(tmp_path, settings):
    # `make run HOST=... PORT=...` sets the issuer; the demo's URLs follow it.
    settings.BASE_DIR = tmp_path
    settings.TRUSTREGISTRY_ISSUER = "http://127.0.0.1:9011/id"
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    assert "Sign in at http://127.0.0.1:9011/admin/" in out.getvalue()
    connector = TrustedApplication.objects.get(client_id="demo.trustregistry.local/connector")
    assert connector.connector_url == "http://127.0.0.1:9011/connector/authenticate"
    spa = TrustedApplication.objects.get(client_id="demo.trustregistry.local/spa")
    assert spa.login_urls == ["http://127.0.0.1:9011/demo/callback"]
    assert spa.logout_urls == ["http://127.0.0.1:9011/demo/"]

    settings.TRUSTREGISTRY_ISSUER = "http://127.0.0.1:9012/id"  # run again on another port
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    assert "connector URL now http://127.0.0.1:9012/connector/authenticate" in out.getvalue()
    connector.refresh_from_db()
    assert connector.connector_url == "http://127.0.0.1:9012/connector/authenticate"


@pytest.mark.django_db
def test_import_without_source_means_manual(tmp_path):
    factories.TrustedApplicationFactory(client_id="src.example.com/app", source="marketplace")
    path = tmp_path / "apps.json"
    path.write_text(
        json.dumps([{"application_uri": "src.example.com/app", "names": {"en": "Src"}}])
    )
    call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert TrustedApplication.objects.get(client_id="src.example.com/app").source == "manual"


@pytest.mark.django_db
def test_import_of_text_that_cannot_be_stored_names_record_and_field(tmp_path):
    factories.TrustedApplicationFactory(client_id="keep.example.com/app")
    path = tmp_path / "bad.json"
    path.write_text(
        '[{"application_uri": "bad.example.com/app", "names": {"en": "\\ud800"}}]',
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as info:
        call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    message = str(info.value)
    assert "record 1 (bad.example.com/app): names.en:" in message and "surrogate" in message
    assert list(TrustedApplication.objects.values_list("client_id", flat=True)) == [
        "keep.example.com/app"
    ]


@pytest.mark.django_db
def test_an_exported_secret_keeps_its_expiry_through_import(tmp_path):
    import datetime as dt

    from trustregistry.common import clock
    from trustregistry.registry import services

    app = factories.TrustedApplicationFactory(client_id="exp.example.com/app", secret="old-one")
    app.secrets.update(expires=clock.now() - dt.timedelta(days=1))  # expired yesterday
    services.secret_add_hash(application=app, secret_hash=secrets.hash_secret("new-one"),
                             expires=clock.now() + dt.timedelta(days=30))  # fmt: skip
    path = tmp_path / "export.json"
    call_command("export_trusted_apps", str(path), stdout=io.StringIO())
    TrustedApplication.objects.all().delete()  # a fresh registry
    call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    imported = TrustedApplication.objects.get(client_id="exp.example.com/app")
    assert not services.secret_verify(application=imported, secret="old-one")  # stays dead
    assert services.secret_verify(application=imported, secret="new-one")
    again = tmp_path / "again.json"
    call_command("export_trusted_apps", str(again), stdout=io.StringIO())
    first, second = json.loads(path.read_text())[0], json.loads(again.read_text())[0]
    assert [s["expires"] for s in first["secrets"]] == [s["expires"] for s in second["secrets"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "expires",
    [
        "2030-13-45T00:00:00Z",
        "soon",
        "2030-01-01T00:00:00",
        5,
        "9999-12-31T23:59:59-23:59",  # past the last date that can be stored
        "0001-01-01T00:00:00+23:59",
    ],
)
def test_import_names_a_bad_exported_expiry(tmp_path, expires):
    record = {
        "application_uri": "exp.example.com/app",
        "names": {"en": "X"},
        "secret_hashes": [secrets.hash_secret("one")],
        "secrets": [{"id": 1, "expires": expires}],
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    with pytest.raises(CommandError, match=r"record 1 \(exp.example.com/app\): secrets\[0\]"):
        call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
def test_an_import_that_only_changes_a_secret_expiry_says_changed(tmp_path):
    record = {
        "application_uri": "exp.example.com/app",
        "names": {"en": "X"},
        "secret_hashes": [secrets.hash_secret("one")],
        "secrets": [{"expires": None}],
    }
    path = tmp_path / "apps.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    record["secrets"] = [{"expires": "2000-01-01T00:00:00Z"}]  # in effect: revoked
    path.write_text(json.dumps([record]), encoding="utf-8")
    out = io.StringIO()
    call_command("import_trusted_apps", str(path), stdout=out, stderr=io.StringIO())
    assert out.getvalue().split() == ["changed", "exp.example.com/app"]


@pytest.mark.django_db
@pytest.mark.parametrize("content", [b"\xff\xfe[]", b'[{"application_uri": "a\xe9"}]'])
def test_an_import_file_that_is_not_utf8_is_named_not_a_traceback(tmp_path, content):
    path = tmp_path / "latin1.json"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.django_db
def test_an_import_from_a_pipe_may_start_with_a_byte_order_mark(monkeypatch):
    body = json.dumps([{"application_uri": "bom.example.com/app", "names": {"en": "B"}}])

    class Pipe:
        buffer = io.BytesIO(b"\xef\xbb\xbf" + body.encode())

    monkeypatch.setattr("sys.stdin", Pipe())
    call_command("import_trusted_apps", "-", stdout=io.StringIO(), stderr=io.StringIO())
    assert TrustedApplication.objects.filter(client_id="bom.example.com/app").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field",
    [
        ({"system_user": "bad user/!"}, "system_user"),
        ({"names": {"en": "N" * 1000}}, "names.en"),
    ],
)
def test_import_names_the_field_as_the_file_writes_it(tmp_path, change, field):
    record = {"application_uri": "f.example.com/app", "names": {"en": "F"}, **change}
    path = tmp_path / "apps.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    with pytest.raises(CommandError, match=rf"record 1 \(f.example.com/app\): {field}: "):
        call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert not TrustedApplication.objects.exists()
    assert not get_user_model().objects.filter(username="bad user/!").exists()


@pytest.mark.django_db
def test_export_to_a_path_it_cannot_write_is_named_and_an_old_file_becomes_owner_only(tmp_path):
    import os
    import stat

    factories.TrustedApplicationFactory(client_id="x.example.com/app")
    for bad in (tmp_path, tmp_path / "missing" / "x.json"):
        with pytest.raises(CommandError, match="Cannot write"):
            call_command("export_trusted_apps", str(bad), stderr=io.StringIO())
    old = tmp_path / "old.json"
    old.write_text("[]")
    os.chmod(old, 0o644)
    call_command("export_trusted_apps", str(old), stderr=io.StringIO())
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert json.loads(old.read_text())[0]["application_uri"] == "x.example.com/app"


@pytest.mark.django_db
def test_exported_public_keys_have_their_members_in_one_order_on_every_database():
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = keys.public_key_to_jwk(rsa_key.public_key())
    app = factories.TrustedApplicationFactory(
        client_id="k.example.com/app", public_keys=[dict(reversed(list(jwk.items())))]
    )
    exported = serialization.application_to_dict(app, include_secret_hashes=False)["public_keys"][0]
    assert list(exported) == sorted(jwk)


@pytest.mark.django_db
def test_an_import_with_two_records_for_one_uri_is_refused(tmp_path):
    records = [
        {"application_uri": "d.example.com/app", "names": {"en": "First"}},
        {"application_uri": "d.example.com/app", "names": {"en": "Second"}},
    ]
    path = tmp_path / "apps.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(CommandError, match=r"record 2 \(d.example.com/app\): application_uri"):
        call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert not TrustedApplication.objects.exists()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_imports_run_at_once_create_the_missing_system_user_once(tmp_path):
    from tests.registry.test_services import _race

    factories.TrustedApplicationFactory(client_id="sys.example.com/app")
    path = tmp_path / "apps.json"
    record = {
        "application_uri": "sys.example.com/app",
        "names": {"en": "Sys"},
        "system_user": "import-race-system",
        "system_user_allowed": True,
        "client_type": "confidential",
    }
    path.write_text(json.dumps([record]))

    def work(_i: int) -> str:
        out = io.StringIO()
        call_command("import_trusted_apps", str(path), stdout=out, stderr=io.StringIO())
        return out.getvalue()

    outcomes = _race(3, work)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    user = get_user_model().objects.get(username="import-race-system")
    assert user.is_system
    assert TrustedApplication.objects.get(client_id="sys.example.com/app").system_user == user
