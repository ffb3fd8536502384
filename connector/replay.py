"""Answered nonces shared by every process of one connector host, in an SQLite file (Python's
own sqlite3, nothing to install or run).

`MemoryReplayGuard` (connector.service) remembers nonces per process, so a connector served by
several worker processes would answer a `SignedToken` replayed to a sibling process. This
guard keeps them in one file that every process opens:

    Connector(..., replay_guard=SqliteReplayGuard("/var/lib/connector/answered.sqlite3"))

or `CONNECTOR_REPLAY_DB=/var/lib/connector/answered.sqlite3` for `from_environ`. One host only:
SQLite's locking needs a local file system (not NFS); connectors on several hosts need a guard
on a shared database (the Django app keeps them in its own database).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

# One statement, atomic across processes: a new nonce is stored; a stored one is taken over
# only when it has expired; otherwise nothing changes and no row counts as changed.
_REMEMBER = (
    "INSERT INTO answered_nonce (nonce, keep_until) VALUES (?, ?) "
    "ON CONFLICT (nonce) DO UPDATE SET keep_until = excluded.keep_until "
    "WHERE answered_nonce.keep_until <= ?"
)
_PURGE_EVERY_SECONDS = 60.0


class SqliteReplayGuard:
    """A `ReplayGuard` (connector.service) in an SQLite file, for several processes on one
    host. Raises ValueError when built if the file cannot be opened or written, so a server
    refuses to start rather than refusing every handshake."""

    def __init__(self, path: str | Path, *, busy_timeout_seconds: float = 5.0):
        self.path = str(path)
        self._timeout = busy_timeout_seconds
        self._local = threading.local()
        self._purged_at: float | None = None
        try:
            connection = self._connection()
            connection.execute(
                "CREATE TABLE IF NOT EXISTS answered_nonce "
                "(nonce TEXT PRIMARY KEY, keep_until REAL NOT NULL) WITHOUT ROWID"
            )
        except sqlite3.Error as exc:
            raise ValueError(f"The replay database cannot be used: {exc}.") from exc

    def _connection(self) -> sqlite3.Connection:
        # sqlite3 connections are not shared between threads; each thread keeps its own.
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=True
            )
            # The write-ahead log lets readers and the one writer go on together, and NORMAL
            # syncs it at checkpoints: a crash of the process loses nothing, a power cut the
            # last moments (tokens that expire within minutes anyway).
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def __call__(self, nonce: str, keep_until: float, now: float) -> bool:
        try:
            connection = self._connection()
            remembered = connection.execute(_REMEMBER, (nonce, keep_until, now)).rowcount == 1
            self._purge(connection, now)
        except sqlite3.Error:
            # A locked or broken file: refusing the handshake is safer than forgetting a nonce.
            return False
        return remembered

    def _purge(self, connection: sqlite3.Connection, now: float) -> None:
        if self._purged_at is not None and now - self._purged_at < _PURGE_EVERY_SECONDS:
            return
        self._purged_at = now
        connection.execute("DELETE FROM answered_nonce WHERE keep_until <= ?", (now,))
