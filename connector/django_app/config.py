"""The connector's configuration from Django settings (SPEC section 7), read per request so a
changed setting takes effect without a restart; the expensive parts (reading the private key
file, the JWKS cache) are kept per value."""

from __future__ import annotations

import datetime as dt
import os
import threading

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from connector.keys import KeyFormatError, load_private_key
from connector.service import Connector, RefusalLog
from connector.trust import JwksKeys, PinnedCertificates
from trustregistry.common import clock


class NotConfigured(Exception):
    """The connector settings are missing or unreadable. The message names the setting only."""


_lock = threading.Lock()
_private_keys: dict[tuple[str, float], object] = {}
_pinned: dict[tuple[str, float], PinnedCertificates] = {}
_jwks: dict[str, JwksKeys] = {}


def _mtime(path: str, setting: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError as exc:
        raise NotConfigured(f"{setting} names a file that cannot be read.") from exc


def _private_key(path: str):  # type: ignore[no-untyped-def]
    key = (path, _mtime(path, "CONNECTOR_PRIVATE_KEY_FILE"))
    with _lock:
        if key not in _private_keys:
            try:
                with open(path, "rb") as handle:
                    _private_keys.clear()
                    _private_keys[key] = load_private_key(handle.read(64 * 1024))
            except (OSError, KeyFormatError) as exc:
                raise NotConfigured(
                    "CONNECTOR_PRIVATE_KEY_FILE is not a readable private key."
                ) from exc
        return _private_keys[key]


def _pinned_certificates(path: str) -> PinnedCertificates:
    key = (path, _mtime(path, "CONNECTOR_AAS_CERTIFICATE_FILE"))
    with _lock:
        if key not in _pinned:
            try:
                _pinned.clear()
                _pinned[key] = PinnedCertificates.from_file(path)
            except (OSError, KeyFormatError) as exc:
                raise NotConfigured(
                    "CONNECTOR_AAS_CERTIFICATE_FILE is not a readable certificate."
                ) from exc
        return _pinned[key]


def jwks_keys(url: str) -> JwksKeys:
    with _lock:
        if url not in _jwks:
            if len(_jwks) > 8:
                _jwks.clear()
            try:
                _jwks[url] = JwksKeys(url)
            except ValueError as exc:
                raise NotConfigured("CONNECTOR_AAS_JWKS_URL must be an http(s) URL.") from exc
        return _jwks[url]


def reset_caches() -> None:
    with _lock:
        _private_keys.clear()
        _pinned.clear()
        _jwks.clear()


def _upsert_sql() -> str | None:
    """One statement that inserts the nonce, or replaces an expired row of it, and returns a
    row only then (PostgreSQL; SQLite from 3.35, for RETURNING)."""
    from connector.django_app.models import AnsweredNonce

    if connection.vendor == "sqlite":
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 35):
            return None
    elif connection.vendor != "postgresql":
        return None
    q = connection.ops.quote_name
    table = q(AnsweredNonce._meta.db_table)
    return (
        f"INSERT INTO {table} (nonce, keep_until) VALUES (%s, %s) "  # noqa: S608 - names only
        f"ON CONFLICT (nonce) DO UPDATE SET keep_until = excluded.keep_until "
        f"WHERE {table}.keep_until <= %s RETURNING {table}.id"
    )


_LAST_STORABLE = dt.datetime(9999, 12, 30, tzinfo=dt.UTC).timestamp()


def database_replay_guard(nonce: str, keep_until: float, now: float) -> bool:
    """Remember `nonce` in the database (shared by every server of the connector); False if
    it is remembered and still live. One round trip on PostgreSQL and SQLite; committed with
    the database's normal durability (a lost row would let a replay be answered)."""
    from connector.django_app.models import AnsweredNonce

    # An AAS-signed exp far in the future (10**20) is remembered until the last date a
    # database column holds, not turned into an OverflowError.
    until = dt.datetime.fromtimestamp(min(keep_until, _LAST_STORABLE), tz=dt.UTC)
    current = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    sql = _upsert_sql()
    if sql is not None:
        with connection.cursor() as cursor:
            adapt = connection.ops.adapt_datetimefield_value  # as the ORM stores them
            cursor.execute(sql, [nonce, adapt(until), adapt(current)])
            return cursor.fetchone() is not None
    try:
        with transaction.atomic():
            # An expired row of the same nonce is no longer protection; replace it.
            AnsweredNonce.objects.filter(nonce=nonce, keep_until__lte=current).delete()
            AnsweredNonce.objects.create(nonce=nonce, keep_until=until)
    except IntegrityError:
        return False
    return True


def purge_answered_nonces(*, batch_size: int = 1000) -> int:
    from connector.django_app.models import AnsweredNonce

    ids = list(
        AnsweredNonce.objects.filter(keep_until__lte=clock.now()).values_list("id", flat=True)[
            :batch_size
        ]
    )
    return AnsweredNonce.objects.filter(id__in=ids).delete()[0] if ids else 0


# One for the process: the connector itself is built anew for every request (settings and
# files are read each time), its refusal log must count across them.
_REFUSAL_LOG = RefusalLog()


def current_connector() -> Connector:
    uri = settings.CONNECTOR_APPLICATION_URI
    key_file = settings.CONNECTOR_PRIVATE_KEY_FILE
    issuer = settings.CONNECTOR_TRUSTED_ISSUER
    cert_file = settings.CONNECTOR_AAS_CERTIFICATE_FILE
    jwks_url = settings.CONNECTOR_AAS_JWKS_URL
    missing = [
        name
        for name, value in (
            ("CONNECTOR_APPLICATION_URI", uri),
            ("CONNECTOR_PRIVATE_KEY_FILE", key_file),
            ("CONNECTOR_TRUSTED_ISSUER", issuer),
        )
        if not value
    ]
    if missing:
        raise NotConfigured(f"Missing setting: {', '.join(missing)}.")
    if not cert_file and not jwks_url:
        raise NotConfigured("Set CONNECTOR_AAS_CERTIFICATE_FILE or CONNECTOR_AAS_JWKS_URL.")
    keys = _pinned_certificates(cert_file) if cert_file else jwks_keys(jwks_url)
    try:
        return Connector(
            application_uri=uri,
            private_key=_private_key(key_file),  # type: ignore[arg-type]
            trusted_issuer=issuer,
            keys=keys,
            replay_guard=database_replay_guard,
            refusal_log=_REFUSAL_LOG,
        )
    except (KeyFormatError, ValueError) as exc:
        raise NotConfigured("CONNECTOR_PRIVATE_KEY_FILE must hold an RSA private key.") from exc
