"""The PostgreSQL health check without a round trip: a healthy idle connection passes with no
query; a connection the server ended is caught and replaced before use."""

from __future__ import annotations

import time

import pytest
from django.db import close_old_connections, connection, connections

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql]


def _statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # make sure the connection exists
    return 0


def _usable_without_query() -> tuple[bool, list[str]]:
    sent: list[str] = []
    raw = connection.connection
    original = raw.cursor

    def spying_cursor(*args, **kwargs):  # type: ignore[no-untyped-def]
        cursor = original(*args, **kwargs)
        execute = cursor.execute

        def spy(query, *a, **k):  # type: ignore[no-untyped-def]
            sent.append(str(query))
            return execute(query, *a, **k)

        cursor.execute = spy
        return cursor

    raw.cursor = spying_cursor
    try:
        usable = connection.is_usable()
    finally:
        raw.cursor = original
    return usable, sent


def test_the_project_uses_the_backend():
    assert connection.settings_dict["ENGINE"] == "trustregistry.common.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_healthy_idle_connection_needs_no_query():
    _statements()
    usable, sent = _usable_without_query()
    assert usable and sent == []


def test_open_transaction_gets_the_stock_check():
    _statements()
    connection.set_autocommit(False)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        usable, sent = _usable_without_query()
    finally:
        connection.rollback()
        connection.set_autocommit(True)
    assert usable and sent == ["SELECT 1"]


def test_terminated_connection_is_detected_and_replaced():
    _statements()
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    # The server's goodbye reaches the socket shortly (the backend is signalled).
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert connection.is_usable() is False

    # What Django does at the start of a request with CONN_HEALTH_CHECKS: the dead
    # connection is closed and the next query runs on a new one.
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
    close_old_connections()


def test_closed_connection_is_unusable():
    _statements()
    connection.connection.close()
    assert connection.is_usable() is False
    connection.close()
