from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from tests import factories

INTEROP = Path(__file__).resolve().parent.parent.parent / "shared" / "interop"


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Tests of PostgreSQL-only mechanisms (its own backend, per-statement asynchronous commit)
    run in the PostgreSQL pass (`.ci/run` runs the suite on both databases), tests of
    SQLite-only ones (the embedded default's own statements) in the SQLite pass; each pass
    leaves the other's out of the run (deselected, not skipped), and says how many."""
    from django.conf import settings

    on_sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    other = "postgresql" if on_sqlite else "sqlite"
    kept = [item for item in items if item.get_closest_marker(other) is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """pytest-django's, and before the test database is dropped, the sessions that request
    threads of Django's live server (browser tests: Chromium keeps connections alive) may
    still hold on PostgreSQL are ended, so the DROP is not refused and no database is left
    behind."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


def clear_own_cache() -> None:
    """Empty this test process's part of the cache. With Redis, `cache.clear()` would empty
    the whole database, the other parallel workers' throttle counters included."""
    from django.core.cache import cache

    client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client is None:  # in-process memory: this process's alone
        cache.clear()
        return
    redis = client(write=True)
    keys = list(redis.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        redis.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    """Each test starts with no throttle count: the API's Basic failures and the sign-in page's
    share an address-wide count, and most tests call from 127.0.0.1."""
    clear_own_cache()


@pytest.fixture(autouse=True)
def _fresh_key_caches():  # type: ignore[no-untyped-def]
    """Each test starts with an empty database, so no process-level key cache may outlive it."""
    from trustregistry.keys.services import clear_active_key_cache, clear_public_key_cache

    clear_active_key_cache()
    clear_public_key_cache()
    yield
    clear_active_key_cache()
    clear_public_key_cache()


@pytest.fixture(autouse=True)
def _default_language():  # type: ignore[no-untyped-def]
    """Each test starts and ends in the default language. LocaleMiddleware activates a
    request's language (Accept-Language: bg) in the thread that served it and leaves it
    there, and the registry's texts have a Bulgarian catalogue: a test calling them outside a
    request would otherwise read whichever language the test before it asked for."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _cache_not_known_down():  # type: ignore[no-untyped-def]
    """A test that met an unreachable cache leaves the throttle skipping the cache for a few
    seconds in its process (common/throttle.py); the next test must start with it in use."""
    from trustregistry.common import throttle

    throttle._cache_down_until = 0.0
    yield
    throttle._cache_down_until = 0.0


@pytest.fixture
def interop() -> Path:
    """The folder of real vendor data (SuperOffice, ERP.net, RFC vectors)."""
    assert INTEROP.is_dir(), f"interop vectors not found at {INTEROP}"
    return INTEROP


@pytest.fixture
def interop_json(interop):  # type: ignore[no-untyped-def]
    def load(name: str):  # type: ignore[no-untyped-def]
        return json.loads((interop / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def staff_user(db):  # type: ignore[no-untyped-def]
    return factories.StaffUserFactory(username="admin")


@pytest.fixture
def app_factory(db):  # type: ignore[no-untyped-def]
    return factories.TrustedApplicationFactory


@pytest.fixture(scope="session")
def live_server(live_server):  # type: ignore[no-untyped-def]
    """pytest-django's live server, stopped only once its request threads have ended. A thread
    still serving a connection the browser just closed (the last browser test of a worker)
    otherwise closes the shared in-memory SQLite connection after the stop made it unshareable
    again: an unhandled-thread warning at the end of the run, not a failure."""
    import gc
    import threading

    from trustregistry.aas import outbound

    yield live_server
    # A request thread also waits while its client keeps the connection alive: close what this
    # thread kept (the AAS's calls to a connector on the live server) and what tests dropped
    # (a requests session), or the join below times out and the thread ends after the stop.
    outbound.close_connections()
    gc.collect()
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=5)


@pytest.fixture
def browser(monkeypatch):  # type: ignore[no-untyped-def]
    """A real headless Chromium (Debian's package) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are still synchronous and safe. Set for this test only: left set, it failed
    # `check --deploy` (async.E001) in any later test of the same worker.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def captured_request_logs():
    """What the configured console handler of django.server / django.request really writes."""
    stream = io.StringIO()
    found = {
        handler
        for name in ("django.server", "django.request")
        for handler in logging.getLogger(name).handlers
        if type(handler) is logging.StreamHandler  # the configured one, not pytest's capture
    }
    assert found, "the console handler of the request loggers is not configured"
    originals = [(handler, handler.setStream(stream)) for handler in found]
    yield stream
    for handler, original in originals:
        handler.setStream(original)
