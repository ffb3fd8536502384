from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

from tests import factories

SECRET = "s3cret-confidential-value"
CALLBACK = "https://app.example.com/callback"
LOGOUT = "https://app.example.com/bye"
PUBLIC_CALLBACK = "http://127.0.0.1/callback"


TOKEN = "/id/connect/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def cc(client, app, secret=SECRET, **data):  # type: ignore[no-untyped-def]
    """A client-credentials token request with client_secret_basic."""
    return client.post(
        TOKEN,
        {"grant_type": "client_credentials", **data},
        HTTP_AUTHORIZATION=basic(app.client_id, secret),
    )


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def confidential_app(db):
    app = factories.TrustedApplicationFactory(
        client_id="app.example.com/erp",
        secret=SECRET,
        scope="update sec",
        login_urls=[CALLBACK],
        logout_urls=[LOGOUT],
        impersonate_internal_allowed=True,
        name="ERP client",
    )
    app.names.create(language="bg", name="ЕРП клиент")
    return app


@pytest.fixture
def public_app(db):
    return factories.PublicApplicationFactory(
        client_id="spa.example.com/app",
        scope="update",
        login_urls=[PUBLIC_CALLBACK],
        logout_urls=["http://127.0.0.1/bye"],
        impersonate_internal_allowed=True,
        impersonate_community_allowed=True,
    )


@pytest.fixture
def service_app(db):
    return factories.ServiceApplicationFactory(
        client_id="svc.example.com/sync", secret=SECRET, scope="update sec"
    )


@pytest.fixture
def internal_user(db):
    return factories.UserFactory(username="alice", first_name="Alice", last_name="Ivanova")


@pytest.fixture
def community_user(db):
    return factories.CommunityUserFactory(username="carol")


class Flow:
    """Drives the code flow through Django's test client, as a browser and a client would."""

    def __init__(self, client):
        self.client = client

    def authorize_params(self, app, **overrides) -> dict[str, str]:
        verifier, challenge = pkce_pair()
        self.verifier = verifier
        params = {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": app.login_urls[0],
            "state": "st-" + secrets.token_hex(4),
            "scope": "openid update offline_access",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "nonce": "nonce-" + secrets.token_hex(4),
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def consent(self, app, user, *, allow: bool = True, **overrides):
        """GET the consent page as `user` and approve it; returns the final response."""
        self.client.force_login(user)
        params = self.authorize_params(app, **overrides)
        self.params = params
        page = self.client.get("/id/connect/authorize", params)
        if page.status_code != 200:
            return page
        data = {k: v for k, v in page.context["form"].initial.items() if v}
        if allow:
            data["allow"] = "true"
        return self.client.post("/id/connect/authorize?" + urlencode(params), data)

    def code(self, app, user, **overrides) -> str:
        response = self.consent(app, user, **overrides)
        assert response.status_code == 302, response.content[:500]
        return query(response["Location"])["code"]

    def exchange(self, app, code, *, secret=SECRET, **extra):
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.params["redirect_uri"],
            "code_verifier": self.verifier,
        }
        data.update(extra)
        headers = {}
        if app.client_type == "confidential" and secret is not None:
            headers["HTTP_AUTHORIZATION"] = basic(app.client_id, secret)
        else:
            data.setdefault("client_id", app.client_id)
        data = {k: v for k, v in data.items() if v is not None}
        return self.client.post("/id/connect/token", data, **headers)

    def tokens(self, app, user, **overrides) -> dict:
        code = self.code(app, user, **overrides)
        response = self.exchange(app, code)
        assert response.status_code == 200, response.content
        return response.json()

    def refresh(self, app, refresh_token, *, secret=SECRET, **extra):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
        headers = {}
        if app.client_type == "confidential":
            headers["HTTP_AUTHORIZATION"] = basic(app.client_id, secret)
        else:
            data["client_id"] = app.client_id
        return self.client.post("/id/connect/token", data, **headers)


@pytest.fixture
def live_issuer(live_server, settings):
    """The issuer of pytest-django's live server on 127.0.0.1, for clients speaking real HTTP."""
    issuer = f"{live_server.url}/id"
    settings.TRUSTREGISTRY_ISSUER = issuer
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": issuer}
    return issuer


@pytest.fixture
def flow(client):
    return Flow(client)
