"""Benchmark: the trusted-application admin list and a lookup by URI with 100,000 records.

    .venv/bin/python bench/admin_list.py                 # scratch SQLite file in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tr_bench .venv/bin/python bench/admin_list.py
    BENCH_RECORDS=20000 .venv/bin/python bench/admin_list.py
    BENCH_RECORDS=300 BENCH_LOOKUPS=50 .venv/bin/python bench/admin_list.py   # a quick check

With DATABASE_URL the figures come from a scratch database `test_<name>` that is created and
dropped again (Django's test-database machinery); your data is never touched. Prints the
median of a few runs per case and the number of SQL queries each page costs.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_tmp = tempfile.TemporaryDirectory(prefix="trustregistry-bench-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp.name}/bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustregistry.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

RECORDS = int(os.environ.get("BENCH_RECORDS", "100000"))
BATCH = 5000
RUNS = 5
LOOKUPS = int(os.environ.get("BENCH_LOOKUPS", "2000"))


def load(n: int) -> None:
    from trustregistry.registry.models import ApplicationName, TrustedApplication
    from trustregistry.registry.secrets import hash_secret

    secret_hash = hash_secret("bench")
    for start in range(0, n, BATCH):
        apps = [
            TrustedApplication(
                client_id=f"bench{i:06d}.example.com/app",
                client_type="public" if i % 3 == 0 else "confidential",
                is_enabled=i % 10 != 0,
                scope="update sec" if i % 7 == 0 else "update",
                impersonate_internal_allowed=i % 2 == 0,
                login_urls=[f"https://bench{i:06d}.example.com/cb"],
                source="marketplace" if i % 5 == 0 else "manual",
            )
            for i in range(start, min(n, start + BATCH))
        ]
        apps = TrustedApplication.objects.bulk_create(apps)
        names = [
            ApplicationName(application=a, language="en", name=f"Bench app {a.client_id[5:11]}")
            for a in apps
        ]
        names += [
            ApplicationName(application=a, language="bg", name=f"Тест {a.client_id[5:11]}")
            for a in apps[::2]
        ]
        ApplicationName.objects.bulk_create(names)
        from trustregistry.registry.models import ApplicationSecret

        ApplicationSecret.objects.bulk_create(
            [
                ApplicationSecret(application=a, secret_hash=secret_hash)
                for a in apps
                if a.client_type != "public"
            ]
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed(client: Client, url: str, params: dict[str, str]) -> tuple[float, int, int]:
    client.get(url, params)  # warm caches
    samples = []
    queries = 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url, params)
            samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    rows = response.content.decode().count('class="action-select"')
    return statistics.median(samples) * 1000, queries, rows


def main() -> None:
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        # A file, not Django's in-memory test database: closer to a real deployment.
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{_tmp.name}/bench-test.sqlite3"
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        print(f"database: {connection.vendor} ({test_name}), Django {django.get_version()}")
        start = time.perf_counter()
        load(RECORDS)
        print(f"loaded {RECORDS:,} records in {time.perf_counter() - start:.1f} s")

        from trustregistry.accounts.models import User

        admin = User.objects.create_superuser("bench-admin", "bench@example.com", "x")
        client = Client()
        client.force_login(admin)
        url = "/admin/registry/trustedapplication/"
        mid = f"{RECORDS // 2:06d}"
        far_page = max(1, min(100, RECORDS // 50))  # 50 rows a page; a smaller run has fewer
        cases = [
            ("list, first page", {}),
            (f"list, page {far_page}", {"p": str(far_page)}),
            ("search by URI", {"q": f"bench{mid}.example"}),
            ("search by name", {"q": f"Bench app {mid}"}),
            ("filter: disabled", {"is_enabled__exact": "0"}),
            ("filter: scope has sec", {"scope_has": "sec"}),
            ("filter + search", {"client_type__exact": "public", "q": "bench0001"}),
        ]
        print(f"\nadmin list page ({RUNS} runs each, median):")
        for label, params in cases:
            ms, queries, rows = timed(client, url, params)
            print(f"  {label:<24} {ms:8.1f} ms  {queries:2d} queries  {rows:3d} rows")

        from trustregistry.registry import selectors

        uris = [f"bench{(i * 7919) % RECORDS:06d}.example.com/app" for i in range(LOOKUPS)]
        start = time.perf_counter()
        for uri in uris:
            assert selectors.application_get(application_uri=uri) is not None
        per = (time.perf_counter() - start) / LOOKUPS * 1000
        print(f"\nlookup by URI (selectors.application_get, {LOOKUPS} lookups): {per:.2f} ms each")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        _tmp.cleanup()


if __name__ == "__main__":
    main()
