"""The pure private_key_jwt checks (no database)."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connector.keys import public_key_to_jwk
from trustregistry.oauth.client_assertion import (
    InvalidAssertion,
    unverified_client_id,
    verify_client_assertion,
)

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
AUD = "https://registry.example/id/connect/token"


@pytest.fixture(scope="module")
def key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private, public_key_to_jwk(private.public_key())


def _make(key, **claims):
    private, jwk = key
    base = {"iss": "c1", "sub": "c1", "aud": AUD, "exp": int(NOW.timestamp()) + 60, "jti": "j1"}
    base.update(claims)
    return jwt.encode(base, private, algorithm="RS256", headers={"kid": jwk["kid"]})


def _verify(key, token):
    return verify_client_assertion(
        token, client_id="c1", public_keys=[key[1]], audiences=[AUD], now=NOW
    )


def test_valid_assertion(key):
    verified = _verify(key, _make(key))
    assert verified.jti == "j1" and verified.expires > NOW
    assert unverified_client_id(_make(key)) == "c1"


@pytest.mark.parametrize(
    "claims",
    [{"aud": ["https://other"]}, {"iss": "c2"}, {"exp": int(NOW.timestamp()) - 120},
     {"nbf": int(NOW.timestamp()) + 600}, {"jti": ""}, {"exp": "soon"},
     # NaN passes every comparison (all False): it must not pass the checks
     {"exp": float("nan")}, {"nbf": float("nan")}, {"exp": float("inf")}, {"exp": True},
     {"exp": str(int(NOW.timestamp()) + 60)},
     # stored to refuse a replay: PostgreSQL takes neither
     {"jti": "a\x00b"}, {"jti": "\ud800"}],
)  # fmt: skip
def test_invalid_claims(key, claims):
    with pytest.raises(InvalidAssertion):
        _verify(key, _make(key, **claims))


def test_an_assertion_may_live_an_hour_with_leeway_for_clock_skew(key):
    # Authlib's PrivateKeyJWT signs exp = iat + 3600 by default; a client clock a few seconds
    # ahead must not turn that into a refusal.
    stamp = int(NOW.timestamp())
    assert _verify(key, _make(key, iat=stamp, exp=stamp + 3600)).jti == "j1"
    assert _verify(key, _make(key, exp=stamp + 3600 + 30)).jti == "j1"
    with pytest.raises(InvalidAssertion, match="at most one hour"):
        _verify(key, _make(key, exp=stamp + 3600 + 31))


def test_audience_list_accepted(key):
    assert _verify(key, _make(key, aud=["x", AUD])).client_id == "c1"


def test_missing_jti_refused(key):
    private, jwk = key
    token = jwt.encode({"iss": "c1", "sub": "c1", "aud": AUD, "exp": int(NOW.timestamp()) + 60},
                       private, algorithm="RS256")  # fmt: skip
    with pytest.raises(InvalidAssertion):
        _verify(key, token)
