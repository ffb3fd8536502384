"""Bearer and Basic authentication (SPEC sections 4 and 5), driven through GET /api/me."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.test import Client, override_settings

from tests import factories
from tests.api.conftest import basic_header
from trustregistry.common import clock
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import get_active_key, rotate_key
from trustregistry.oauth.access_tokens import issue_access_token
from trustregistry.registry import services

pytestmark = pytest.mark.django_db

ME = "/api/me"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(app, user, **overrides):  # type: ignore[no-untyped-def]
    now = int(clock.now().timestamp())
    claims = {
        "iss": settings.TRUSTREGISTRY_ISSUER,
        "aud": settings.TRUSTREGISTRY_TOKEN_AUDIENCE,
        "sub": str(user.pk),
        "client_id": app.client_id,
        "scope": "update",
        "iat": now,
        "exp": now + 3600,
        "jti": "forged",
        "user_type": user.kind,
    }
    claims.update(overrides)
    return claims


def _assert_invalid_token(response, fragment: str = "") -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_token"
    assert fragment.lower() in body["message"].lower()
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="trustregistry"')
    assert 'error="invalid_token"' in challenge


# ------------------------------------------------------------------ bearer: good


def test_bearer_token_of_a_user_identifies_user_app_and_scopes(client, bearer):
    app = factories.TrustedApplicationFactory(client_id="mywebsite.com/myapp1", scope="update crm")
    user = factories.UserFactory(username="maria")
    response = client.get(ME, HTTP_AUTHORIZATION=bearer(app, user, "update crm"))
    assert response.status_code == 200
    assert response.json() == {
        "username": "maria",
        "kind": "internal",
        "application_uri": "mywebsite.com/myapp1",
        "scopes": ["crm", "update"],
        "auth": "bearer",
    }


def test_client_credentials_token_acts_as_the_system_user(client, bearer):
    app = factories.ServiceApplicationFactory(scope="sec")
    response = client.get(ME, HTTP_AUTHORIZATION=bearer(app, app.system_user, "sec"))
    assert response.status_code == 200
    assert response.json()["username"] == app.system_user.username
    assert response.json()["kind"] == "system"
    assert response.json()["scopes"] == ["sec"]


def test_lowercase_bearer_keyword_is_accepted(client, bearer):
    app = factories.TrustedApplicationFactory()
    header = bearer(app, factories.UserFactory(), "").replace("Bearer", "bearer", 1)
    assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 200


# ------------------------------------------------------------------ bearer: refused


def test_no_credentials_is_401_with_both_challenges(client):
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="trustregistry"')
    assert 'Basic realm="trustregistry"' in challenge
    assert "error=" not in challenge  # RFC 6750 3.1: no error code without credentials


@pytest.mark.parametrize(
    ("header", "status", "error"),
    # RFC 6750 section 3.1: a malformed header is a bad request; a token that is not one, 401
    [("Bearer", 400, "invalid_request"), ("Bearer a b", 400, "invalid_request"),
     ("Bearer not-a-jwt", 401, "invalid_token"), ("Bearer a.b.c", 401, "invalid_token")],
)  # fmt: skip
def test_malformed_bearer_header(client, header, status, error):
    response = client.get(ME, HTTP_AUTHORIZATION=header)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert f'error="{error}"' in response["WWW-Authenticate"]


def test_expired_token_is_401(client, bearer):
    app = factories.TrustedApplicationFactory()
    header = bearer(app, factories.UserFactory(), "update", lifetime=60)
    assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 200
    with time_machine.travel(clock.now() + dt.timedelta(minutes=5)):
        _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=header), "expired")


def test_registry_expiry_acts_even_when_the_jwt_has_not_expired(client):
    # Disabling a record shortens its tokens in the registry's table; the JWT's exp still says
    # it is live, and the registry's record wins.
    app = factories.TrustedApplicationFactory()
    raw, row = issue_access_token(application=app, user=factories.UserFactory(), scope="")
    row.expires = clock.now() - dt.timedelta(seconds=1)
    row.save()
    _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}"), "expired")


def test_revoked_token_is_401(client):
    app = factories.TrustedApplicationFactory()
    raw, row = issue_access_token(application=app, user=factories.UserFactory(), scope="")
    assert client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    row.revoke()
    _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}"), "revoked")


def test_disabled_record_refuses_its_live_token_at_once(client, bearer):
    app = factories.TrustedApplicationFactory()
    header = bearer(app, factories.UserFactory(), "update")
    assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 200
    # Only the flag: the check itself must read it, not rely on the service's token cleanup.
    type(app).objects.filter(pk=app.pk).update(is_enabled=False)
    _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=header), "disabled")


def test_reenabled_record_does_not_revive_tokens_revoked_by_disabling(client, bearer):
    app = factories.TrustedApplicationFactory()
    header = bearer(app, factories.UserFactory(), "")
    services.application_set_enabled(application=app, enabled=False)
    services.application_set_enabled(application=app, enabled=True)
    assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 401


def test_inactive_user_is_401(client, bearer):
    app = factories.TrustedApplicationFactory()
    user = factories.UserFactory()
    header = bearer(app, user, "")
    user.is_active = False
    user.save()
    _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=header), "inactive")


def test_token_signed_by_another_registrys_key_is_401(client):
    app = factories.TrustedApplicationFactory()
    user = factories.UserFactory()
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        _claims(app, user), foreign, algorithm="RS256", headers={"kid": "foreign", "typ": "at+jwt"}
    )
    _assert_invalid_token(
        client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}"), "not signed by a key"
    )


def test_token_signed_by_another_key_under_our_kid_is_401(client):
    app = factories.TrustedApplicationFactory()
    user = factories.UserFactory()
    our_kid = get_active_key(KeyPurpose.OIDC).kid
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        _claims(app, user), foreign, algorithm="RS256", headers={"kid": our_kid, "typ": "at+jwt"}
    )
    _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}"), "invalid")


def test_alg_none_is_401(client, bearer):
    app = factories.TrustedApplicationFactory()
    user = factories.UserFactory()
    bearer(app, user, "")  # creates the registry's key, so the kid below is real
    kid = get_active_key(KeyPurpose.OIDC).kid
    header = _b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode())
    payload = _b64(json.dumps(_claims(app, user)).encode())
    _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=f"Bearer {header}.{payload}."))


def test_hs256_signed_with_the_public_key_is_401(client):
    app = factories.TrustedApplicationFactory()
    user = factories.UserFactory()
    key = get_active_key(KeyPurpose.OIDC)
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": key.kid}).encode())
    payload = _b64(json.dumps(_claims(app, user)).encode())
    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    _assert_invalid_token(
        client.get(ME, HTTP_AUTHORIZATION=f"Bearer {header}.{payload}.{signature}")
    )


def test_validly_signed_but_unrecorded_token_is_401(client):
    # Our key, right claims, but never issued by the registry: the table decides.
    app = factories.TrustedApplicationFactory()
    user = factories.UserFactory()
    key = get_active_key(KeyPurpose.OIDC)
    token = jwt.encode(
        _claims(app, user),
        key.private_key,
        algorithm="RS256",
        headers={"kid": key.kid, "typ": "at+jwt"},
    )
    _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}"))


@pytest.mark.parametrize(
    "claim", [{"aud": "https://elsewhere.example/api"}, {"iss": "https://evil.example/id"}]
)
def test_token_for_another_audience_or_issuer_is_401(client, claim):
    app = factories.TrustedApplicationFactory()
    user = factories.UserFactory()
    key = get_active_key(KeyPurpose.OIDC)
    token = jwt.encode(
        _claims(app, user, **claim),
        key.private_key,
        algorithm="RS256",
        headers={"kid": key.kid, "typ": "at+jwt"},
    )
    _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_id_token_typ_is_not_an_access_token(client):
    app = factories.TrustedApplicationFactory()
    user = factories.UserFactory()
    key = get_active_key(KeyPurpose.OIDC)
    token = jwt.encode(
        _claims(app, user),
        key.private_key,
        algorithm="RS256",
        headers={"kid": key.kid, "typ": "JWT"},
    )
    _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}"), "at+jwt")


# ------------------------------------------------------------------ bearer: keys and scopes


def test_token_of_a_rotated_key_works_until_the_key_is_unpublished(client, bearer):
    app = factories.TrustedApplicationFactory()
    # Longer-lived than the old key stays published, so only the key decides the outcome.
    header = bearer(app, factories.UserFactory(), "", lifetime=3 * 86400)
    assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 200  # caches the key
    rotate_key(purpose=KeyPurpose.OIDC)
    old = SigningKey.objects.filter(purpose=KeyPurpose.OIDC, retired_at__isnull=False).get()
    assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 200
    with time_machine.travel(clock.now() + dt.timedelta(minutes=30)):
        assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 200
    with time_machine.travel(old.publish_until + dt.timedelta(seconds=1)):
        _assert_invalid_token(client.get(ME, HTTP_AUTHORIZATION=header), "not signed by a key")


def test_key_cache_never_outlives_publish_until(client, bearer):
    app = factories.TrustedApplicationFactory()
    header = bearer(app, factories.UserFactory(), "")
    rotate_key(purpose=KeyPurpose.OIDC)
    old = SigningKey.objects.filter(purpose=KeyPurpose.OIDC, retired_at__isnull=False).get()
    SigningKey.objects.filter(pk=old.pk).update(
        publish_until=clock.now() + dt.timedelta(seconds=20)
    )
    assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 200  # cached with that bound
    with time_machine.travel(clock.now() + dt.timedelta(seconds=30)):
        assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 401


def test_scopes_the_record_no_longer_trusts_are_dropped(client, bearer):
    app = factories.TrustedApplicationFactory(scope="update sec")
    header = bearer(app, factories.StaffUserFactory(), "update sec")
    assert client.get(ME, HTTP_AUTHORIZATION=header).json()["scopes"] == ["sec", "update"]
    services.application_update(application=app, scope="update")
    assert client.get(ME, HTTP_AUTHORIZATION=header).json()["scopes"] == ["update"]


def test_community_user_never_has_sec(client, bearer):
    app = factories.PublicApplicationFactory(scope="sec update")
    user = factories.CommunityUserFactory()
    response = client.get(ME, HTTP_AUTHORIZATION=bearer(app, user, "openid sec update"))
    assert response.status_code == 200
    assert response.json()["kind"] == "community"
    assert response.json()["scopes"] == ["openid", "update"]


# ------------------------------------------------------------------ basic


@pytest.fixture
def basic_app(db):  # type: ignore[no-untyped-def]
    return factories.TrustedApplicationFactory(
        client_id="legacy.example.com/erp", basic_auth_allowed=True, scope="update crm"
    )


def _basic(client, username, password, uri="legacy.example.com/erp", **extra):  # type: ignore[no-untyped-def]
    headers = {"HTTP_AUTHORIZATION": basic_header(username, password), **extra}
    if uri is not None:
        headers["HTTP_X_APPLICATION_URI"] = uri
    return client.get(ME, **headers)


def _assert_basic_refused(response, code: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.content
    assert response.json()["error"] == code
    assert fragment in response.json()["message"]
    assert response["WWW-Authenticate"].startswith('Basic realm="trustregistry"')


def test_basic_as_the_named_application_with_its_scopes(client, basic_app):
    factories.UserFactory(username="ivan")
    response = _basic(client, "ivan", factories.DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert response.json() == {
        "username": "ivan",
        "kind": "internal",
        "application_uri": "legacy.example.com/erp",
        "scopes": ["crm", "update"],
        "auth": "basic",
    }


def test_basic_without_the_header_uses_the_default_application(client):
    factories.TrustedApplicationFactory(
        client_id="DomainApiBasicAuthentication", basic_auth_allowed=True
    )
    factories.UserFactory(username="ivan")
    response = _basic(client, "ivan", factories.DEFAULT_PASSWORD, uri=None)
    assert response.status_code == 200
    assert response.json()["application_uri"] == "DomainApiBasicAuthentication"


@override_settings(TRUSTREGISTRY_BASIC_AUTH_APPLICATION="other.example.com/api")
def test_basic_default_application_follows_the_setting(client):
    factories.UserFactory(username="ivan")
    _assert_basic_refused(
        _basic(client, "ivan", factories.DEFAULT_PASSWORD, uri=None),
        "unknown_application",
        "'other.example.com/api' does not exist",
    )


def test_basic_refused_when_the_application_does_not_exist(client):
    factories.UserFactory(username="ivan")
    _assert_basic_refused(
        _basic(client, "ivan", factories.DEFAULT_PASSWORD, uri="nowhere.example.com/x"),
        "unknown_application",
        "does not exist",
    )


def test_basic_with_a_nul_character_is_refused_never_a_500(client, basic_app):
    # PostgreSQL refuses NUL in any text parameter: neither value may reach a query.
    factories.UserFactory(username="ivan")
    _assert_basic_refused(
        _basic(client, "ivan", factories.DEFAULT_PASSWORD, uri="legacy.example.com/erp\x00"),
        "unknown_application",
        "does not exist",
    )
    _assert_basic_refused(
        _basic(client, "iv\x00an", factories.DEFAULT_PASSWORD), "invalid_credentials", "user"
    )


def test_basic_refused_when_the_application_is_disabled(client, basic_app):
    services.application_set_enabled(application=basic_app, enabled=False)
    factories.UserFactory(username="ivan")
    _assert_basic_refused(
        _basic(client, "ivan", factories.DEFAULT_PASSWORD), "application_disabled", "not enabled"
    )


def test_basic_refused_when_the_application_does_not_allow_it(client, basic_app):
    services.application_update(application=basic_app, basic_auth_allowed=False)
    factories.UserFactory(username="ivan")
    _assert_basic_refused(
        _basic(client, "ivan", factories.DEFAULT_PASSWORD),
        "basic_auth_not_allowed",
        "does not allow Basic authentication",
    )


def test_basic_refused_for_a_user_other_than_the_system_user(client, basic_app):
    system = factories.SystemUserFactory(username="erp-service")
    services.application_update(application=basic_app, system_user=system)
    factories.UserFactory(username="ivan")
    _assert_basic_refused(
        _basic(client, "ivan", factories.DEFAULT_PASSWORD), "system_user_only", "only for that user"
    )


def test_basic_allowed_for_the_system_user_with_a_password(client, basic_app):
    system = factories.SystemUserFactory(username="erp-service")
    system.set_password("service password 123")
    system.save()
    services.application_update(application=basic_app, system_user=system)
    response = _basic(client, "erp-service", "service password 123")
    assert response.status_code == 200
    assert response.json()["kind"] == "system"


@pytest.mark.parametrize("username", ["nobody", "passwordless-service"])
def test_basic_spends_a_password_hash_also_where_no_password_could_match(
    client, basic_app, monkeypatch, username
):
    # Otherwise the answer for a user without a usable password (a system user) comes at
    # once, and its timing tells the name exists.
    factories.SystemUserFactory(username="passwordless-service")
    from trustregistry.api import authentication

    hashed = []
    real = authentication.make_password
    monkeypatch.setattr(authentication, "make_password", lambda p: hashed.append(1) or real(p))
    response = _basic(client, username, "a guess")
    assert response.status_code == 401
    assert hashed == [1]


def test_basic_refused_for_a_system_user_of_no_such_application(client, basic_app):
    system = factories.SystemUserFactory(username="stray-service")
    system.set_password("service password 123")
    system.save()
    _assert_basic_refused(
        _basic(client, "stray-service", "service password 123"), "system_user_only", "system user"
    )


@pytest.mark.parametrize(
    ("username", "password"),
    [("ivan", "wrong password"), ("nobody", factories.DEFAULT_PASSWORD), ("ivan", "")],
)
def test_basic_refused_for_wrong_credentials(client, basic_app, username, password):
    factories.UserFactory(username="ivan")
    _assert_basic_refused(_basic(client, username, password), "invalid_credentials", "wrong")


def test_a_refused_basic_caller_is_logged_without_the_password(client, basic_app, caplog):
    # README, Audit trail: who, as which application, from where, and which rule refused.
    factories.UserFactory(username="ivan")
    caplog.set_level("INFO", logger="trustregistry.api.authentication")
    header = basic_header("ivan", "wrong password 42")
    response = client.get(ME, HTTP_AUTHORIZATION=header, HTTP_X_APPLICATION_URI=basic_app.client_id)
    assert response.status_code == 401
    _basic(client, "ivan", factories.DEFAULT_PASSWORD, uri="nowhere.example.com/x")
    assert [
        r.getMessage() for r in caplog.records if r.name == "trustregistry.api.authentication"
    ] == [
        "Basic authentication refused: user 'ivan' as 'legacy.example.com/erp' from 127.0.0.1: "
        "invalid_credentials",
        "Basic authentication refused: user 'ivan' as 'nowhere.example.com/x' from 127.0.0.1: "
        "unknown_application",
    ]
    assert "wrong password 42" not in caplog.text and header[6:] not in caplog.text


def test_basic_refused_for_an_inactive_user(client, basic_app):
    factories.UserFactory(username="ivan", is_active=False)
    _assert_basic_refused(
        _basic(client, "ivan", factories.DEFAULT_PASSWORD), "invalid_credentials", "wrong"
    )


@pytest.mark.parametrize(
    "value", ["Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic a b"]
)
def test_malformed_basic_header_is_401(client, basic_app, value):
    response = client.get(
        ME, HTTP_AUTHORIZATION=value, HTTP_X_APPLICATION_URI="legacy.example.com/erp"
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_basic_community_user_never_has_sec(client):
    factories.TrustedApplicationFactory(
        client_id="portal.example.com/api",
        basic_auth_allowed=True,
        scope="sec update",
        impersonate_community_allowed=True,
    )
    factories.CommunityUserFactory(username="guest")
    response = _basic(client, "guest", factories.DEFAULT_PASSWORD, uri="portal.example.com/api")
    assert response.status_code == 200
    assert response.json()["scopes"] == ["update"]


def test_basic_failures_are_throttled_per_user_and_address(client, basic_app):
    factories.UserFactory(username="throttled-user")
    factories.UserFactory(username="other-user")
    for _ in range(settings.TRUSTREGISTRY_THROTTLE_FAILURES - 1):
        assert _basic(client, "throttled-user", "wrong").status_code == 401
    blocked = _basic(client, "throttled-user", "wrong")
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "too_many_requests"
    assert 0 < int(blocked["Retry-After"]) <= settings.TRUSTREGISTRY_THROTTLE_WINDOW
    # Blocked even with the right password now ...
    assert _basic(client, "throttled-user", factories.DEFAULT_PASSWORD).status_code == 429
    # ... but not another user, nor the same user from another address.
    assert _basic(client, "other-user", factories.DEFAULT_PASSWORD).status_code == 200
    assert (
        _basic(
            client, "throttled-user", factories.DEFAULT_PASSWORD, REMOTE_ADDR="10.1.2.3"
        ).status_code
        == 200
    )


def test_basic_password_guesses_at_many_users_count_toward_the_address_wide_limit(
    client, basic_app, settings
):
    """Password spraying: a few guesses at each of many usernames stay under the per-user
    count. The sign-in page stops an address at TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES; Basic
    checks the same passwords and had no such count (150 guesses, no 429)."""
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 6
    user = factories.UserFactory(username="sprayed-at")
    for i in range(5):
        assert _basic(client, f"user{i}", "Winter2026!").status_code == 401
    sixth = _basic(client, "user5", "Winter2026!")
    assert sixth.status_code == 429 and sixth.json()["error"] == "too_many_requests"
    # every user is refused from that address now, by Basic and on the sign-in page ...
    assert _basic(client, user.username, factories.DEFAULT_PASSWORD).status_code == 429
    assert (
        _sign_in(Client(), user.username, factories.DEFAULT_PASSWORD, "127.0.0.1").status_code
        == 429
    )
    # ... and not from another address
    other = _basic(client, user.username, factories.DEFAULT_PASSWORD, REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 200


def test_the_wrong_password_that_blocks_a_user_counts_toward_the_address_too(
    client, basic_app, settings
):
    """The guess that reached one user's limit raised before it was counted for the address:
    each user's last guess went uncounted there (the sign-in page counts it in both)."""
    settings.TRUSTREGISTRY_THROTTLE_FAILURES = 2
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 3
    user = factories.UserFactory(username="next-in-line")
    assert _basic(client, "first", "guess").status_code == 401
    assert _basic(client, "first", "guess").status_code == 429  # first's limit: 2 at the address
    assert _basic(client, "second", "guess").status_code == 429  # the address's third
    assert _basic(client, user.username, factories.DEFAULT_PASSWORD).status_code == 429


def test_sign_in_page_failures_block_basic_from_that_address(client, basic_app, settings):
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 3
    user = factories.UserFactory(username="door-two")
    for i in range(3):
        _sign_in(Client(), f"guess{i}", "wrong", "10.0.0.77")
    blocked = _basic(client, user.username, factories.DEFAULT_PASSWORD, REMOTE_ADDR="10.0.0.77")
    assert blocked.status_code == 429


def test_basic_refusals_that_check_no_password_do_not_count_toward_the_address(
    client, basic_app, settings
):
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 3
    user = factories.UserFactory(username="not-a-guess")
    for _ in range(5):
        refused = _basic(client, user.username, "x", uri="no-such.example.com/app")
        assert refused.status_code == 401
        assert refused.json()["error"] == "unknown_application"
    assert _basic(client, user.username, factories.DEFAULT_PASSWORD).status_code == 200


def _sign_in(client, username, password, address):  # type: ignore[no-untyped-def]
    return client.post(
        "/id/account/login", {"username": username, "password": password}, REMOTE_ADDR=address
    )
