"""In-process cost of the load benchmark's endpoints: time per request and a cProfile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB .venv/bin/python bench/load_profile.py \
        [--n 300] [--profile token|introspect|me|healthz] [--top 30]

Runs against a migrated database (seeded with bench/load_seed.py's record), through Django's
WSGI handler (as gunicorn calls it, signals included) with the same requests as bench/load.py,
with persistent connections and the production settings (DEBUG off). No network, no server: it
measures what a worker spends per request, database round trips included. Prints microseconds
per request for each endpoint (wall clock, and CPU: this process's and its PostgreSQL
backend's, which load on a busy machine disturbs less than the wall clock) and the ratio to
/healthz's; with --profile, the top functions (--sort, default tottime).
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
from typing import Any

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


class _Answer:
    def __init__(self, status: str, content: bytes):
        self.status_code = int(status.split()[0])
        self.content = content


class _Wsgi:
    """Requests through Django's WSGIHandler as gunicorn makes them: unlike the test client,
    with the request_started/finished signals (persistent connections, their health check)."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()

    def _call(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> _Answer:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)),
            **headers,
        }
        status: list[str] = []
        chunks = self.handler(environ, lambda s, h, exc_info=None: status.append(s))
        content = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()  # request_finished, as a WSGI server does
        return _Answer(status[0], content)

    def get(self, path: str, **headers: str) -> _Answer:
        return self._call("GET", path, b"", headers)

    def post(self, path: str, data: str, content_type: str, **headers: str) -> _Answer:
        return self._call("POST", path, data.encode(), {"CONTENT_TYPE": content_type, **headers})


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
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="profile this process's CPU time instead of the wall clock (waits drop out)",
    )
    parser.add_argument(
        "--test-client",
        action="store_true",
        help="django.test.Client instead of the WSGI handler (no connection signals)",
    )
    args = parser.parse_args()
    seed = _seed()
    basic = base64.b64encode(f"{seed['client_id']}:{seed['secret']}".encode()).decode()
    form = "application/x-www-form-urlencoded"
    client: Any = Client() if args.test_client else _Wsgi()
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
        profiler = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            call()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
