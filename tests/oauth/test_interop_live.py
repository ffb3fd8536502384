"""A third-party client (Authlib's requests OAuth2Session) against a live server on 127.0.0.1:
code flow with PKCE, refresh, client credentials and revocation; PyJWT checks the issued
tokens against the published JWKS (jwt.PyJWKClient)."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import jwt
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connector.keys import public_key_to_jwk
from tests import factories
from tests.factories import DEFAULT_PASSWORD
from tests.oauth.conftest import SECRET, query

CALLBACK = "http://127.0.0.1/callback"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _hidden_fields(html: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    return {k: v.replace("&amp;", "&") for k, v in fields.items()}


def _log_in_and_approve(authorization_url: str, username: str, *, consent: bool = True) -> str:
    """What a person does in the browser; returns the Location the client receives. With
    `consent=False` the consent page must not appear (approved before: remembered)."""
    browser = requests.Session()
    response = browser.get(authorization_url, allow_redirects=True, timeout=10)
    assert "/id/account/login" in response.url
    login = browser.post(
        response.url,
        data={"csrfmiddlewaretoken": _csrf(response.text), "username": username,
              "password": DEFAULT_PASSWORD, "next": query(response.url)["next"]},
        headers={"Referer": response.url}, allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert login.status_code == 302, login.text[:500]
    page = browser.get(urljoin(response.url, login.headers["Location"]), allow_redirects=False)
    if not consent:
        assert page.status_code == 302, page.text[:500]
        return page.headers["Location"]
    assert page.status_code == 200 and "connect/authorize" in page.url, page.text[:500]
    data = _hidden_fields(page.text)
    data["allow"] = "true"
    approved = browser.post(
        page.url, data=data, headers={"Referer": page.url}, allow_redirects=False, timeout=10
    )
    assert approved.status_code == 302, approved.text[:500]
    return approved.headers["Location"]


@pytest.mark.django_db(transaction=True)
def test_authlib_code_flow_refresh_revocation_and_jwks(live_issuer):
    app = factories.TrustedApplicationFactory(
        client_id="live.example.com/app", secret=SECRET, scope="update",
        login_urls=[CALLBACK], impersonate_internal_allowed=True,
    )  # fmt: skip
    user = factories.UserFactory(username="livealice")
    discovery = requests.get(f"{live_issuer}/.well-known/openid-configuration", timeout=10).json()

    session = OAuth2Session(
        app.client_id, SECRET, scope="openid profile update offline_access", redirect_uri=CALLBACK,
        code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic",
    )  # fmt: skip
    verifier = generate_token(48)
    nonce = generate_token(16)
    url, state = session.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    location = _log_in_and_approve(url, user.username)
    assert query(location)["iss"] == live_issuer
    token = session.fetch_token(
        discovery["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == {"openid", "profile", "update", "offline_access"}

    jwks_client = jwt.PyJWKClient(discovery["jwks_uri"])
    at_key = jwks_client.get_signing_key_from_jwt(token["access_token"])
    claims = jwt.decode(
        token["access_token"], at_key.key, algorithms=["RS256"],
        audience=jwt.decode(token["access_token"], options={"verify_signature": False})["aud"],
        issuer=live_issuer,
    )  # fmt: skip
    assert claims["client_id"] == app.client_id and claims["user_type"] == "internal"
    id_claims = jwt.decode(
        token["id_token"], jwks_client.get_signing_key_from_jwt(token["id_token"]).key,
        algorithms=["RS256"], audience=app.client_id, issuer=live_issuer,
    )  # fmt: skip
    assert id_claims["nonce"] == nonce

    userinfo = session.get(discovery["userinfo_endpoint"], timeout=10)
    assert userinfo.json()["preferred_username"] == "livealice"

    refreshed = session.refresh_token(
        discovery["token_endpoint"], refresh_token=token["refresh_token"]
    )
    assert refreshed["refresh_token"] != token["refresh_token"]
    again = requests.post(
        discovery["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(app.client_id, SECRET), timeout=10,
    )  # fmt: skip
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    fresh = session.fetch_token(
        discovery["token_endpoint"],
        authorization_response=_log_in_and_approve(
            session.create_authorization_url(
                discovery["authorization_endpoint"], code_verifier=(v := generate_token(48))
            )[0],
            user.username,
            consent=False,  # approved above for these scopes: no page this time
        ),
        code_verifier=v,
    )
    revoked = session.revoke_token(
        discovery["revocation_endpoint"],
        token=fresh["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert revoked.status_code == 200
    introspection = requests.post(
        discovery["introspection_endpoint"], data={"token": fresh["access_token"]},
        auth=(app.client_id, SECRET), timeout=10,
    )  # fmt: skip
    assert introspection.json() == {"active": False}


@pytest.mark.django_db(transaction=True)
def test_authlib_client_credentials(live_issuer):
    app = factories.ServiceApplicationFactory(
        client_id="livesvc.example.com/sync", secret=SECRET, scope="update sec"
    )
    session = OAuth2Session(app.client_id, SECRET, token_endpoint_auth_method="client_secret_post")
    token = session.fetch_token(
        urljoin(live_issuer + "/", "connect/token"), grant_type="client_credentials"
    )
    assert token["scope"] == "update sec"
    assert "refresh_token" not in token
    jwks_client = jwt.PyJWKClient(f"{live_issuer}/.well-known/openid-configuration/jwks")
    key = jwks_client.get_signing_key_from_jwt(token["access_token"])
    claims = jwt.decode(
        token["access_token"], key.key, algorithms=["RS256"], issuer=live_issuer,
        options={"verify_aud": False},
    )  # fmt: skip
    assert claims["sub"] == str(app.system_user.pk) and claims["user_type"] == "system"


@pytest.mark.django_db(transaction=True)
def test_authlib_private_key_jwt_with_its_defaults(live_issuer):
    # Authlib's PrivateKeyJWT signs exp = now + 3600: refused while assertions were limited to
    # ten minutes. Each fetch signs a new jti; the key is the record's, pasted as a JWK.
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app = factories.ServiceApplicationFactory(
        client_id="livejwt.example.com/sync",
        public_keys=[public_key_to_jwk(private.public_key())],
        scope="update",
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    token_endpoint = urljoin(live_issuer + "/", "connect/token")
    session = OAuth2Session(app.client_id, pem, token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(token_endpoint))
    for _ in range(2):
        token = session.fetch_token(token_endpoint, grant_type="client_credentials")
        assert token["scope"] == "update" and token["token_type"] == "Bearer"
    assert token["expires_in"] > 0
