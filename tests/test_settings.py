"""Settings read from the environment: a CACHE_URL that parses but cannot be used stops every
`manage.py` command with one line naming it (it used to pass `check` and fail at the first
cache use: a traceback, or a 500 from every token request while /readyz answered 200)."""

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.test_checks import _manage
from tests.test_wsgi import _import_wsgi, _python


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:notaport/0",  # passed check; every token request answered 500
        "redis://127.0.0.1:99999/0",
        "redis://:s3cret-pw@127.0.0.1:6379/0,redis://127.0.0.1:x/0",
        "memcache://127.0.0.1:11211",  # a class Django no longer has
        "pymemcache://127.0.0.1:11211",  # a client package that is not installed: a traceback
        "redis://127.0.0.1:6379/0?socket_timeout=abc",  # a TypeError at the first cache use
        "redis://127.0.0.1:6379/0?socket_connect_timeout=0",
    ],
)
def test_a_cache_url_that_cannot_be_used_is_one_line_from_manage_py(url):
    done = _manage("check", DJANGO_DEBUG="1", CACHE_URL=url)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("Configuration error: CACHE_URL"), done.stderr
    assert "Traceback" not in done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/10",
        "rediss://:pw@127.0.0.1:6380/0",
        "redis://127.0.0.1:6379/0,redis://127.0.0.1:6380/0",
        "redis://127.0.0.1:6379/0?socket_timeout=0.5&socket_connect_timeout=2",
        "locmemcache://",
    ],
)
def test_usable_cache_urls_pass(url):
    done = _manage("check", DJANGO_DEBUG="1", CACHE_URL=url)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "redis://admin:s3cret/pw@redis.example.com:6379/0",  # an unencoded "/" in the password
        "redis://127.0.0.1:6379/0,redis://:s3cret/pw@127.0.0.2:6379/0",
    ],
)
def test_a_malformed_cache_url_never_prints_its_password(url):
    done = _manage("check", DJANGO_DEBUG="1", CACHE_URL=url)
    assert done.returncode == 1 and "Configuration error: CACHE_URL" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
    served = _import_wsgi(DJANGO_DEBUG="1", CACHE_URL=url)  # the server's log: the traceback
    assert served.returncode != 0 and "CACHE_URL cannot be used" in served.stderr
    assert "s3cret" not in served.stderr + served.stdout


@contextlib.contextmanager
def _silent_database() -> Iterator[str]:
    """A DATABASE_URL whose server accepts connections and never answers: a PostgreSQL that
    is overloaded, stopped (SIGSTOP) or behind a network that drops its replies (the kernel
    completes the TCP handshake on a listening socket nobody accepts from)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"postgres://registry@127.0.0.1:{listener.getsockname()[1]}/registry"


# The WSGI application, as gunicorn loads it, asked through Django's test client; prints one
# JSON line per request: path, status, content type, seconds.
_SERVE = """
import json, sys, time
import trustregistry.wsgi
from django.test import Client

client = Client(HTTP_HOST="127.0.0.1")
for path in sys.argv[1:]:
    started = time.monotonic()
    if path == "/id/connect/token":
        answer = client.post(path, {"grant_type": "client_credentials", "client_id": "nobody",
                                    "client_secret": "x"})
    else:
        answer = client.get(path)
    print(json.dumps([path, answer.status_code, answer["Content-Type"],
                      time.monotonic() - started]))
"""


def _serve(*paths: str, **env_changes: str) -> list[list[Any]]:
    done = _python(_SERVE, *paths, timeout=40, **env_changes)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_database_that_never_answers_is_a_503_within_the_connect_timeout():
    # psycopg waited 130 s to connect: gunicorn killed the worker at 30 s, an HTML 500 and a
    # traceback for /readyz and every token request, not the 503 JSON of an outage.
    with _silent_database() as url:
        answers = _serve(
            "/readyz",
            "/id/connect/token",
            DATABASE_URL=url,
            DJANGO_DEBUG="1",
            DJANGO_DB_CONNECT_TIMEOUT="2",
        )
    for path, status, content_type, seconds in answers:
        assert (status, content_type) == (503, "application/json"), path
        assert seconds < 10, (path, seconds)


def test_a_command_on_a_database_that_never_answers_is_one_line_within_the_connect_timeout():
    # It used to wait 130 s (a cron job, migrate) before saying anything.
    with _silent_database() as url:
        started = time.monotonic()
        done = _manage(
            "purge_expired",
            timeout=30,
            DATABASE_URL=url,
            DJANGO_DEBUG="1",
            DJANGO_DB_CONNECT_TIMEOUT="2",
        )
    assert time.monotonic() - started < 20
    assert done.returncode == 1
    assert done.stderr.startswith("Database error: ") and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_request_waiting_on_a_lock_is_a_503_within_the_statement_timeout():
    # A query behind a lock (a long migration, a stuck transaction) waited until gunicorn
    # killed the worker at 30 s: an HTML 500 and a traceback.
    import psycopg
    from django.db import connection

    db = connection.settings_dict
    url = "postgres://{}:{}@{}:{}/{}".format(
        *(quote(str(db[key] or ""), safe="") for key in ("USER", "PASSWORD", "HOST", "PORT")),
        db["NAME"],
    )
    with psycopg.connect(url) as holder:
        holder.execute("LOCK TABLE registry_trustedapplication IN ACCESS EXCLUSIVE MODE")
        try:
            answers = _serve(
                "/id/connect/token",
                DATABASE_URL=url,
                DJANGO_DEBUG="1",
                DJANGO_DB_STATEMENT_TIMEOUT="1",
            )
        finally:
            holder.rollback()
    [(path, status, content_type, seconds)] = answers
    assert (status, content_type) == (503, "application/json")
    assert seconds < 10


@pytest.mark.parametrize(("connect", "statement"), [("0", "10"), ("-1", "10"), ("5", "-1")])
def test_database_timeouts_out_of_range_are_configuration_errors(connect, statement):
    done = _manage(
        "check",
        DJANGO_DEBUG="1",
        DJANGO_DB_CONNECT_TIMEOUT=connect,
        DJANGO_DB_STATEMENT_TIMEOUT=statement,
    )
    assert done.returncode == 1 and "trustregistry.E009" in done.stderr, done.stderr


def _database_options(url: str) -> dict[str, Any]:
    done = _python(
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS']))",
        timeout=30,
        DATABASE_URL=url,
        DJANGO_DB_STATEMENT_TIMEOUT=None,
    )
    assert done.returncode == 0, done.stderr
    options: dict[str, Any] = json.loads(done.stdout)
    return options


def test_a_statement_timeout_in_the_database_url_wins_as_its_connect_timeout_does():
    # The default's "-c statement_timeout=10s" was appended after the URL's own, and
    # PostgreSQL applies the last: an operator's 60 s (or 0, none) silently became 10 s.
    base = "postgres://registry@127.0.0.1:5432/registry"
    options = _database_options(f"{base}?options=-c%20statement_timeout%3D60s&connect_timeout=3")
    assert options == {"options": "-c statement_timeout=60s", "connect_timeout": 3}
    # Other server options are kept, and the default is added to them.
    options = _database_options(f"{base}?options=-c%20search_path%3Dregistry")
    assert options["options"] == "-c search_path=registry -c statement_timeout=10s"
