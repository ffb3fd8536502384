"""RP-initiated logout (SPEC 3): exact logout URL and a valid id_token_hint, or no redirect."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.oauth.conftest import LOGOUT, query

ENDSESSION = "/id/connect/endsession"


@pytest.fixture
def signed_in(flow, confidential_app, internal_user):
    data = flow.tokens(confidential_app, internal_user)
    return flow.client, data


def _is_error_page(response) -> bool:
    return response.status_code >= 400 and "Location" not in response


def test_logout_redirects_with_state_and_signs_out(signed_in, internal_user):
    client, data = signed_in
    response = client.get(
        ENDSESSION,
        {"id_token_hint": data["id_token"], "post_logout_redirect_uri": LOGOUT, "state": "bye"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(LOGOUT)
    assert query(response["Location"])["state"] == "bye"
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "uri",
    [LOGOUT + "?x=1", LOGOUT + "#f", "https://APP.example.com/bye", "https://app.example.com/bye/",
     "https://app.example.com/Bye", "https://evil.example/bye", "https://app.example.com@evil.example/bye",
     "http://[::1", "https://[x/bye"],  # not URLs at all: an error page, not a 500
)  # fmt: skip
def test_logout_uri_must_match_exactly(signed_in, uri):
    client, data = signed_in
    response = client.get(
        ENDSESSION, {"id_token_hint": data["id_token"], "post_logout_redirect_uri": uri}
    )
    assert _is_error_page(response)


def test_no_redirect_without_id_token_hint(signed_in, confidential_app):
    client, _ = signed_in
    response = client.get(
        ENDSESSION, {"client_id": confidential_app.client_id, "post_logout_redirect_uri": LOGOUT}
    )
    assert _is_error_page(response)


def test_forged_hints_refused(signed_in):
    client, data = signed_in
    claims = jwt.decode(data["id_token"], options={"verify_signature": False})
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(data["id_token"])["kid"]
    for hint in (
        jwt.encode(claims, None, algorithm="none"),
        jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": kid}),
        "not-a-token",
    ):
        response = client.get(
            ENDSESSION, {"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT}
        )
        assert _is_error_page(response)
    assert "_auth_user_id" in client.session


def test_hint_for_another_client_refused(signed_in, public_app):
    client, data = signed_in
    response = client.get(
        ENDSESSION,
        {"id_token_hint": data["id_token"], "client_id": public_app.client_id,
         "post_logout_redirect_uri": "http://127.0.0.1/bye"},
    )  # fmt: skip
    assert _is_error_page(response)


def test_logout_without_redirect_lands_on_signed_out_page(signed_in):
    client, data = signed_in
    response = client.get(ENDSESSION, {"id_token_hint": data["id_token"]}, follow=True)
    assert response.status_code == 200
    assert b"You are signed out" in response.content
