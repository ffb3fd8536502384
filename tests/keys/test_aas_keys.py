"""The AAS key (SPEC sections 7 and 9): RSA >= 2048 with a self-signed certificate, published
in the JWKS with kid = SHA-1 thumbprint (upper hex), x5t (base64url) and x5c; rotation keeps
the old key published until its handshake tokens have expired."""

import base64
import datetime as dt
import hashlib

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command

from connector.keys import b64url_decode, jwk_to_public_key
from trustregistry.common import clock
from trustregistry.keys import services as keys_services
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import get_active_key, jwks, rotate_key


def _aas_jwks():
    return [k for k in jwks()["keys"] if "x5c" in k]


def test_aas_jwk_carries_kid_x5t_x5c_of_its_certificate(db):
    key = get_active_key(KeyPurpose.AAS)
    [jwk] = _aas_jwks()
    der = base64.b64decode(jwk["x5c"][0])
    cert = x509.load_der_x509_certificate(der)
    thumbprint = hashlib.sha1(der).digest()  # noqa: S324 - the identifier SuperOffice uses
    assert jwk["kid"] == thumbprint.hex().upper() == key.kid
    assert b64url_decode(jwk["x5t"]) == thumbprint and "=" not in jwk["x5t"]
    assert jwk["alg"] == "RS256" and jwk["use"] == "sig" and jwk["kty"] == "RSA"
    public = jwk_to_public_key(jwk)
    assert public.key_size >= 2048
    assert public.public_numbers() == cert.public_key().public_numbers()
    assert public.public_numbers() == key.private_key.public_key().public_numbers()
    assert cert.issuer == cert.subject  # self-signed
    cert.verify_directly_issued_by(cert)
    assert cert.public_bytes(serialization.Encoding.PEM).decode() == key.certificate_pem
    assert "d" not in jwk and "p" not in jwk


def test_rotation_keeps_the_old_key_published_until_its_tokens_expired(db):
    old = get_active_key(KeyPurpose.AAS)
    new = rotate_key(purpose=KeyPurpose.AAS)
    assert get_active_key(KeyPurpose.AAS).kid == new.kid != old.kid
    assert {k["kid"] for k in _aas_jwks()} == {old.kid, new.kid}
    # An AAS token lives 300 s (+60 s leeway): the old key must verify it until then.
    with time_machine.travel(clock.now() + dt.timedelta(seconds=359), tick=False):
        assert {k["kid"] for k in _aas_jwks()} == {old.kid, new.kid}
    with time_machine.travel(clock.now() + dt.timedelta(seconds=361), tick=False):
        assert {k["kid"] for k in _aas_jwks()} == {new.kid}


def test_rotate_keys_command_for_aas(db, capsys):
    first = get_active_key(KeyPurpose.AAS).kid
    call_command("rotate_keys", "--purpose", "aas")
    assert "rotated aas" in capsys.readouterr().out
    assert get_active_key(KeyPurpose.AAS).kid != first
    assert SigningKey.objects.filter(purpose=KeyPurpose.AAS).count() == 2


@pytest.mark.parametrize("withdraw", [False, True])
def test_the_certificate_download_follows_a_rotation_in_another_process_at_once(
    db, client, withdraw
):
    # `manage.py rotate_keys` runs in its own process, and every other app server keeps the
    # active key it read for up to 30 s. A connector that pins the certificate copies it right
    # after the rotation (after a withdrawal above all): it must get the key that now signs
    # the handshakes, from every server, not the one just retired or withdrawn.
    url = "/id/.well-known/aas-certificate.pem"
    old = client.get(url).content.decode()
    assert old == get_active_key(KeyPurpose.AAS).certificate_pem
    this_server = dict(keys_services._active_key_cache)
    new = rotate_key(purpose=KeyPurpose.AAS, withdraw=withdraw)
    keys_services._active_key_cache.update(this_server)  # as it was before the rotation
    response = client.get(url)
    served = response.content.decode()
    assert served == new.certificate_pem != old
    # Nor may a proxy keep the retired one (it was `public, max-age=300`; found by the review).
    assert response["Cache-Control"] == "no-cache"
    cert = x509.load_pem_x509_certificate(served.encode())
    thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()  # noqa: S324
    assert thumbprint.upper() in {k["kid"] for k in _aas_jwks()}


def test_aas_certificate_command_writes_the_pem(db, tmp_path, capsys):
    call_command("aas_certificate")
    printed = capsys.readouterr().out
    assert (
        x509.load_pem_x509_certificate(printed.encode())
        == get_active_key(KeyPurpose.AAS).certificate
    )
    target = tmp_path / "aas.pem"
    call_command("aas_certificate", str(target))
    assert target.read_text() == printed


def test_aas_certificate_command_names_a_file_it_cannot_write(db, tmp_path):
    with pytest.raises(CommandError, match="cannot write"):
        call_command("aas_certificate", str(tmp_path / "missing-dir" / "aas.pem"))
