"""The trusted-application API (SPEC section 6)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories
from trustregistry.common import clock
from trustregistry.registry import services
from trustregistry.registry.models import TrustedApplication
from trustregistry.registry.secrets import hash_secret

pytestmark = pytest.mark.django_db

APPS = "/api/trusted-applications/"

NEW_RECORD = {
    "application_uri": "mywebsite.com/myapp1",
    "names": {"en": "My app", "bg": "Моето приложение"},
    "client_type": "confidential",
    "impersonate_internal_allowed": True,
    "login_urls": ["https://mywebsite.com/signin-oidc"],
    "logout_urls": ["https://mywebsite.com/"],
    "scope": "update crm",
}


def _json(client, method: str, path: str, body=None):  # type: ignore[no-untyped-def]
    return getattr(client, method)(path, body, content_type="application/json")


# ------------------------------------------------------------------ list / create


def test_list_returns_every_record_without_secret_hashes(admin_client):
    factories.TrustedApplicationFactory(client_id="b.example.com/app", secret="s3cret-value")
    response = admin_client.get(APPS)
    assert response.status_code == 200
    by_uri = {r["application_uri"]: r for r in response.json()}
    assert set(by_uri) == {"admin.example.com/console", "b.example.com/app"}
    record = by_uri["b.example.com/app"]
    assert "secret_hashes" not in record
    assert hash_secret("s3cret-value") not in response.content.decode()
    assert len(record["secrets"]) == 1 and set(record["secrets"][0]) == {
        "id",
        "created",
        "expires",
        "last_used",
    }


def test_create_returns_201_with_the_stored_record_and_keeps_history(admin_client):
    response = _json(admin_client, "post", APPS, NEW_RECORD)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["application_uri"] == "mywebsite.com/myapp1"
    assert body["names"] == {"en": "My app", "bg": "Моето приложение"}
    assert (
        body["scope"] == "update crm" and body["source"] == "manual" and body["is_enabled"] is True
    )
    assert response["Location"] == "/api/trusted-applications/mywebsite.com/myapp1/"
    app = TrustedApplication.objects.get(client_id="mywebsite.com/myapp1")
    assert app.history.latest().history_user == admin_client.user


def test_create_with_secret_hashes_stores_them_but_never_shows_them(admin_client):
    record = {**NEW_RECORD, "secret_hashes": ["T/AGymuI51LwjLeIFxRQXOs9IHnupDKs/ajhWODR2C4="]}
    response = _json(admin_client, "post", APPS, record)
    assert response.status_code == 201
    assert "secret_hashes" not in response.json() and len(response.json()["secrets"]) == 1
    app = TrustedApplication.objects.get(client_id="mywebsite.com/myapp1")
    assert services.secret_verify(application=app, secret="DEMO")


def test_create_an_existing_uri_is_409(admin_client):
    response = _json(
        admin_client, "post", APPS, {**NEW_RECORD, "application_uri": "admin.example.com/console"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == "already_exists"


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_one_uri_created_by_many_at_once_is_one_201_and_409s(admin_client):
    """A create racing another past the view's existence check is a 409, not a 500."""
    from django.test import Client

    from tests.registry.test_services import _race

    header = admin_client.defaults["HTTP_AUTHORIZATION"]

    def work(_i: int) -> int:
        return _json(Client(HTTP_AUTHORIZATION=header), "post", APPS, NEW_RECORD).status_code

    statuses = _race(8, work)
    assert sorted(statuses) == [201] + [409] * 7, statuses


def test_create_ignores_read_only_source(admin_client):
    response = _json(admin_client, "post", APPS, {**NEW_RECORD, "source": "marketplace"})
    assert response.status_code == 201
    assert response.json()["source"] == "manual"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"application_uri": "has space/app"}, "application_uri"),
        ({"login_urls": ["http://mywebsite.com/callback"]}, "login_urls"),
        ({"login_urls": ["https://mywebsite.com/cb#frag"]}, "login_urls"),
        ({"scope": "update superpowers"}, "scope"),
        ({"client_type": "secret-keeper"}, "client_type"),
        ({"names": {"bg": "Само български"}}, "names"),
        ({"is_enabled": "yes"}, "is_enabled"),
        ({"system_user": "no-such-user"}, "system_user"),
        ({"names": {"en": "Shop \u202eevil"}}, "names.en"),  # a bidi override
        ({"names": {"en": "Shop\ufeff"}}, "names.en"),  # zero-width no-break space
        ({"public_keys": ["not a key"]}, "public_keys"),
        ({"public_keys": [{"kty": "RSA", "n": 123, "e": "AQAB"}]}, "public_keys"),
        (
            {"public_keys": ["-----BEGIN PUBLIC KEY-----\nAA\u00e9\n-----END PUBLIC KEY-----"]},
            "public_keys",
        ),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_record_is_400_json_naming_the_field(admin_client, change, field):
    response = _json(admin_client, "post", APPS, {**NEW_RECORD, **change})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_request"
    assert field in body["fields"] and body["fields"][field]
    assert body["message"]
    assert not TrustedApplication.objects.filter(client_id=NEW_RECORD["application_uri"]).exists()


def test_a_dotnet_xml_private_key_as_public_key_is_400_and_stores_nothing(admin_client, interop):
    """SuperOffice's sample connector key file, verbatim, where the record's public key goes:
    refused naming the field, as a PEM private key is, never stored as its public half."""
    xml = (interop / "connector-samples_LocalhostPrivateKey.xml").read_text(encoding="utf-8")
    response = _json(admin_client, "post", APPS, {**NEW_RECORD, "public_keys": [xml]})
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["public_keys"] == [
        "This is a private key: paste only the public key."
    ]
    assert not TrustedApplication.objects.filter(client_id=NEW_RECORD["application_uri"]).exists()


def test_body_that_is_not_an_object_is_400(admin_client):
    response = _json(admin_client, "post", APPS, ["not", "an", "object"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_invalid_json_is_400(admin_client):
    response = admin_client.post(APPS, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


def test_other_media_type_is_415(admin_client):
    response = admin_client.post(
        APPS, "application_uri=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


# ------------------------------------------------------------------ one record


@pytest.fixture
def record(db):  # type: ignore[no-untyped-def]
    return factories.TrustedApplicationFactory(client_id="mywebsite.com/myapp1", scope="update")


@pytest.mark.parametrize(
    "path",
    [
        "/api/trusted-applications/mywebsite.com/myapp1/",
        "/api/trusted-applications/mywebsite.com%2Fmyapp1/",
        "/api/trusted-applications/mywebsite.com%252Fmyapp1/",
    ],
)
def test_retrieve_by_uri_as_is_or_percent_encoded(admin_client, record, path):
    response = admin_client.get(path)
    assert response.status_code == 200
    assert response.json()["application_uri"] == "mywebsite.com/myapp1"


def test_retrieve_with_colon_and_tilde_in_the_uri(admin_client):
    factories.TrustedApplicationFactory(client_id="urn:example.com/~team/app")
    for path in ("urn:example.com/~team/app/", "urn%3Aexample.com%2F~team%2Fapp/"):
        response = admin_client.get(APPS + path)
        assert response.status_code == 200, path
        assert response.json()["application_uri"] == "urn:example.com/~team/app"


def test_uri_is_case_sensitive(admin_client, record):
    response = admin_client.get(f"{APPS}MyWebsite.com/myapp1/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_unknown_record_is_json_404(admin_client):
    response = admin_client.get(f"{APPS}nowhere.example.com/app/")
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "message": "There is no trusted application 'nowhere.example.com/app'.",
    }


def test_patch_changes_only_the_given_fields(admin_client, record):
    response = _json(
        admin_client,
        "patch",
        f"{APPS}mywebsite.com/myapp1/",
        {"scope": "update crm", "basic_auth_allowed": True},
    )
    assert response.status_code == 200, response.content
    assert (
        response.json()["scope"] == "update crm" and response.json()["basic_auth_allowed"] is True
    )
    record.refresh_from_db()
    assert record.scope == "update crm" and record.impersonate_internal_allowed is True
    assert record.history.latest().history_user == admin_client.user


def test_put_replaces_the_record(admin_client, record):
    body = {"names": {"en": "Renamed"}, "scope": "crm"}
    response = _json(admin_client, "put", f"{APPS}mywebsite.com%2Fmyapp1/", body)
    assert response.status_code == 200, response.content
    assert response.json()["names"] == {"en": "Renamed"}
    record.refresh_from_db()
    # Left out of a PUT: back to the defaults.
    assert (
        record.scope == "crm"
        and record.impersonate_internal_allowed is False
        and record.login_urls == []
    )


def test_a_put_without_secret_hashes_keeps_the_secrets(admin_client, record):
    """secret_hashes is write-only: a body read back never holds it, so a PUT of what was
    read (one field changed) left the record without a secret, and its application could no
    longer authenticate. Absent, the secrets stay; `"secret_hashes": []` removes them."""
    url = f"{APPS}mywebsite.com/myapp1/"
    assert _json(admin_client, "post", f"{url}secrets/", {}).status_code == 201
    body = _json(admin_client, "get", url).json()
    response = _json(admin_client, "put", url, {**body, "scope": "crm"})
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "crm"
    assert response.json()["secrets"] == body["secrets"]
    assert record.secrets.count() == 1
    emptied = _json(admin_client, "put", url, {**body, "secret_hashes": []})
    assert emptied.status_code == 200 and emptied.json()["secrets"] == []


def test_a_put_turning_public_asks_to_remove_the_secrets(admin_client, record):
    url = f"{APPS}mywebsite.com/myapp1/"
    assert _json(admin_client, "post", f"{url}secrets/", {}).status_code == 201
    body = _json(admin_client, "get", url).json()
    refused = _json(admin_client, "put", url, {**body, "client_type": "public"})
    assert refused.status_code == 400
    assert "client_type" in refused.json()["fields"]
    assert record.secrets.count() == 1
    done = _json(admin_client, "put", url, {**body, "client_type": "public", "secret_hashes": []})
    assert done.status_code == 200, done.content
    assert done.json()["client_type"] == "public" and done.json()["secrets"] == []


def test_the_uri_cannot_be_renamed(admin_client, record):
    response = _json(
        admin_client, "patch", f"{APPS}mywebsite.com/myapp1/", {"application_uri": "other.com/app"}
    )
    assert response.status_code == 400
    assert "application_uri" in response.json()["fields"]
    assert TrustedApplication.objects.filter(client_id="mywebsite.com/myapp1").exists()


def test_invalid_update_changes_nothing(admin_client, record):
    response = _json(
        admin_client,
        "patch",
        f"{APPS}mywebsite.com/myapp1/",
        {"scope": "crm", "login_urls": ["ftp://mywebsite.com/"]},
    )
    assert response.status_code == 400 and "login_urls" in response.json()["fields"]
    record.refresh_from_db()
    assert record.scope == "update"


def test_delete_disables_and_never_deletes(admin_client, record, bearer, client):
    user_header = bearer(record, factories.UserFactory(), "update")
    response = admin_client.delete(f"{APPS}mywebsite.com/myapp1/")
    assert response.status_code == 200
    assert response.json()["is_enabled"] is False
    record.refresh_from_db()
    assert record.is_enabled is False
    # Its live tokens stop working at once.
    assert client.get("/api/me", HTTP_AUTHORIZATION=user_header).status_code == 401


def test_a_record_whose_uri_ends_in_secrets_is_addressable(admin_client):
    factories.TrustedApplicationFactory(client_id="example.com/secrets")
    response = admin_client.get(f"{APPS}example.com/secrets/")
    assert response.status_code == 200
    assert response.json()["application_uri"] == "example.com/secrets"
    patch = _json(admin_client, "patch", f"{APPS}example.com/secrets/", {"scope": "crm"})
    assert patch.status_code == 200 and patch.json()["scope"] == "crm"


# ------------------------------------------------------------------ secrets


def test_generate_secret_returns_it_once_and_it_authenticates(admin_client, record):
    response = _json(admin_client, "post", f"{APPS}mywebsite.com/myapp1/secrets/", {})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"id", "secret", "expires"} and body["expires"] is None
    assert len(body["secret"]) >= 24
    assert services.secret_verify(application=record, secret=body["secret"])
    # Never shown again.
    assert body["secret"] not in admin_client.get(f"{APPS}mywebsite.com/myapp1/").content.decode()
    assert [
        s["id"] for s in admin_client.get(f"{APPS}mywebsite.com/myapp1/").json()["secrets"]
    ] == [body["id"]]


def test_generate_secret_on_a_percent_encoded_uri_without_body(admin_client, record):
    # As `curl -X POST` sends it: no body, no Content-Type.
    response = admin_client.generic("POST", f"{APPS}mywebsite.com%2Fmyapp1/secrets/")
    assert response.status_code == 201
    assert services.secret_verify(application=record, secret=response.json()["secret"])


def test_generate_secret_with_expiry(admin_client, record):
    expires = (clock.now() + dt.timedelta(days=30)).replace(microsecond=0)
    response = _json(
        admin_client,
        "post",
        f"{APPS}mywebsite.com/myapp1/secrets/",
        {"expires": expires.isoformat()},
    )
    assert response.status_code == 201
    assert dt.datetime.fromisoformat(response.json()["expires"]) == expires
    assert record.secrets.get().expires == expires


@pytest.mark.parametrize(
    "expires",
    ["tomorrow", "2020-01-01T00:00:00Z", "2030-13-45T00:00:00Z", 12,
     "9999-12-31T23:59:59-23:59"],  # past the year 9999 in UTC
)  # fmt: skip
def test_generate_secret_with_a_bad_expiry_is_400(admin_client, record, expires):
    response = _json(
        admin_client, "post", f"{APPS}mywebsite.com/myapp1/secrets/", {"expires": expires}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not record.secrets.exists()


def test_third_secret_replaces_the_oldest_and_the_other_keeps_working(admin_client, record):
    url = f"{APPS}mywebsite.com/myapp1/secrets/"
    first = _json(admin_client, "post", url, {}).json()["secret"]
    second = _json(admin_client, "post", url, {}).json()["secret"]
    assert services.secret_verify(application=record, secret=first)
    assert services.secret_verify(application=record, secret=second)
    third = _json(admin_client, "post", url, {}).json()["secret"]
    assert not services.secret_verify(application=record, secret=first)
    assert services.secret_verify(application=record, secret=second)
    assert services.secret_verify(application=record, secret=third)
    assert record.secrets.count() == 2


def test_public_client_gets_no_secret(admin_client):
    factories.PublicApplicationFactory(client_id="spa.example.com/app")
    response = _json(admin_client, "post", f"{APPS}spa.example.com/app/secrets/", {})
    assert response.status_code == 400
    assert "public" in response.json()["message"].lower()


def test_secret_of_an_unknown_record_is_404(admin_client):
    response = _json(admin_client, "post", f"{APPS}nowhere.example.com/app/secrets/", {})
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_nul_character_in_the_uri_is_a_client_error_never_a_500(admin_client, record):
    # PostgreSQL refuses NUL in any text parameter: the lookup must not reach it.
    bad = {**NEW_RECORD, "application_uri": "a\x00b.example.com/x"}
    created = _json(admin_client, "post", APPS, bad)
    assert created.status_code == 400 and "application_uri" in created.json()["fields"]
    assert admin_client.get(f"{APPS}a%00b/").status_code == 404
    assert admin_client.post(f"{APPS}a%00b/secrets/").status_code == 404
    patched = _json(admin_client, "patch", f"{APPS}a%00b/", {"scope": "sec"})
    assert patched.status_code == 404


# ------------------------------------------------------------------ text that cannot be stored


@pytest.mark.parametrize(
    "body",
    [
        '{"application_uri": "nl.example.com/x\\n", "names": {"en": "X"}}',
        '{"application_uri": "a.example.com/x", "names": {"en": "a\\u0000b"}}',
        '{"application_uri": "a.example.com/x", "names": {"en": "\\ud800"}}',
        '{"application_uri": "a.example.com/x", "names": {"\\ud800": "X"}}',
        '{"application_uri": "a.example.com/x", "names": {"en": "X"}, "\\ud800": 1}',
        '{"application_uri": "a.example.com/x", "names": {"en": "X"}, "login_urls": ["https://\\ud800/"]}',
        '{"application_uri": "a.example.com/x", "names": {"en": "X"}, "system_user": "a\\u0000"}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_text_that_cannot_be_stored_is_400_json_and_stores_nothing(admin_client, body):
    from trustregistry.registry.models import TrustedApplication

    before = TrustedApplication.objects.count()
    response = admin_client.post(APPS, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"] in {"invalid_json", "invalid_request"}
    assert TrustedApplication.objects.count() == before


def test_a_public_client_type_needs_its_secrets_removed(admin_client):
    factories.TrustedApplicationFactory(client_id="p.example.com/a", secret="s3cret-value")
    url = f"{APPS}p.example.com/a/"
    change = {
        "client_type": "public",
        "login_urls": ["https://p.example.com/cb"],
        "impersonate_internal_allowed": True,
    }
    refused = _json(admin_client, "patch", url, change)
    assert refused.status_code == 400 and "client_type" in refused.json()["fields"]
    done = _json(admin_client, "patch", url, {**change, "secret_hashes": []})
    assert done.status_code == 200 and done.json()["client_type"] == "public"
    assert done.json()["secrets"] == []
