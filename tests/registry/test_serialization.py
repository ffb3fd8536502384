"""The record as JSON (SPEC section 6): reading, writing, validation keyed by JSON field names."""

import pytest
from django.core.exceptions import ValidationError

from connector import keys
from tests import factories
from trustregistry.registry import secrets, serialization
from trustregistry.registry.models import TrustedApplication

DEMO_HASH = "T/AGymuI51LwjLeIFxRQXOs9IHnupDKs/ajhWODR2C4="


def _body(**overrides):
    body = {
        "application_uri": "mywebsite.com/myapp1",
        "names": {"en": "My app", "bg": "Моето приложение"},
        "client_type": "confidential",
        "secret_hashes": [DEMO_HASH],
        "basic_auth_allowed": True,
        "impersonate_internal_allowed": True,
        "impersonate_community_allowed": False,
        "login_urls": ["https://mywebsite.com/cb", "http://127.0.0.1/cb"],
        "logout_urls": ["https://mywebsite.com/"],
        "is_enabled": True,
        "scope": "update sec",
        "system_user": None,
        "system_user_allowed": False,
        "system_user_login_url": "https://mywebsite.com/system",
        "connector_url": "https://connector.mywebsite.com/authenticate",
        "public_keys": [],
    }
    body.update(overrides)
    return body


@pytest.mark.django_db
def test_upsert_creates_then_to_dict_gives_every_field_back():
    app, created = serialization.application_upsert(data=_body())
    assert created
    data = serialization.application_to_dict(app, include_secret_hashes=True)
    assert list(data) == list(serialization.FIELDS)
    expected = _body()
    for field, value in expected.items():
        assert data[field] == value, field
    assert data["source"] == "manual"
    [secret] = data["secrets"]
    assert set(secret) == {"id", "created", "expires", "last_used"} and secret["expires"] is None
    assert "secret_hashes" not in serialization.application_to_dict(
        app, include_secret_hashes=False
    )


@pytest.mark.django_db
def test_upsert_with_an_unchanged_body_writes_no_history():
    app, _ = serialization.application_upsert(data=_body())
    before = app.history.count()
    again, created = serialization.application_upsert(data=_body())
    assert not created and again.pk == app.pk
    assert again.history.count() == before


@pytest.mark.django_db
def test_unknown_keys_are_refused_and_nothing_is_written():
    with pytest.raises(ValidationError) as exc:
        serialization.application_upsert(data=_body(colour="blue"))
    assert exc.value.message_dict == {"colour": ["Unknown field."]}
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
def test_model_errors_are_keyed_by_json_names():
    with pytest.raises(ValidationError) as exc:
        serialization.application_upsert(
            data=_body(application_uri="bad uri", login_urls=["http://evil.com/cb"])
        )
    errors = exc.value.message_dict
    assert "application_uri" in errors and "client_id" not in errors
    assert "http://evil.com/cb" in " ".join(errors["login_urls"])
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field,value",
    [
        ("basic_auth_allowed", "yes"),
        ("client_type", "secret-keeper"),
        ("names", ["My app"]),
        ("secret_hashes", "DEMO"),
        ("secret_hashes", ["DEMO"]),
        ("secret_hashes", [DEMO_HASH, secrets.hash_secret("a"), secrets.hash_secret("b")]),
        ("public_keys", ["not a key"]),
        ("system_user", "nobody"),
        ("scope", "update nonsense"),
        ("connector_url", "http://connector.example.com/x"),
        ("login_urls", 42),
    ],
)
def test_bad_values_are_named_by_field(field, value):
    with pytest.raises(ValidationError) as exc:
        serialization.application_upsert(data=_body(**{field: value}))
    assert field in exc.value.message_dict
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
def test_names_need_the_default_language():
    with pytest.raises(ValidationError) as exc:
        serialization.application_upsert(data=_body(names={"bg": "Само български"}))
    assert "names" in exc.value.message_dict
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
def test_public_client_may_hold_no_secret():
    with pytest.raises(ValidationError) as exc:
        serialization.application_upsert(data=_body(client_type="public"))
    assert "secret_hashes" in exc.value.message_dict


@pytest.mark.django_db
def test_uri_of_an_existing_record_cannot_change():
    app = factories.TrustedApplicationFactory(client_id="a.com/x")
    with pytest.raises(ValidationError) as exc:
        serialization.application_upsert(
            data={"application_uri": "b.com/x"}, existing=app, partial=True
        )
    assert "application_uri" in exc.value.message_dict


@pytest.mark.django_db
def test_must_create_refuses_an_existing_uri():
    factories.TrustedApplicationFactory(client_id="mywebsite.com/myapp1")
    with pytest.raises(ValidationError) as exc:
        serialization.application_upsert(data=_body(), must_create=True)
    assert "application_uri" in exc.value.message_dict


@pytest.mark.django_db
def test_partial_update_touches_only_given_fields_and_ignores_read_only_ones():
    app = factories.TrustedApplicationFactory(client_id="a.com/x", scope="update", secret="s3cret")
    updated, created = serialization.application_upsert(
        data={"scope": "update sec", "secrets": [{"id": 1}], "source": "marketplace"},
        existing=app,
        partial=True,
    )
    updated.refresh_from_db()
    assert not created and updated.scope == "update sec" and updated.source == "manual"
    assert updated.login_urls == ["https://a.com/callback"] and updated.secrets.count() == 1


@pytest.mark.django_db
def test_source_is_taken_from_data_only_when_accepted():
    app, _ = serialization.application_upsert(data=_body(source="marketplace"), accept_source=True)
    assert app.source == "marketplace"


@pytest.mark.django_db
def test_system_user_by_username_and_created_when_asked():
    with pytest.raises(ValidationError):
        serialization.application_upsert(data=_body(system_user="svc", system_user_allowed=True))
    app, _ = serialization.application_upsert(
        data=_body(system_user="svc", system_user_allowed=True), create_missing_system_user=True
    )
    assert app.system_user.username == "svc" and app.system_user.kind == "system"
    person = factories.UserFactory(username="alice")
    with pytest.raises(ValidationError) as exc:
        serialization.application_upsert(
            data={"system_user": person.username}, existing=app, partial=True
        )
    assert "kind 'system'" in exc.value.message_dict["system_user"][0]


@pytest.mark.django_db
def test_a_missing_system_user_is_not_created_beside_one_differing_only_in_case():
    factories.SystemUserFactory(username="SVC")
    with pytest.raises(ValidationError) as exc:
        serialization.application_upsert(
            data=_body(system_user="svc", system_user_allowed=True),
            create_missing_system_user=True,
        )
    assert exc.value.message_dict["system_user"] == ["A user with that username already exists."]
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
def test_public_keys_accept_pem_and_rsa_xml_strings(interop):
    cert = (interop / "devnet-auth_DevNet.crt").read_text()
    private_xml = (interop / "connector-samples_LocalhostPrivateKey.xml").read_text()
    public_xml = keys.rsa_public_key_to_xml(keys.load_private_key(private_xml).public_key())
    app, _ = serialization.application_upsert(data=_body(public_keys=[cert, public_xml]))
    jwks = serialization.application_to_dict(app, include_secret_hashes=False)["public_keys"]
    assert [k["kty"] for k in jwks] == ["RSA", "RSA"]
    assert all(k["kid"] == keys.jwk_thumbprint(k) for k in jwks)
    again, _ = serialization.application_upsert(
        data={"public_keys": jwks}, existing=app, partial=True
    )
    assert again.public_keys == jwks
