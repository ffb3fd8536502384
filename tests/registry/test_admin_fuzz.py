"""The trusted-application admin form under generated values (any text in any field, NUL
characters, lone surrogates, key- and URL-like strings, broken inline counts): the form
answers with its errors or saves, never a server error. Bounded and derandomized."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.registry.test_admin import ADD, form_data

pytestmark = pytest.mark.django_db

FIELDS = [
    "client_id", "client_type", "login_urls", "logout_urls", "scope", "system_user",
    "system_user_login_url", "connector_url", "public_keys", "new_secret_hash",
    "new_secret_expires", "names-0-language", "names-0-name", "names-1-language",
    "names-TOTAL_FORMS", "names-INITIAL_FORMS", "secrets-TOTAL_FORMS",
]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["", "\x00", "https://shop.example.com/cb", "http://127.0.0.1:9/x, https://a.b/c",
         "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
         "<RSAKeyValue><Modulus>AQAB</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>",
         '{"kty": "RSA", "n": "AQAB", "e": "AQAB"}', '{"keys": [{}]}', "0" * 64, "1000000",
         "-1", "2030-01-31T00:00:00Z", "public", "confidential", "sec", "a" * 3000]
    ),
)  # fmt: skip


def _text(value: str) -> str:
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@given(changes=st.dictionaries(st.sampled_from(FIELDS), VALUES, min_size=1, max_size=5))
@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_add_form_never_answers_a_server_error(admin_client, changes):  # type: ignore[no-untyped-def]
    data = form_data(**{name: _text(value) for name, value in changes.items()})
    response = admin_client.post(ADD, data)
    assert response.status_code in (200, 302, 400), (changes, response.status_code)
