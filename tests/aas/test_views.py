"""POST /api/connectors/resolve (through the API's authentication and scope rules) and the AAS
certificate download."""

import json
import time

import pytest
from cryptography import x509
from rest_framework.test import APIRequestFactory

from connector import tokens
from connector.keys import public_key_to_jwk
from tests import factories
from tests.aas.conftest import CONNECTOR_URI
from tests.api.conftest import basic_header
from trustregistry.aas.views import ResolveConnectorView
from trustregistry.common import clock
from trustregistry.keys.models import KeyPurpose
from trustregistry.keys.services import get_active_key, rotate_key
from trustregistry.oauth.access_tokens import issue_access_token


@pytest.fixture
def caller(db):
    app = factories.TrustedApplicationFactory(client_id="eis.example.com/eis", scope="sec update")
    user = factories.StaffUserFactory(username="eis-operator")
    return app, user


def _post(data, token=None, fmt="json"):
    factory = APIRequestFactory()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    request = factory.post("/api/connectors/resolve", data, format=fmt, **headers)
    response = ResolveConnectorView.as_view()(request)
    response.render()
    return response


def _post_basic(data, username, password, application_uri):
    request = APIRequestFactory().post(
        "/api/connectors/resolve",
        data,
        format="json",
        HTTP_AUTHORIZATION=basic_header(username, password),
        HTTP_X_APPLICATION_URI=application_uri,
    )
    response = ResolveConnectorView.as_view()(request)
    response.render()
    return response


def _token(caller, scope="sec"):
    app, user = caller
    return issue_access_token(application=app, user=user, scope=scope)[0]


def test_resolve_with_sec(caller, connector_record, connector_url):
    response = _post({"url": f"app://{CONNECTOR_URI}", "context": "Cust1"}, _token(caller))
    assert response.status_code == 200
    assert response.data == {"url": connector_url}
    assert response["Cache-Control"] == "no-store"


def test_resolve_needs_authentication(db):
    response = _post({"url": "app://x.example/app", "context": "c"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_resolve_needs_sec_but_not_update(caller, connector_record):
    response = _post({"url": f"app://{CONNECTOR_URI}", "context": "c"}, _token(caller, "update"))
    assert response.status_code == 403
    assert response.data["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"url": "app://nobody.example/app", "context": "c"}, 404, "unknown_application"),
        ({"url": "ftp://x", "context": "c"}, 400, "invalid_request"),
        ({"context": "c"}, 400, "invalid_request"),
        ({"url": f"app://{CONNECTOR_URI}"}, 400, "invalid_request"),
        ([1, 2], 400, "invalid_request"),
    ],
)
def test_failures_are_json_with_a_code(caller, connector_record, body, status, code):
    response = _post(body, _token(caller))
    assert response.status_code == status
    assert response.data["error"] == code and response.data["message"]


def test_not_json_is_a_400(caller):
    response = _post("{nope", _token(caller), fmt=None)
    assert response.status_code in (400, 415)
    assert "error" in response.data


def test_failure_answers_never_carry_the_url(caller, connector_record, other_key):
    from connector.keys import public_key_to_jwk

    connector_record.public_keys = [public_key_to_jwk(other_key.public_key())]
    connector_record.save()
    response = _post({"url": f"app://{CONNECTOR_URI}", "context": "c"}, _token(caller))
    assert response.status_code == 502 and response.data["error"] == "handshake_failed"
    assert connector_record.connector_url not in response.content.decode()
    connector_record.is_enabled = False
    connector_record.save()
    response = _post({"url": f"app://{CONNECTOR_URI}", "context": "c"}, _token(caller))
    assert response.status_code == 403 and response.data["error"] == "application_disabled"


def test_a_refused_resolve_names_who_asked_for_what(caller, connector_record, other_key, caplog):
    # README, Audit trail: the services' lines say why a handshake failed; this one, who
    # asked (the token's user and application), for which URL, and the code answered.
    from connector.keys import public_key_to_jwk

    caplog.set_level("INFO", logger="trustregistry.aas")
    connector_record.public_keys = [public_key_to_jwk(other_key.public_key())]
    connector_record.save()
    token = _token(caller)
    _post({"url": f"app://{CONNECTOR_URI}", "context": "c"}, token)
    _post({"url": "app://nobody.example/app", "context": "c"}, token)
    assert [r.getMessage() for r in caplog.records if r.name == "trustregistry.aas.views"] == [
        f"connector resolve refused: 'app://{CONNECTOR_URI}' asked by user eis-operator through "
        "eis.example.com/eis: handshake_failed",
        "connector resolve refused: 'app://nobody.example/app' asked by user eis-operator "
        "through eis.example.com/eis: unknown_application",
    ]
    assert token not in caplog.text and connector_record.connector_url not in caplog.text


def test_aas_certificate_is_downloadable_as_pem(client, db):
    response = client.get("/id/.well-known/aas-certificate.pem")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    cert = x509.load_pem_x509_certificate(response.content)
    active = get_active_key(KeyPurpose.AAS)
    assert cert.fingerprint(cert.signature_hash_algorithm).hex() and active.certificate == cert

    rotate_key(purpose=KeyPurpose.AAS)
    rotated = x509.load_pem_x509_certificate(
        client.get("/id/.well-known/aas-certificate.pem").content
    )
    assert rotated != cert and rotated == get_active_key(KeyPurpose.AAS).certificate
    assert client.post("/id/.well-known/aas-certificate.pem").status_code == 405


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "change",
    [
        {"public_keys": "other"},
        {"connector_url": ""},
        {"is_enabled": False},
    ],
)
def test_a_record_changed_while_its_handshake_runs_resolves_nothing(
    caller, scripted, app_key, other_key, change
):
    """SPEC section 2: a withdrawal stops a handshake already under way. The connector still
    answers with the key it holds, after the administrator has replaced that key, removed
    the connector URL or disabled the record; on PostgreSQL this runs the one-statement
    writes (no transaction around the test)."""
    record = scripted.record
    if change.get("public_keys") == "other":
        change = {"public_keys": [public_key_to_jwk(other_key.public_key())]}

    def answer(claims):
        type(record).objects.filter(pk=record.pk).update(**change)
        value = tokens.sign_application_token(
            nonce=claims["nonce"], private_key=app_key, now=clock.now().timestamp()
        )
        body = {"Succeeded": True, "Reason": None, "SignedApplicationToken": value}
        return "200 OK", [], json.dumps(body).encode()

    scripted.answer = answer
    response = _post({"url": f"app://{record.client_id}", "context": "Cust1"}, _token(caller))
    assert response.status_code in (403, 502), response.data
    assert record.connector_url not in json.dumps(response.data)


# ------------------------------------------------------------------ the caller, after a long wait


def _answer_after(scripted, app_key, meanwhile, wait=0.0):
    record = scripted.record

    def answer(claims):
        meanwhile()
        time.sleep(wait)
        value = tokens.sign_application_token(
            nonce=claims["nonce"], private_key=app_key, now=clock.now().timestamp()
        )
        body = {"Succeeded": True, "Reason": None, "SignedApplicationToken": value}
        return "200 OK", [], json.dumps(body).encode()

    scripted.answer = answer
    return {"url": f"app://{record.client_id}", "context": "Cust1"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("withdrawal", "status", "code"),
    [
        ("disable the caller's record", 401, "invalid_token"),
        ("revoke the caller's token", 401, "invalid_token"),
        ("deactivate the caller's user", 401, "invalid_token"),
        ("withdraw sec from the caller's record", 403, "insufficient_scope"),
    ],
)
def test_a_caller_withdrawn_while_the_connector_answered_gets_no_url(
    caller, scripted, app_key, monkeypatch, caplog, withdrawal, status, code
):
    """SPEC section 2: a disabled application's tokens stop at once. A resolve waits on its
    connector for up to 13 s; one that waited longer than RECHECK_CALLER_AFTER_SECONDS (set
    to 0 here) checks its caller again before it hands over the URL."""
    from trustregistry.aas import views

    monkeypatch.setattr(views, "RECHECK_CALLER_AFTER_SECONDS", 0.0)
    app, user = caller
    raw, row = issue_access_token(application=app, user=user, scope="sec")
    changes = {
        "disable the caller's record": lambda: (
            type(app).objects.filter(pk=app.pk).update(is_enabled=False)
        ),
        "revoke the caller's token": lambda: type(row).objects.filter(pk=row.pk).delete(),
        "deactivate the caller's user": lambda: (
            type(user).objects.filter(pk=user.pk).update(is_active=False)
        ),
        "withdraw sec from the caller's record": lambda: (
            type(app).objects.filter(pk=app.pk).update(scope="update")
        ),
    }
    body = _answer_after(scripted, app_key, changes[withdrawal])
    with caplog.at_level("WARNING", logger="trustregistry.aas.views"):
        response = _post(body, raw)
    assert (response.status_code, response.data["error"]) == (status, code), response.data
    assert scripted.record.connector_url not in json.dumps(response.data)
    assert "the caller lost its authorization while the connector answered" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_basic_caller_disabled_while_the_connector_answered_gets_no_url(
    scripted, app_key, monkeypatch
):
    from trustregistry.aas import views

    monkeypatch.setattr(views, "RECHECK_CALLER_AFTER_SECONDS", 0.0)
    factories.StaffUserFactory(username="legacy-operator", password="pa55-word-x")
    app = factories.TrustedApplicationFactory(
        client_id="legacy.example.com/erp", scope="sec", basic_auth_allowed=True
    )
    body = _answer_after(
        scripted, app_key, lambda: type(app).objects.filter(pk=app.pk).update(is_enabled=False)
    )
    response = _post_basic(body, "legacy-operator", "pa55-word-x", app.client_id)
    assert response.status_code == 401 and response.data["error"] == "application_disabled"


@pytest.mark.django_db(transaction=True)
def test_a_caller_still_trusted_after_a_long_wait_gets_its_url(caller, scripted, app_key):
    """The real threshold: a connector taking over a second, the caller unchanged."""
    from trustregistry.aas import views

    body = _answer_after(
        scripted, app_key, lambda: None, wait=views.RECHECK_CALLER_AFTER_SECONDS + 0.05
    )
    response = _post(body, _token(caller))
    assert response.status_code == 200 and response.data == {"url": scripted.record.connector_url}


@pytest.mark.django_db(transaction=True)
def test_after_a_long_wait_a_caller_disabled_meanwhile_gets_no_url(caller, scripted, app_key):
    from trustregistry.aas import views

    app, _user = caller
    body = _answer_after(
        scripted,
        app_key,
        lambda: type(app).objects.filter(pk=app.pk).update(is_enabled=False),
        wait=views.RECHECK_CALLER_AFTER_SECONDS + 0.05,
    )
    response = _post(body, _token(caller))
    assert response.status_code == 401 and response.data["error"] == "invalid_token"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["changed", "made unusable"])
def test_a_basic_callers_password_changed_while_the_connector_answered_gets_no_url(
    scripted, app_key, monkeypatch, change
):
    """Changing a password is how a leaked one is withdrawn: asked now, the old password is
    refused, so the second check refuses it too (without hashing it again: the stored hash
    must be the one the first check verified)."""
    from trustregistry.aas import views

    monkeypatch.setattr(views, "RECHECK_CALLER_AFTER_SECONDS", 0.0)
    user = factories.StaffUserFactory(username="legacy-operator", password="pa55-word-x")
    app = factories.TrustedApplicationFactory(
        client_id="legacy.example.com/erp", scope="sec", basic_auth_allowed=True
    )

    def withdraw():
        fresh = type(user).objects.get(pk=user.pk)
        if change == "changed":
            fresh.set_password("new-pa55-word")
        else:
            fresh.set_unusable_password()
        fresh.save()

    body = _answer_after(scripted, app_key, withdraw)
    response = _post_basic(body, "legacy-operator", "pa55-word-x", app.client_id)
    assert response.status_code == 401, response.data
    assert response.data["error"] == "invalid_credentials"
    assert scripted.record.connector_url not in json.dumps(response.data)
