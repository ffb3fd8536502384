"""The per-process memory of signature-verified access-token claims: it saves the JWT work,
never the database check, and forgets a token when PyJWT would refuse it."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import jwt
import pytest
import time_machine
from django.test import override_settings

from tests.factories import ServiceApplicationFactory
from trustregistry.api.token_lookup import check_bearer_token
from trustregistry.keys import services as key_services
from trustregistry.keys.models import SigningKey
from trustregistry.oauth import access_tokens
from trustregistry.oauth.access_tokens import InvalidAccessToken, VerifiedClaims

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_memory():  # type: ignore[no-untyped-def]
    access_tokens.clear_verified_claims()
    yield
    access_tokens.clear_verified_claims()


def _token(lifetime: int = 600):  # type: ignore[no-untyped-def]
    app = ServiceApplicationFactory(scope="sec update")
    raw, row = access_tokens.issue_access_token(
        application=app, user=app.system_user, scope="sec update", lifetime=lifetime
    )
    return raw, row, app


def _counting_decode():  # type: ignore[no-untyped-def]
    return mock.patch.object(access_tokens.jwt, "decode", wraps=jwt.decode)


def test_second_use_skips_the_signature_work_and_gives_the_same_claims():
    raw, _row, _app = _token()
    with _counting_decode() as decode:
        first = access_tokens.decode_access_token(raw)
        second = access_tokens.decode_access_token(raw)
        check_bearer_token(raw)
        access_tokens.check_access_token(raw)
    assert decode.call_count == 1
    assert first == second and first["scope"] == "sec update"


def test_callers_get_copies():
    raw, _row, _app = _token()
    access_tokens.decode_access_token(raw)["sub"] = "someone else"
    assert access_tokens.decode_access_token(raw)["sub"] != "someone else"


def test_revocation_and_disabling_still_act_at_once():
    raw, row, app = _token()
    check_bearer_token(raw)
    access_tokens.check_access_token(raw)
    row.revoke()
    with pytest.raises(InvalidAccessToken, match="revoked"):
        check_bearer_token(raw)
    with pytest.raises(InvalidAccessToken, match="revoked"):
        access_tokens.check_access_token(raw)

    raw, _row, app = _token()
    check_bearer_token(raw)
    app.is_enabled = False
    app.save()
    with pytest.raises(InvalidAccessToken, match="disabled"):
        check_bearer_token(raw)
    with pytest.raises(InvalidAccessToken, match="disabled"):
        access_tokens.check_access_token(raw)


def test_forgotten_once_pyjwt_would_call_it_expired():
    raw, _row, _app = _token(lifetime=60)
    access_tokens.decode_access_token(raw)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60 + access_tokens.LEEWAY_SECONDS + 5)
    with time_machine.travel(later, tick=False), _counting_decode() as decode:
        with pytest.raises(InvalidAccessToken, match="expired"):
            access_tokens.decode_access_token(raw)
    assert decode.call_count == 1  # verified again, not answered from memory
    assert len(access_tokens._verified) == 0


def test_a_key_no_longer_published_stops_the_remembered_token():
    raw, _row, _app = _token()
    access_tokens.decode_access_token(raw)
    SigningKey.objects.all().delete()
    key_services.clear_public_key_cache()
    with pytest.raises(InvalidAccessToken, match="not signed by a key"):
        access_tokens.decode_access_token(raw)


def test_issuer_and_audience_are_part_of_the_key():
    raw, _row, _app = _token()
    access_tokens.decode_access_token(raw)
    with override_settings(TRUSTREGISTRY_ISSUER="https://elsewhere.example/id"):
        with pytest.raises(InvalidAccessToken):
            access_tokens.decode_access_token(raw)
    with override_settings(TRUSTREGISTRY_TOKEN_AUDIENCE="https://elsewhere.example/api"):
        with pytest.raises(InvalidAccessToken):
            access_tokens.decode_access_token(raw)
    assert access_tokens.decode_access_token(raw)["jti"]


def test_refused_tokens_are_not_remembered():
    raw, _row, _app = _token()
    header, payload, signature = raw.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    for _ in range(2):
        with pytest.raises(InvalidAccessToken):
            access_tokens.decode_access_token(tampered)
    assert len(access_tokens._verified) == 0


def test_bounded():
    memory = VerifiedClaims(max_entries=3)
    exp = int(dt.datetime.now(dt.UTC).timestamp()) + 600
    for n in range(10):
        memory.put(f"token-{n}", "iss", "aud", "kid", {"exp": exp, "n": n})
    assert len(memory) == 3
    assert memory._entries.keys() == {(f"token-{n}", "iss", "aud") for n in (7, 8, 9)}
    memory.put("no-exp", "iss", "aud", "kid", {"n": 0})
    assert ("no-exp", "iss", "aud") not in memory._entries


def test_full_memory_drops_expired_entries_first():
    memory = VerifiedClaims(max_entries=3)
    now = int(dt.datetime.now(dt.UTC).timestamp())
    memory.put("old", "iss", "aud", "kid", {"exp": now - 3600})
    memory.put("a", "iss", "aud", "kid", {"exp": now + 600})
    memory.put("b", "iss", "aud", "kid", {"exp": now + 600})
    memory.put("c", "iss", "aud", "kid", {"exp": now + 600})
    assert {k[0] for k in memory._entries} == {"a", "b", "c"}
