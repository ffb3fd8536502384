"""The authorization endpoint against the record (SPEC 3): every check, good and bad input."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client

from tests import factories
from tests.oauth.conftest import CALLBACK, PUBLIC_CALLBACK, query

AUTHORIZE = "/id/connect/authorize"


def assert_error_page(response) -> None:
    assert response.status_code in (400, 401, 403)
    assert "Location" not in response
    assert b"<h1>" in response.content


def test_code_flow_redirect_carries_code_state_and_iss(flow, confidential_app, internal_user):
    response = flow.consent(confidential_app, internal_user)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(CALLBACK + "?")
    params = query(location)
    assert params["state"] == flow.params["state"]
    assert params["iss"] == settings.TRUSTREGISTRY_ISSUER
    assert len(params["code"]) >= 20


def test_unknown_client_gets_error_page_logged_in_or_not(client, internal_user):
    params = {
        "response_type": "code",
        "client_id": "nobody.example.com/x",
        "redirect_uri": CALLBACK,
        "state": "s",
    }
    assert_error_page(client.get(AUTHORIZE, params))
    client.force_login(internal_user)
    assert_error_page(client.get(AUTHORIZE, params))


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "is not registered here"), ("bg", "не са регистрирани тук")],
)
def test_the_error_page_speaks_the_persons_language_with_the_detail_below(
    client, confidential_app, language, text
):
    params = {
        "response_type": "code",
        "client_id": confidential_app.client_id,
        "redirect_uri": "https://elsewhere.example.com/cb",
        "state": "s",
    }
    page = client.get(AUTHORIZE, params, HTTP_ACCEPT_LANGUAGE=language)
    assert_error_page(page)
    body = page.content.decode()
    assert text in body
    assert "Mismatching redirect URI" in body  # oauthlib's words, for whoever debugs


def test_disabled_record_gets_error_page(client, confidential_app, internal_user):
    confidential_app.is_enabled = False
    confidential_app.save()
    client.force_login(internal_user)
    params = {
        "response_type": "code",
        "client_id": confidential_app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s",
    }
    assert_error_page(client.get(AUTHORIZE, params))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        CALLBACK + "?x=1",  # query
        CALLBACK + "#frag",  # fragment
        "https://APP.example.com/callback",  # host case
        "https://app.example.com/Callback",  # path case
        "https://user@app.example.com/callback",  # userinfo
        "https://app.example.com@evil.example/callback",  # userinfo trick
        "https://app.example.com/callback/../callback",  # dot segments
        "https://app.example.com/callback/",  # trailing slash
        "https://app.example.com:8443/callback",  # port
        "http://app.example.com/callback",  # scheme
        "https://app.example.com.evil.example/callback",  # suffix
        "https://app.example.com/callbackx",  # prefix
    ],
)
def test_redirect_uri_must_match_exactly(client, confidential_app, internal_user, redirect_uri):
    params = {
        "response_type": "code",
        "client_id": confidential_app.client_id,
        "redirect_uri": redirect_uri,
        "state": "s",
    }
    # Not logged in: still the error page, never the login page or the client.
    assert_error_page(client.get(AUTHORIZE, params))
    client.force_login(internal_user)
    assert_error_page(client.get(AUTHORIZE, params))


def test_loopback_redirect_any_port(flow, public_app, internal_user):
    response = flow.consent(
        public_app, internal_user, redirect_uri="http://127.0.0.1:53682/callback"
    )
    assert response.status_code == 302
    assert response["Location"].startswith("http://127.0.0.1:53682/callback?code=")


def test_loopback_redirect_other_path_refused(flow, public_app, internal_user):
    response = flow.consent(public_app, internal_user, redirect_uri="http://127.0.0.1:5000/other")
    assert_error_page(response)


def test_anonymous_user_is_sent_to_login_with_next(client, confidential_app):
    params = {
        "response_type": "code",
        "client_id": confidential_app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s",
    }
    response = client.get(AUTHORIZE, params)
    assert response.status_code == 302
    assert response["Location"].startswith("/id/account/login?next=")


def test_state_is_required(flow, confidential_app, internal_user):
    response = flow.consent(confidential_app, internal_user, state=None)
    assert response.status_code == 302
    params = query(response["Location"])
    assert params["error"] == "invalid_request"
    assert "code" not in params
    assert params["iss"] == settings.TRUSTREGISTRY_ISSUER


def test_public_client_needs_pkce(flow, public_app, internal_user):
    response = flow.consent(
        public_app, internal_user, code_challenge=None, code_challenge_method=None
    )
    assert query(response["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_plain_refused(flow, confidential_app, internal_user, method):
    response = flow.consent(
        confidential_app, internal_user, code_challenge="a" * 50, code_challenge_method=method
    )
    params = query(response["Location"])
    assert params["error"] == "invalid_request"
    assert "S256" in params["error_description"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"nonce": "n" * 256},
        {"code_challenge": "c" * 129},
        {"code_challenge": "c" * 42},
        {"code_challenge": "c" * 42 + "+"},
        {"state": "s" * 2001},
    ],
)
def test_values_a_code_cannot_keep_are_refused_to_the_client(
    flow, confidential_app, internal_user, overrides
):
    # On PostgreSQL they reached the database and answered 500.
    response = flow.consent(confidential_app, internal_user, **overrides)
    assert response.status_code == 302
    assert query(response["Location"])["error"] == "invalid_request"


def test_a_long_nonce_is_refused_also_when_consent_is_remembered_or_posted(
    flow, confidential_app, internal_user
):
    flow.tokens(confidential_app, internal_user)  # consent given and remembered
    params = flow.authorize_params(confidential_app, nonce="n" * 300)
    response = flow.client.get(AUTHORIZE, params)
    assert response.status_code == 302
    assert query(response["Location"])["error"] == "invalid_request"
    # the consent form's hidden fields come back from the browser: checked again
    params = flow.authorize_params(confidential_app, prompt="consent")
    page = flow.client.get(AUTHORIZE, params)
    data = {k: v for k, v in page.context["form"].initial.items() if v}
    data.update(allow="true", nonce="n" * 300)
    posted = flow.client.post(AUTHORIZE + "?" + urlencode(params), data)
    assert posted.status_code == 302
    answer = query(posted["Location"])
    assert answer["error"] == "invalid_request" and "code" not in answer


def test_confidential_client_may_skip_pkce(flow, confidential_app, internal_user):
    response = flow.consent(
        confidential_app, internal_user, code_challenge=None, code_challenge_method=None
    )
    assert "code" in query(response["Location"])


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token"])
def test_only_code_response_type(flow, confidential_app, internal_user, response_type):
    response = flow.consent(confidential_app, internal_user, response_type=response_type)
    params = query(response["Location"])
    assert params["error"] == "unsupported_response_type"
    assert "access_token" not in response["Location"]


@pytest.mark.parametrize(
    ("internal", "community", "kind", "outcome"),
    [
        (True, False, "internal", "code"),
        (True, False, "community", "access_denied"),
        (False, True, "internal", "access_denied"),
        (False, True, "community", "code"),
        (True, True, "internal", "code"),
        (True, True, "community", "code"),
        (False, False, "internal", "unauthorized_client"),
        (False, False, "community", "unauthorized_client"),
    ],
)
def test_impersonation_flags_against_user_kind(flow, db, internal, community, kind, outcome):
    app = factories.TrustedApplicationFactory(
        client_id="flags.example.com/app",
        login_urls=["https://flags.example.com/cb"],
        impersonate_internal_allowed=internal,
        impersonate_community_allowed=community,
        scope="update",
    )
    user = factories.UserFactory(username=f"u-{kind}", kind=kind)
    response = flow.consent(app, user)
    assert response.status_code == 302
    params = query(response["Location"])
    if outcome == "code":
        assert "code" in params
    else:
        assert params["error"] == outcome
        assert "code" not in params


def test_both_flags_off_never_shows_a_login_page(client, db):
    app = factories.TrustedApplicationFactory(
        client_id="svc.example.com/x",
        login_urls=["https://svc.example.com/cb"],
        impersonate_internal_allowed=False,
        impersonate_community_allowed=False,
    )
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": "https://svc.example.com/cb",
        "state": "s",
    }
    response = client.get(AUTHORIZE, params)
    assert response.status_code == 302
    assert query(response["Location"])["error"] == "unauthorized_client"


def test_scope_beyond_record_is_invalid_scope(flow, confidential_app, internal_user):
    response = flow.consent(confidential_app, internal_user, scope="openid update finance")
    assert query(response["Location"])["error"] == "invalid_scope"


def test_a_scope_asked_for_twice_is_shown_and_granted_once(flow, confidential_app, internal_user):
    flow.client.force_login(internal_user)
    params = flow.authorize_params(confidential_app, scope="openid update update")
    page = flow.client.get(AUTHORIZE, params)
    assert [item["name"] for item in page.context["scope_items"]] == ["openid", "update"]
    flow.params = params
    data = {k: v for k, v in page.context["form"].initial.items() if v}
    approved = flow.client.post(f"{AUTHORIZE}?{urlencode(params)}", {**data, "allow": "true"})
    tokens = flow.exchange(confidential_app, query(approved["Location"])["code"]).json()
    assert tokens["scope"] == "openid update"


def test_deny_answers_access_denied(flow, confidential_app, internal_user):
    response = flow.consent(confidential_app, internal_user, allow=False)
    params = query(response["Location"])
    assert params["error"] == "access_denied"
    assert params["state"] == flow.params["state"]


def test_tampered_redirect_uri_on_post_is_not_followed(client, confidential_app, internal_user):
    client.force_login(internal_user)
    data = {
        "client_id": confidential_app.client_id,
        "redirect_uri": "https://evil.example/cb",
        "response_type": "code",
        "state": "s",
        "scope": "update",
        "allow": "true",
    }
    assert_error_page(client.post(AUTHORIZE, data))
    data["client_id"] = "nobody.example.com/x"
    assert_error_page(client.post(AUTHORIZE, data))


def test_consent_page_is_csrf_protected_and_not_frameable(confidential_app, internal_user, flow):
    flow.client.force_login(internal_user)
    params = flow.authorize_params(confidential_app)
    page = flow.client.get(AUTHORIZE, params)
    assert page.status_code == 200
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert b"csrfmiddlewaretoken" in page.content
    assert b"ERP client" in page.content
    # The scopes in plain words, not only their names.
    assert b"Create, change and delete data" in page.content
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(internal_user)
    data = {k: v for k, v in page.context["form"].initial.items() if v}
    data["allow"] = "true"
    assert strict.post(AUTHORIZE + "?" + urlencode(params), data).status_code == 403


def test_consent_page_in_bulgarian(flow, confidential_app, internal_user):
    flow.client.force_login(internal_user)
    params = flow.authorize_params(confidential_app)
    page = flow.client.get(AUTHORIZE, params, HTTP_ACCEPT_LANGUAGE="bg-BG,bg;q=0.9")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="bg">' in html
    assert "ЕРП клиент" in html
    assert "Разрешаване" in html
    assert "ERP client" not in html


def test_prompt_none_without_consent_is_consent_required(flow, confidential_app, internal_user):
    flow.client.force_login(internal_user)
    params = flow.authorize_params(confidential_app, prompt="none")
    response = flow.client.get(AUTHORIZE, params)
    assert response.status_code == 302
    assert query(response["Location"])["error"] == "consent_required"


def test_prompt_none_for_a_user_the_record_refuses_is_access_denied(
    flow, confidential_app, community_user
):
    # Not a matter of consent (consent_required would invite the client to ask again).
    flow.client.force_login(community_user)
    params = flow.authorize_params(confidential_app, prompt="none")
    response = flow.client.get(AUTHORIZE, params)
    assert response.status_code == 302
    answer = query(response["Location"])
    assert answer["error"] == "access_denied" and answer["state"] == params["state"]
    assert "code" not in answer


# ---------------------------------------------------------------- remembered consent


def _authorize(flow, app, **overrides):  # type: ignore[no-untyped-def]
    flow.params = flow.authorize_params(app, **overrides)
    return flow.client.get(AUTHORIZE, flow.params)


def _is_code(response, flow) -> bool:  # type: ignore[no-untyped-def]
    if response.status_code != 302:
        return False
    answer = query(response["Location"])
    return "code" in answer and answer["state"] == flow.params["state"]


def test_approved_scopes_are_not_asked_again(flow, confidential_app, internal_user):
    assert flow.code(confidential_app, internal_user, scope="openid update")
    again = _authorize(flow, confidential_app, scope="openid update")
    assert _is_code(again, flow)  # no page: approved before
    assert flow.exchange(confidential_app, query(again["Location"])["code"]).status_code == 200
    narrower = _authorize(flow, confidential_app, scope="update")
    assert _is_code(narrower, flow)
    wider = _authorize(flow, confidential_app, scope="openid update sec")
    assert wider.status_code == 200 and b"sec" in wider.content  # the page, for the new scope


def test_prompt_consent_always_shows_the_page(flow, confidential_app, internal_user):
    flow.code(confidential_app, internal_user, scope="openid update")
    page = _authorize(flow, confidential_app, scope="openid update", prompt="consent")
    assert page.status_code == 200 and "form" in page.context


def test_prompt_none_succeeds_where_consent_covers_it(flow, confidential_app, internal_user):
    flow.code(confidential_app, internal_user, scope="openid update offline_access")
    silent = _authorize(flow, confidential_app, scope="openid update", prompt="none")
    assert _is_code(silent, flow)
    wider = _authorize(flow, confidential_app, scope="openid update sec", prompt="none")
    assert query(wider["Location"])["error"] == "consent_required"


def test_a_denial_is_not_remembered(flow, confidential_app, internal_user):
    from trustregistry.oauth.models import Consent

    denied = flow.consent(confidential_app, internal_user, allow=False)
    assert query(denied["Location"])["error"] == "access_denied"
    assert not Consent.objects.exists()
    assert _authorize(flow, confidential_app).status_code == 200


def test_consent_is_per_user_and_application(flow, confidential_app, internal_user, db):
    other_app = factories.TrustedApplicationFactory(
        client_id="other.example.com/app", secret="x", scope="update",
        login_urls=[CALLBACK], impersonate_internal_allowed=True,
    )  # fmt: skip
    flow.code(confidential_app, internal_user, scope="update")
    assert _authorize(flow, other_app, scope="update").status_code == 200
    flow.client.force_login(factories.UserFactory(username="bob"))
    assert _authorize(flow, confidential_app, scope="update").status_code == 200


def test_deleting_the_consent_asks_again(flow, confidential_app, internal_user):
    from trustregistry.oauth.models import Consent

    flow.code(confidential_app, internal_user, scope="update")
    Consent.objects.filter(user=internal_user).delete()  # the admin's "delete" (revoke)
    assert _authorize(flow, confidential_app, scope="update").status_code == 200


def test_consent_never_overrides_the_record(flow, confidential_app, internal_user):
    from trustregistry.registry import services as registry_services

    flow.code(confidential_app, internal_user, scope="update")
    confidential_app.impersonate_internal_allowed = False
    confidential_app.impersonate_community_allowed = True
    confidential_app.save()
    refused = _authorize(flow, confidential_app, scope="update")
    assert query(refused["Location"])["error"] == "access_denied"
    confidential_app.impersonate_internal_allowed = True
    confidential_app.save()
    registry_services.application_set_enabled(application=confidential_app, enabled=False)
    assert_error_page(_authorize(flow, confidential_app, scope="update"))


def test_community_users_consent_never_holds_sec(flow, db):
    from trustregistry.oauth.models import Consent

    app = factories.TrustedApplicationFactory(
        client_id="c.example.com/app", secret="x", scope="update sec",
        login_urls=[CALLBACK], impersonate_community_allowed=True,
    )  # fmt: skip
    carol = factories.CommunityUserFactory(username="carol")
    flow.code(app, carol, scope="update sec")
    assert Consent.objects.get(user=carol).scope == "update"
    assert _is_code(_authorize(flow, app, scope="update sec"), flow)  # sec is never granted


def test_prompt_none_anonymous_is_login_required(client, confidential_app):
    params = {
        "response_type": "code",
        "client_id": confidential_app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s",
        "scope": "openid",
        "prompt": "none",
    }
    response = client.get(AUTHORIZE, params)
    assert query(response["Location"])["error"] == "login_required"


def test_garbage_parameters_never_500(client, confidential_app, internal_user):
    client.force_login(internal_user)
    for params in (
        {},
        {"client_id": "\x00"},
        {"client_id": confidential_app.client_id, "redirect_uri": "not a url"},
        {"client_id": confidential_app.client_id, "client_id ": "x", "redirect_uri": "%zz"},
    ):
        assert client.get(AUTHORIZE, params).status_code < 500
    assert client.post(AUTHORIZE, {"client_id": "x"}).status_code < 500


def test_public_loopback_callback_constant_used(public_app):
    assert public_app.login_urls == [PUBLIC_CALLBACK]


def test_an_approval_the_authorization_refuses_is_not_remembered(
    flow, confidential_app, internal_user
):
    from trustregistry.oauth.models import Consent

    flow.client.force_login(internal_user)
    params = flow.authorize_params(confidential_app)
    page = flow.client.get(AUTHORIZE, params)
    data = {k: v for k, v in page.context["form"].initial.items() if v}
    data["allow"] = "true"
    data["code_challenge_method"] = "plain"  # tampered on the way back: refused by the server
    answer = flow.client.post(AUTHORIZE + "?" + urlencode(params), data)
    assert answer.status_code == 302
    assert query(answer["Location"])["error"] == "invalid_request"
    assert not Consent.objects.exists()


# ---------------------------------------------------------------- RFC 6749 parameter rules


def test_redirect_uri_is_required_and_its_absence_is_not_redirected(
    flow, confidential_app, internal_user
):
    response = flow.consent(confidential_app, internal_user, redirect_uri=None)
    assert response.status_code == 400 and "Location" not in response
    assert b"redirect_uri" in response.content


@pytest.mark.parametrize(
    ("name", "redirected"),
    # oauthlib refuses its five on an error page; the registry's own check the rest, sent back
    # to the client (its redirect URI is known good by then).
    [("nonce", True), ("code_challenge", True), ("prompt", True), ("scope", False),
     ("state", False)],
)  # fmt: skip
def test_repeated_authorization_parameters_are_refused(
    flow, confidential_app, internal_user, name, redirected
):
    flow.client.force_login(internal_user)
    params = flow.authorize_params(confidential_app, prompt="consent")
    url = AUTHORIZE + "?" + urlencode(params) + "&" + urlencode({name: params[name]})
    response = flow.client.get(url)
    if redirected:
        assert response.status_code == 302
        answer = query(response["Location"])
        assert answer["error"] == "invalid_request" and "code" not in answer
        assert answer["state"] == params["state"]
    else:
        assert response.status_code == 400 and "Location" not in response


# ---------------------------------------------------------------- authorization requests by POST


def test_an_authorization_request_may_come_by_post(flow, confidential_app, internal_user):
    # OpenID Connect Core 3.1.2.1: GET and POST. From the client's page: cross-site, no token.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(internal_user)
    params = flow.authorize_params(confidential_app)
    posted = browser.post(AUTHORIZE, params, HTTP_ORIGIN="https://app.example.com")
    assert posted.status_code == 303
    target = posted["Location"]
    assert target.startswith(AUTHORIZE + "?") and query(target) == params
    page = browser.get(target)
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content  # the consent page


def test_a_posted_authorization_request_survives_the_login(flow, confidential_app):
    params = flow.authorize_params(confidential_app)
    posted = Client().post(AUTHORIZE, params)
    login = Client().get(posted["Location"])
    assert login.status_code == 302 and login["Location"].startswith("/id/account/login")
    next_url = query(login["Location"])["next"]
    assert query(next_url) == params  # nothing lost on the way to the login page


def test_a_consent_post_without_its_csrf_token_is_refused(flow, confidential_app, internal_user):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(internal_user)
    params = flow.authorize_params(confidential_app)
    page = strict.get(AUTHORIZE, params)
    data = {k: v for k, v in page.context["form"].initial.items() if v}  # the marker included
    assert strict.post(AUTHORIZE + "?" + urlencode(params), data).status_code == 403
    with_token = {**data, "csrfmiddlewaretoken": page.context["csrf_token"], "allow": "true"}
    approved = strict.post(AUTHORIZE + "?" + urlencode(params), with_token)
    assert approved.status_code == 302 and "code" in query(approved["Location"])


# ---------------------------------------------------------------- prompt=none without openid
# oauthlib applies prompt=none only to OpenID Connect requests (scope openid); a plain OAuth
# request with prompt=none must not show a page either, and its answer names the issuer.


def test_prompt_none_without_openid_anonymous_is_login_required_with_iss(client, confidential_app):
    params = {
        "response_type": "code",
        "client_id": confidential_app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s",
        "scope": "update",
        "prompt": "none",
    }
    response = client.get(AUTHORIZE, params)
    assert response.status_code == 302
    answer = query(response["Location"])
    assert answer["error"] == "login_required" and answer["state"] == "s"
    assert answer["iss"] == settings.TRUSTREGISTRY_ISSUER


def test_prompt_none_without_openid_and_without_consent_is_consent_required(
    flow, confidential_app, internal_user
):
    flow.client.force_login(internal_user)
    params = flow.authorize_params(confidential_app, scope="update", prompt="none")
    response = flow.client.get(AUTHORIZE, params)
    assert response.status_code == 302  # never the consent page
    answer = query(response["Location"])
    assert answer["error"] == "consent_required" and answer["state"] == params["state"]
    assert answer["iss"] == settings.TRUSTREGISTRY_ISSUER
    assert "code" not in answer


def test_prompt_none_without_openid_succeeds_where_consent_covers_it(
    flow, confidential_app, internal_user
):
    flow.code(confidential_app, internal_user, scope="update")
    assert _is_code(_authorize(flow, confidential_app, scope="update", prompt="none"), flow)


@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize("scope", ["update", "openid update"])
def test_prompt_none_with_another_value_is_invalid_request(
    flow, confidential_app, internal_user, signed_in, scope
):
    # "none login" asks for no page and for the sign-in page at once: oauthlib refuses it for
    # an OpenID Connect request; a plain OAuth one (signed in) was shown the sign-in page.
    if signed_in:
        flow.client.force_login(internal_user)
    params = flow.authorize_params(confidential_app, scope=scope, prompt="none login")
    response = flow.client.get(AUTHORIZE, params)
    assert response.status_code == 302
    answer = query(response["Location"])
    assert answer["error"] == "invalid_request", response["Location"]
    assert answer["state"] == params["state"] and answer["iss"] == settings.TRUSTREGISTRY_ISSUER


# ------------------------------------------------------------------ prompt=create


def _sign_up(client, next_url: str, username: str = "newcomer"):  # type: ignore[no-untyped-def]
    form = {
        "username": username,
        "email": f"{username}@example.com",
        "password1": "a-Long-enough-pass-42",
        "password2": "a-Long-enough-pass-42",
        "next": next_url,
    }
    return client.post("/id/account/signup", form)


def test_prompt_create_leads_through_sign_up_back_to_the_request(flow, public_app):
    """OpenID Connect Prompt Create 1.0: the sign-up page first, then the request as it was
    (without `create`, so it does not ask again), as the new community user."""
    params = flow.authorize_params(public_app, prompt="create consent")
    to_sign_up = flow.client.get(AUTHORIZE, params)
    assert to_sign_up.status_code == 302
    location = to_sign_up["Location"]
    assert location.startswith("/id/account/signup?next=")
    back = query(location)["next"]
    assert back.startswith(AUTHORIZE + "?")
    assert query(back)["prompt"] == "consent" and query(back)["state"] == params["state"]
    assert "create" not in query(back)["prompt"]

    signed_up = _sign_up(flow.client, back)
    assert signed_up.status_code == 302 and signed_up["Location"] == back
    page = flow.client.get(back)
    assert page.status_code == 200 and page.context["form"] is not None  # the consent page
    assert page.wsgi_request.user.get_username() == "newcomer"
    assert page.wsgi_request.user.kind == "community"


def test_prompt_create_alone_comes_back_without_a_prompt(flow, public_app):
    location = flow.client.get(AUTHORIZE, flow.authorize_params(public_app, prompt="create"))[
        "Location"
    ]
    assert "prompt" not in query(query(location)["next"])


def test_prompt_create_where_the_record_takes_no_community_users_is_told_to_the_client(
    flow, confidential_app
):
    params = flow.authorize_params(confidential_app, prompt="create")
    response = flow.client.get(AUTHORIZE, params)
    assert response.status_code == 302 and response["Location"].startswith(CALLBACK + "?")
    answer = query(response["Location"])
    assert answer["error"] == "invalid_request" and "community" in answer["error_description"]
    assert answer["state"] == params["state"] and answer["iss"] == settings.TRUSTREGISTRY_ISSUER


def test_prompt_create_when_signed_in_goes_on_as_that_user(flow, public_app, internal_user):
    flow.client.force_login(internal_user)
    page = flow.client.get(AUTHORIZE, flow.authorize_params(public_app, prompt="create"))
    assert page.status_code == 200 and page.wsgi_request.user == internal_user


def test_prompt_create_with_none_is_invalid_request(flow, public_app):
    params = flow.authorize_params(public_app, prompt="none create")
    answer = query(flow.client.get(AUTHORIZE, params)["Location"])
    assert answer["error"] == "invalid_request"


def test_prompt_create_for_an_unknown_client_is_the_error_page(client, public_app):
    params = {
        "response_type": "code",
        "client_id": "nobody.example.com/x",
        "redirect_uri": PUBLIC_CALLBACK,
        "prompt": "create",
    }
    assert_error_page(client.get(AUTHORIZE, params))


def test_the_sign_up_page_names_the_application_in_the_requests_language(flow, public_app):
    public_app.names.update_or_create(language="bg", defaults={"name": "Магазин"})
    params = flow.authorize_params(public_app, prompt="create", ui_locales="bg")
    location = flow.client.get(AUTHORIZE, params)["Location"]
    page = flow.client.get(location)
    text = page.content.decode()
    assert page.status_code == 200 and "Магазин" in text
    assert "<h1>Регистрация</h1>" in text and "<strong>Магазин</strong>" in text
    assert "Вече имате профил? Влезте." in text


@pytest.mark.parametrize(
    "extra", [{"prompt": "create login"}, {"prompt": "create", "max_age": "0"}]
)
def test_the_sign_up_is_the_fresh_sign_in_that_login_and_max_age_ask_for(flow, public_app, extra):
    """Signing up signs the new account in: sent back with `prompt=login` or `max_age=0`, the
    person would be asked to log in once more, straight after creating the account."""
    params = flow.authorize_params(public_app, **extra)
    back = query(flow.client.get(AUTHORIZE, params)["Location"])["next"]
    assert "prompt" not in query(back) and "max_age" not in query(back)
    assert _sign_up(flow.client, back)["Location"] == back
    page = flow.client.get(back)
    assert page.status_code == 200 and page.wsgi_request.user.get_username() == "newcomer"


def test_the_sign_up_page_offers_the_login_for_a_person_with_an_account(flow, public_app):
    location = flow.client.get(AUTHORIZE, flow.authorize_params(public_app, prompt="create"))[
        "Location"
    ]
    back = query(location)["next"]
    page = flow.client.get(location).content.decode()
    link = re.search(r'<a href="([^"]+)">Already have an account\? Sign in\.</a>', page)
    assert link is not None
    href = html.unescape(link.group(1))
    assert href.startswith("/id/account/login?") and query(href)["next"] == back


def test_prompt_create_with_a_malformed_max_age_is_answered_before_the_sign_up(flow, public_app):
    """The sign-up drops `max_age` (it is the fresh sign-in): a malformed one was dropped
    with it and the request went on to a code, where any other answers invalid_request."""
    params = flow.authorize_params(public_app, prompt="create", max_age="soon")
    response = flow.client.get(AUTHORIZE, params)
    assert response.status_code == 302 and response["Location"].startswith(PUBLIC_CALLBACK)
    answer = query(response["Location"])
    assert answer["error"] == "invalid_request" and answer["state"] == params["state"]


@pytest.mark.parametrize("next_url", ["", "https://evil.example/x", "//evil.example/x"])
def test_the_sign_up_pages_login_link_never_leads_off_site(client, db, next_url):
    page = client.get("/id/account/signup", {"next": next_url})
    link = re.search(r'<a href="([^"]+)">Already have an account', page.content.decode())
    assert link is not None and html.unescape(link.group(1)) == "/id/account/login"
