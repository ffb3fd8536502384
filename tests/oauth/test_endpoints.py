"""Discovery, JWKS, introspection, revocation, userinfo, throttling and outages (SPEC 3, 9)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import jwt
import pytest
import time_machine
from django.conf import settings
from django.db import OperationalError, connection

from tests.conftest import clear_own_cache
from tests.oauth.conftest import SECRET, basic
from trustregistry.keys.services import jwks, rotate_key
from trustregistry.oauth import access_tokens
from trustregistry.registry import services as registry_services

TOKEN = "/id/connect/token"
INTROSPECT = "/id/connect/introspect"
REVOKE = "/id/connect/revocation"
USERINFO = "/id/connect/userinfo"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    clear_own_cache()


def _cc(client, app, secret=SECRET):
    return client.post(
        TOKEN, {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(app.client_id, secret),
    )  # fmt: skip


def _introspect(client, app, token, secret=SECRET):
    return client.post(
        INTROSPECT, {"token": token}, HTTP_AUTHORIZATION=basic(app.client_id, secret)
    )


# ------------------------------------------------------------------ discovery and keys


def test_discovery_names_the_assertion_algorithms_wherever_private_key_jwt_is_listed(client, db):
    # RFC 8414 section 2: each *_auth_signing_alg_values_supported MUST be present with it.
    data = client.get("/id/.well-known/openid-configuration").json()
    for endpoint in ("token", "revocation", "introspection"):
        if "private_key_jwt" in data[f"{endpoint}_endpoint_auth_methods_supported"]:
            algs = data[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
            assert algs == ["RS256", "ES256"]


def test_discovery_lists_exactly_what_is_supported(client, db):
    data = client.get("/id/.well-known/openid-configuration").json()
    issuer = settings.TRUSTREGISTRY_ISSUER
    assert data["issuer"] == issuer
    assert data["authorization_endpoint"] == f"{issuer}/connect/authorize"
    assert data["token_endpoint"] == f"{issuer}/connect/token"
    assert data["revocation_endpoint"] == f"{issuer}/connect/revocation"
    assert data["introspection_endpoint"] == f"{issuer}/connect/introspect"
    assert data["userinfo_endpoint"] == f"{issuer}/connect/userinfo"
    assert data["end_session_endpoint"] == f"{issuer}/connect/endsession"
    assert data["jwks_uri"] == f"{issuer}/.well-known/openid-configuration/jwks"
    assert data["response_types_supported"] == ["code"]
    assert sorted(data["grant_types_supported"]) == [
        "authorization_code", "client_credentials", "refresh_token",
    ]  # fmt: skip
    assert sorted(data["token_endpoint_auth_methods_supported"]) == [
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt",
    ]  # fmt: skip
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["authorization_response_iss_parameter_supported"] is True
    assert {"openid", "profile", "offline_access", "update", "sec"} <= set(data["scopes_supported"])
    assert {"sub", "user_type", "auth_time", "nonce", "at_hash"} <= set(data["claims_supported"])
    assert sorted(data["prompt_values_supported"]) == ["consent", "create", "login", "none"]


def test_jwks_publishes_oidc_and_aas_keys(client, db):
    keys = client.get("/id/.well-known/openid-configuration/jwks").json()["keys"]
    assert len(keys) >= 2
    assert all("kid" in k and k["kty"] == "RSA" and "d" not in k for k in keys)
    assert any("x5c" in k for k in keys)


def test_tokens_verify_against_published_jwks(client, flow, confidential_app, internal_user):
    data = flow.tokens(confidential_app, internal_user)
    published = client.get("/id/.well-known/openid-configuration/jwks").json()
    by_kid = {k["kid"]: jwt.PyJWK(k) for k in published["keys"]}

    header = jwt.get_unverified_header(data["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    claims = jwt.decode(
        data["access_token"], by_kid[header["kid"]].key, algorithms=["RS256"],
        audience=settings.TRUSTREGISTRY_TOKEN_AUDIENCE, issuer=settings.TRUSTREGISTRY_ISSUER,
    )  # fmt: skip
    assert {"iss", "aud", "sub", "client_id", "scope", "iat", "exp", "jti", "user_type"} <= set(
        claims
    )

    id_header = jwt.get_unverified_header(data["id_token"])
    id_claims = jwt.decode(
        data["id_token"], by_kid[id_header["kid"]].key, algorithms=["RS256"],
        audience=confidential_app.client_id, issuer=settings.TRUSTREGISTRY_ISSUER,
    )  # fmt: skip
    assert id_claims["nonce"] == flow.params["nonce"]
    assert id_claims["sub"] == str(internal_user.pk)
    assert isinstance(id_claims["auth_time"], int)
    digest = hashlib.sha256(data["access_token"].encode()).digest()
    expected = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert id_claims["at_hash"] == expected


def test_rotated_key_stays_published_and_old_tokens_still_verify(client, service_app):
    old = _cc(client, service_app).json()["access_token"]
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_key = rotate_key(purpose="oidc")
    new = _cc(client, service_app).json()["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == new_key.kid != old_kid
    kids = {k["kid"] for k in jwks()["keys"]}
    assert {old_kid, new_key.kid} <= kids
    access_tokens.check_access_token(old)
    access_tokens.check_access_token(new)


def test_after_a_withdrawal_a_refresh_gets_a_token_signed_by_the_new_key(
    flow, confidential_app, internal_user
):
    data = flow.tokens(confidential_app, internal_user, scope="openid offline_access")
    access_tokens.check_access_token(data["access_token"])
    new_key = rotate_key(purpose="oidc", withdraw=True)
    with pytest.raises(access_tokens.InvalidAccessToken):
        access_tokens.check_access_token(data["access_token"])
    refreshed = flow.refresh(confidential_app, data["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    fresh = refreshed.json()
    assert jwt.get_unverified_header(fresh["access_token"])["kid"] == new_key.kid
    assert jwt.get_unverified_header(fresh["id_token"])["kid"] == new_key.kid
    access_tokens.check_access_token(fresh["access_token"])


# ------------------------------------------------------------------ introspection


def test_introspection_of_live_and_revoked_tokens(client, service_app, confidential_app):
    token = _cc(client, service_app).json()["access_token"]
    data = _introspect(client, confidential_app, token).json()
    assert data["active"] is True
    assert data["client_id"] == service_app.client_id
    assert data["scope"] == "update sec"
    assert data["user_type"] == "system"
    assert data["username"] == service_app.system_user.username
    revoke = client.post(
        REVOKE, {"token": token}, HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET)
    )
    assert revoke.status_code == 200
    assert _introspect(client, confidential_app, token).json() == {"active": False}


def test_an_access_token_stops_at_its_own_exp_on_every_endpoint(
    client, service_app, confidential_app
):
    # Issued at x.9 s: the JWT says exp = x + 3600 (whole seconds); its row expired 0.9 s
    # later, so the API, userinfo and introspection still took it at and after its exp.
    issued = dt.datetime(2030, 1, 1, 12, 0, 0, 900000, tzinfo=dt.UTC)
    with time_machine.travel(issued, tick=False) as traveller:
        answer = _cc(client, service_app).json()
        token = answer["access_token"]
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        assert exp == int(issued.timestamp()) + answer["expires_in"]
        bearer = f"Bearer {token}"
        for offset, live in ((-1, True), (-0.001, True), (0, False), (0.5, False), (1, False)):
            traveller.move_to(dt.datetime.fromtimestamp(exp + offset, tz=dt.UTC))
            data = _introspect(client, confidential_app, token).json()
            assert data["active"] is live, offset
            if live:
                assert data["exp"] == exp
            api = client.get("/api/me", HTTP_AUTHORIZATION=bearer)
            assert (api.status_code == 200) is live, offset
            assert (client.get(USERINFO, HTTP_AUTHORIZATION=bearer).status_code != 401) is live


def test_introspection_requires_confidential_client_auth(client, service_app, public_app):
    token = _cc(client, service_app).json()["access_token"]
    assert client.post(INTROSPECT, {"token": token}).status_code == 401
    assert _introspect(client, service_app, token, secret="wrong").status_code == 401
    public = client.post(INTROSPECT, {"token": token, "client_id": public_app.client_id})
    assert public.status_code == 401
    assert client.get(INTROSPECT).status_code == 405


def test_disabled_record_tokens_die_at_once(client, service_app, confidential_app):
    token = _cc(client, service_app).json()["access_token"]
    service_app.is_enabled = False  # the flag alone, as an admin edit would set it
    service_app.save()
    assert _introspect(client, confidential_app, token).json() == {"active": False}
    assert client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_introspection_answers_the_scopes_a_token_may_still_use(
    client, flow, service_app, confidential_app, internal_user
):
    # SPEC section 3: a scope taken from the record, or `sec` of a user who is now community,
    # is gone at once for every resource server, as it is on the registry's own API.
    token = _cc(client, service_app).json()["access_token"]
    service_app.scope = "update"
    service_app.save()
    assert _introspect(client, confidential_app, token).json()["scope"] == "update"
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()["scopes"] == [
        "update"
    ]
    confidential_app.scope = "update sec"
    confidential_app.impersonate_community_allowed = True  # the user stays allowed, as community
    confidential_app.save()
    tokens = flow.tokens(confidential_app, internal_user, scope="openid update sec offline_access")
    internal_user.kind = "community"
    internal_user.save()
    access = _introspect(client, confidential_app, tokens["access_token"]).json()
    refresh = _introspect(client, confidential_app, tokens["refresh_token"]).json()
    expected = ["openid", "update", "offline_access"]
    assert access["active"] is True and access["scope"].split() == expected
    assert refresh["active"] is True and refresh["scope"].split() == expected


def test_a_client_credentials_token_loses_the_reserved_profile_scope_with_its_record(
    client, service_app, confidential_app
):
    # `profile` is a reserved scope a service record may trust (SPEC 4) and a protocol scope
    # of interactive sign-in: taken from a service record, it must leave its client-credentials
    # tokens like any other scope, not stay because sign-ins may always ask for it.
    registry_services.application_update(application=service_app, scope="profile update")
    token = _cc(client, service_app).json()["access_token"]
    assert _introspect(client, confidential_app, token).json()["scope"] == "profile update"
    registry_services.application_update(application=service_app, scope="update")
    assert _introspect(client, confidential_app, token).json()["scope"] == "update"
    me = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert me["scopes"] == ["update"]


def test_introspection_of_refresh_tokens_own_only(
    client, flow, confidential_app, internal_user, service_app
):
    data = flow.tokens(confidential_app, internal_user)
    mine = _introspect(client, confidential_app, data["refresh_token"]).json()
    assert mine["active"] is True and mine["token_type"] == "refresh_token"
    assert _introspect(client, service_app, data["refresh_token"]).json() == {"active": False}
    registry_services.application_set_enabled(application=confidential_app, enabled=False)
    registry_services.application_set_enabled(application=confidential_app, enabled=True)
    assert _introspect(client, confidential_app, data["refresh_token"]).json() == {"active": False}


def test_a_refresh_token_is_never_active_past_the_exp_its_introspection_names(
    client, flow, confidential_app, internal_user
):
    # Issued at x.9 s, the refresh token lives until x.9 s + 30 days; introspection answered
    # exp = x + 30 days and still said active at that second, past its own exp.
    issued = dt.datetime(2030, 1, 1, 12, 0, 0, 900000, tzinfo=dt.UTC)
    with time_machine.travel(issued, tick=False) as traveller:
        refresh = flow.tokens(confidential_app, internal_user)["refresh_token"]
        exp = _introspect(client, confidential_app, refresh).json()["exp"]
        for offset in (-1, -0.5, 0, 0.5, 1):
            moment = exp + offset
            traveller.move_to(dt.datetime.fromtimestamp(moment, tz=dt.UTC))
            data = _introspect(client, confidential_app, refresh).json()
            assert data["active"] is (offset < 0), offset
            if data["active"]:
                assert data["exp"] == exp
            refreshed = flow.refresh(confidential_app, refresh) if offset >= 0 else None
            assert refreshed is None or refreshed.status_code == 400, offset


# ------------------------------------------------------------------ revocation


def test_revoking_refresh_token_ends_family(client, flow, confidential_app, internal_user):
    data = flow.tokens(confidential_app, internal_user)
    response = client.post(
        REVOKE, {"token": data["refresh_token"], "token_type_hint": "refresh_token"},
        HTTP_AUTHORIZATION=basic(confidential_app.client_id, SECRET),
    )  # fmt: skip
    assert response.status_code == 200
    with pytest.raises(access_tokens.InvalidAccessToken):
        access_tokens.check_access_token(data["access_token"])
    assert flow.refresh(confidential_app, data["refresh_token"]).status_code == 400


def test_revocation_only_of_own_tokens(client, service_app, confidential_app):
    token = _cc(client, service_app).json()["access_token"]
    response = client.post(
        REVOKE, {"token": token}, HTTP_AUTHORIZATION=basic(confidential_app.client_id, SECRET)
    )
    assert response.status_code == 200  # RFC 7009: no disclosure
    access_tokens.check_access_token(token)
    bad = client.post(
        REVOKE, {"token": token}, HTTP_AUTHORIZATION=basic(service_app.client_id, "x")
    )
    assert bad.status_code == 401


# ------------------------------------------------------------------ userinfo


def test_userinfo_claims_by_scope(client, flow, confidential_app, internal_user):
    data = flow.tokens(confidential_app, internal_user, scope="openid profile update")
    response = client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    info = response.json()
    assert info["sub"] == str(internal_user.pk)
    assert info["preferred_username"] == "alice"
    assert info["name"] == "Alice Ivanova"
    assert info["user_type"] == "internal"
    narrow = flow.tokens(confidential_app, internal_user, scope="openid update")
    assert (
        "name"
        not in client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {narrow['access_token']}").json()
    )


def test_userinfo_needs_openid_and_a_live_token(client, flow, confidential_app, internal_user):
    data = flow.tokens(confidential_app, internal_user, scope="update")
    narrow = client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")
    assert narrow.status_code == 403 and narrow.json()["error"] == "insufficient_scope"
    # RFC 6750 section 3: every refusal carries its challenge
    assert narrow["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="openid"'
    bad = client.get(USERINFO, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert bad.status_code == 401 and "Bearer" in bad["WWW-Authenticate"]
    anonymous = client.get(USERINFO)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Bearer"


def test_userinfo_takes_the_token_from_the_header_or_body_never_the_url(
    client, flow, confidential_app, internal_user
):
    token = flow.tokens(confidential_app, internal_user, scope="openid")["access_token"]
    in_url = client.get(USERINFO, {"access_token": token})
    assert in_url.status_code == 400 and in_url.json()["error"] == "invalid_request"
    assert in_url["WWW-Authenticate"] == 'Bearer error="invalid_request"'
    twice = client.post(USERINFO, {"access_token": token}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert twice.status_code == 400
    assert client.post(USERINFO, {"access_token": token}).status_code == 200


def test_userinfo_answers_browsers_cross_origin(client, flow, confidential_app, internal_user):
    token = flow.tokens(confidential_app, internal_user, scope="openid")["access_token"]
    preflight = client.options(
        USERINFO,
        HTTP_ORIGIN="https://spa.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in preflight["Access-Control-Allow-Headers"].lower()
    answer = client.get(
        USERINFO, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ORIGIN="https://spa.example.com"
    )
    assert answer.status_code == 200 and answer["Access-Control-Allow-Origin"] == "*"


def test_userinfo_refusals_show_browsers_their_challenge(client, db):
    """WWW-Authenticate is not a header a cross-origin script may read unless exposed:
    openid-client in Chromium saw only "unexpected HTTP response status code", not
    invalid_token (refresh, or sign in again)."""
    for request in (client.get, client.post):
        refused = request(
            USERINFO, HTTP_AUTHORIZATION="Bearer nope", HTTP_ORIGIN="https://spa.example.com"
        )
        assert refused.status_code == 401 and "invalid_token" in refused["WWW-Authenticate"]
        assert refused["Access-Control-Allow-Origin"] == "*"
        assert refused["Access-Control-Expose-Headers"] == "WWW-Authenticate"


def test_a_browser_app_redeems_refreshes_and_revokes_cross_origin(
    client, flow, public_app, confidential_app, internal_user
):
    """A public record's browser app (openid-client in Chromium, from the origin of its login
    URL) reads the token and revocation answers, errors included; other origins, and
    confidential records (servers, whose secret a browser must not hold), get no CORS."""
    public_app.login_urls = ["https://spa.example.com/callback", "http://127.0.0.1/callback"]
    public_app.save()
    spa = "https://spa.example.com"

    def post(path, data, origin, **headers):  # type: ignore[no-untyped-def]
        return client.post(path, data, HTTP_ORIGIN=origin, **headers)

    code = flow.code(public_app, internal_user, redirect_uri="https://spa.example.com/callback")
    redeem = {
        "grant_type": "authorization_code", "code": code, "client_id": public_app.client_id,
        "redirect_uri": "https://spa.example.com/callback", "code_verifier": flow.verifier,
    }  # fmt: skip
    answer = post("/id/connect/token", redeem, spa)
    assert answer.status_code == 200, answer.content
    assert answer["Access-Control-Allow-Origin"] == spa and "Origin" in answer["Vary"]
    assert answer["Access-Control-Expose-Headers"] == "Retry-After"  # a 429's wait
    wrong = post("/id/connect/token", {**redeem, "code": "wrong"}, spa)  # errors too
    assert wrong.status_code == 400 and wrong["Access-Control-Allow-Origin"] == spa
    refresh = {
        "grant_type": "refresh_token", "client_id": public_app.client_id,
        "refresh_token": answer.json()["refresh_token"],
    }  # fmt: skip
    refreshed = post("/id/connect/token", refresh, spa)
    assert refreshed.status_code == 200 and refreshed["Access-Control-Allow-Origin"] == spa
    revoke = {"client_id": public_app.client_id, "token": refreshed.json()["refresh_token"]}
    revoked = post("/id/connect/revocation", revoke, spa)
    assert revoked.status_code == 200 and revoked["Access-Control-Allow-Origin"] == spa
    # A loopback http login URL: its origin at any port (RFC 8252 section 7.3), as redirects.
    loopback = post("/id/connect/revocation", revoke, "http://127.0.0.1:5173")
    assert loopback["Access-Control-Allow-Origin"] == "http://127.0.0.1:5173"

    # A login URL written with a Unicode host: the browser's Origin names its ASCII form.
    public_app.login_urls = [*public_app.login_urls, "https://bücher.example/callback"]
    public_app.save()
    idn = post("/id/connect/revocation", revoke, "https://xn--bcher-kva.example")
    assert idn["Access-Control-Allow-Origin"] == "https://xn--bcher-kva.example"

    for origin in ("https://evil.example", "https://spa.example.com:444", "null", "http://[::1",
                   "http://spa.example.com", "https://spa.example.com/callback"):  # fmt: skip
        assert "Access-Control-Allow-Origin" not in post("/id/connect/revocation", revoke, origin)
    public_app.is_enabled = False
    public_app.save()
    assert "Access-Control-Allow-Origin" not in post("/id/connect/revocation", revoke, spa)
    confidential = post(
        "/id/connect/revocation", {"token": "x"}, "https://app.example.com",
        HTTP_AUTHORIZATION=basic(confidential_app.client_id, SECRET),
    )  # fmt: skip
    assert confidential.status_code == 200
    assert "Access-Control-Allow-Origin" not in confidential


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        (TOKEN, "get", "POST"),
        (REVOKE, "put", "POST"),
        (INTROSPECT, "get", "POST"),
        (USERINFO, "delete", "GET or POST"),
    ],
)
def test_wrong_methods_get_a_json_405(client, path, method, allowed):
    response = getattr(client, method)(path)
    assert response.status_code == 405 and response["Allow"].startswith(allowed.replace(" or", ","))
    assert response.json() == {"error": "invalid_request", "error_description": f"Use {allowed}."}


# ------------------------------------------------------------------ throttling and outages


def test_failures_throttled_per_client_and_address(client, service_app, confidential_app):
    statuses = [_cc(client, service_app, secret="wrong").status_code for _ in range(20)]
    assert statuses[:19] == [401] * 19
    assert statuses[19] == 429
    blocked = _cc(client, service_app)  # even the right secret waits
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert blocked.json()["error"] == "too_many_requests"
    assert blocked["Cache-Control"] == "no-store"
    # Another client from the same address is not slowed.
    other = client.post(
        TOKEN, {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(confidential_app.client_id, "wrong"),
    )  # fmt: skip
    assert other.status_code == 401
    # The same client from another address is not either.
    assert _cc(client, service_app, secret=SECRET).status_code == 429
    elsewhere = client.post(
        TOKEN, {"grant_type": "client_credentials"}, REMOTE_ADDR="10.9.9.9",
        HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET),
    )  # fmt: skip
    assert elsewhere.status_code == 200


def _database_down(execute, sql, params, many, context):
    raise OperationalError("could not connect to server: Connection refused")


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        (TOKEN, {"data": {"grant_type": "client_credentials"}}),
        (USERINFO, {}),
        (INTROSPECT, {"data": {"token": "x"}}),
    ],
)
def test_database_outage_answers_503_json(client, service_app, path, kwargs):
    token = _cc(client, service_app).json()["access_token"]
    headers = {"HTTP_AUTHORIZATION": basic(service_app.client_id, SECRET)}
    if path == USERINFO:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    with connection.execute_wrapper(_database_down):
        response = client.post(path, **kwargs, **headers)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert b"Traceback" not in response.content


def test_database_outage_is_one_log_line_per_request(client, service_app, captured_request_logs):
    # django.request logged "Service Unavailable: <path>" besides the middleware's line: two
    # lines for every request of an outage, and neither said what the database answered.
    headers = {"HTTP_AUTHORIZATION": basic(service_app.client_id, SECRET)}
    with connection.execute_wrapper(_database_down):
        assert (
            client.post(TOKEN, {"grant_type": "client_credentials"}, **headers).status_code == 503
        )
    assert captured_request_logs.getvalue().splitlines() == [
        "database unavailable: POST /id/connect/token (OperationalError: could not connect to "
        "server: Connection refused)"
    ]


@pytest.mark.parametrize(
    ("path", "hidden"),
    [
        ("/id/connect/token", {"client_secret", "code", "code_verifier", "refresh_token"}),
        ("/id/connect/revocation", {"client_secret", "token"}),
        ("/id/connect/introspect", {"client_secret", "token"}),
    ],
)
def test_machine_endpoints_need_no_csrf_token_and_hide_secrets_from_error_reports(
    service_app, path, hidden
):
    from django.test import Client, RequestFactory
    from django.urls import resolve
    from django.views.debug import SafeExceptionReporterFilter

    data = {name: "sensitive-value" for name in hidden} | {
        "grant_type": "client_credentials",
        "client_id": service_app.client_id,
    }
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(path, data).status_code in (200, 400, 401)  # never a CSRF 403

    view = resolve(path).func
    assert view.csrf_exempt is True
    request = RequestFactory().post(path, data)
    view(request)
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    for name in hidden:
        assert cleansed[name] == SafeExceptionReporterFilter.cleansed_substitute, name
    assert cleansed["grant_type"] == "client_credentials"


@pytest.mark.parametrize("path", [TOKEN, REVOKE, INTROSPECT])
def test_a_body_over_the_upload_limit_is_a_json_413(client, db, path):
    body = "grant_type=client_credentials&scope=" + "a" * 3_000_000
    response = client.post(path, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"
