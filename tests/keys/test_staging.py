"""Staged rotation (`rotate_keys --purpose … --stage`): the next key is published before it
signs, a plain rotation activates it, a withdrawal withdraws it with the others."""

from __future__ import annotations

import base64
import hashlib

import jwt
import pytest
from cryptography import x509
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from tests import factories
from tests.oauth.conftest import SECRET, cc
from trustregistry.aas.selectors import active_aas_key
from trustregistry.common import clock
from trustregistry.keys import services
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import (
    NoStagedKey,
    aas_certificate_pem,
    aas_next_certificate_pem,
    get_active_key,
    hint_key_for_kid,
    jwks,
    public_key_for_kid,
    rotate_key,
    stage_key,
)
from trustregistry.oauth import access_tokens

pytestmark = pytest.mark.django_db


def _published() -> dict[str, dict]:
    return {k["kid"]: k for k in jwks()["keys"]}


@pytest.mark.parametrize("purpose", KeyPurpose.values)
def test_staging_publishes_the_next_key_and_signs_nothing_with_it(purpose):
    active = get_active_key(purpose).kid
    staged, created = stage_key(purpose=purpose)
    assert created and staged.kid != active and staged.is_staged
    assert {active, staged.kid} <= set(_published())
    services.clear_active_key_cache()  # as a server reading the keys afresh
    assert get_active_key(purpose).kid == active
    assert SigningKey.objects.signing(purpose).get().kid == active
    assert [k.kid for k in services.published_keys(purpose)] == [active, staged.kid]


def test_a_staged_aas_key_is_published_with_its_certificate():
    staged, _ = stage_key(purpose=KeyPurpose.AAS)
    jwk = _published()[staged.kid]
    der = base64.b64decode(jwk["x5c"][0])
    thumbprint = hashlib.sha1(der).digest()  # noqa: S324 - the identifier SuperOffice uses
    assert jwk["kid"] == thumbprint.hex().upper()
    assert jwk["x5t"] == base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode()
    assert x509.load_der_x509_certificate(der) == x509.load_pem_x509_certificate(
        staged.certificate_pem.encode()
    )


def test_tokens_and_the_aas_key_stay_the_active_ones_after_staging(client):
    active_oidc = get_active_key(KeyPurpose.OIDC).kid
    active_aas = get_active_key(KeyPurpose.AAS)
    pem_before = client.get("/id/.well-known/aas-certificate.pem").content
    stage_key(purpose=KeyPurpose.OIDC)
    stage_key(purpose=KeyPurpose.AAS)
    services.clear_active_key_cache()
    app = factories.ServiceApplicationFactory(secret=SECRET, scope="update")
    token = cc(client, app).json()["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == active_oidc
    assert active_aas_key().kid == active_aas.kid
    assert aas_certificate_pem() == active_aas.certificate_pem
    assert client.get("/id/.well-known/aas-certificate.pem").content == pem_before


def test_a_staged_key_verifies_nothing_until_it_signs():
    # It has signed nothing: a token naming it was made by whoever holds its private key.
    staged, _ = stage_key(purpose=KeyPurpose.OIDC)
    forged = jwt.encode(
        {"sub": "x"},
        services._load_private(staged.private_key_pem),
        algorithm="RS256",
        headers={"kid": staged.kid, "typ": "at+jwt"},
    )
    with pytest.raises(access_tokens.InvalidAccessToken, match="not signed by a key"):
        access_tokens.check_access_token(forged)
    assert public_key_for_kid(staged.kid, KeyPurpose.OIDC) is None
    assert hint_key_for_kid(staged.kid) is None
    rotate_key(purpose=KeyPurpose.OIDC)
    assert public_key_for_kid(staged.kid, KeyPurpose.OIDC) is not None  # now it signs
    assert hint_key_for_kid(staged.kid) is not None


@pytest.mark.parametrize("purpose", KeyPurpose.values)
def test_rotation_activates_the_staged_key(purpose):
    old = get_active_key(purpose).kid
    staged, _ = stage_key(purpose=purpose)
    new = rotate_key(purpose=purpose)
    assert new.kid == staged.kid and new.was_staged and not new.is_staged
    assert get_active_key(purpose).kid == staged.kid
    assert services.staged_key(purpose) is None
    retired = SigningKey.objects.get(kid=old)
    assert retired.retired_at is not None and retired.withdrawn_at is None
    assert retired.publish_until is not None and retired.publish_until > clock.now()
    assert {old, staged.kid} <= set(_published())
    # The next rotation, with nothing staged, makes a key of its own as before.
    third = rotate_key(purpose=purpose)
    assert third.kid not in (old, staged.kid) and not third.was_staged


def test_staging_twice_keeps_the_staged_key(capsys):
    first, created = stage_key(purpose=KeyPurpose.AAS)
    again, created_again = stage_key(purpose=KeyPurpose.AAS)
    assert created and not created_again and again.pk == first.pk
    call_command("rotate_keys", "--purpose", "aas", "--stage")
    out = capsys.readouterr().out
    assert f"key {first.kid} is staged already (kept)" in out
    assert SigningKey.objects.staged(KeyPurpose.AAS).count() == 1


def test_withdrawing_withdraws_the_staged_key_too_and_signs_with_a_fresh_one():
    # A leak of the database is a leak of the staged key: it must never start signing.
    old = get_active_key(KeyPurpose.OIDC).kid
    staged, _ = stage_key(purpose=KeyPurpose.OIDC)
    new = rotate_key(purpose=KeyPurpose.OIDC, withdraw=True)
    assert new.kid not in (old, staged.kid) and not new.was_staged
    assert get_active_key(KeyPurpose.OIDC).kid == new.kid
    assert services.staged_key(KeyPurpose.OIDC) is None
    assert set(_published()) & {old, staged.kid} == set()
    for kid in (old, staged.kid):
        row = SigningKey.objects.get(kid=kid)
        assert row.withdrawn_at is not None and row.retired_at is not None
        assert public_key_for_kid(kid, KeyPurpose.OIDC) is None and hint_key_for_kid(kid) is None
    assert SigningKey.objects.get(kid=staged.kid).activated_at is None  # it never signed


def test_the_withdraw_command_names_the_staged_key_it_withdrew(capsys):
    staged, _ = stage_key(purpose=KeyPurpose.AAS)
    call_command("rotate_keys", "--purpose", "aas", "--withdraw")
    out = capsys.readouterr().out
    assert "rotated aas: new active key" in out
    assert f"withdrew the staged key {staged.kid} too" in out


def test_the_rotate_command_says_it_activated_the_staged_key(capsys):
    get_active_key(KeyPurpose.OIDC)
    call_command("rotate_keys", "--purpose", "oidc", "--stage")
    staged = services.staged_key(KeyPurpose.OIDC)
    assert staged is not None
    out = capsys.readouterr().out
    assert f"staged oidc: next key {staged.kid}" in out and "at least 300 s" in out
    call_command("rotate_keys")
    assert f"staged key {staged.kid}" in capsys.readouterr().out
    call_command("rotate_keys", "--purpose", "oidc")
    assert f"rotated oidc: the staged key {staged.kid} is the active key" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "args", [["--stage"], ["--purpose", "aas", "--stage", "--withdraw"]], ids=str
)
def test_rotate_keys_refuses_a_stage_it_cannot_do(args):
    get_active_key(KeyPurpose.AAS)
    before = list(SigningKey.objects.values_list("kid", "retired_at", "activated_at"))
    with pytest.raises(CommandError):
        call_command("rotate_keys", *args)
    assert list(SigningKey.objects.values_list("kid", "retired_at", "activated_at")) == before


def test_the_database_refuses_a_second_staged_key():
    stage_key(purpose=KeyPurpose.AAS)
    second = services._new_key(KeyPurpose.AAS)
    second.activated_at = None
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    other_purpose = services._new_key(KeyPurpose.OIDC)
    other_purpose.activated_at = None
    other_purpose.save()  # one staged key per purpose


def test_the_signing_key_is_never_a_staged_one_even_when_none_signs():
    # A database holding a staged key and no signing one (a row deleted by hand): the first
    # key made on need signs, the staged one stays staged.
    staged = services._new_key(KeyPurpose.AAS)
    staged.activated_at = None
    staged.save()
    assert active_aas_key().kid != staged.kid
    assert get_active_key(KeyPurpose.AAS).kid != staged.kid
    assert aas_certificate_pem() != staged.certificate_pem
    assert SigningKey.objects.get(kid=staged.kid).is_staged


def test_the_certificate_command_writes_the_next_and_both(tmp_path, capsys):
    active = get_active_key(KeyPurpose.AAS)
    with pytest.raises(CommandError, match="No AAS key is staged"):
        call_command("aas_certificate", str(tmp_path / "next.pem"), "--next")
    with pytest.raises(NoStagedKey):
        aas_next_certificate_pem(with_active=True)
    assert not (tmp_path / "next.pem").exists()
    staged, _ = stage_key(purpose=KeyPurpose.AAS)
    call_command("aas_certificate", "--next")
    assert capsys.readouterr().out == staged.certificate_pem
    both = tmp_path / "both.pem"
    call_command("aas_certificate", str(both), "--with-next")
    assert both.read_text() == active.certificate_pem + staged.certificate_pem
    assert capsys.readouterr().out == f"wrote {both}\n"
    call_command("aas_certificate")  # the active one alone, as before
    assert capsys.readouterr().out == active.certificate_pem
    with pytest.raises(CommandError):
        call_command("aas_certificate", "--next", "--with-next")
