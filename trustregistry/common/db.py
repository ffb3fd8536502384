"""Database helpers shared by the hot paths."""

from __future__ import annotations

from django.db import connection


def relaxed_durability() -> None:
    """PostgreSQL: commit the current transaction without waiting for the WAL flush.

    Only for writes whose loss in a crash fails safe: a lost row makes something *stop*
    working (a pending handshake nonce, a freshly issued client-credentials token the client
    simply requests again), never lets something work that should not. Visibility to other
    sessions and uniqueness are unchanged; only the last few hundred milliseconds of such
    commits can be lost in a server crash. Must be called inside `transaction.atomic()`.
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
