"""Signing keys: created on first need, rotated by `manage.py rotate_keys`, published in the JWKS.

Purpose `oidc` signs ID and access tokens (kid = RFC 7638 thumbprint). Purpose `aas` signs the
handshake tokens and has a self-signed X.509 certificate (kid = its SHA-1 thumbprint in
upper-case hex, x5t = the same bytes base64url, as SuperOffice's AAS does).
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import transaction

from connector.keys import (
    b64url_encode,
    certificate_sha1_thumbprint,
    private_key_to_pem,
    public_key_to_jwk,
)
from trustregistry.common import clock
from trustregistry.common.db import serialize_transactions
from trustregistry.keys.models import KeyPurpose, SigningKey

RSA_BITS = 2048
CERTIFICATE_YEARS = 5


def _publish_after_retirement(purpose: str) -> dt.timedelta:
    """How long a retired key must stay published: the longest lifetime of what it signed."""
    if purpose == KeyPurpose.AAS:
        return dt.timedelta(seconds=300 + 60)
    oauth = getattr(settings, "OAUTH2_PROVIDER", {})
    longest = max(
        int(oauth.get("ACCESS_TOKEN_EXPIRE_SECONDS", 3600)),
        int(oauth.get("ID_TOKEN_EXPIRE_SECONDS", 36000)),
    )
    return dt.timedelta(seconds=longest + 60)


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    purpose: str
    private_key: rsa.RSAPrivateKey
    public_jwk: dict
    certificate_pem: str

    @property
    def certificate(self) -> x509.Certificate | None:
        return (
            x509.load_pem_x509_certificate(self.certificate_pem.encode())
            if self.certificate_pem
            else None
        )


@lru_cache(maxsize=64)
def _load_private(pem: str) -> rsa.RSAPrivateKey:
    # Parsing a PEM key costs ~1 ms; the key set changes only on rotation.
    return serialization.load_pem_private_key(pem.encode(), password=None)  # type: ignore[return-value]


def _self_signed_certificate(key: rsa.RSAPrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Trust registry AAS"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.TRUSTREGISTRY_AAS_ISSUER[:64]),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def _new_key(purpose: str) -> SigningKey:
    now = clock.now()
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    jwk: dict = public_key_to_jwk(key.public_key())
    cert_pem = ""
    if purpose == KeyPurpose.AAS:
        cert = _self_signed_certificate(key, now)
        thumb = certificate_sha1_thumbprint(cert)
        jwk["kid"] = thumb.hex().upper()
        jwk["x5t"] = b64url_encode(thumb)
        jwk["x5c"] = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    jwk["use"] = "sig"
    jwk["alg"] = "RS256"
    pem = private_key_to_pem(key).decode()
    return SigningKey(
        purpose=purpose,
        kid=jwk["kid"],
        private_key_pem=pem,
        public_jwk=jwk,
        certificate_pem=cert_pem,
        created=now,
    )


def _to_loaded(row: SigningKey) -> LoadedKey:
    return LoadedKey(
        kid=row.kid,
        purpose=row.purpose,
        private_key=_load_private(row.private_key_pem),
        public_jwk=row.public_jwk,
        certificate_pem=row.certificate_pem,
    )


# The signing key changes only on rotation. Each process keeps it for a few seconds instead of
# reading it on every token; a key another server retired stays published far longer than
# this (see _publish_after_retirement), so tokens it still signs meanwhile verify.
ACTIVE_KEY_CACHE_SECONDS = 30.0
_active_key_cache: dict[str, tuple[float, LoadedKey]] = {}


def clear_active_key_cache() -> None:
    _active_key_cache.clear()


def get_active_key(purpose: str, *, expected_kid: str | None = None) -> LoadedKey:
    """The key that signs now for `purpose`, created on first need. `expected_kid`: the kid
    the caller just read as active from the database; a cached key with another kid predates
    a rotation done elsewhere (`manage.py rotate_keys` is its own process) and is read again."""
    cached = _active_key_cache.get(purpose)
    if (
        cached is not None
        and cached[0] > time.monotonic()
        and (expected_kid is None or cached[1].kid == expected_kid)
    ):
        return cached[1]
    loaded = _read_active_key(purpose)
    _active_key_cache[purpose] = (time.monotonic() + ACTIVE_KEY_CACHE_SECONDS, loaded)
    return loaded


def _read_active_key(purpose: str) -> LoadedKey:
    row = (
        SigningKey.objects.filter(purpose=purpose, retired_at__isnull=True)
        .order_by("-created", "-id")
        .first()
    )
    if row is None:
        row = _create_first_key(purpose)
    return _to_loaded(row)


def _one_writer_of_keys(purpose: str) -> None:
    # App servers starting at once on an empty database each found no key and made one, and
    # two rotations at once each retired only what their snapshot held (PostgreSQL): both
    # left two signing keys. Whoever writes a purpose's keys waits for the writer before.
    # The database's one-active-key constraint stays as the last word.
    serialize_transactions(f"keys.write:{purpose}")


def _create_first_key(purpose: str) -> SigningKey:
    candidate = _new_key(purpose)
    with transaction.atomic():
        _one_writer_of_keys(purpose)
        existing = (
            SigningKey.objects.filter(purpose=purpose, retired_at__isnull=True)
            .order_by("-created", "-id")
            .first()
        )
        if existing is not None:
            return existing  # another server's, made while this one generated its own
        candidate.save()
        return candidate


def rotate_key(*, purpose: str, withdraw: bool = False) -> SigningKey:
    """Add a new active key; the old ones stay published until their tokens have expired.

    `withdraw`, for keys that leaked: every other key of the purpose leaves the JWKS at once
    and verifies nothing more, so what they signed (and what anyone forges with them) stops
    being accepted. Other app servers keep the keys they hold in memory for up to
    PUBLIC_KEY_CACHE_SECONDS, which is why the README says to reload them."""
    if purpose not in KeyPurpose.values:
        raise ValueError(f"unknown key purpose {purpose!r}")
    new = _new_key(purpose)
    with transaction.atomic():
        _one_writer_of_keys(purpose)  # two rotations at once: each retires the key before it
        now = clock.now()
        new.created = now
        SigningKey.objects.filter(purpose=purpose, retired_at__isnull=True).update(
            retired_at=now, publish_until=now + _publish_after_retirement(purpose)
        )
        if withdraw:
            SigningKey.objects.filter(purpose=purpose, withdrawn_at__isnull=True).update(
                withdrawn_at=now
            )
            SigningKey.objects.filter(purpose=purpose, publish_until__gt=now).update(
                publish_until=now
            )
        new.save()
    _active_key_cache.pop(purpose, None)
    if withdraw:
        clear_public_key_cache()
    return new


def published_keys(purpose: str | None = None) -> list[SigningKey]:
    now = clock.now()
    qs = SigningKey.objects.filter(models_q_published(now))
    if purpose:
        qs = qs.filter(purpose=purpose)
    return list(qs.order_by("purpose", "-created", "-id"))


def models_q_published(now: dt.datetime):  # type: ignore[no-untyped-def]
    from django.db.models import Q

    return Q(retired_at__isnull=True) | Q(publish_until__gt=now)


def jwks() -> dict:
    """The registry's JWKS: every published key of every purpose (creating missing ones)."""
    for purpose in KeyPurpose.values:
        get_active_key(purpose)
    return {"keys": [row.public_jwk for row in published_keys()]}


# kid -> (cached until, epoch seconds; public key). Every bearer request verifies a token, and
# the key set changes only on rotation: a short in-process cache saves a query per request.
# Only hits are cached (a key created by a rotation on another server is found at once), and an
# entry never outlives the key's `publish_until`, so a retired key stops verifying on time.
PUBLIC_KEY_CACHE_SECONDS = 60
_PUBLIC_KEY_CACHE_MAX = 64
_public_key_cache: dict[tuple[str, str | None], tuple[float, rsa.RSAPublicKey]] = {}


def clear_public_key_cache() -> None:
    _public_key_cache.clear()


def public_key_for_kid(kid: str, purpose: str | None = None) -> rsa.RSAPublicKey | None:
    """The published public key with this kid (for verifying the registry's own tokens)."""
    now = clock.now()
    cache_key = (kid, purpose)
    cached = _public_key_cache.get(cache_key)
    if cached is not None and cached[0] > now.timestamp():
        return cached[1]
    qs = SigningKey.objects.filter(models_q_published(now), kid=kid)
    if purpose:
        qs = qs.filter(purpose=purpose)
    row = qs.first()
    if row is None:
        _public_key_cache.pop(cache_key, None)
        return None
    public_key = _load_private(row.private_key_pem).public_key()
    until = now.timestamp() + PUBLIC_KEY_CACHE_SECONDS
    if row.publish_until is not None:
        until = min(until, row.publish_until.timestamp())
    if len(_public_key_cache) >= _PUBLIC_KEY_CACHE_MAX:
        _public_key_cache.clear()
    _public_key_cache[cache_key] = (until, public_key)
    return public_key


def hint_key_for_kid(kid: str) -> rsa.RSAPublicKey | None:
    """The oidc key that may verify an id_token_hint: a published one, or one retired within a
    session's lifetime. A hint may have expired (RP-Initiated Logout 1.0 section 2, OpenID
    Connect Core 3.1.2.1), and the endsession view accepts one issued within a session's
    lifetime (SESSION_COOKIE_AGE), but its key leaves the JWKS about an hour after a rotation:
    without this, such logouts failed from then on. A withdrawn key verifies nothing.
    Not cached past the published keys: hints are rare, and a withdrawal must act at once."""
    public_key = public_key_for_kid(kid, KeyPurpose.OIDC)
    if public_key is not None:
        return public_key
    since = clock.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    row = SigningKey.objects.filter(
        purpose=KeyPurpose.OIDC, kid=kid, withdrawn_at__isnull=True, retired_at__gt=since
    ).first()
    return _load_private(row.private_key_pem).public_key() if row is not None else None


def aas_certificate_pem() -> str:
    """The active AAS certificate (`GET /id/.well-known/aas-certificate.pem`, `manage.py
    aas_certificate`). The database is asked which key is active, as the handshake asks
    (`aas.selectors.active_aas_key`): a connector that pins the certificate is given a copy
    right after `rotate_keys --purpose aas` (a `--withdraw` above all), and this process's
    30 s memory of the active key would hand out the key a rotation in another process has
    just retired or withdrawn, which signs no handshake any more."""
    kid = (
        SigningKey.objects.filter(purpose=KeyPurpose.AAS, retired_at__isnull=True)
        .order_by("-created", "-id")
        .values_list("kid", flat=True)
        .first()
    )
    return get_active_key(KeyPurpose.AAS, expected_kid=kid).certificate_pem
