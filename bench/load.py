"""Load benchmark: gunicorn on PostgreSQL, measured in one run.

    .venv/bin/python bench/load.py [--workers N] [--clients 2] [--threads 4] [--rounds 3]
                                   [--seconds 4]

What it does, all on 127.0.0.1 and bounded in time and count:

1. creates a scratch PostgreSQL database (`tr_bench_load_<pid>`, dropped at the end; or uses
   `--database-url` as it is), migrates it and seeds a confidential service app with a
   system user and a generated secret (bench/load_seed.py);
2. starts gunicorn with the project's gunicorn.conf.py on a free port (sync workers, access
   log off);
3. measures, in `--rounds` rounds of one endpoint after the other, with `--clients`
   processes of `--threads` threads each (every thread its own HTTP connection):
     - the ceiling: GET /healthz (a trivial Django view, no database);
     - client-credentials tokens: POST /id/connect/token (client_secret_basic);
     - introspections: POST /id/connect/introspect;
     - bearer-authenticated GET /api/me;
   every response is checked (status, and the JSON for tokens and introspection); an endpoint
   that does not answer correctly is reported as FAILING, never given a number;
4. prints each as requests per second (median of the rounds) and as a fraction of the
   ceiling (median of the fractions within each round), against the targets
   (client credentials >= 25 %, /api/me >= 50 %), then stops gunicorn and drops the database.

The load generator runs on the same machine as the server and takes CPU from it: the figures
are for this machine as a whole, client included.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The interpreter running this script, and its virtualenv's gunicorn.
PYTHON = Path(sys.executable)
GUNICORN = PYTHON.with_name("gunicorn")
SCRATCH_DB = f"tr_bench_load_{os.getpid()}"  # one per run: parallel runs never collide
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 10.0
MAX_SECONDS_PER_PHASE = 60.0
MAX_REQUESTS_PER_PHASE = 200_000


# ------------------------------------------------------------------ requests


@dataclass(frozen=True)
class Probe:
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    expect: str = ""  # "token" | "active" | "" (status 200 only)

    def check(self, status: int, payload: bytes) -> str | None:
        """None when the answer is right, else why not."""
        if status != 200:
            return f"HTTP {status}: {payload[:200].decode('utf-8', 'replace')}"
        if self.expect:
            try:
                data = json.loads(payload)
            except ValueError:
                return "not JSON"
            if self.expect == "token" and not data.get("access_token"):
                return f"no access_token in {payload[:200]!r}"
            if self.expect == "active" and data.get("active") is not True:
                return f"not active: {payload[:200]!r}"
        return None


def _request(conn: http.client.HTTPConnection, probe: Probe) -> tuple[int, bytes]:
    conn.request(probe.method, probe.path, body=probe.body or None, headers=probe.headers)
    response = conn.getresponse()
    payload = response.read()
    if response.will_close:
        conn.close()  # sync workers close after each answer; the next request reconnects
    return response.status, payload


def _client_process(
    port: int, probe: Probe, threads: int, start: float, deadline: float, budget: int
) -> tuple[int, int, float, str]:
    """One client process: `threads` threads hammering `probe` from `start` until `deadline`
    or until the process's request budget is spent. Returns (ok, failed, end, first error)."""
    lock = threading.Lock()
    state = {"ok": 0, "failed": 0, "left": budget, "error": "", "end": start}

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        while time.time() < start:
            time.sleep(0.001)
        while True:
            with lock:
                if state["left"] <= 0 or time.time() >= deadline:
                    break
                state["left"] -= 1
            try:
                status, payload = _request(conn, probe)
                error = probe.check(status, payload)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                error = f"{type(exc).__name__}: {exc}"
            with lock:
                if error is None:
                    state["ok"] += 1
                else:
                    state["failed"] += 1
                    state["error"] = state["error"] or error
                state["end"] = max(state["end"], time.time())
        conn.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=deadline - time.time() + REQUEST_TIMEOUT + 5)
    return int(state["ok"]), int(state["failed"]), float(state["end"]), str(state["error"])


@dataclass
class Result:
    name: str
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def measure(
    executor: ProcessPoolExecutor, port: int, probe: Probe, args: argparse.Namespace
) -> Result:
    # Warm every worker (imports, key cache, database connections) before the clock starts.
    warm = _client_process(
        port, probe, args.threads, time.time(), time.time() + 2, 4 * args.workers
    )
    if warm[1] and not warm[0]:
        return Result(probe.name, failed=warm[1], error=warm[3])
    start = time.time() + 0.5
    deadline = start + args.seconds
    budget = max(1, args.max_requests // args.clients)
    futures = [
        executor.submit(_client_process, port, probe, args.threads, start, deadline, budget)
        for _ in range(args.clients)
    ]
    result = Result(probe.name)
    end = start
    for future in futures:
        ok, failed, finished, error = future.result(timeout=args.seconds + REQUEST_TIMEOUT + 30)
        result.ok += ok
        result.failed += failed
        result.error = result.error or error
        end = max(end, finished)
    result.seconds = end - start
    return result


# ------------------------------------------------------------------ server and database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _admin(sql: str, admin_url: str) -> None:
    import psycopg

    with psycopg.connect(
        admin_url.replace("postgres://", "postgresql://", 1), autocommit=True
    ) as conn:
        conn.execute(sql)


def _run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _wait_ready(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not answer /healthz in time")


def _basic(user: str, password: str) -> str:
    # RFC 6749 section 2.3.1: form-urlencode both parts before Basic encoding.
    raw = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


TARGETS = {"token": 0.25, "me": 0.50}


def report(rounds: dict[str, list[Result]]) -> int:
    ceilings = [r.rps for r in rounds["ceiling"]]
    print(
        f"{'endpoint':<48} {'ok':>7} {'failed':>6} {'req/s':>8} {'of ceiling':>10}  "
        f"{'per round':<20} target"
    )
    ok = True
    for key, results in rounds.items():
        name = results[0].name
        done = sum(r.ok for r in results)
        failed = sum(r.failed for r in results)
        rps = statistics.median(r.rps for r in results)
        target = TARGETS.get(key)
        wanted = f">= {target:.0%}" if target else ""
        if failed or not done:
            error = next((r.error for r in results if r.error), "no answer")
            print(f"{name:<48} {done:>7} {failed:>6} {'FAILING':>8} {'-':>10}  {'':<20} {wanted}")
            print(f"    first error: {error}")
            ok = False
            continue
        shares = [r.rps / c for r, c in zip(results, ceilings, strict=True) if c]
        share = statistics.median(shares) if shares else 0.0
        per_round = " ".join(f"{x:.0%}" for x in shares)
        verdict = ""
        if target is not None:
            verdict = "met" if share >= target else "NOT met"
            ok = ok and share >= target
        print(
            f"{name:<48} {done:>7} {failed:>6} {rps:>8.1f} {share:>10.0%}  "
            f"{per_round:<20} {wanted} {verdict}"
        )
    print("\nreq/s: median over rounds; of ceiling: median of the per-round fractions.")
    return 0 if ok else 1


# ------------------------------------------------------------------ the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers",
        type=int,
        default=multiprocessing.cpu_count() * 2 + 1,
        help="gunicorn sync workers (default: gunicorn.conf.py's 2 x cores + 1)",
    )
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per client process")
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="measured seconds per endpoint and round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all endpoints")
    parser.add_argument("--max-requests", type=int, default=50_000, help="request cap per endpoint")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="DJANGO_CONN_MAX_AGE for the server (persistent connections)",
    )
    parser.add_argument("--database-url", help="use this database as it is (not created/dropped)")
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="PostgreSQL to create the scratch DB in"
    )
    parser.add_argument(
        "--cache-url", default="", help="CACHE_URL for the server (default in-process)"
    )
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 1.0), MAX_SECONDS_PER_PHASE)
    args.rounds = min(max(args.rounds, 1), 10)
    args.max_requests = min(max(args.max_requests, 1), MAX_REQUESTS_PER_PHASE)

    scratch = args.database_url is None
    database_url = args.database_url or _with_database(args.admin_url, SCRATCH_DB)
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trustregistry.settings",
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "bench-only-" + "x" * 50,
        "DJANGO_DEBUG": "off",
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_CONN_MAX_AGE": str(args.conn_max_age),
        "DJANGO_LOG_LEVEL": "WARNING",
        "TRUSTREGISTRY_ISSUER": f"http://{HOST}:{port}/id",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if args.cache_url:
        env["CACHE_URL"] = args.cache_url
    if scratch:
        _admin(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)', args.admin_url)
        _admin(f'CREATE DATABASE "{SCRATCH_DB}"', args.admin_url)
    server: subprocess.Popen | None = None
    errlog: Any = None
    try:
        print(f"database {database_url} · migrating and seeding ...", flush=True)
        _run([str(PYTHON), "manage.py", "migrate", "--noinput"], env)
        seed = json.loads(_run([str(PYTHON), "bench/load_seed.py"], env).strip().splitlines()[-1])

        # gunicorn's own log, kept only when it shows a server error.
        errlog = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in finally)
            "w+", prefix="tr-bench-gunicorn-", suffix=".log", delete=False
        )
        server = subprocess.Popen(
            [
                str(GUNICORN),
                "trustregistry.wsgi:application",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                "1",
                "--access-logfile",
                "/dev/null",
                "--error-logfile",
                "-",
            ],
            cwd=ROOT,
            env=env,
            stdout=errlog,
            stderr=subprocess.STDOUT,
        )
        _wait_ready(port, server)
        print(
            f"gunicorn on {HOST}:{port}: {args.workers} sync workers; load: {args.clients} "
            f"processes x {args.threads} threads, {args.seconds:g} s per endpoint\n",
            flush=True,
        )

        client_auth = _basic(seed["client_id"], seed["secret"])
        form = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": client_auth}
        token_probe = Probe(
            "client credentials  POST /id/connect/token",
            "POST",
            "/id/connect/token",
            form,
            "grant_type=client_credentials",
            expect="token",
        )
        ceiling_probe = Probe("ceiling             GET /healthz", "GET", "/healthz")

        # A token the endpoint issued, else the seeded one (so the other figures still come).
        token = seed["token"]
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        status, payload = _request(conn, token_probe)
        if token_probe.check(status, payload) is None:
            token = json.loads(payload)["access_token"]
        conn.close()
        probes = {
            "ceiling": ceiling_probe,
            "token": token_probe,
            "introspect": Probe(
                "introspection       POST /id/connect/introspect",
                "POST",
                "/id/connect/introspect",
                form,
                urllib.parse.urlencode({"token": token}),
                expect="active",
            ),
            "me": Probe(
                "bearer /api/me      GET /api/me",
                "GET",
                "/api/me",
                {"Authorization": f"Bearer {token}"},
            ),
        }
        # Rounds interleave the endpoints, so a burst of other load on the machine hits the
        # ceiling and the endpoints alike; each fraction is taken within its round.
        rounds: dict[str, list[Result]] = {key: [] for key in probes}
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=args.clients, mp_context=ctx) as executor:
            for _ in range(args.rounds):
                for key, probe in probes.items():
                    rounds[key].append(measure(executor, port, probe, args))
        return report(rounds)
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
        if scratch:
            _admin(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)', args.admin_url)
        if errlog is not None:
            errlog.close()
            log = Path(errlog.name)
            if log.exists() and "Traceback" in log.read_text():
                print(f"\nserver errors were logged: {log}")
            else:
                log.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
