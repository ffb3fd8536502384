"""Install and uninstall links under generated query strings (any parameter names and values,
repeated ones, NUL characters, lone surrogates) and generated form posts, as a signed-in
administrator: a page or a refusal, never a server error. Bounded and derandomized."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

NAMES = st.one_of(
    st.sampled_from(
        ["applicationUri", "applicationName", "clientType", "redirectUri", "impersonate",
         "requestSecret", "serviceAccess", "scope", "csrfmiddlewaretoken", "confirm"]
    ),
    st.text(max_size=12),
)  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["vendor.example/app", "Confidential", "Public", "https://vendor.example/cb", "all",
         "internal", "none", "true", "false", "clientCredentials", "read update sec", "\x00",
         "%00", "a" * 2500]
    ),
)  # fmt: skip
PAIRS = st.lists(st.tuples(NAMES, VALUES), max_size=8)
SETTINGS = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _query(pairs) -> str:  # type: ignore[no-untyped-def]
    def enc(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{enc(name)}={enc(value)}" for name, value in pairs)


@pytest.mark.parametrize("path", ["/manage/apps/install", "/manage/apps/uninstall"])
def test_links_never_get_a_server_error(staff_user, path):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(staff_user)

    @given(pairs=PAIRS, post=st.booleans(), form=PAIRS)
    @SETTINGS
    def one(pairs, post, form):  # type: ignore[no-untyped-def]
        url = f"{path}?{_query(pairs)}"
        if post:
            data = {
                name.encode("utf-8", "surrogatepass").decode("utf-8", "replace"):
                value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
                for name, value in form
            }  # fmt: skip
            response = client.post(url, data)
        else:
            response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)

    one()
