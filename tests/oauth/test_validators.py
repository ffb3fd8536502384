"""Token-endpoint decisions taken from the record: grants, scopes, codes and refresh tokens
(SPEC 3), driven over HTTP as a client would. Client authentication: test_client_auth.py."""

from __future__ import annotations

import datetime as dt
import threading

import jwt
import pytest
import time_machine
from django.db import connection
from django.test import Client
from oauth2_provider.models import AccessToken, RefreshToken

from tests import factories
from tests.oauth.conftest import SECRET, TOKEN, basic, cc
from trustregistry.common import clock
from trustregistry.oauth import access_tokens
from trustregistry.registry import services as registry_services

# ------------------------------------------------------------------ client credentials


def test_client_credentials_acts_as_system_user(client, service_app):
    response = cc(client, service_app)
    data = response.json()
    assert response["Cache-Control"] == "no-store"
    assert "refresh_token" not in data
    assert data["scope"] == "update sec"  # nothing requested: all trusted scopes
    claims = access_tokens.decode_access_token(data["access_token"])
    assert claims["sub"] == str(service_app.system_user.pk)
    assert claims["user_type"] == "system"
    assert claims["client_id"] == service_app.client_id
    assert claims["scope"] == "update sec"
    row = AccessToken.objects.get(token_checksum=access_tokens.token_checksum(data["access_token"]))
    assert row.user == service_app.system_user
    assert row.token == ""


def test_client_credentials_scope_rules(client, service_app):
    assert cc(client, service_app, scope="update").json()["scope"] == "update"
    assert cc(client, service_app, scope="update finance").json()["error"] == "invalid_scope"
    # Protocol scopes belong to interactive login.
    assert cc(client, service_app, scope="openid").json()["error"] == "invalid_scope"


def test_read_is_accepted_from_every_record(
    client, flow, service_app, confidential_app, internal_user
):
    """SPEC 4: `read` is accepted for compatibility, the baseline every record has; asking
    for it was invalid_scope unless the record listed it."""
    assert "read" not in service_app.scopes and "read" not in confidential_app.scopes
    answer = cc(client, service_app, scope="read update").json()
    assert answer["scope"] == "read update"
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {answer['access_token']}").json()[
        "scopes"
    ] == ["read", "update"]
    tokens = flow.tokens(confidential_app, internal_user, scope="openid read")
    assert tokens["scope"] == "openid read"


def test_a_scope_asked_for_twice_is_issued_once_in_the_answer_the_row_and_the_jwt(
    client, service_app
):
    # RFC 6749 section 3.3: the scope is a set. The JWT said "update" while the answer and
    # the token's row (what introspection reads) said "update update".
    data = cc(client, service_app, scope="update sec update").json()
    assert data["scope"] == "update sec"
    assert access_tokens.decode_access_token(data["access_token"])["scope"] == "update sec"
    row = AccessToken.objects.get(token_checksum=access_tokens.token_checksum(data["access_token"]))
    assert row.scope == "update sec"


def test_client_credentials_needs_system_user_allowed(client, db):
    app = factories.TrustedApplicationFactory(client_id="cc.example.com/no", secret=SECRET)
    response = cc(client, app)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize("kind", ["internal", "community"])
def test_client_credentials_stop_when_the_system_user_becomes_a_person(client, service_app, kind):
    # The record is checked when saved; the user admin can change the user's kind later.
    user = service_app.system_user
    user.kind, user.is_staff, user.is_superuser = kind, True, True
    user.save()
    response = cc(client, service_app)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert "access_token" not in response.json()
    user.kind = "system"
    user.save()
    assert cc(client, service_app).status_code == 200


@pytest.mark.parametrize(
    ("grant_type", "error"),
    [
        ("password", "unsupported_grant_type"),
        ("implicit", "unsupported_grant_type"),
        ("urn:ietf:params:oauth:grant-type:device_code", "unsupported_grant_type"),
        ("", "invalid_request"),  # missing: RFC 6749 section 5.2
    ],
)
def test_no_other_grants(client, service_app, grant_type, error):
    response = client.post(
        TOKEN, {"grant_type": grant_type, "username": "a", "password": "b"},
        HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET),
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response["Cache-Control"] == "no-store"


def test_repeated_token_parameters_are_refused(client, service_app):
    # RFC 6749 section 3.2: a second scope must not quietly replace the first.
    response = client.post(
        TOKEN,
        "grant_type=client_credentials&scope=update&scope=sec",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"


# ------------------------------------------------------------------ authorization codes


def test_code_exchange_issues_the_spec_claims(flow, confidential_app, internal_user):
    data = flow.tokens(confidential_app, internal_user)
    claims = access_tokens.decode_access_token(data["access_token"])
    assert jwt.get_unverified_header(data["access_token"])["typ"] == "at+jwt"
    assert claims["sub"] == str(internal_user.pk)
    assert claims["user_type"] == "internal"
    assert claims["scope"] == "openid update offline_access"
    assert claims["client_id"] == confidential_app.client_id
    assert claims["exp"] - claims["iat"] == 3600
    assert data["refresh_token"] and data["id_token"]


def test_pkce_rfc7636_appendix_b_vector(flow, confidential_app, internal_user, interop_json):
    vector = interop_json("rfc7636_appendix_B_vector.json")
    verifier = vector.get("code_verifier") or vector["verifier"]
    challenge = vector.get("code_challenge") or vector["challenge"]
    code = flow.code(confidential_app, internal_user, code_challenge=challenge)
    flow.verifier = "x" * 43
    assert flow.exchange(confidential_app, code).json()["error"] == "invalid_grant"
    code = flow.code(confidential_app, internal_user, code_challenge=challenge)
    flow.verifier = verifier
    assert flow.exchange(confidential_app, code).status_code == 200


def test_public_client_code_flow_with_pkce_and_no_secret(flow, public_app, internal_user):
    code = flow.code(public_app, internal_user)
    response = flow.exchange(public_app, code, secret=None)
    assert response.status_code == 200, response.content
    code = flow.code(public_app, internal_user)
    flow.verifier = None
    assert flow.exchange(public_app, code, secret=None).status_code == 400


def test_code_is_single_use_and_reuse_revokes(flow, confidential_app, internal_user):
    code = flow.code(confidential_app, internal_user)
    first = flow.exchange(confidential_app, code).json()
    access_tokens.check_access_token(first["access_token"])
    second = flow.exchange(confidential_app, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    with pytest.raises(access_tokens.InvalidAccessToken):
        access_tokens.check_access_token(first["access_token"])
    assert flow.refresh(confidential_app, first["refresh_token"]).status_code == 400


def test_a_redeemed_code_presented_by_another_client_revokes_its_tokens(
    flow, confidential_app, internal_user, caplog
):
    # The code has leaked: what it gave is suspect (RFC 6749 section 4.1.2).
    other = factories.TrustedApplicationFactory(
        client_id="other.example.com/app", login_urls=["https://app.example.com/cb"],
        secret=SECRET,
    )  # fmt: skip
    untouched = flow.tokens(confidential_app, internal_user)  # from another code
    code = flow.code(confidential_app, internal_user)
    first = flow.exchange(confidential_app, code).json()
    stolen = flow.exchange(other, code)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    with pytest.raises(access_tokens.InvalidAccessToken):
        access_tokens.check_access_token(first["access_token"])
    assert flow.refresh(confidential_app, first["refresh_token"]).json()["error"] == "invalid_grant"
    access_tokens.check_access_token(untouched["access_token"])
    assert flow.refresh(confidential_app, untouched["refresh_token"]).status_code == 200
    assert (
        "authorization code of app.example.com/erp presented by other.example.com/app: "
        "its tokens were revoked"
    ) in caplog.text
    assert code not in caplog.text


def test_a_public_client_cannot_end_a_confidential_clients_tokens_with_an_old_code(
    flow, confidential_app, internal_user, public_app
):
    # Anyone may name a public client: its word proves nothing about the code's leak.
    code = flow.code(confidential_app, internal_user)
    first = flow.exchange(confidential_app, code).json()
    stranger = flow.exchange(public_app, code, secret=None)
    assert stranger.status_code == 400 and stranger.json()["error"] == "invalid_grant"
    access_tokens.check_access_token(first["access_token"])
    assert flow.refresh(confidential_app, first["refresh_token"]).status_code == 200


def test_an_unredeemed_code_presented_by_another_client_stays_the_first_clients(
    flow, confidential_app, internal_user
):
    other = factories.TrustedApplicationFactory(
        client_id="other.example.com/app", login_urls=["https://app.example.com/cb"],
        secret=SECRET,
    )  # fmt: skip
    code = flow.code(confidential_app, internal_user)
    assert flow.exchange(other, code).json()["error"] == "invalid_grant"
    assert flow.exchange(confidential_app, code).status_code == 200


def test_code_lives_60_seconds(flow, confidential_app, internal_user):
    code = flow.code(confidential_app, internal_user)
    with time_machine.travel(clock.now() + dt.timedelta(seconds=61)):
        assert flow.exchange(confidential_app, code).json()["error"] == "invalid_grant"


def test_code_bound_to_redirect_uri_and_client(flow, confidential_app, internal_user, public_app):
    code = flow.code(confidential_app, internal_user)
    other = flow.exchange(confidential_app, code, redirect_uri="https://app.example.com/other")
    assert other.status_code == 400
    code = flow.code(confidential_app, internal_user)
    assert flow.exchange(public_app, code, secret=None).status_code == 400


def test_no_refresh_token_without_offline_access(flow, confidential_app, internal_user):
    data = flow.tokens(confidential_app, internal_user, scope="openid update")
    assert "refresh_token" not in data


def test_nothing_requested_gets_all_trusted_scopes(flow, confidential_app, internal_user):
    data = flow.tokens(confidential_app, internal_user, scope=None)
    assert data["scope"] == "update sec"


def test_community_user_never_gets_sec(flow, db, community_user):
    app = factories.TrustedApplicationFactory(
        client_id="c.example.com/app", login_urls=["https://c.example.com/cb"], secret=SECRET,
        impersonate_internal_allowed=False, impersonate_community_allowed=True,
        scope="update sec",
    )  # fmt: skip
    for scope in (None, "update sec"):
        data = flow.tokens(app, community_user, scope=scope)
        assert data["scope"] == "update"
        assert access_tokens.decode_access_token(data["access_token"])["scope"] == "update"
        assert access_tokens.decode_access_token(data["access_token"])["user_type"] == "community"


def test_user_kind_rechecked_at_exchange(flow, confidential_app, internal_user):
    code = flow.code(confidential_app, internal_user)
    confidential_app.impersonate_internal_allowed = False
    confidential_app.impersonate_community_allowed = True
    confidential_app.save()
    response = flow.exchange(confidential_app, code)
    assert response.status_code == 400


# ------------------------------------------------------------------ refresh tokens


def test_refresh_rotates_and_reuse_revokes_family(flow, confidential_app, internal_user):
    first = flow.tokens(confidential_app, internal_user)
    second = flow.refresh(confidential_app, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == first["scope"]
    live = access_tokens.check_access_token(second["access_token"])
    assert live.user == internal_user
    with pytest.raises(access_tokens.InvalidAccessToken):
        access_tokens.check_access_token(first["access_token"])
    reuse = flow.refresh(confidential_app, first["refresh_token"])
    assert reuse.json()["error"] == "invalid_grant"
    with pytest.raises(access_tokens.InvalidAccessToken):
        access_tokens.check_access_token(second["access_token"])
    assert flow.refresh(confidential_app, second["refresh_token"]).status_code == 400


def test_refresh_scope_can_narrow_not_grow(flow, confidential_app, internal_user):
    first = flow.tokens(confidential_app, internal_user, scope="openid update offline_access")
    grow = flow.refresh(confidential_app, first["refresh_token"], scope="update sec")
    assert grow.json()["error"] == "invalid_scope"
    narrow = flow.refresh(confidential_app, first["refresh_token"], scope="update offline_access")
    assert narrow.status_code == 200
    assert narrow.json()["scope"] == "update offline_access"


def test_a_narrowed_refresh_leaves_the_familys_scope_as_granted(
    flow, client, confidential_app, internal_user
):
    """RFC 6749 section 6: an omitted scope means the scope originally granted, and a new
    refresh token has the scope of the one it replaces."""
    first = flow.tokens(confidential_app, internal_user, scope="openid update offline_access")
    narrow = flow.refresh(confidential_app, first["refresh_token"], scope="update")
    assert narrow.status_code == 200 and narrow.json()["scope"] == "update"
    introspected = client.post(
        "/id/connect/introspect",
        {"token": narrow.json()["refresh_token"]},
        HTTP_AUTHORIZATION=basic(confidential_app.client_id, SECRET),
    ).json()
    assert introspected["scope"] == "openid update offline_access"
    again = flow.refresh(confidential_app, narrow.json()["refresh_token"])
    assert again.status_code == 200
    assert again.json()["scope"] == "openid update offline_access"
    wide = flow.refresh(
        confidential_app, again.json()["refresh_token"], scope="openid update offline_access"
    )
    assert wide.status_code == 200, wide.content


def test_refresh_drops_scope_the_record_no_longer_trusts(flow, confidential_app, internal_user):
    first = flow.tokens(confidential_app, internal_user, scope="openid update sec offline_access")
    confidential_app.scope = "sec"
    confidential_app.save()
    data = flow.refresh(confidential_app, first["refresh_token"]).json()
    assert data["scope"] == "openid sec offline_access"


def test_a_code_redeemed_after_its_record_lost_a_scope_gets_no_token_with_it(
    flow, confidential_app, internal_user
):
    """The code was asked for while the record trusted `sec`; the administrator took `sec`
    away before the client redeemed it (a code lives 60 s). The token must not carry it: its
    JWT is read by resource servers that never ask the registry."""
    code = flow.code(confidential_app, internal_user, scope="openid sec update offline_access")
    registry_services.application_update(application=confidential_app, scope="update")
    response = flow.exchange(confidential_app, code)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["scope"] == "openid update offline_access"
    claims = jwt.decode(data["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "openid update offline_access"
    row = AccessToken.objects.get(token_checksum=access_tokens.token_checksum(data["access_token"]))
    assert row.scope == "openid update offline_access"
    # ... nor does the refresh family remember it as granted.
    confidential_app.refresh_from_db()
    registry_services.application_update(application=confidential_app, scope="update sec")
    refreshed = flow.refresh(confidential_app, data["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["scope"] == "openid update offline_access"


def test_refresh_needs_the_owning_client(flow, confidential_app, internal_user, db):
    first = flow.tokens(confidential_app, internal_user)
    other = factories.TrustedApplicationFactory(client_id="o.example.com/x", secret=SECRET)
    assert flow.refresh(other, first["refresh_token"]).status_code == 400


def test_refresh_lifetime_public_24h_confidential_30d(
    flow, confidential_app, public_app, internal_user
):
    conf = flow.tokens(confidential_app, internal_user)
    code = flow.code(public_app, internal_user)
    pub = flow.exchange(public_app, code, secret=None).json()
    with time_machine.travel(clock.now() + dt.timedelta(hours=25)):
        assert flow.refresh(public_app, pub["refresh_token"]).status_code == 400
        assert flow.refresh(confidential_app, conf["refresh_token"]).status_code == 200
    with time_machine.travel(clock.now() + dt.timedelta(days=31)):
        conf2 = flow.tokens(confidential_app, internal_user)
    with time_machine.travel(clock.now() + dt.timedelta(days=62)):
        assert flow.refresh(confidential_app, conf2["refresh_token"]).status_code == 400


def test_refresh_refused_once_record_disabled(flow, confidential_app, internal_user):
    first = flow.tokens(confidential_app, internal_user)
    registry_services.application_set_enabled(application=confidential_app, enabled=False)
    assert flow.refresh(confidential_app, first["refresh_token"]).status_code == 401


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_simultaneous_exchanges_of_one_code_the_loser_revokes_the_winners_tokens(
    confidential_app, internal_user
):
    """Both requests validate the code while it exists, then meet at its single-use DELETE
    (held here by a row lock from a third connection until both wait): one issues tokens,
    the other answers invalid_grant and, as for any second use, revokes them."""
    import time

    from django.db import connections
    from django.test import Client

    from tests.oauth.conftest import Flow
    from trustregistry.oauth.models import RedeemedCode

    flow = Flow(Client())
    code = flow.code(confidential_app, internal_user, scope="openid update offline_access")
    holder = connections.create_connection("default")
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute("SELECT id FROM oauth2_provider_grant WHERE code = %s FOR UPDATE", [code])
        assert cursor.fetchone() is not None
    results: list[tuple[int, dict]] = []

    def worker() -> None:
        try:
            mine = Flow(Client())
            mine.params, mine.verifier = flow.params, flow.verifier
            response = mine.exchange(confidential_app, code)
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # both blocked on the row lock
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh look each time
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
                if cursor.fetchone()[0] >= 2:
                    break
            time.sleep(0.02)
        else:
            raise AssertionError("the two exchanges never met at the code's row")
    finally:
        holder.rollback()
        holder.close()
    for thread in threads:
        thread.join(30)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 400], results
    winner = next(body for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 400)
    assert loser["error"] == "invalid_grant"
    with pytest.raises(access_tokens.InvalidAccessToken):
        access_tokens.check_access_token(winner["access_token"])
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert RedeemedCode.objects.filter(application=confidential_app).count() == 1
    assert flow.refresh(confidential_app, winner["refresh_token"]).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_exactly_one_wins(confidential_app, internal_user):
    from django.test import Client

    from tests.oauth.conftest import Flow

    flow = Flow(Client())
    first = flow.tokens(confidential_app, internal_user)
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            response = Flow(Client()).refresh(confidential_app, first["refresh_token"])
            results.append((response.status_code, response.json().get("error", "")))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 4
    winners = [r for r in results if r[0] == 200]
    assert len(winners) == 1, results
    losers = [r for r in results if r[0] != 200]
    if connection.vendor == "postgresql":
        assert all(r == (400, "invalid_grant") for r in losers), results
    else:
        # SQLite serialises writers; a loser may also meet the lock (503 from the middleware).
        assert all(r in ((400, "invalid_grant"), (503, "temporarily_unavailable")) for r in losers)
    # Concurrent uses of one refresh token are a reuse (RFC 9700 section 4.14.2): whether a
    # loser met the winner's lock or arrived after its commit, the whole family is revoked,
    # the winner's new tokens included.
    if connection.vendor == "postgresql" or any(r[0] == 400 for r in losers):
        assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
        assert not AccessToken.objects.filter(
            application=confidential_app, expires__gt=clock.now()
        ).exists()


def test_a_confidential_client_that_sent_a_challenge_must_send_its_verifier(
    flow, confidential_app, internal_user
):
    code = flow.code(confidential_app, internal_user)  # with a S256 challenge
    flow.verifier = None
    response = flow.exchange(confidential_app, code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("scope", ["openid update", "update"])  # OpenID Connect or plain OAuth
def test_a_verifier_for_a_code_issued_without_a_challenge_is_refused(
    flow, confidential_app, internal_user, scope
):
    # RFC 9700 section 2.1.1: the PKCE downgrade (a verifier where no challenge was sent).
    code = flow.code(
        confidential_app,
        internal_user,
        scope=scope,
        code_challenge=None,
        code_challenge_method=None,
    )
    response = flow.exchange(confidential_app, code, code_verifier="v" * 43)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_grant"
    assert "without a PKCE challenge" in response.json()["error_description"]


def test_the_token_request_must_repeat_the_redirect_uri(flow, confidential_app, internal_user):
    # RFC 6749 section 4.1.3: it was in the authorization request, so it is required here.
    code = flow.code(confidential_app, internal_user)
    response = flow.exchange(confidential_app, code, redirect_uri=None)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "redirect_uri" in response.json()["error_description"]


def test_a_different_redirect_uri_on_the_token_request_is_invalid_grant(
    flow, confidential_app, internal_user
):
    confidential_app.login_urls = [*confidential_app.login_urls, "https://app.example.com/other"]
    confidential_app.save()
    code = flow.code(confidential_app, internal_user)
    response = flow.exchange(confidential_app, code, redirect_uri="https://app.example.com/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_the_code_challenge_is_read_from_the_row_validate_code_read(
    flow, confidential_app, internal_user
):
    """django-oauth-toolkit read the code's row again with get(): a concurrent exchange that
    redeemed the code in between made that a 500, and skipped the reuse revocation."""
    from oauth2_provider.models import Grant
    from oauthlib.common import Request

    from trustregistry.oauth.validators import RegistryValidator

    code = flow.code(confidential_app, internal_user)
    grant = Grant.objects.get(code=code)
    request = Request("https://registry.example/id/connect/token")
    request.client = confidential_app
    request.tr_grant = grant
    Grant.objects.filter(pk=grant.pk).delete()  # redeemed meanwhile by a concurrent exchange
    validator = RegistryValidator()
    assert validator.get_code_challenge(code, request) == grant.code_challenge
    assert validator.get_code_challenge_method(code, request) == "S256"
    request.tr_grant = None
    assert validator.get_code_challenge(code, request) is None
