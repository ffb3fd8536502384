"""Client authentication at the token endpoint, against the record (SPEC 3): secrets by Basic
and POST, private_key_jwt, public clients, driven over HTTP as a client would."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connector.keys import public_key_to_jwk
from tests import factories
from tests.oauth.conftest import ASSERTION_TYPE, SECRET, TOKEN, basic, cc
from trustregistry.common import clock
from trustregistry.oauth import access_tokens
from trustregistry.registry import services as registry_services

# ------------------------------------------------------------------ client authentication


def test_client_secret_basic_and_post(client, service_app):
    assert cc(client, service_app).status_code == 200
    response = client.post(
        TOKEN,
        {"grant_type": "client_credentials", "client_id": service_app.client_id,
         "client_secret": SECRET},
    )  # fmt: skip
    assert response.status_code == 200


def test_wrong_secret_and_unknown_client_answer_alike(client, service_app):
    wrong = cc(client, service_app, secret="nope")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong["WWW-Authenticate"].startswith("Basic ")
    unknown = client.post(
        TOKEN, {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic("nobody.example.com/x", SECRET),
    )  # fmt: skip
    assert unknown.status_code == 401
    assert unknown.json() == wrong.json()
    body = client.post(
        TOKEN,
        {"grant_type": "client_credentials", "client_id": service_app.client_id,
         "client_secret": "nope"},
    )  # fmt: skip
    assert body.status_code == 401 and body.json()["error"] == "invalid_client"


def test_two_auth_methods_at_once_refused(client, service_app):
    response = client.post(
        TOKEN,
        {"grant_type": "client_credentials", "client_id": service_app.client_id,
         "client_secret": SECRET},
        HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET),
    )  # fmt: skip
    assert response.status_code == 401


def test_either_live_secret_works_and_expiry_counts(client, service_app):
    second = registry_services.secret_generate(application=service_app)
    assert cc(client, service_app, secret=second.plain).status_code == 200
    assert cc(client, service_app).status_code == 200
    second.secret.refresh_from_db()
    assert second.secret.last_used is not None
    service_app.secrets.filter(pk=second.secret.pk).update(
        expires=clock.now() - dt.timedelta(seconds=1)
    )
    assert cc(client, service_app, secret=second.plain).status_code == 401
    assert cc(client, service_app).status_code == 200


def test_public_client_cannot_authenticate_with_secret(client, public_app):
    response = client.post(
        TOKEN, {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(public_app.client_id, "anything"),
    )  # fmt: skip
    assert response.status_code == 401


def test_disabled_record_fails_client_auth(client, service_app):
    service_app.is_enabled = False
    service_app.save()
    assert cc(client, service_app).status_code == 401


# ------------------------------------------------------------------ private_key_jwt


def _keyed_app(key_kind: str = "rsa"):
    private = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    jwk = public_key_to_jwk(private.public_key())
    app = factories.ServiceApplicationFactory(
        client_id=f"jwt-{key_kind}.example.com/svc", public_keys=[jwk], scope="update"
    )
    return app, private, jwk


def _assertion(app, private, jwk, *, alg="RS256", aud=None, exp_in=120, jti=None, **extra):
    from django.conf import settings

    now = int(clock.now().timestamp())
    claims = {
        "iss": app.client_id, "sub": app.client_id,
        "aud": aud or f"{settings.TRUSTREGISTRY_ISSUER}/connect/token",
        "iat": now, "exp": now + exp_in, "jti": jti or uuid.uuid4().hex, **extra,
    }  # fmt: skip
    return jwt.encode(claims, private, algorithm=alg, headers={"kid": jwk["kid"]})


def _jwt_request(client, assertion, **data):
    return client.post(
        TOKEN,
        {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
         "client_assertion": assertion, **data},
    )  # fmt: skip


@pytest.mark.parametrize(("kind", "alg"), [("rsa", "RS256"), ("ec", "ES256")])
def test_private_key_jwt_accepted_once(client, db, kind, alg):
    app, private, jwk = _keyed_app(kind)
    assertion = _assertion(app, private, jwk, alg=alg)
    first = _jwt_request(client, assertion)
    assert first.status_code == 200, first.content
    assert access_tokens.check_access_token(first.json()["access_token"]).application == app
    replay = _jwt_request(client, assertion)
    assert replay.status_code == 401


def test_private_key_jwt_refusals(client, db):
    app, private, jwk = _keyed_app()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "foreign key": jwt.encode(
            {"iss": app.client_id, "sub": app.client_id, "aud": "x", "exp": 1, "jti": "a"},
            other, algorithm="RS256", headers={"kid": jwk["kid"]},
        ),
        "wrong aud": _assertion(app, private, jwk, aud="https://elsewhere.example/token"),
        "expired": _assertion(app, private, jwk, exp_in=-120),
        "too long": _assertion(app, private, jwk, exp_in=3600 + 60),
        "sub differs": _assertion(app, private, jwk, sub="someone-else"),
        "alg none": jwt.encode(
            {"iss": app.client_id, "sub": app.client_id, "jti": "n", "exp": 9999999999},
            None, algorithm="none",
        ),
        "hs256 with public key text": jwt.encode(
            {"iss": app.client_id, "sub": app.client_id, "jti": "h", "exp": 9999999999},
            jwk["n"].encode(), algorithm="HS256",
        ),
        "garbage": "not.a.jwt",
    }  # fmt: skip
    for name, assertion in cases.items():
        response = _jwt_request(client, assertion)
        assert response.status_code == 401, name
        assert response.json()["error"] == "invalid_client", name
    wrong_type = client.post(
        TOKEN,
        {"grant_type": "client_credentials", "client_assertion_type": "urn:other",
         "client_assertion": _assertion(app, private, jwk)},
    )  # fmt: skip
    assert wrong_type.status_code == 401
