"""Withdrawing a permission on a record stops the tokens it gave at once, everywhere the
registry is asked (the API, introspection, userinfo, the refresh grant), and giving it back
brings none of them back (`registry.services.revocation`, `oauth.policy.token_user_allowed`)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from tests import factories
from tests.oauth.conftest import SECRET, basic, cc
from trustregistry.common import clock
from trustregistry.oauth.access_tokens import issue_access_token
from trustregistry.oauth.services import checksum
from trustregistry.registry import services
from trustregistry.registry.models import TrustedApplication
from trustregistry.registry.secrets import hash_secret

pytestmark = pytest.mark.django_db


def _me(token: str) -> int:
    return Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def _me_json(token: str) -> dict:
    return Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()


def _introspect(app: TrustedApplication, token: str) -> dict:
    response = Client().post(
        "/id/connect/introspect",
        {"token": token},
        HTTP_AUTHORIZATION=basic(app.client_id, SECRET),
    )
    assert response.status_code == 200
    return response.json()


def _refresh_row(raw: str) -> RefreshToken:
    return RefreshToken.objects.get(token_checksum=checksum(raw))


def _userinfo(token: str) -> int:
    return Client().get("/id/connect/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def _update(app: TrustedApplication, **fields) -> None:
    services.application_update(
        application=TrustedApplication.objects.get(pk=app.pk), actor=None, **fields
    )


def _flags_in_table_only(app: TrustedApplication, **fields) -> None:
    """Change the record without the services (no revocation): what the token checks
    decide on their own."""
    TrustedApplication.objects.filter(pk=app.pk).update(**fields)


# ------------------------------------------------------------------ client credentials


def test_turning_client_credentials_off_stops_their_tokens_and_turning_on_revives_none(
    service_app, confidential_app
):
    token = cc(Client(), service_app).json()["access_token"]
    assert _me(token) == 200
    _update(service_app, system_user_allowed=False)
    assert _me(token) == 401
    assert _introspect(confidential_app, token) == {"active": False}
    _update(service_app, system_user_allowed=True)
    assert _me(token) == 401  # revoked, not only refused while the flag was off
    assert _me(cc(Client(), service_app).json()["access_token"]) == 200


def test_the_check_itself_refuses_tokens_of_a_withdrawn_permission(service_app):
    """Without the services' revocation (a change straight in the table), the token check
    alone refuses: what stops a token written by a request under way during the change."""
    token = cc(Client(), service_app).json()["access_token"]
    _flags_in_table_only(service_app, system_user_allowed=False)
    response = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert "no longer allows client credentials" in response["WWW-Authenticate"]
    _flags_in_table_only(service_app, system_user_allowed=True)
    assert _me(token) == 200


def test_a_new_system_user_stops_the_old_ones_tokens(service_app):
    token = cc(Client(), service_app).json()["access_token"]
    old_user = service_app.system_user
    new_user = factories.SystemUserFactory(username="sync-2")
    _flags_in_table_only(service_app, system_user=new_user)
    assert _me(token) == 401  # by the check: the token acts as someone the record no longer names
    _flags_in_table_only(service_app, system_user=old_user)
    assert _me(token) == 200
    _update(service_app, system_user=new_user)
    assert _me(token) == 401
    _update(service_app, system_user=old_user)
    assert _me(token) == 401  # and by the revocation: naming the old user again revives nothing
    fresh = cc(Client(), service_app).json()["access_token"]
    assert _me_json(fresh)["username"] == old_user.username


def test_a_system_user_made_a_person_stops_its_client_credentials_tokens(
    service_app, confidential_app
):
    """A person must never be acted as by a service (`policy.may_use_grant`): a
    client-credentials token stops once its user is no longer of kind system, also on a record
    that lets that kind sign in."""
    TrustedApplication.objects.filter(pk=service_app.pk).update(
        impersonate_internal_allowed=True, login_urls=["https://svc.example.com/callback"]
    )
    token = cc(Client(), service_app).json()["access_token"]
    assert _me(token) == 200
    user = service_app.system_user
    user.kind = "internal"
    user.save()
    assert _me(token) == 401
    assert _introspect(confidential_app, token) == {"active": False}
    assert cc(Client(), service_app).status_code == 400  # as a new token request is refused


# ------------------------------------------------------------------ sign-in (impersonation)


def test_turning_a_user_kind_off_stops_its_tokens_everywhere(
    flow, confidential_app, internal_user, service_app
):
    tokens = flow.tokens(confidential_app, internal_user)
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    code = flow.code(confidential_app, internal_user)
    assert _me(access) == 200 and _userinfo(access) == 200
    _update(
        confidential_app,
        impersonate_internal_allowed=False,
        impersonate_community_allowed=True,
    )
    assert _me(access) == 401
    assert _userinfo(access) == 401
    assert _introspect(service_app, access) == {"active": False}
    assert _introspect(confidential_app, refresh) == {"active": False}
    refreshed = flow.refresh(confidential_app, refresh)
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert not Grant.objects.filter(application=confidential_app).exists()
    _update(confidential_app, impersonate_internal_allowed=True)
    assert _me(access) == 401
    assert _introspect(confidential_app, refresh) == {"active": False}
    exchanged = flow.exchange(confidential_app, code)
    assert exchanged.status_code == 400 and exchanged.json()["error"] == "invalid_grant"
    assert _me(flow.tokens(confidential_app, internal_user)["access_token"]) == 200


def test_a_withdrawn_kind_revokes_only_the_tokens_of_that_kind(
    flow, confidential_app, internal_user, community_user
):
    _update(confidential_app, impersonate_community_allowed=True)
    internal = flow.tokens(confidential_app, internal_user)
    community = flow.tokens(confidential_app, community_user)
    _update(confidential_app, impersonate_community_allowed=False)
    assert _me(internal["access_token"]) == 200
    assert _me(community["access_token"]) == 401
    assert _refresh_row(internal["refresh_token"]).revoked is None
    assert _refresh_row(community["refresh_token"]).revoked is not None


def test_a_user_whose_kind_changes_to_one_the_record_does_not_allow_is_stopped(
    flow, confidential_app, internal_user
):
    access = flow.tokens(confidential_app, internal_user)["access_token"]
    internal_user.kind = "community"
    internal_user.save()
    assert _me(access) == 401
    internal_user.kind = "internal"
    internal_user.save()
    assert _me(access) == 200


def test_changes_that_withdraw_nothing_revoke_nothing(
    flow, confidential_app, internal_user, service_app
):
    person = flow.tokens(confidential_app, internal_user)["access_token"]
    service = cc(Client(), service_app).json()["access_token"]
    _update(confidential_app, logout_urls=["https://app.example.com/bye"], scope="update")
    _update(confidential_app, impersonate_community_allowed=True)  # a permission given
    _update(service_app, basic_auth_allowed=True)
    assert _me(person) == 200 and _me(service) == 200
    assert AccessToken.objects.filter(expires__lte=clock.now()).count() == 0


# ------------------------------------------------------------------ every way a record changes

WITHDRAWN = {"impersonate_internal_allowed": False, "impersonate_community_allowed": True}


def _withdraw_by_admin(staff, app, tmp_path):
    from tests.registry.test_admin import _change_form, change_url, errors_of

    admin = Client()
    admin.force_login(staff)
    data = _change_form(app, scope=["update"], impersonate_community_allowed="on")
    del data["impersonate_internal_allowed"]  # an unticked checkbox is not sent
    response = admin.post(change_url(app), data)
    assert response.status_code == 302, errors_of(response)


def _withdraw_by_api(staff, app, tmp_path):
    console = factories.TrustedApplicationFactory(
        client_id="admin.example.com/console", scope="sec update"
    )
    raw, _ = issue_access_token(application=console, user=staff, scope="sec update")
    response = Client().patch(
        f"/api/trusted-applications/{app.client_id}/",
        json.dumps(WITHDRAWN),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200, response.content


def _withdraw_by_import(staff, app, tmp_path):
    path = tmp_path / "apps.json"
    call_command("export_trusted_apps", str(path), stdout=io.StringIO())
    records = [r for r in json.loads(path.read_text()) if r["application_uri"] == app.client_id]
    records[0].update(WITHDRAWN)
    path.write_text(json.dumps(records))
    call_command("import_trusted_apps", str(path), stdout=io.StringIO(), stderr=io.StringIO())


def _withdraw_by_marketplace(staff, app, tmp_path):
    from tests.marketplace.test_views import confirm

    link = f"/manage/apps/install?applicationUri={app.client_id}&impersonate=none"
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    response = confirm(browser, link)
    assert response.status_code == 200, response.content[:2000]


@pytest.mark.parametrize(
    "withdraw",
    [_withdraw_by_admin, _withdraw_by_api, _withdraw_by_import, _withdraw_by_marketplace],
)
def test_every_way_of_withdrawing_revokes(staff_user, internal_user, tmp_path, withdraw):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", scope="update")
    token, row = issue_access_token(application=app, user=internal_user, scope="update")
    assert _me(token) == 200
    withdraw(staff_user, app, tmp_path)
    assert TrustedApplication.objects.get(pk=app.pk).impersonate_internal_allowed is False
    row.refresh_from_db()
    assert row.expires <= clock.now()  # revoked in the table, not only refused
    _flags_in_table_only(app, impersonate_internal_allowed=True)
    assert _me(token) == 401


# ------------------------------------------------------------------ one rule, written twice

# The revocation's query (`Permissions.token_users`) and the token check
# (`policy.token_user_allowed`) state the same rule, one in SQL and one in Python: on every
# record state, the tokens the query keeps are exactly those the check lets through.
_STATES = [
    (client_type, internal, community, cc, system_user)
    for client_type in ("confidential", "public")
    for internal in (False, True)
    for community in (False, True)
    for cc in (False, True)
    for system_user in ("a", "b", None)
]


@pytest.mark.parametrize("state", _STATES)
def test_revocation_keeps_exactly_the_tokens_the_check_allows(state):
    from trustregistry.oauth import policy
    from trustregistry.registry.services.revocation import Permissions

    client_type, internal, community, cc_allowed, system_user = state
    app = factories.TrustedApplicationFactory(client_id="rule.example.com/app")
    users = {
        "internal": factories.UserFactory(username="rule-internal"),
        "community": factories.CommunityUserFactory(username="rule-community"),
        "a": factories.SystemUserFactory(username="rule-system-a"),
        "b": factories.SystemUserFactory(username="rule-system-b"),
    }
    for user in users.values():
        issue_access_token(application=app, user=user, scope="update")
    # Straight into the table: states the model's validation would refuse must agree too.
    TrustedApplication.objects.filter(pk=app.pk).update(
        client_type=client_type,
        impersonate_internal_allowed=internal,
        impersonate_community_allowed=community,
        system_user_allowed=cc_allowed,
        system_user=users[system_user] if system_user else None,
    )
    app.refresh_from_db()
    kept = set(
        AccessToken.objects.filter(application=app)
        .filter(Permissions.of(app).token_users())
        .values_list("user__username", flat=True)
    )
    allowed = {
        user.username
        for user in users.values()
        if policy.token_user_allowed(
            app,
            user_id=user.pk,
            user_kind=user.kind,
            issued_as="system" if user.kind == "system" else user.kind,
        )
        is None
    }
    assert kept == allowed


# ------------------------------------------------------------------ a user deactivated


def test_a_deactivated_user_gets_no_token_back_when_reactivated(
    flow, confidential_app, internal_user, service_app
):
    """Token checks read is_active, so a deactivated user's tokens stop at once; reactivating
    the account brought every one of them back (a refresh token for 30 days), also those an
    intruder held when the account was deactivated because it had leaked."""
    tokens = flow.tokens(confidential_app, internal_user)
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    code = flow.code(confidential_app, internal_user)
    internal_user.is_active = False
    internal_user.save()
    assert _me(access) == 401
    internal_user.is_active = True
    internal_user.save()
    assert _me(access) == 401 and _userinfo(access) == 401
    assert _introspect(service_app, access) == {"active": False}
    assert _introspect(confidential_app, refresh) == {"active": False}
    refreshed = flow.refresh(confidential_app, refresh)
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    exchanged = flow.exchange(confidential_app, code)
    assert exchanged.status_code == 400 and exchanged.json()["error"] == "invalid_grant"
    assert _me(flow.tokens(confidential_app, internal_user)["access_token"]) == 200


def test_reactivating_revokes_tokens_written_while_the_user_was_deactivated(
    confidential_app, internal_user
):
    """A token request under way at the deactivation may write its token after the
    revocation ran; the checks refuse it while the user is inactive, and the reactivation
    revokes it rather than bring it to life."""
    internal_user.is_active = False
    internal_user.save()
    raw, _ = issue_access_token(application=confidential_app, user=internal_user, scope="")
    internal_user.is_active = True
    internal_user.save()
    assert _me(raw) == 401


def test_other_changes_to_a_user_revoke_nothing(flow, confidential_app, internal_user):
    access = flow.tokens(confidential_app, internal_user)["access_token"]
    internal_user.email = "someone@example.com"
    internal_user.save()
    internal_user.save(update_fields=["last_login"])
    internal_user.is_active = True
    internal_user.save()
    assert _me(access) == 200


def test_a_user_deactivated_in_the_admin_gets_no_token_back(
    flow, confidential_app, internal_user, staff_user
):
    access = flow.tokens(confidential_app, internal_user)["access_token"]
    admin = Client()
    admin.force_login(staff_user)
    url = f"/admin/accounts/user/{internal_user.pk}/change/"
    form = admin.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data.update(
        {
            "username": internal_user.username,
            "kind": internal_user.kind,
            "date_joined_0": internal_user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": internal_user.date_joined.strftime("%H:%M:%S"),
        }
    )
    data.pop("is_active", None)  # an unticked checkbox is not sent
    data.pop("password", None)
    data.pop("groups", None)
    data.pop("user_permissions", None)
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    internal_user.refresh_from_db()
    assert not internal_user.is_active
    assert _me(access) == 401
    data["is_active"] = "on"
    assert admin.post(url, data).status_code == 302
    assert _me(access) == 401


# ------------------------------------------------------------------ confidential turned public


def test_a_record_turned_public_revokes_the_refresh_tokens_its_secret_guarded(
    flow, confidential_app, internal_user
):
    """A refresh token given to a confidential client is used with its secret. Turned public
    (its secrets removed first), the record let the same refresh token work with the client id
    alone: one that had leaked became good without any secret."""
    tokens = flow.tokens(confidential_app, internal_user)
    code = flow.code(confidential_app, internal_user)
    confidential_app.secrets.all().delete()
    _update(confidential_app, client_type="public")
    assert _me(tokens["access_token"]) == 200  # a bearer token either way; it runs out
    assert not Grant.objects.filter(application=confidential_app).exists(), code
    public = TrustedApplication.objects.get(pk=confidential_app.pk)
    refreshed = flow.refresh(public, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_deactivating_a_user_while_its_refresh_runs_is_no_deadlock(flow, confidential_app):
    """A refresh holds its refresh token's row (rotated) and then writes the new access token,
    whose foreign key takes a key-share lock on the user's row. The deactivation locked the
    user's row FOR UPDATE, which that key-share lock waits for, and then waited itself for
    the refresh token's row: PostgreSQL ended one of the two as a deadlock (a 500 for the
    admin or the client)."""
    import threading
    import time

    from django.db import connection, connections

    user = factories.UserFactory(username="dana")
    raw = flow.tokens(confidential_app, user)["refresh_token"]
    row = _refresh_row(raw)
    holding, outcomes = threading.Event(), {}

    def refresh() -> None:  # what the refresh grant's transaction does, in its order
        try:
            from django.db import transaction

            with transaction.atomic():
                RefreshToken.objects.filter(pk=row.pk).update(revoked=clock.now())
                holding.set()
                deadline = time.monotonic() + 10
                with connection.cursor() as cursor:  # until the deactivation waits on us
                    while time.monotonic() < deadline:
                        # pg_stat_activity is read once per transaction unless cleared: without
                        # this, a waiter that came after the first look was never seen, and the
                        # deactivation waited until its statement timeout (10 s).
                        cursor.execute("SELECT pg_stat_clear_snapshot()")
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                            "'Lock' AND datname = current_database()"
                        )
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.02)
                issue_access_token(application=confidential_app, user=user, scope="")
            outcomes["refresh"] = "ok"
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes["refresh"] = exc
        finally:
            connections.close_all()

    def deactivate() -> None:
        try:
            holding.wait(10)
            fresh = type(user).objects.get(pk=user.pk)
            fresh.is_active = False
            fresh.save()
            outcomes["deactivate"] = "ok"
        except Exception as exc:  # noqa: BLE001
            outcomes["deactivate"] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh), threading.Thread(target=deactivate)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {"refresh": "ok", "deactivate": "ok"}
    # The refresh committed first; the revocation, after it, reached its token too.
    assert not AccessToken.objects.filter(user=user, expires__gt=clock.now()).exists()


def test_a_record_turned_confidential_revokes_its_public_refresh_tokens(
    flow, public_app, internal_user
):
    """A public client's refresh token lives 24 hours; turned confidential, the lifetime read
    from the record's type became 30 days, and tokens expired for a day worked again."""
    import datetime as dt

    import time_machine

    tokens = flow.tokens(public_app, internal_user)
    _update(public_app, client_type="confidential")
    services.secret_add_hash(
        application=TrustedApplication.objects.get(pk=public_app.pk),
        secret_hash=hash_secret(SECRET),
        actor=None,
    )
    confidential = TrustedApplication.objects.get(pk=public_app.pk)
    with time_machine.travel(clock.now() + dt.timedelta(hours=25)):
        refreshed = flow.refresh(confidential, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert _refresh_row(tokens["refresh_token"]).revoked is not None
