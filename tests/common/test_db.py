"""prepared_cursor: the hot paths' statements prepared once per PostgreSQL connection, an
ordinary cursor everywhere else; ordinary ORM queries are never prepared."""

from __future__ import annotations

import pytest
from django.db import connection

from tests import factories
from tests.oauth.conftest import SECRET, basic
from trustregistry.common.db import prepared_cursor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _persistent_connections(monkeypatch):  # type: ignore[no-untyped-def]
    # As production runs (DJANGO_CONN_MAX_AGE=60); the test settings close after each request.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)


_PROBE = "SELECT %s::integer + 1 AS probe_plus_one"
_PLAIN = "SELECT %s + 1"


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_it_answers_like_an_ordinary_cursor_on_any_database():
    for value in (1, 41):
        with prepared_cursor() as cursor:
            cursor.execute(_PROBE if connection.vendor == "postgresql" else _PLAIN, [value])
            assert cursor.fetchone()[0] == value + 1


@pytest.mark.postgresql
def test_its_statement_is_prepared_once_and_reused():
    for value in range(3):
        with prepared_cursor() as cursor:
            cursor.execute(_PROBE, [value])
            assert cursor.fetchone()[0] == value + 1
    assert [s for s in _prepared() if "probe_plus_one" in s] == [
        "SELECT $1::integer + 1 AS probe_plus_one"
    ]


@pytest.mark.postgresql
def test_ordinary_queries_are_not_prepared():
    for _ in range(10):  # psycopg's own default would prepare from the 5th execution
        with connection.cursor() as cursor:
            cursor.execute("SELECT 2 AS ordinary_query")
    assert not [s for s in _prepared() if "ordinary_query" in s]


@pytest.mark.postgresql
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PREPARED_STATEMENTS", False),  # DJANGO_DB_PREPARED_STATEMENTS=off
        # closed after each request: each statement would be prepared anew, a round trip more
        ("CONN_MAX_AGE", 0),
    ],
)
def test_no_preparation_when_turned_off_or_connections_do_not_persist(monkeypatch, name, value):
    monkeypatch.setitem(connection.settings_dict, name, value)
    for number in range(3):
        with prepared_cursor() as cursor:
            cursor.execute(_PROBE, [number])
            assert cursor.fetchone()[0] == number + 1
    assert not [s for s in _prepared() if "probe_plus_one" in s]


@pytest.mark.postgresql
def test_queries_it_makes_are_still_seen_by_django(django_assert_num_queries):
    with django_assert_num_queries(1), prepared_cursor() as cursor:
        cursor.execute(_PROBE, [1])


@pytest.mark.postgresql
def test_the_token_endpoint_and_the_api_use_prepared_statements(client):
    service_app = factories.ServiceApplicationFactory(
        client_id="svc.example.com/sync", secret=SECRET, scope="update sec"
    )
    token = client.post(
        "/id/connect/token",
        {"grant_type": "client_credentials", "scope": "sec"},
        HTTP_AUTHORIZATION=basic(service_app.client_id, SECRET),
    ).json()["access_token"]
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    statements = " ".join(_prepared())
    assert '"registry_trustedapplication"' in statements  # client authentication
    assert 'INSERT INTO "oauth2_provider_accesstoken"' in statements  # the token row
    assert 'FROM "oauth2_provider_accesstoken"' in statements  # the bearer check


@pytest.mark.postgresql
def test_its_queries_are_logged_with_their_values():
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries, prepared_cursor() as cursor:
        cursor.execute(_PROBE, [7])
    assert queries[0]["sql"] == "SELECT 7::integer + 1 AS probe_plus_one"


@pytest.mark.django_db(transaction=True)
def test_serializing_transactions_outside_one_is_refused():
    # Outside a transaction the advisory lock would end with its own statement: a caller there
    # would believe itself serialized. It was silently a no-op (found by the review).
    from django.db import transaction
    from django.db.transaction import TransactionManagementError
    from django.test.utils import CaptureQueriesContext

    from trustregistry.common.db import serialize_transactions

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        serialize_transactions("test:a")
    assert len(queries) == (1 if connection.vendor == "postgresql" else 0)
    with pytest.raises(TransactionManagementError):
        serialize_transactions("test:a")
