"""Django's PostgreSQL backend with two additions for the hot paths.

**A health check that costs no round trip while the connection shows no sign of trouble.**
`CONN_HEALTH_CHECKS` makes Django check a persistent connection before its first use in each
request; the stock check is `SELECT 1`, one round trip and one statement on the server for
every request that touches the database (half the queries of a bearer-authenticated API call).
A connection the server has ended (restart, `pg_terminate_backend`, idle timeout) leaves its
socket readable: the server's last message or the end of the stream waits there. So:

- a closed or broken connection is unusable, as before;
- an idle connection whose socket has nothing to read is usable, with no query;
- anything else (something to read, a transaction open, the socket not pollable) gets the
  stock `SELECT 1` check, which decides as it always did.

A connection that dies between this check and the query fails as it could after `SELECT 1`.

**Prepared statements for the precompiled hot-path queries** (`prepared_cursor`). The ORM
binds parameters on the client and sends each query as new text, which PostgreSQL parses and
plans every time: for the one-row lookups of every token, introspection and API request that
is most of what the server spends on them. `prepared_cursor()` binds on the server and has
psycopg prepare each statement once per connection, so later executions skip parsing and
planning. Only code that asks for it gets such a cursor (its SQL is fixed and its parameters
typed); everything else keeps Django's default. Off with `DJANGO_DB_PREPARED_STATEMENTS=off`
(a connection pooler in transaction mode older than PgBouncer 1.21 loses them).

Used by settings.DATABASES whenever the database is PostgreSQL.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format, TransactionStatus

_NEVER_AUTOMATICALLY = 2**62


class PreparedCursor(base.ServerBindingCursor):  # type: ignore[name-defined,misc]
    """Server-side binding, every statement prepared (psycopg keeps the most recent 100 per
    connection and re-prepares one it evicted)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs["prepare"] = True
        return super().execute(query, params, **kwargs)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: Any, params: Any) -> Any:
        if isinstance(cursor, PreparedCursor):
            # Bound on the server, so psycopg keeps no client-side text of it: the statement
            # with its parameters quoted in, as Django shows server-side binding's queries.
            try:
                return self.compose_sql(sql, params)
            except psycopg.errors.DataError:
                return sql
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            idle = connection.info.transaction_status == TransactionStatus.IDLE
            readable, _, _ = select.select([connection.pgconn.socket], [], [], 0)
        except (OSError, ValueError, psycopg.Error):
            return bool(super().is_usable())
        if readable or not idle:
            return bool(super().is_usable())
        return True

    def get_new_connection(self, conn_params: Any) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.settings_dict.get("PREPARED_STATEMENTS"):
            # Django turns preparing off (None) for the sake of poolers. Only a PreparedCursor
            # asks for it (ClientCursor, Django's default, never prepares), so a threshold
            # no query reaches means "prepared when asked, never automatically".
            connection.prepare_threshold = _NEVER_AUTOMATICALLY
        return connection

    def prepared_cursor(self) -> Any:
        """A cursor whose statements are prepared on the server (see the module docstring);
        Django's wrapper around it, as `cursor()` gives, so query logging and execute
        wrappers see its queries."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = PreparedCursor(self.connection)
            # As create_cursor: the timezone only where the connection's disagrees.
            tzloader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)  # type: ignore[attr-defined]
            if self.timezone != tzloader.timezone:
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)  # type: ignore[attr-defined]
