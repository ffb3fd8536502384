"""A reply is accepted once, also when two app servers (two threads, two database
connections) receive it at the same moment."""

import threading

import pytest
from django.db import OperationalError, connection

from connector import tokens
from connector.keys import public_key_to_jwk
from tests import factories
from trustregistry.aas import services
from trustregistry.aas.errors import HandshakeFailed
from trustregistry.common import clock


@pytest.mark.django_db(transaction=True)
def test_concurrent_replies_to_one_nonce_are_accepted_once(app_key):
    record = factories.TrustedApplicationFactory(
        client_id="race.example.com/app",
        connector_url="http://127.0.0.1:9/authenticate",
        public_keys=[public_key_to_jwk(app_key.public_key())],
    )
    attempt = services.begin_handshake(application=record, context="c")
    reply = tokens.sign_application_token(
        nonce=attempt.nonce, private_key=app_key, now=clock.now().timestamp()
    )
    servers = 4
    barrier = threading.Barrier(servers)
    outcomes: list[str] = []

    def server():
        try:
            barrier.wait(timeout=10)
            services.complete_handshake(attempt=attempt, reply_token=reply)
            outcomes.append("accepted")
        except HandshakeFailed as exc:
            outcomes.append(exc.message)
        except OperationalError as exc:
            # SQLite's shared in-memory test database reports lock contention at once instead
            # of waiting; the reply is not accepted either way.
            outcomes.append(f"db: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=server) for _ in range(servers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == servers
    assert outcomes.count("accepted") == 1
    refused = [o for o in outcomes if o != "accepted"]
    for outcome in refused:
        assert outcome == "The reply's nonce was already used or has expired." or (
            connection.vendor == "sqlite" and outcome.startswith("db: ") and "locked" in outcome
        ), outcome


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)
def test_on_an_sqlite_file_concurrent_consumes_of_one_nonce_have_one_winner(app_key, tmp_path):
    """The embedded default's consume is one UPDATE ... RETURNING in autocommit. The test
    database lives in memory, where SQLite refuses a second writer at once; `make run`'s lives
    in a file (write-ahead log, writers wait for the lock), as here: a copy of the test database
    with a pending nonce, consumed by eight connections at the same moment, round after round.
    Exactly one of them wins each round and the others see it used."""
    import datetime as dt
    import sqlite3

    from trustregistry.aas import writes

    record = factories.TrustedApplicationFactory(
        client_id="file.example.com/app",
        connector_url="http://127.0.0.1:9/authenticate",
        public_keys=[public_key_to_jwk(app_key.public_key())],
    )
    now = clock.now()
    rounds = 10
    for n in range(rounds):
        writes.store_pending(
            nonce=f"F{n}",
            application_id=record.pk,
            context="c",
            created=now,
            expires_at=now + dt.timedelta(seconds=300),
        )
    path = tmp_path / "registry.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(path) as copy:
        connection.connection.backup(copy)
    consume = writes._statement("consume").replace("%s", "?")
    when = writes._when(now)

    def consumer(nonce: str, barrier: threading.Barrier, wins: list[int]) -> None:
        db = sqlite3.connect(path, timeout=20, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            barrier.wait(timeout=10)
            rows = db.execute(consume, (when, nonce, record.pk, when)).fetchall()
            wins.append(len(rows))
        finally:
            db.close()

    for n in range(rounds):
        barrier = threading.Barrier(8)
        wins: list[int] = []
        threads = [
            threading.Thread(target=consumer, args=(f"F{n}", barrier, wins)) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(wins) == [0] * 7 + [1], (n, wins)
