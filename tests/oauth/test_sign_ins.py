"""When the user signed in (trustregistry/oauth/sign_ins.py): the ID token's `auth_time` is
this session's sign-in, kept through refreshes (OpenID Connect Core 2 and 12.2), and
`max_age` asks for a fresh sign-in (3.1.2.1)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import jwt
import pytest
import time_machine
from django.test import Client

from tests.oauth.conftest import CALLBACK, query
from trustregistry.common import clock
from trustregistry.oauth.models import SignIn

AUTHORIZE = "/id/connect/authorize"


def _code(flow, client, app, **overrides) -> str:  # type: ignore[no-untyped-def]
    """The code flow in `client`'s session as it stands (no new sign-in)."""
    params = flow.authorize_params(app, **overrides)
    flow.params = params
    page = client.get(AUTHORIZE, params)
    if page.status_code == 200:  # the consent page
        data = {k: v for k, v in page.context["form"].initial.items() if v}
        page = client.post(AUTHORIZE + "?" + urlencode(params), {**data, "allow": "true"})
    assert page.status_code == 302, page.content[:300]
    return query(page["Location"])["code"]


def _auth_time(id_token: str) -> int:
    return jwt.decode(id_token, options={"verify_signature": False})["auth_time"]


def test_auth_time_is_this_sessions_sign_in_not_the_users_latest(
    flow, confidential_app, internal_user
):
    start = clock.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        first = Client()
        first.force_login(internal_user)  # session A signs in at `start`
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        Client().force_login(internal_user)  # the same user, another browser, later
        code = _code(flow, first, confidential_app)
        tokens = flow.exchange(confidential_app, code).json()
    assert _auth_time(tokens["id_token"]) == int(start.timestamp())
    # a refresh names the original sign-in, whatever happened since (OIDC Core 12.2)
    with time_machine.travel(start + dt.timedelta(hours=3), tick=False):
        Client().force_login(internal_user)
        refreshed = flow.refresh(confidential_app, tokens["refresh_token"]).json()
    assert _auth_time(refreshed["id_token"]) == int(start.timestamp())
    again = flow.refresh(confidential_app, refreshed["refresh_token"]).json()
    assert _auth_time(again["id_token"]) == int(start.timestamp())


def test_a_fresh_sign_in_satisfies_max_age(flow, confidential_app, internal_user):
    client = Client()
    client.force_login(internal_user)
    code = _code(flow, client, confidential_app, max_age="300")
    assert flow.exchange(confidential_app, code).status_code == 200


def test_an_older_sign_in_than_max_age_signs_in_again(flow, confidential_app, internal_user):
    start = clock.now()
    with time_machine.travel(start, tick=False):
        client = Client()
        client.force_login(internal_user)
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        params = flow.authorize_params(confidential_app, max_age="60")
        response = client.get(AUTHORIZE, params)
        assert response.status_code == 302
        assert response["Location"].startswith("/id/account/login?")
        back = query(response["Location"])["next"]
        # back to the same request, without max_age (the new sign-in satisfies it)
        assert query(back) == {k: v for k, v in params.items() if k != "max_age"}
        silent = client.get(AUTHORIZE, {**params, "prompt": "none"})
        answer = query(silent["Location"])
        assert answer["error"] == "login_required" and answer["state"] == params["state"]


def test_max_age_zero_always_asks(flow, confidential_app, internal_user):
    client = Client()
    client.force_login(internal_user)
    with time_machine.travel(clock.now() + dt.timedelta(seconds=1)):
        response = client.get(AUTHORIZE, flow.authorize_params(confidential_app, max_age="0"))
    assert response.status_code == 302 and response["Location"].startswith("/id/account/login")


def test_a_session_from_before_has_no_known_sign_in_time(flow, confidential_app, internal_user):
    client = Client()
    client.force_login(internal_user)
    session = client.session
    del session["tr_auth_time"]
    session.save()
    response = client.get(AUTHORIZE, flow.authorize_params(confidential_app, max_age="3600"))
    assert response["Location"].startswith("/id/account/login")


@pytest.mark.parametrize("value", ["-1", "1.5", "soon", "٣"])
def test_max_age_must_be_a_whole_number(flow, confidential_app, internal_user, value):
    client = Client()
    client.force_login(internal_user)
    response = client.get(AUTHORIZE, flow.authorize_params(confidential_app, max_age=value))
    assert response.status_code == 302 and query(response["Location"])["error"] == "invalid_request"


def test_the_sign_in_record_goes_with_its_code_and_family(flow, confidential_app, internal_user):
    client = Client()
    client.force_login(internal_user)
    code = _code(flow, client, confidential_app)
    row = SignIn.objects.get()
    assert row.token_family is None and row.keep_until <= clock.now() + dt.timedelta(seconds=61)
    flow.exchange(confidential_app, code)
    row.refresh_from_db()
    assert row.token_family is not None  # offline_access: a refresh family to follow
    assert row.keep_until > clock.now() + dt.timedelta(days=29)


def test_prompt_none_without_openid_and_an_older_sign_in_is_login_required(
    flow, confidential_app, internal_user
):
    # oauthlib checks max_age with prompt=none only for OpenID Connect requests.
    start = clock.now()
    with time_machine.travel(start, tick=False):
        client = Client()
        client.force_login(internal_user)
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        params = flow.authorize_params(confidential_app, scope="update", max_age="60")
        silent = client.get(AUTHORIZE, {**params, "prompt": "none"})
    assert silent.status_code == 302
    answer = query(silent["Location"])
    assert answer["error"] == "login_required" and answer["state"] == params["state"]


def test_prompt_login_signs_in_again_and_keeps_the_other_prompt_values(
    flow, confidential_app, internal_user
):
    # OpenID Connect Core 3.1.2.1: signing in again satisfies `login` only; `consent` must
    # still show the consent page, also where the scope was approved before.
    start = clock.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        flow.code(confidential_app, internal_user, scope="openid")
    client = flow.client
    with time_machine.travel(start + dt.timedelta(seconds=5), tick=False):
        params = flow.authorize_params(confidential_app, scope="openid", prompt="login consent")
        response = client.get(AUTHORIZE, params)
        assert response["Location"].startswith("/id/account/login?")
        back = query(response["Location"])["next"]
        assert query(back) == {**params, "prompt": "consent"}
        client.force_login(internal_user)
        page = client.get(back)
        assert page.status_code == 200 and "form" in page.context  # asked again
        data = {k: v for k, v in page.context["form"].initial.items() if v}
        approved = client.post(back, {**data, "allow": "true"})
        flow.params = params
        code = query(approved["Location"])["code"]
    tokens = flow.exchange(confidential_app, code).json()
    assert _auth_time(tokens["id_token"]) == int(start.timestamp()) + 5


def test_prompt_login_alone_is_dropped_once_signed_in(client, flow, confidential_app):
    params = flow.authorize_params(confidential_app, scope="openid", prompt="login")
    response = client.get(AUTHORIZE, params)  # not signed in: one sign-in, not two
    back = query(response["Location"])["next"]
    assert query(back) == {k: v for k, v in params.items() if k != "prompt"}


@pytest.mark.parametrize(
    ("signed_in", "prompt"), [(False, None), (False, "login"), (True, "login"), (True, None)]
)
def test_the_sign_in_that_max_age_asks_for_is_asked_for_once(
    flow, confidential_app, internal_user, signed_in, prompt
):
    """Whoever is sent to the login page signs in now: that satisfies `max_age`. It came back
    with the request of a person not signed in, or sent by `prompt=login`, and with max_age=0
    (a sign-in in an earlier second) sent the person to the login page a second time."""
    if signed_in:
        flow.client.force_login(internal_user)
    params = flow.authorize_params(confidential_app, max_age="0", prompt=prompt)
    with time_machine.travel(clock.now() + dt.timedelta(seconds=1)):
        response = flow.client.get(AUTHORIZE, params)
    assert response["Location"].startswith("/id/account/login?")
    back = query(response["Location"])["next"]
    assert "max_age" not in query(back) and "prompt" not in query(back)
    with time_machine.travel(clock.now() + dt.timedelta(seconds=2)):
        flow.client.force_login(internal_user)
    with time_machine.travel(clock.now() + dt.timedelta(seconds=3)):
        page = flow.client.get(back)
    assert page.status_code == 200 and "form" in page.context  # the consent page


def test_a_malformed_max_age_is_answered_before_anyone_signs_in(flow, confidential_app):
    params = flow.authorize_params(confidential_app, max_age="soon")
    response = flow.client.get(AUTHORIZE, params)
    assert response.status_code == 302 and response["Location"].startswith(CALLBACK + "?")
    answer = query(response["Location"])
    assert answer["error"] == "invalid_request" and answer["state"] == params["state"]
