"""Django's PostgreSQL backend with a health check that costs no round trip while the
connection shows no sign of trouble.

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
Used by settings.DATABASES whenever the database is PostgreSQL.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
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
