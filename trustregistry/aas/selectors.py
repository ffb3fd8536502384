"""Reads of the AAS: the record and the active signing key's kid in one light query per
handshake (the key itself is parsed once per kid)."""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection
from django.db.models import QuerySet, Subquery

from trustregistry.common.db import prepared_cursor
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import LoadedKey, get_active_key
from trustregistry.registry.models import TrustedApplication

_HANDSHAKE_FIELDS = ("id", "client_id", "is_enabled", "connector_url", "public_keys")

_key_lock = threading.Lock()
_cached_key: LoadedKey | None = None


# Set on records read by `connector_application_get`: the kid of the AAS key active when the
# record was read (None: no active key yet).
ACTIVE_KID_ATTRIBUTE = "handshake_active_aas_kid"


def _active_kids() -> QuerySet[SigningKey]:
    # The signing key only: a staged key is published ahead of its rotation, but signs nothing.
    return SigningKey.objects.signing(KeyPurpose.AAS).order_by("-created", "-id")


def _lookup_queryset(application_uri: str) -> QuerySet[TrustedApplication]:
    active_kid = Subquery(_active_kids().values("kid")[:1])
    return (
        TrustedApplication.objects.only(*_HANDSHAKE_FIELDS)
        .annotate(**{ACTIVE_KID_ATTRIBUTE: active_kid})
        .filter(client_id=application_uri)
        .order_by()
    )


_SENTINEL = "\x00application-uri\x00"
# Per database vendor: the lookup's SQL, its parameters, where the URI goes, the fields' attnames
# and, per field, its column and database converters.
_Compiled = tuple[str, list[Any], int, list[str], list[tuple[Any, list[Any]]]]
_compiled: dict[str, _Compiled] = {}


def _compiled_lookup() -> _Compiled:
    """The ORM builds the query once per process; later lookups only run it. Building a
    queryset costs more than the indexed query itself (≈ 0.5-1 ms against ≈ 0.1 ms)."""
    compiled = _compiled.get(connection.vendor)
    if compiled is None:
        sql, params = _lookup_queryset(_SENTINEL).query.sql_with_params()
        table = TrustedApplication._meta.db_table
        fields = [TrustedApplication._meta.get_field(name) for name in _HANDSHAKE_FIELDS]
        converters = []
        for field in fields:
            column = field.get_col(table)
            own = field.get_db_converters(connection)
            converters.append((column, connection.ops.get_db_converters(column) + own))
        compiled = (
            sql,
            list(params),
            list(params).index(_SENTINEL),
            [field.attname for field in fields],
            converters,
        )
        _compiled[connection.vendor] = compiled
    return compiled


def connector_application_get(*, application_uri: str) -> TrustedApplication | None:
    """Exact, case-sensitive lookup (client_id is unique) with only the fields the handshake
    reads, and, in the same query, the kid of the active AAS key (so a handshake asks the
    database once, not twice, before it stores its nonce). Nothing is cached but the SQL
    and the converters."""
    sql, template, position, _, _ = _compiled_lookup()
    params = list(template)
    params[position] = application_uri
    with prepared_cursor(connection.alias) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else application_from_row(row)


def lookup_sql(application_uri: str) -> tuple[str, list[Any]]:
    """The lookup's SQL and parameters, for a statement that embeds it (aas/writes.py); its
    rows go through `application_from_row`."""
    sql, template, position, _, _ = _compiled_lookup()
    params = list(template)
    params[position] = application_uri
    return sql, params


def application_from_row(row: Any) -> TrustedApplication:
    """A record from a row of the lookup: its fields, then the active kid."""
    _, _, _, attnames, converters = _compiled_lookup()
    values = []
    for (column, convert_all), value in zip(converters, row, strict=False):
        for convert in convert_all:
            value = convert(value, column, connection)
        values.append(value)
    application = TrustedApplication.from_db(connection.alias, attnames, values)
    setattr(application, ACTIVE_KID_ATTRIBUTE, row[len(attnames)])
    return application


_ASK = object()


def active_aas_key(kid: object = _ASK) -> LoadedKey:
    """The active AAS key. The database is asked every time which key is active (one indexed
    query for its kid, or the kid read together with the record: `kid`), so a rotation on any
    server takes effect at once; only the parsed key is reused while the kid stays the same."""
    global _cached_key
    if kid is _ASK:
        kid = _active_kids().values_list("kid", flat=True).first()
    with _key_lock:
        cached = _cached_key
    if cached is not None and kid is not None and cached.kid == kid:
        return cached
    # With the kid the database names, so this process's 30 s cache of the active key cannot
    # keep signing with a key another process has just retired.
    loaded = get_active_key(KeyPurpose.AAS, expected_kid=kid if isinstance(kid, str) else None)
    with _key_lock:
        _cached_key = loaded
    return loaded
