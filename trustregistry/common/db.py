"""Database helpers shared by the hot paths, and the words a log line gives a database error."""

from __future__ import annotations

import zlib
from typing import Any

from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
)
from django.db.transaction import TransactionManagementError


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


def serialize_transactions(name: str) -> None:
    """Hold a lock named `name` until the current transaction ends, so transactions that take
    it run one after another. PostgreSQL: an advisory lock. SQLite already runs one write
    transaction at a time (settings: the write lock is taken when a transaction begins).
    Must be called inside `transaction.atomic()`: outside one the lock would end with the
    statement that took it, so a caller there is a bug, refused rather than left unlocked."""
    if not connection.in_atomic_block:
        raise TransactionManagementError("serialize_transactions() needs transaction.atomic().")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(name.encode())])


def prepared_cursor(alias: str = "default") -> Any:
    """A cursor for a precompiled hot-path statement (fixed SQL, typed parameters): prepared
    once per connection on PostgreSQL when `DATABASES[alias]["PREPARED_STATEMENTS"]` is on and
    connections persist (trustregistry/common/postgresql/base.py), Django's ordinary cursor
    elsewhere. Use it as
    `with prepared_cursor(alias) as cursor:`."""
    wrapper = connections[alias]
    if (
        wrapper.settings_dict.get("PREPARED_STATEMENTS")
        and wrapper.settings_dict.get("CONN_MAX_AGE") != 0
        and hasattr(wrapper, "prepared_cursor")
    ):
        return wrapper.prepared_cursor()
    # A connection closed after every request (CONN_MAX_AGE 0) would prepare each statement
    # anew, one round trip more than sending it: only persistent connections gain.
    return wrapper.cursor()


def outage_cause(exc: BaseException) -> str:
    """The database error in a few words for a log line: its driver's class and the first line
    of its message (`QueryCanceled: canceling statement due to statement timeout` tells a lock
    from an outage); the message's other lines (DETAIL, HINT) can quote data."""
    cause = exc.__cause__ or exc
    first_line = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first_line}" if first_line else type(cause).__name__


def is_outage(exc: BaseException) -> bool:
    """A database error that says the database cannot answer now (refused, dropped, timed
    out), as opposed to a query the database refused: the former is a 503, the latter a bug."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, (IntegrityError, DataError)):
        # A value the database refused: PostgreSQL's message quotes it ("DETAIL:  Key
        # (name)=(connection people) already exists."), so the words below prove nothing.
        return False
    text = str(exc).lower()
    return isinstance(exc, DatabaseError) and ("connection" in text or "could not connect" in text)
