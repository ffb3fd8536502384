"""Signing keys: created on first need, staged and rotated by `manage.py rotate_keys`,
published in the JWKS (how a key is made: keys/generation.py).

Purpose `oidc` signs ID and access tokens, purpose `aas` the handshake tokens (with its X.509
certificate). Each purpose has one signing key, at most one staged key (published ahead of its
rotation, signing nothing), and retired keys published until what they signed has expired.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from trustregistry.common import clock
from trustregistry.common.db import serialize_transactions
from trustregistry.keys import generation
from trustregistry.keys.models import KeyPurpose, SigningKey


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


def _new_key(purpose: str) -> SigningKey:
    # The one place keys are made here: the tests replace it to stage races between servers.
    return generation.new_key(purpose, clock.now())


def _to_loaded(row: SigningKey) -> LoadedKey:
    return LoadedKey(
        kid=row.kid,
        purpose=row.purpose,
        private_key=_load_private(row.private_key_pem),
        public_jwk=row.public_jwk,
        certificate_pem=row.certificate_pem,
    )


# How long the JWKS answer may be cached (Cache-Control of the oauth JwksView): a relying party
# may not see a staged key before then, so a rotation should wait that long after staging.
JWKS_CACHE_SECONDS = 300

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
    row = SigningKey.objects.signing(purpose).first()
    if row is None:
        row = _create_first_key(purpose)
    return _to_loaded(row)


def one_writer_of_keys(purpose: str) -> None:
    # App servers starting at once on an empty database each found no key and made one, and
    # two rotations at once each retired only what their snapshot held (PostgreSQL): both
    # left two signing keys. Whoever writes a purpose's keys (first key, stage, rotation)
    # waits for the writer before, so each sees what the one before did. The database's
    # constraints (one signing, at most one staged key) stay as the last word.
    serialize_transactions(f"keys.write:{purpose}")


def _create_first_key(purpose: str) -> SigningKey:
    candidate = _new_key(purpose)
    with transaction.atomic():
        one_writer_of_keys(purpose)
        existing = SigningKey.objects.signing(purpose).first()
        if existing is not None:
            return existing  # another server's, made while this one generated its own
        candidate.save()
        return candidate


def _check_purpose(purpose: str) -> None:
    if purpose not in KeyPurpose.values:
        raise ValueError(f"unknown key purpose {purpose!r}")


def staged_key(purpose: str) -> SigningKey | None:
    return SigningKey.objects.staged(purpose).first()


def stage_key(*, purpose: str) -> tuple[SigningKey, bool]:
    """The next key of `purpose`, and whether it was made now: published in the JWKS at once
    (with its certificate for `aas`), it signs nothing until `rotate_key` activates it. A key
    staged already is kept and returned: its certificate may be in connectors' files by now,
    and replacing it would make the rotation they were prepared for fail them."""
    _check_purpose(purpose)
    get_active_key(purpose)  # the signing key comes first (made on first need, as ever)
    existing = staged_key(purpose)
    if existing is not None:
        return existing, False
    candidate = _new_key(purpose)  # ~0.1 s of RSA: made before the writer lock is taken
    with transaction.atomic():
        one_writer_of_keys(purpose)
        existing = staged_key(purpose)
        if existing is not None:
            return existing, False  # staged by another writer while this one made its own
        candidate.created = clock.now()
        candidate.activated_at = None
        candidate.save()
    return candidate, True


def rotate_key(*, purpose: str, withdraw: bool = False) -> SigningKey:
    """Make the staged key the signing one, or, with none staged, a new key; the old signing
    key retires, published until its tokens have expired.

    `withdraw`, for keys that leaked: every other key of the purpose leaves the JWKS at once
    and verifies nothing more, so what they signed (and what anyone forges with them) stops
    being accepted. The staged key is withdrawn too, never activated: it lies in the same
    table as the keys that leaked, so whatever copy of the database leaked them holds it as
    well; the new signing key is always made now. Other app servers keep the keys they hold in
    memory for up to PUBLIC_KEY_CACHE_SECONDS, which is why the README says to reload them."""
    _check_purpose(purpose)
    fresh = None
    if withdraw or staged_key(purpose) is None:
        fresh = _new_key(purpose)  # ~0.1 s of RSA: made before the writer lock is taken
    with transaction.atomic():
        one_writer_of_keys(purpose)  # two rotations at once: each retires the key before it
        now = clock.now()
        staged = None if withdraw else staged_key(purpose)
        SigningKey.objects.signing(purpose).update(
            retired_at=now, publish_until=now + _publish_after_retirement(purpose)
        )
        if withdraw:
            SigningKey.objects.staged(purpose).update(retired_at=now, publish_until=now)
            SigningKey.objects.filter(purpose=purpose, withdrawn_at__isnull=True).update(
                withdrawn_at=now
            )
            SigningKey.objects.filter(purpose=purpose, publish_until__gt=now).update(
                publish_until=now
            )
        if staged is not None:
            staged.activated_at = now
            staged.save(update_fields=["activated_at"])
            new = staged
        else:
            # No key staged, or (`fresh` is None) the one seen before the lock was activated
            # by a rotation that ran meanwhile: this rotation makes its own.
            new = fresh if fresh is not None else _new_key(purpose)
            new.created = new.activated_at = now
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
    # The signing key first, the staged one last: a relying party that takes the first key of
    # the JWKS instead of matching the kid keeps the key that signs.
    return list(qs.order_by("purpose", F("activated_at").desc(nulls_last=True), "-created", "-id"))


def models_q_published(now: dt.datetime) -> Q:
    # Every unretired key, the staged one included: publishing it before it signs is what
    # staging is for.
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
    """The published public key with this kid (for verifying the registry's own tokens). A
    staged key is published but has signed nothing: a token naming it is forged, and is
    refused until the rotation that makes it sign (a miss is not cached, so that is at once)."""
    now = clock.now()
    cache_key = (kid, purpose)
    cached = _public_key_cache.get(cache_key)
    if cached is not None and cached[0] > now.timestamp():
        return cached[1]
    qs = SigningKey.objects.filter(models_q_published(now), kid=kid, activated_at__isnull=False)
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
    without this, such logouts failed from then on. A withdrawn key verifies nothing, nor does
    one that never signed (staged). Not cached past the published keys: hints are rare, and a
    withdrawal must act at once."""
    public_key = public_key_for_kid(kid, KeyPurpose.OIDC)
    if public_key is not None:
        return public_key
    since = clock.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    row = SigningKey.objects.filter(
        purpose=KeyPurpose.OIDC,
        kid=kid,
        withdrawn_at__isnull=True,
        activated_at__isnull=False,
        retired_at__gt=since,
    ).first()
    return _load_private(row.private_key_pem).public_key() if row is not None else None


def aas_certificate_pem() -> str:
    """The active AAS certificate (`GET /id/.well-known/aas-certificate.pem`, `manage.py
    aas_certificate`), never the staged one. The database is asked which key is active, as the
    handshake asks (`aas.selectors.active_aas_key`): a connector that pins the certificate is
    given a copy right after `rotate_keys --purpose aas` (a `--withdraw` above all), and this
    process's 30 s memory of the active key would hand out the key a rotation in another
    process has just retired or withdrawn, which signs no handshake any more."""
    kid = SigningKey.objects.signing(KeyPurpose.AAS).values_list("kid", flat=True).first()
    return get_active_key(KeyPurpose.AAS, expected_kid=kid).certificate_pem


class NoStagedKey(LookupError):
    """No key of the purpose is staged (`rotate_keys --purpose … --stage` makes one)."""


def aas_next_certificate_pem(*, with_active: bool = False) -> str:
    """The staged AAS key's certificate (`manage.py aas_certificate --next`), after the active
    one with `with_active` (`--with-next`: the file of a connector that pins the certificate,
    across the coming rotation). Both are read in one statement, so a rotation running at the
    same moment cannot pair the certificate it retires with none, or the staged one twice.
    Raises NoStagedKey."""
    rows = list(
        SigningKey.objects.filter(purpose=KeyPurpose.AAS, retired_at__isnull=True).values_list(
            "activated_at", "certificate_pem"
        )
    )
    staged = [pem for activated, pem in rows if activated is None]
    if not staged:
        raise NoStagedKey("no AAS key is staged")
    signing = [pem for activated, pem in rows if activated is not None]
    return "".join([*signing, *staged] if with_active else staged)
