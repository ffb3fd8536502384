"""In-process cost of the load benchmark's endpoints: time per request and a cProfile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB .venv/bin/python bench/load_profile.py \
        [--n 300] [--profile token|introspect|me|healthz] [--top 30]

Runs against a migrated database (seeded with bench/load_seed.py's record), through
`django.test.Client` with the same requests as bench/load.py, with persistent connections and
the production settings (DEBUG off). No network, no server: it measures what a worker spends
in Python per request, database round trips included. Prints microseconds per request for
each endpoint (wall clock, and CPU: this process's and its PostgreSQL backend's, which load on a
busy machine disturbs far less than the wall clock) and the ratio to /healthz's; with --profile, the top functions by tottime.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustregistry.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_DEBUG", "off")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DJANGO_CONN_MAX_AGE", "60")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("TRUSTREGISTRY_ISSUER", "http://testserver/id")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402


def _seed() -> dict[str, str]:
    import subprocess

    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("load_seed.py"))],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (0 elsewhere)."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Recorder:
    def __init__(self, into: list[str]):
        self.into = into

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.into.append(sql)
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--profile", default="")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args()
    seed = _seed()
    basic = base64.b64encode(f"{seed['client_id']}:{seed['secret']}".encode()).decode()
    form = "application/x-www-form-urlencoded"
    client = Client()
    calls = {
        "healthz": lambda: client.get("/healthz"),
        "token": lambda: client.post(
            "/id/connect/token",
            "grant_type=client_credentials&scope=sec",
            content_type=form,
            HTTP_AUTHORIZATION=f"Basic {basic}",
        ),
        "introspect": lambda: client.post(
            "/id/connect/introspect",
            f"token={seed['token']}",
            content_type=form,
            HTTP_AUTHORIZATION=f"Basic {basic}",
        ),
        "me": lambda: client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {seed['token']}"),
    }
    times: dict[str, float] = {}
    for name, call in calls.items():
        for _ in range(20):  # warm
            response = call()
            assert response.status_code == 200, (name, response.content[:300])
        queries: list[str] = []
        with connection.execute_wrapper(_Recorder(queries)):
            call()
        db_cpu = _backend_cpu()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.n):
            call()
        times[name] = (time.perf_counter() - started) / args.n * 1e6
        cpu_us = (time.process_time() - cpu) / args.n * 1e6
        db_us = (_backend_cpu() - db_cpu) / args.n * 1e6
        print(
            f"{name:11s} {times[name]:6.0f} us/request; CPU {cpu_us:5.0f} us Python"
            f" + {db_us:4.0f} us PostgreSQL backend"
            f"  {len(queries)} queries"
            f"  healthz/this {times['healthz'] / times[name]:5.2f}"
        )
        if name != "healthz" and os.environ.get("SHOW_SQL"):
            for sql in queries:
                print("   ", sql[:200])
    if args.profile:
        call = calls[args.profile]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            call()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
