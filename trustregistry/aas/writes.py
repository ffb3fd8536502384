"""The two writes that make a connector's reply single-use, each ONE database round trip
(the first shared with the record's lookup).

On PostgreSQL, outside a transaction, each is a single statement that is its own transaction
and commits with `synchronous_commit` off for that transaction only: the statement calls
`set_config('synchronous_commit', 'off', true)` (what `SET LOCAL` does) in a one-row
subquery, so the setting ends with the statement's own transaction and the connection's other
work is untouched. This replaces BEGIN / SET LOCAL / write / COMMIT (four round trips) with
one. A crash can lose only the last moments of such commits, which fails safe: a lost pending
nonce fails the handshake under way, a lost "used" mark belongs to a reply already accepted
(and the SignedToken has expired 300 s later anyway).

`lookup_and_store` reads the record (with the active AAS kid) and stores the pending nonce in
the same statement, a CTE whose INSERT runs only for an existing, enabled record: a resolve
asks the database twice in all, once before the call to the connector and once after it.
`consume_pending`, the second, also answers the record's connector URL and public keys as they
are when the reply is accepted, so a change made while the connector worked is seen.

On SQLite (the embedded default), outside a transaction, the two writes are also single
precompiled statements in autocommit, each its own transaction under SQLite's one write lock
(the consume's RETURNING reads the record through subqueries: SQLite's RETURNING cannot name
an UPDATE's FROM tables; before SQLite 3.35, which has no RETURNING, the ORM consumes); the
record is read on its own before the nonce is stored (SQLite has no INSERT inside a WITH).
The ORM built and compiled these writes on every handshake, which cost more than the rest of
the handshake's database work (bench/resolve.py).

Inside a caller's transaction (tests, an atomic request), the ORM does the same writes and the
caller's transaction keeps its own durability.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef

from trustregistry.aas import selectors
from trustregistry.aas.models import PendingHandshake
from trustregistry.common.db import prepared_cursor, relaxed_durability
from trustregistry.registry.models import TrustedApplication

_RELAXED = "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"


def _one_statement() -> bool:
    """The record's lookup and the nonce's INSERT as one statement (PostgreSQL only)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _precompiled(*, returning: bool = False) -> bool:
    """Each write as one precompiled statement, its own transaction. `returning`: the
    statement answers rows (UPDATE ... RETURNING), which SQLite knows from 3.35 only; Django
    runs on 3.31, where the ORM does the write."""
    if connection.in_atomic_block:
        return False
    if connection.vendor == "sqlite":
        return not returning or connection.features.can_return_columns_from_insert
    return connection.vendor == "postgresql"


def _when(value: dt.datetime) -> Any:
    # The column's database form: SQLite compares naive UTC text, as the ORM writes it.
    return connection.ops.adapt_datetimefield_value(value)


def _names() -> dict[str, str]:
    q = connection.ops.quote_name
    pending, app = PendingHandshake._meta, TrustedApplication._meta
    # Identifiers come from the models' metadata, quoted; every value is a query parameter.
    return {
        "pending": q(pending.db_table),
        "app": q(app.db_table),
        "app_pk": q(app.pk.column),
        "app_enabled": q(_column(TrustedApplication, "is_enabled")),
        "app_url": q(_column(TrustedApplication, "connector_url")),
        "app_keys": q(_column(TrustedApplication, "public_keys")),
        **{
            name: q(_column(PendingHandshake, name))
            for name in ("nonce", "application", "context", "created", "expires_at", "used_at")
        },
    }


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column
    return field.column


def _insert_into(n: dict[str, str]) -> str:
    # Quoted identifiers from the models' metadata only (S608).
    return (
        f"INSERT INTO {n['pending']} "  # noqa: S608
        f"({n['nonce']}, {n['application']}, {n['context']}, "
        f"{n['created']}, {n['expires_at']}, {n['used_at']})"
    )


_sql: dict[str, str] = {}


def _statement(kind: str) -> str:
    if connection.vendor == "sqlite":
        return _sqlite_statement(kind)
    if kind not in _sql:
        n = _names()
        # Quoted identifiers from the models' metadata only (S608).
        _sql["insert"] = f"{_insert_into(n)} SELECT %s, %s, %s, %s, %s, NULL FROM {_RELAXED}"  # noqa: S608
        # The record joins the UPDATE (UPDATE ... FROM locks no row of it) for its enabled
        # flag and, RETURNING, its connector URL and keys at this moment.
        _sql["consume"] = (
            f"UPDATE {n['pending']} SET {n['used_at']} = %s "  # noqa: S608
            f"FROM {_RELAXED}, {n['app']} "
            f"WHERE {n['pending']}.{n['nonce']} = %s "
            f"AND {n['pending']}.{n['application']} = %s "
            f"AND {n['pending']}.{n['used_at']} IS NULL "
            f"AND {n['pending']}.{n['expires_at']} > %s "
            f"AND {n['app']}.{n['app_pk']} = {n['pending']}.{n['application']} "
            f"AND {n['app']}.{n['app_enabled']} "
            f"RETURNING {n['app']}.{n['app_url']}, {n['app']}.{n['app_keys']}"
        )
    return _sql[kind]


_sqlite_sql: dict[str, str] = {}


def _sqlite_statement(kind: str) -> str:
    if kind not in _sqlite_sql:
        n = _names()
        # Quoted identifiers from the models' metadata only (S608).
        _sqlite_sql["insert"] = f"{_insert_into(n)} VALUES (%s, %s, %s, %s, %s, NULL)"
        record = (
            f"FROM {n['app']} WHERE {n['app']}.{n['app_pk']} = {n['pending']}.{n['application']}"
        )
        _sqlite_sql["consume"] = (
            f"UPDATE {n['pending']} SET {n['used_at']} = %s "  # noqa: S608
            f"WHERE {n['nonce']} = %s AND {n['application']} = %s "
            f"AND {n['used_at']} IS NULL AND {n['expires_at']} > %s "
            f"AND EXISTS (SELECT 1 {record} AND {n['app']}.{n['app_enabled']}) "
            f"RETURNING (SELECT {n['app']}.{n['app_url']} {record}), "
            f"(SELECT {n['app']}.{n['app_keys']} {record})"
        )
    return _sqlite_sql[kind]


def store_pending(
    *, nonce: str, application_id: int, context: str, created: dt.datetime, expires_at: dt.datetime
) -> None:
    """Store (and commit) a pending nonce."""
    if _precompiled():
        with prepared_cursor(connection.alias) as cursor:
            cursor.execute(
                _statement("insert"),
                [nonce, application_id, context, _when(created), _when(expires_at)],
            )
        return
    with transaction.atomic():
        relaxed_durability()
        PendingHandshake.objects.create(
            nonce=nonce,
            application_id=application_id,
            context=context,
            created=created,
            expires_at=expires_at,
        )


@dataclass(frozen=True)
class AcceptedRecord:
    """The record's handshake fields when its reply was accepted (`consume_pending`)."""

    connector_url: str
    public_keys: list[dict[str, Any]]


def consume_pending(*, nonce: str, application_id: int, now: dt.datetime) -> AcceptedRecord | None:
    """Mark the nonce used if it is unused, unexpired, of this application, and the record is
    enabled: one conditional UPDATE, so only one reply per nonce wins on any number of
    servers. The record's connector URL and keys as they are then if this call won, else None.
    """
    if _precompiled(returning=True):
        when = _when(now)
        with prepared_cursor(connection.alias) as cursor:
            cursor.execute(_statement("consume"), [when, nonce, application_id, when])
            # Every row, so the statement has run to its end: SQLite commits an UPDATE ...
            # RETURNING only then (or when the cursor closes).
            rows = cursor.fetchall()
        if not rows:
            return None
        row = rows[0]
        keys = TrustedApplication._meta.get_field("public_keys")
        return AcceptedRecord(
            connector_url=row[0] or "",
            public_keys=keys.from_db_value(row[1], None, connection) or [],  # type: ignore[attr-defined]
        )
    with transaction.atomic():
        relaxed_durability()
        enabled = TrustedApplication.objects.filter(pk=OuterRef("application_id"), is_enabled=True)
        updated = (
            PendingHandshake.objects.filter(
                nonce=nonce, application_id=application_id, used_at__isnull=True, expires_at__gt=now
            )
            .filter(Exists(enabled))
            .update(used_at=now)
        )
        if updated != 1:
            return None
        # In the same transaction: on SQLite it holds the write lock since it began, so no
        # change can come between the two statements; elsewhere one that did is seen here.
        url, public_keys = (
            TrustedApplication.objects.filter(pk=application_id)
            .values_list("connector_url", "public_keys")
            .get()
        )
    return AcceptedRecord(connector_url=url or "", public_keys=public_keys or [])


def lookup_and_store(
    *,
    application_uri: str,
    nonce: str,
    context: str,
    created: dt.datetime,
    expires_at: dt.datetime,
) -> tuple[TrustedApplication | None, bool]:
    """The record as `selectors.connector_application_get` reads it and, where it exists and
    is enabled, its pending nonce stored (and committed): (record or None, stored). Where one
    statement cannot do both (see the module docstring), only the lookup: stored is False
    and the caller stores the nonce with `store_pending`."""
    if not _one_statement():
        return selectors.connector_application_get(application_uri=application_uri), False
    lookup, params = selectors.lookup_sql(application_uri)
    sql = _sql.get("lookup_and_store")
    if sql is None:
        n = _names()
        # The lookup's own SQL (compiled by the ORM) and quoted identifiers only (S608).
        sql = _sql["lookup_and_store"] = (
            f"WITH app AS ({lookup}), stored AS ({_insert_into(n)} "  # noqa: S608
            f"SELECT %s, app.{n['app_pk']}, %s, %s, %s, NULL FROM app, {_RELAXED} "
            f"WHERE app.{n['app_enabled']} RETURNING 1) "
            "SELECT app.*, EXISTS (SELECT 1 FROM stored) FROM app"
        )
    with prepared_cursor(connection.alias) as cursor:
        cursor.execute(sql, [*params, nonce, context, created, expires_at])
        row = cursor.fetchone()
    if row is None:
        return None, False
    return selectors.application_from_row(row[:-1]), bool(row[-1])
