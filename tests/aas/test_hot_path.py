"""The handshake's fast paths: one-statement writes (PostgreSQL, outside a transaction), the
record and active kid read in one compiled query, and kept-alive connections to connectors.
Each must behave exactly as the slower path it replaces."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import ThreadingHTTPServer

import jwt
import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from connector.keys import public_key_to_jwk
from tests import factories
from tests.connector.servers import KeepAliveConnector
from trustregistry.aas import outbound, services, writes
from trustregistry.aas.errors import ApplicationDisabled, ConnectorUnreachable, HandshakeFailed
from trustregistry.aas.models import PendingHandshake
from trustregistry.aas.selectors import ACTIVE_KID_ATTRIBUTE, connector_application_get
from trustregistry.common import clock
from trustregistry.keys import services as keys_services
from trustregistry.keys.models import KeyPurpose
from trustregistry.keys.services import rotate_key


def _record(app_key, uri="fast.example.com/app", url="http://127.0.0.1:9/authenticate"):
    return factories.TrustedApplicationFactory(
        client_id=uri, connector_url=url, public_keys=[public_key_to_jwk(app_key.public_key())]
    )


def _store(record, nonce, now):
    writes.store_pending(
        nonce=nonce,
        application_id=record.pk,
        context="c",
        created=now,
        expires_at=now + dt.timedelta(seconds=300),
    )


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_transaction", [False, True])
def test_single_use_writes_behave_the_same_in_and_outside_a_transaction(app_key, in_transaction):
    record = _record(app_key)
    now = clock.now()

    def run(func, **kwargs):
        if in_transaction:
            with transaction.atomic():
                return func(**kwargs)
        return func(**kwargs)

    for nonce in ("N1", "N2", "N3"):
        run(
            writes.store_pending,
            nonce=nonce,
            application_id=record.pk,
            context="ctx",
            created=now,
            expires_at=now + dt.timedelta(seconds=300),
        )
    row = PendingHandshake.objects.get(nonce="N1")
    assert (row.application_id, row.context, row.used_at) == (record.pk, "ctx", None)
    assert row.created == now and row.expires_at == now + dt.timedelta(seconds=300)

    consume = writes.consume_pending
    # the winner learns the record's connector URL and keys as they are now
    accepted = run(consume, nonce="N1", application_id=record.pk, now=now)
    assert accepted == writes.AcceptedRecord(record.connector_url, record.public_keys)
    assert PendingHandshake.objects.get(nonce="N1").used_at == now
    # used, of another application, expired, unknown: refused
    assert run(consume, nonce="N1", application_id=record.pk, now=now) is None
    assert run(consume, nonce="N2", application_id=record.pk + 1000, now=now) is None
    late = now + dt.timedelta(seconds=301)
    assert run(consume, nonce="N2", application_id=record.pk, now=late) is None
    assert run(consume, nonce="nope", application_id=record.pk, now=now) is None
    # a disabled record stops the reply; enabled again, the nonce still counts once
    type(record).objects.filter(pk=record.pk).update(is_enabled=False)
    assert run(consume, nonce="N3", application_id=record.pk, now=now) is None
    # ... and the record as it is by then
    type(record).objects.filter(pk=record.pk).update(
        is_enabled=True, public_keys=[], connector_url=""
    )
    accepted = run(consume, nonce="N3", application_id=record.pk, now=now)
    assert accepted == writes.AcceptedRecord("", [])
    assert PendingHandshake.objects.filter(used_at__isnull=False).count() == 2


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_each_write_is_one_statement_committed_at_once(app_key):
    """PostgreSQL and SQLite alike: the ORM's BEGIN / write / read / COMMIT is one statement,
    committed when it returns, holding no lock afterwards (an UPDATE ... RETURNING on SQLite
    keeps its write lock until every row is read)."""
    record = _record(app_key)
    now = clock.now()
    with CaptureQueriesContext(connection) as stored:
        _store(record, "S1", now)
    with CaptureQueriesContext(connection) as consumed:
        accepted = writes.consume_pending(nonce="S1", application_id=record.pk, now=now)
    assert accepted == writes.AcceptedRecord(record.connector_url, record.public_keys)
    assert len(stored.captured_queries) == 1 and len(consumed.captured_queries) == 1
    assert not connection.in_atomic_block
    if connection.vendor == "sqlite":
        assert not connection.connection.in_transaction
    else:
        assert connection.connection.info.transaction_status == 0  # psycopg: IDLE
    other = connections.create_connection("default")
    if connection.vendor == "sqlite":
        other.settings_dict["OPTIONS"] = {**other.settings_dict["OPTIONS"], "timeout": 0.2}
    try:
        with other.cursor() as cursor:
            table = PendingHandshake._meta.db_table
            cursor.execute(f"SELECT used_at IS NOT NULL FROM {table} WHERE nonce = 'S1'")  # noqa: S608
            assert cursor.fetchone()[0]
            # No lock left behind: another connection writes at once.
            cursor.execute(f"DELETE FROM {table} WHERE nonce = 'S1'")  # noqa: S608
    finally:
        other.close()
    assert writes.consume_pending(nonce="S1", application_id=record.pk, now=now) is None


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)
def test_a_sqlite_without_returning_consumes_through_the_orm(app_key, monkeypatch):
    """UPDATE ... RETURNING came with SQLite 3.35; Django 5.2 runs on 3.31 (Ubuntu 20.04's
    Python links 3.31.1), where the precompiled consume is a syntax error: every handshake
    would fail. There the ORM's conditional UPDATE does the consume, as before."""
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    record = _record(app_key)
    now = clock.now()
    _store(record, "OLD1", now)
    with CaptureQueriesContext(connection) as consumed:
        accepted = writes.consume_pending(nonce="OLD1", application_id=record.pk, now=now)
    assert accepted == writes.AcceptedRecord(record.connector_url, record.public_keys)
    assert not any("RETURNING" in q["sql"].upper() for q in consumed.captured_queries)
    assert writes.consume_pending(nonce="OLD1", application_id=record.pk, now=now) is None


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_relaxed_commit_does_not_leak_into_the_connection(app_key):
    record = _record(app_key)
    now = clock.now()
    assert _synchronous_commit() == "on"
    writes.store_pending(
        nonce="L1", application_id=record.pk, context="", created=now, expires_at=now
    )
    assert _synchronous_commit() == "on"
    writes.consume_pending(nonce="L1", application_id=record.pk, now=now)
    assert _synchronous_commit() == "on"
    # committed: visible from another connection
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {PendingHandshake._meta.db_table} WHERE nonce = %s",  # noqa: S608
                ["L1"],
            )
            assert cursor.fetchone()[0] == 1
    finally:
        other.close()


@pytest.mark.django_db
def test_lookup_reads_the_record_fresh_every_time(app_key):
    record = _record(app_key)
    first = connector_application_get(application_uri=record.client_id)
    assert first is not None and first.pk == record.pk and first.is_enabled
    assert first.public_keys == record.public_keys
    assert first.connector_url == record.connector_url
    type(record).objects.filter(pk=record.pk).update(
        is_enabled=False, connector_url="http://127.0.0.1:10/authenticate"
    )
    again = connector_application_get(application_uri=record.client_id)
    assert again is not None and not again.is_enabled
    assert again.connector_url == "http://127.0.0.1:10/authenticate"
    with pytest.raises(ApplicationDisabled):
        services.begin_handshake(application=again, context="c")
    assert connector_application_get(application_uri=record.client_id.upper()) is None
    assert connector_application_get(application_uri="other.example.com/app") is None


@pytest.mark.django_db
def test_lookup_carries_the_active_kid_and_a_rotation_takes_effect_at_once(app_key):
    record = _record(app_key)
    none_yet = connector_application_get(application_uri=record.client_id)
    assert getattr(none_yet, ACTIVE_KID_ATTRIBUTE) is None  # no AAS key yet: created now
    services.begin_handshake(application=none_yet, context="c")
    first = connector_application_get(application_uri=record.client_id)
    attempt = services.begin_handshake(application=first, context="c")
    kid = jwt.get_unverified_header(attempt.signed_token)["kid"]
    assert getattr(first, ACTIVE_KID_ATTRIBUTE) == kid

    new = rotate_key(purpose=KeyPurpose.AAS)
    second = connector_application_get(application_uri=record.client_id)
    assert getattr(second, ACTIVE_KID_ATTRIBUTE) == new.kid != kid
    attempt = services.begin_handshake(application=second, context="c")
    assert jwt.get_unverified_header(attempt.signed_token)["kid"] == new.kid
    # a record from elsewhere (the admin) asks for the active key itself
    attempt = services.begin_handshake(application=record, context="c")
    assert jwt.get_unverified_header(attempt.signed_token)["kid"] == new.kid


@pytest.mark.django_db
def test_a_rotation_by_another_process_takes_effect_at_once(app_key):
    # `manage.py rotate_keys` runs in its own process: the app server's 30 s cache of the
    # active key still holds the retired one, which must not sign the next handshake.
    record = _record(app_key)
    old = services.begin_handshake(application=record, context="c")
    kept = dict(keys_services._active_key_cache)
    new = rotate_key(purpose=KeyPurpose.AAS)
    keys_services._active_key_cache.update(kept)  # this server's cache, from before
    fresh = connector_application_get(application_uri=record.client_id)
    attempt = services.begin_handshake(application=fresh, context="c")
    assert jwt.get_unverified_header(attempt.signed_token)["kid"] == new.kid
    assert jwt.get_unverified_header(old.signed_token)["kid"] != new.kid
    keys_services._active_key_cache.update(kept)
    attempt = services.begin_handshake(application=record, context="c")  # the admin's button
    assert jwt.get_unverified_header(attempt.signed_token)["kid"] == new.kid


@pytest.fixture
def keep_alive_connector(app_key):
    handler = type(
        "Handler", (KeepAliveConnector,), {"app_key": app_key, "connections": [], "requests": 0}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    outbound.close_connections()  # fresh connections for this thread
    try:
        yield handler, f"http://127.0.0.1:{server.server_port}/authenticate"
    finally:
        outbound.close_connections()
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_connections_to_a_connector_are_kept_alive(app_key, keep_alive_connector):
    handler, url = keep_alive_connector
    record = _record(app_key, url=url)
    for _ in range(3):
        services.run_handshake(application=record, context="c")
    assert len(handler.connections) == 1


@pytest.mark.django_db
def test_an_answer_too_large_is_refused_and_its_connection_not_reused(
    app_key, keep_alive_connector
):
    handler, url = keep_alive_connector
    record = _record(app_key, url=url)
    handler.big = services.MAX_REPLY_BYTES + 10
    with pytest.raises(HandshakeFailed, match="too large"):
        services.run_handshake(application=record, context="c")
    handler.big = 0
    services.run_handshake(application=record, context="c")
    assert len(handler.connections) == 2


@pytest.mark.django_db
def test_a_connection_the_connector_closed_is_not_reused(app_key, keep_alive_connector):
    handler, url = keep_alive_connector
    handler.close_silently = True
    record = _record(app_key, url=url)
    for _ in range(3):
        services.run_handshake(application=record, context="c")
    assert len(handler.connections) == 3


@pytest.mark.django_db
def test_a_kept_alive_connection_dropped_unanswered_is_retried_once(app_key, keep_alive_connector):
    handler, url = keep_alive_connector
    handler.drop = (2,)  # the second request, the first on the reused connection
    record = _record(app_key, url=url)
    services.run_handshake(application=record, context="c")
    services.run_handshake(application=record, context="c")
    assert handler.requests == 3 and len(handler.connections) == 2


@pytest.mark.django_db
def test_a_connector_that_never_answers_is_tried_twice_then_unreachable(
    app_key, keep_alive_connector
):
    handler, url = keep_alive_connector
    handler.drop = (-1,)
    record = _record(app_key, url=url)
    with pytest.raises(ConnectorUnreachable):
        services.run_handshake(application=record, context="c")
    assert handler.requests == 2


def _lookup_and_store(uri: str, nonce: str):  # type: ignore[no-untyped-def]
    now = clock.now()
    return writes.lookup_and_store(
        application_uri=uri,
        nonce=nonce,
        context="ctx",
        created=now,
        expires_at=now + dt.timedelta(seconds=300),
    )


@pytest.mark.django_db(transaction=True)
def test_lookup_and_store_reads_what_the_lookup_reads_and_stores_for_an_enabled_record(app_key):
    record = _record(app_key)
    found, stored = _lookup_and_store(record.client_id, "S1")
    reference = connector_application_get(application_uri=record.client_id)
    assert found is not None and reference is not None
    for name in ("pk", "client_id", "is_enabled", "connector_url", "public_keys"):
        assert getattr(found, name) == getattr(reference, name)
    assert getattr(found, ACTIVE_KID_ATTRIBUTE) == getattr(reference, ACTIVE_KID_ATTRIBUTE)
    # one statement on PostgreSQL outside a transaction; the lookup alone elsewhere
    assert stored is (connection.vendor == "postgresql")
    if stored:
        pending = PendingHandshake.objects.get(nonce="S1")
        assert (pending.application_id, pending.context) == (record.pk, "ctx")
        assert pending.used_at is None
    else:
        assert not PendingHandshake.objects.exists()

    type(record).objects.filter(pk=record.pk).update(is_enabled=False)
    found, stored = _lookup_and_store(record.client_id, "S2")
    assert found is not None and not found.is_enabled and stored is False
    assert _lookup_and_store("unknown.example.com/app", "S3") == (None, False)
    assert _lookup_and_store(record.client_id.upper(), "S4") == (None, False)
    assert set(PendingHandshake.objects.values_list("nonce", flat=True)) <= {"S1"}


@pytest.mark.django_db(transaction=True)
def test_resolve_stores_one_nonce_per_attempt_and_consumes_it(app_key, keep_alive_connector):
    handler, url = keep_alive_connector
    record = _record(app_key, url=url)
    for _ in range(2):
        assert services.resolve_connector(url=f"app://{record.client_id}", context="T1").url == url
    rows = list(PendingHandshake.objects.filter(application=record))
    assert len(rows) == 2 and all(r.used_at is not None and r.context == "T1" for r in rows)
    type(record).objects.filter(pk=record.pk).update(is_enabled=False)
    with pytest.raises(ApplicationDisabled):
        services.resolve_connector(url=f"app://{record.client_id}", context="T1")
    assert PendingHandshake.objects.filter(application=record).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_nonce_is_stored_once_and_its_table_has_no_index_nothing_uses(app_key):
    from django.db import IntegrityError

    record = _record(app_key)
    now = clock.now()
    kwargs = dict(application_id=record.pk, context="", created=now, expires_at=now)
    writes.store_pending(nonce="U1", **kwargs)
    with pytest.raises(IntegrityError):
        writes.store_pending(nonce="U1", **kwargs)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, PendingHandshake._meta.db_table
        )
    indexes = sorted(
        tuple(c["columns"])
        for c in constraints.values()
        if c["index"] or c["unique"] or c["primary_key"]
    )
    # Each handshake writes every index of this table: the id, the nonce (unique, looked up by
    # equality only: no LIKE index beside it), the record (cascading deletes) and the expiry
    # (purge). The foreign key is no index.
    assert indexes == [("application_id",), ("expires_at",), ("id",), ("nonce",)]


def _row_lock_marks(record) -> str:
    """The record row's xmax: the last transaction that updated, deleted or locked it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT xmax FROM {type(record)._meta.db_table} WHERE id = %s",  # noqa: S608
            [record.pk],
        )
        return str(cursor.fetchone()[0])


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_handshake_writes_nothing_to_the_records_row(app_key):
    """A foreign-key constraint would lock the record's row (FOR KEY SHARE) in every
    handshake's commit: a write to its page, shared by every server's handshakes."""
    record = _record(app_key)
    before = _row_lock_marks(record)  # creating its related rows may have locked it
    now = clock.now()
    found, stored = writes.lookup_and_store(
        application_uri=record.client_id,
        nonce="X1",
        context="",
        created=now,
        expires_at=now + dt.timedelta(seconds=60),
    )
    assert found is not None and stored
    writes.store_pending(
        nonce="X2",
        application_id=record.pk,
        context="",
        created=now,
        expires_at=now + dt.timedelta(seconds=60),
    )
    assert writes.consume_pending(nonce="X1", application_id=record.pk, now=now)
    assert _row_lock_marks(record) == before


@pytest.mark.django_db(transaction=True)
def test_deleting_a_record_deletes_its_pending_handshakes(app_key):
    record = _record(app_key)
    other = _record(app_key, uri="other.example.com/app")
    now = clock.now()
    for nonce, app in (("D1", record), ("D2", record), ("D3", other)):
        _store(app, nonce, now)
    record.delete()
    assert list(PendingHandshake.objects.values_list("nonce", flat=True)) == ["D3"]
