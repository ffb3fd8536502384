"""The OAuth/OIDC endpoints under generated input (any text in any parameter, NUL characters
and surrogates included, as form fields, query parameters and Authorization headers): never
a server error. In process through Django's test client; bounded and derandomized."""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.oauth.conftest import CALLBACK, SECRET

pytestmark = pytest.mark.django_db

# Text a client may send: anything, and values close to the real ones.
TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["", "\x00", "app.example.com/erp", "svc.example.com/sync", CALLBACK, "openid sec",
         "client_credentials", "authorization_code", "refresh_token", "S256", "plain", "none",
         "a" * 3000, "%00", "\ud800"]
    ),
)  # fmt: skip
FIELDS = st.dictionaries(
    st.sampled_from(
        ["grant_type", "client_id", "client_secret", "code", "redirect_uri", "scope", "state",
         "refresh_token", "code_verifier", "code_challenge", "code_challenge_method", "token",
         "token_type_hint", "client_assertion", "client_assertion_type", "response_type",
         "nonce", "prompt", "id_token_hint", "post_logout_redirect_uri", "claims"]
    ),
    TEXT,
    max_size=8,
)  # fmt: skip
AUTHORIZATION = st.one_of(
    st.none(),
    st.builds(
        lambda raw: "Basic " + base64.b64encode(raw.encode("utf-8", "surrogatepass")).decode(), TEXT
    ),
    st.builds(lambda raw: f"Bearer {raw}", TEXT),
    TEXT,
)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def apps(db):  # type: ignore[no-untyped-def]
    factories.TrustedApplicationFactory(
        client_id="app.example.com/erp", secret=SECRET, scope="update sec",
        login_urls=[CALLBACK], impersonate_internal_allowed=True,
    )  # fmt: skip
    factories.ServiceApplicationFactory(client_id="svc.example.com/sync", secret=SECRET)


def _clean(value: str) -> str:
    # What an HTTP client can put on the wire: the test client encodes str as UTF-8.
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _headers(authorization):  # type: ignore[no-untyped-def]
    if authorization is None:
        return {}
    return {"HTTP_AUTHORIZATION": _clean(authorization).replace("\n", " ").replace("\r", " ")}


@pytest.mark.parametrize(
    "path",
    ["/id/connect/token", "/id/connect/introspect", "/id/connect/revocation",
     "/id/connect/userinfo", "/id/connect/authorize", "/id/account/login"],
)  # fmt: skip
def test_posted_forms_never_get_a_server_error(apps, path):  # type: ignore[no-untyped-def]
    @given(fields=FIELDS, authorization=AUTHORIZATION)
    @SETTINGS
    def one(fields, authorization):  # type: ignore[no-untyped-def]
        data = {k: _clean(v) for k, v in fields.items()}
        response = Client().post(path, data, **_headers(authorization))
        assert response.status_code < 500, (path, data, response.content[:300])

    one()


@pytest.mark.parametrize(
    "path", ["/id/connect/authorize", "/id/connect/endsession", "/id/connect/userinfo"]
)
def test_queries_never_get_a_server_error(apps, internal_user, path):  # type: ignore[no-untyped-def]
    @given(fields=FIELDS, authorization=AUTHORIZATION, signed_in=st.booleans())
    @SETTINGS
    def one(fields, authorization, signed_in):  # type: ignore[no-untyped-def]
        client = Client()
        if signed_in:
            client.force_login(internal_user)
        query = {k: _clean(v) for k, v in fields.items()}
        response = client.get(path, query, **_headers(authorization))
        assert response.status_code < 500, (path, query, response.content[:300])

    one()
