"""The API's lean bearer lookup decides exactly as the reference check_access_token."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from trustregistry.api.token_lookup import check_bearer_token
from trustregistry.common import clock
from trustregistry.oauth.access_tokens import (
    InvalidAccessToken,
    check_access_token,
    issue_access_token,
)
from trustregistry.registry import services

pytestmark = pytest.mark.django_db


def _outcome(check, raw: str):  # type: ignore[no-untyped-def]
    try:
        live = check(raw)
    except InvalidAccessToken as exc:
        return ("refused", exc.reason)
    user = live.user
    return (
        "live",
        live.application.pk,
        live.application.client_id,
        live.application.is_enabled,
        user.pk if user else None,
        user.username if user else None,
        sorted(live.scopes),
        live.claims["jti"],
    )


def _user_token():  # type: ignore[no-untyped-def]
    app = factories.TrustedApplicationFactory(scope="update crm")
    raw, row = issue_access_token(application=app, user=factories.UserFactory(), scope="update crm")
    return raw, row, app


def _case_live():  # type: ignore[no-untyped-def]
    return _user_token()[0]


def _system_token():  # type: ignore[no-untyped-def]
    app = factories.ServiceApplicationFactory(scope="sec")
    return issue_access_token(application=app, user=app.system_user, scope="sec")[0], app


def _case_system_user():  # type: ignore[no-untyped-def]
    return _system_token()[0]


def _case_revoked():  # type: ignore[no-untyped-def]
    raw, row, _ = _user_token()
    row.revoke()
    return raw


def _case_expired_in_table():  # type: ignore[no-untyped-def]
    raw, row, _ = _user_token()
    row.expires = clock.now() - dt.timedelta(seconds=1)
    row.save()
    return raw


def _case_disabled():  # type: ignore[no-untyped-def]
    raw, _, app = _user_token()
    type(app).objects.filter(pk=app.pk).update(is_enabled=False)
    return raw


def _case_disabled_by_service():  # type: ignore[no-untyped-def]
    raw, _, app = _user_token()
    services.application_set_enabled(application=app, enabled=False)
    return raw


def _case_inactive_user():  # type: ignore[no-untyped-def]
    raw, row, _ = _user_token()
    type(row.user).objects.filter(pk=row.user_id).update(is_active=False)
    return raw


def _case_kind_withdrawn():  # type: ignore[no-untyped-def]
    raw, _, app = _user_token()
    type(app).objects.filter(pk=app.pk).update(impersonate_internal_allowed=False)
    return raw


def _case_client_credentials_withdrawn():  # type: ignore[no-untyped-def]
    raw, app = _system_token()
    type(app).objects.filter(pk=app.pk).update(system_user_allowed=False)
    return raw


def _case_system_user_replaced():  # type: ignore[no-untyped-def]
    raw, app = _system_token()
    type(app).objects.filter(pk=app.pk).update(system_user=factories.SystemUserFactory())
    return raw


def _case_system_user_made_a_person():  # type: ignore[no-untyped-def]
    raw, app = _system_token()
    type(app).objects.filter(pk=app.pk).update(impersonate_internal_allowed=True)
    type(app.system_user).objects.filter(pk=app.system_user.pk).update(kind="internal")
    return raw


def _case_garbage():  # type: ignore[no-untyped-def]
    return "not.a.token"


@pytest.mark.parametrize(
    "case",
    [
        _case_live,
        _case_system_user,
        _case_revoked,
        _case_expired_in_table,
        _case_disabled,
        _case_disabled_by_service,
        _case_inactive_user,
        _case_kind_withdrawn,
        _case_client_credentials_withdrawn,
        _case_system_user_replaced,
        _case_system_user_made_a_person,
        _case_garbage,
    ],
)
def test_lean_lookup_agrees_with_the_reference_check(case):
    raw = case()
    assert _outcome(check_bearer_token, raw) == _outcome(check_access_token, raw)


def test_agreement_holds_when_the_jwt_itself_expires():
    raw = _user_token()[0]
    with time_machine.travel(clock.now() + dt.timedelta(hours=2)):
        lean, reference = _outcome(check_bearer_token, raw), _outcome(check_access_token, raw)
    assert lean == reference and lean[0] == "refused"


def test_lean_lookup_is_one_query_once_the_key_is_cached():
    raw = _user_token()[0]
    check_bearer_token(raw)
    with CaptureQueriesContext(connection) as queries:
        live = check_bearer_token(raw)
        assert live.application.client_id and live.user.username and live.user.kind == "internal"
    assert len(queries.captured_queries) == 1


def test_lazy_columns_of_the_loaded_objects_still_load():
    raw, row, app = _user_token()
    live = check_bearer_token(raw)
    assert live.user.email == row.user.email
    assert live.application.localized_name("en") == app.localized_name("en")


def test_me_costs_one_query(client):
    raw = _user_token()[0]
    client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert len(queries.captured_queries) == 1
