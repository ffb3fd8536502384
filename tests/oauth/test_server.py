"""The request rules of the oauthlib server (trustregistry/oauth/server.py) and the parameter
guard every OAuth endpoint runs first (views/common.parameter_problem), over HTTP."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.oauth.conftest import CALLBACK, SECRET, TOKEN, basic, cc, query

AUTHORIZE = "/id/connect/authorize"


def _redirected_error(response) -> dict[str, str]:
    assert response.status_code == 302, response.content[:300]
    assert response["Location"].startswith(CALLBACK + "?")
    return query(response["Location"])


# ------------------------------------------------------------------ blank means omitted


def test_a_blank_scope_is_no_scope_at_the_token_endpoint(client, service_app):
    response = cc(client, service_app, scope="")
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == cc(client, service_app).json()["scope"]


def test_a_blank_scope_is_no_scope_at_authorize(client, flow, confidential_app, internal_user):
    client.force_login(internal_user)
    page = client.get(AUTHORIZE, flow.authorize_params(confidential_app, scope=""))
    assert page.status_code == 200  # the consent page, for the record's scopes
    assert "update" in page.context["form"].initial["scope"].split()


def test_a_blank_verifier_for_a_code_without_challenge_is_no_verifier(
    flow, confidential_app, internal_user
):
    code = flow.code(confidential_app, internal_user, code_challenge=None)
    response = flow.exchange(confidential_app, code, code_verifier="")
    assert response.status_code == 200, response.content


# ------------------------------------------------------------------ resource (RFC 8707)


def test_the_registrys_own_audience_is_the_only_resource(
    client, flow, confidential_app, internal_user
):
    audience = settings.TRUSTREGISTRY_TOKEN_AUDIENCE
    flow.code(confidential_app, internal_user)  # consent remembered: no page next time
    own = client.get(AUTHORIZE, flow.authorize_params(confidential_app, resource=audience))
    assert "code" in _redirected_error(own)
    other = client.get(
        AUTHORIZE, flow.authorize_params(confidential_app, resource="https://api.example.com/")
    )
    assert _redirected_error(other)["error"] == "invalid_target"


def test_a_foreign_resource_at_the_token_endpoint_is_invalid_target(client, service_app):
    refused = cc(client, service_app, resource="https://other.example/api")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"
    own = cc(client, service_app, resource=settings.TRUSTREGISTRY_TOKEN_AUDIENCE)
    assert own.status_code == 200, own.content


# ------------------------------------------------------------------ what is not supported


@pytest.mark.parametrize(
    "extra, error",
    [
        ({"request": "eyJhbGciOiJub25lIn0.eyJub25jZSI6Im4ifQ."}, "request_not_supported"),
        ({"request_uri": "https://app.example.com/req.jwt"}, "request_uri_not_supported"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"response_mode": "web_message"}, "invalid_request"),
    ],
)
def test_unsupported_request_features_are_refused_not_ignored(
    client, flow, confidential_app, internal_user, extra, error
):
    client.force_login(internal_user)
    response = client.get(AUTHORIZE, flow.authorize_params(confidential_app, **extra))
    params = _redirected_error(response)
    assert params["error"] == error and "code" not in params
    assert "#" not in response["Location"]


@pytest.mark.parametrize("mode", ["query", "form_post"])
def test_response_mode_query_and_form_post_get_the_code_in_the_query(
    client, flow, confidential_app, internal_user, mode
):
    """form_post is what ASP.NET Core's OpenID Connect handler asks for by default; it takes
    a code-flow answer in the query too."""
    flow.code(confidential_app, internal_user)  # consent remembered: the answer comes at once
    response = client.get(AUTHORIZE, flow.authorize_params(confidential_app, response_mode=mode))
    params = _redirected_error(response)
    assert "code" in params and "#" not in response["Location"]


@pytest.mark.parametrize(
    "claims",
    ["{not json", "1", '"name"', "[]", "null", '{"userinfo": ["name"]}', '{"id_token": 5}'],
)
def test_a_claims_parameter_that_is_not_a_json_object_is_invalid_request_with_its_state(
    client, flow, confidential_app, internal_user, claims
):
    # OpenID Connect Core 5.5: a JSON object, its userinfo and id_token members objects too.
    # oauthlib's own refusal named no request: an error page, or an answer without state.
    flow.code(confidential_app, internal_user)  # consent remembered: the answer comes at once
    params = flow.authorize_params(confidential_app, claims=claims)
    answer = _redirected_error(client.get(AUTHORIZE, params))
    assert answer["error"] == "invalid_request" and "code" not in answer
    assert answer["state"] == params["state"]
    assert answer["iss"] == settings.TRUSTREGISTRY_ISSUER


def test_a_claims_object_is_accepted_and_ignored(client, flow, confidential_app, internal_user):
    # Not supported (no claims_parameter_supported in discovery), so what it asks is not
    # given, but a well-formed one is no reason to refuse the request.
    claims = '{"userinfo": {"name": {"essential": true}}, "id_token": {"auth_time": null}}'
    code = flow.code(confidential_app, internal_user, claims=claims)
    assert flow.exchange(confidential_app, code).status_code == 200


# ------------------------------------------------------------------ PKCE verifier shape


@pytest.mark.parametrize("verifier", ["abc", "a" * 42, "a" * 129, "a" * 42 + "!"])
def test_a_verifier_outside_rfc_7636_is_refused(flow, confidential_app, internal_user, verifier):
    import base64
    import hashlib

    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    code = flow.code(
        confidential_app, internal_user, code_challenge=challenge.rstrip(b"=").decode()
    )
    response = flow.exchange(confidential_app, code, code_verifier=verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# ------------------------------------------------------------------ the parameter guard


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": "authorization_code", "code": "\x00"},
        {"grant_type": "client_credentials", "resource": "https://a\x00b/"},
        {"grant_type": "client_credentials", "scope": "update\x00"},
    ],
)
def test_a_nul_in_a_token_request_is_invalid_request(client, service_app, data):
    response = client.post(TOKEN, data, HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path", [TOKEN, "/id/connect/revocation", "/id/connect/introspect", "/id/connect/userinfo"]
)
@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/x-www-form-urlencoded; charset=latin-1", b"grant_type=client_credentials"),
        ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(1200)).encode()),
        ("multipart/form-data", b"grant_type=client_credentials"),  # no boundary
    ],
)
def test_an_unreadable_body_is_a_json_invalid_request(client, path, content_type, body):
    response = client.generic("POST", path, body, content_type=content_type)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"


def test_a_nul_in_an_authorization_request_is_the_error_page(
    client, flow, confidential_app, internal_user
):
    flow.code(confidential_app, internal_user)  # no consent page: the code would be issued
    response = client.get(AUTHORIZE, flow.authorize_params(confidential_app, nonce="a\x00b"))
    assert response.status_code == 400 and "Location" not in response
    assert b"cannot be read" in response.content


@pytest.mark.parametrize("path", [AUTHORIZE, "/id/connect/endsession"])
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_only_get_and_post_reach_the_browser_endpoints(client, internal_user, path, method):
    client.force_login(internal_user)
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


# ------------------------------------------------------------------ ui_locales


def test_ui_locales_chooses_the_page_language(client, flow, confidential_app, internal_user):
    client.force_login(internal_user)
    params = flow.authorize_params(confidential_app, prompt="consent")
    english = client.get(AUTHORIZE, params, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200 and 'lang="en"' in english.content.decode()
    bulgarian = client.get(
        AUTHORIZE, {**params, "ui_locales": "de-DE bg-BG en"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    page = bulgarian.content.decode()
    assert 'lang="bg"' in page and "ЕРП клиент" in page
    unknown = client.get(AUTHORIZE, {**params, "ui_locales": "de fr"}, HTTP_ACCEPT_LANGUAGE="bg")
    assert 'lang="bg"' in unknown.content.decode()  # none spoken: the browser's choice


def test_ui_locales_reaches_the_login_page(client, flow, confidential_app):
    params = flow.authorize_params(confidential_app, ui_locales="bg")
    to_login = client.get(AUTHORIZE, params, HTTP_ACCEPT_LANGUAGE="en")
    assert to_login.status_code == 302
    login = client.get(to_login["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert login.status_code == 200 and 'lang="bg"' in login.content.decode()
