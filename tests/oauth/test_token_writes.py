"""The client-credentials token row written by one precompiled INSERT is the row the ORM
writes, and the token it records works everywhere a token is checked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, set_token_value
from oauth2_provider.settings import oauth2_settings

from tests.oauth.conftest import SECRET, basic
from trustregistry.oauth import token_writes
from trustregistry.oauth.access_tokens import check_access_token, token_checksum

pytestmark = pytest.mark.django_db

_SKIP = {"id", "created", "updated"}  # the row's own identity and its write time


def _row(checksum: str) -> dict[str, object]:
    token = AccessToken.objects.get(token_checksum=checksum)
    return {
        f.attname: getattr(token, f.attname)
        for f in AccessToken._meta.concrete_fields
        if f.attname not in _SKIP
    }


def test_the_insert_writes_what_the_orm_writes(service_app):
    expires = timezone.now().replace(microsecond=123456) + dt.timedelta(hours=1)
    user = service_app.system_user
    before = timezone.now()
    token_writes.insert_access_token(
        raw_token="fast.raw.token",
        application_id=service_app.pk,
        user_id=user.pk,
        scope="update sec",
        expires=expires,
        resource=["https://api.example.com"],
    )
    orm = AccessToken(
        user=user,
        application=service_app,
        scope="update sec",
        expires=expires,
        resource=["https://api.example.com"],
    )
    set_token_value(orm, "orm.raw.token")
    orm.save()

    fast_row, orm_row = (
        _row(token_checksum("fast.raw.token")),
        _row(token_checksum("orm.raw.token")),
    )
    assert fast_row.pop("token_checksum") == token_checksum("fast.raw.token")
    assert orm_row.pop("token_checksum") == token_checksum("orm.raw.token")
    assert fast_row == orm_row
    assert fast_row["token"] == ""  # RFC 9700 storage: the usable value never at rest
    written = AccessToken.objects.get(token_checksum=token_checksum("fast.raw.token"))
    assert before <= written.created == written.updated <= timezone.now()


def test_plaintext_storage_when_rfc9700_storage_is_off(service_app, monkeypatch):
    monkeypatch.setattr(oauth2_settings, "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE", False)
    token_writes.insert_access_token(
        raw_token="plain.raw.token",
        application_id=service_app.pk,
        user_id=None,
        scope="sec",
        expires=timezone.now() + dt.timedelta(hours=1),
    )
    row = AccessToken.objects.get(token_checksum=token_checksum("plain.raw.token"))
    assert row.token == "plain.raw.token" and row.user_id is None and row.resource == []


def test_every_column_it_leaves_out_may_be_empty():
    # A future django-oauth-toolkit column without a default would make the INSERT fail.
    left_out = [
        f
        for f in AccessToken._meta.concrete_fields
        if f.attname.removesuffix("_id") not in token_writes._COLUMNS and not f.primary_key
    ]
    assert left_out and all(f.null for f in left_out), left_out


def test_a_client_credentials_token_is_recorded_and_checks(client, service_app):
    response = client.post(
        "/id/connect/token",
        {"grant_type": "client_credentials", "scope": "sec"},
        HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET),
    )
    assert response.status_code == 200, response.content
    raw = response.json()["access_token"]
    row = AccessToken.objects.get(token_checksum=token_checksum(raw))
    assert (row.application_id, row.user_id, row.scope) == (
        service_app.pk,
        service_app.system_user_id,
        "sec",
    )
    assert row.token == "" and row.id_token_id is None and row.source_refresh_token_id is None
    live = check_access_token(raw)
    assert live.user.pk == service_app.system_user_id and live.scopes == {"sec"}
    assert abs((row.expires - timezone.now()).total_seconds() - response.json()["expires_in"]) < 5
