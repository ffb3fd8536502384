"""Complete app:// resolves per second, and the share of time spent in RSA.

    .venv/bin/python bench/resolve.py [--count 300] [--seconds 30]

Runs, in one process, on 127.0.0.1 only:

* the registry (the Django project under a threaded WSGI server, a throwaway SQLite file, or
  DATABASE_URL if set), answering POST /api/connectors/resolve with a bearer token holding
  `sec`;
* a connector (the framework-free `connector.wsgi` app) on its own port, trusting the AAS
  through the registry's JWKS URL.

A client resolves sequentially (bounded by --count and --seconds) over real HTTP. The four RSA
operations of each handshake (AAS signs the SignedToken, connector verifies it, connector signs
the reply, AAS verifies it) are timed where they happen, so the figures split each resolve
into: the handshake's RSA, the handshake's own overhead (everything else between the AAS
starting the handshake and accepting the reply), and the resolve around it (HTTP to the
registry, bearer-token check, JSON).

If /api/connectors/resolve is not routed yet, the client calls the resolve service in-process
instead (the AAS -> connector leg is still real HTTP) and says so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Timer:
    """Per-kind accumulated seconds; the client is sequential, so times add up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.seconds[kind] = self.seconds.get(kind, 0.0) + seconds
            self.calls[kind] = self.calls.get(kind, 0) + 1

    def wrap(self, kind: str, func):  # type: ignore[no-untyped-def]
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.add(kind, time.perf_counter() - start)

        return timed

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.calls.clear()


def _setup_django(tmp: str) -> None:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustregistry.settings_test")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    # Persistent database connections, as a production deployment would configure.
    os.environ.setdefault("DJANGO_CONN_MAX_AGE", "60")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _instrument(timer: Timer, handshake_rsa: threading.local) -> None:
    """Time the handshake's four RSA operations, and nothing else, as RSA."""
    import jwt.algorithms

    import connector.service
    import connector.tokens
    from trustregistry.aas import services

    rsa_alg = jwt.algorithms.RSAAlgorithm
    original_sign, original_verify = rsa_alg.sign, rsa_alg.verify

    def sign(self, msg, key):  # type: ignore[no-untyped-def]
        kind = "rsa: AAS signs SignedToken" if getattr(handshake_rsa, "on", False) else "rsa: other"
        start = time.perf_counter()
        try:
            return original_sign(self, msg, key)
        finally:
            timer.add(kind, time.perf_counter() - start)

    def verify(self, msg, key, sig):  # type: ignore[no-untyped-def]
        on = getattr(handshake_rsa, "on", False)
        kind = "rsa: connector verifies SignedToken" if on else "rsa: bearer token check"
        start = time.perf_counter()
        try:
            return original_verify(self, msg, key, sig)
        finally:
            timer.add(kind, time.perf_counter() - start)

    rsa_alg.sign, rsa_alg.verify = sign, verify  # type: ignore[method-assign]

    def flagged(func):  # type: ignore[no-untyped-def]
        def inner(*args, **kwargs):  # type: ignore[no-untyped-def]
            handshake_rsa.on = True
            try:
                return func(*args, **kwargs)
            finally:
                handshake_rsa.on = False

        return inner

    services.build_aas_token = flagged(services.build_aas_token)  # type: ignore[assignment]
    connector.service.verify_aas_token = flagged(connector.service.verify_aas_token)  # type: ignore[assignment]
    connector.tokens._rsa_sign = timer.wrap(
        "rsa: connector signs reply", connector.tokens._rsa_sign
    )
    connector.tokens._rsa_verify = timer.wrap(
        "rsa: AAS verifies reply", connector.tokens._rsa_verify
    )
    services.run_handshake = timer.wrap("handshake (AAS side, total)", services.run_handshake)


@contextmanager
def _serve(app):  # type: ignore[no-untyped-def]
    """A WSGI server with a fixed pool of worker threads, as gunicorn's threads are: Django's
    per-thread database connections then live across requests (DJANGO_CONN_MAX_AGE)."""
    from concurrent.futures import ThreadPoolExecutor
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    pool = ThreadPoolExecutor(max_workers=8)

    class Server(WSGIServer):
        def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
            pool.submit(self._handle, request, client_address)

        def _handle(self, request, client_address):  # type: ignore[no-untyped-def]
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):  # type: ignore[no-untyped-def]
            pass

    server = make_server("127.0.0.1", 0, app, server_class=Server, handler_class=Quiet)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        pool.shutdown(wait=False, cancel_futures=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=300, help="resolves to run (max)")
    parser.add_argument("--seconds", type=float, default=30.0, help="stop after this long (max)")
    args = parser.parse_args()
    count = max(1, min(args.count, 10_000))
    budget = max(1.0, min(args.seconds, 300.0))

    tmp = tempfile.mkdtemp(prefix="tr-bench-")
    try:
        _run(tmp, count, budget)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(tmp: str, count: int, budget: float) -> None:
    _setup_django(tmp)

    import requests
    from cryptography.hazmat.primitives.asymmetric import rsa
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.urls import resolve as django_resolve

    from connector.keys import public_key_to_jwk
    from connector.service import Connector
    from connector.trust import JwksKeys
    from connector.wsgi import make_app
    from trustregistry.aas.services import resolve_connector
    from trustregistry.aas.views import ResolveConnectorView
    from trustregistry.accounts.models import User
    from trustregistry.oauth.access_tokens import issue_access_token
    from trustregistry.registry import services as registry

    timer = Timer()
    flag = threading.local()
    _instrument(timer, flag)

    run = uuid.uuid4().hex[:8]  # DATABASE_URL may point at a database used before
    uri = f"bench-{run}.example.com/connector"
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with _serve(get_wsgi_application()) as registry_url:
        connector = Connector(
            application_uri=uri,
            private_key=app_key,
            trusted_issuer=settings.TRUSTREGISTRY_AAS_ISSUER,
            keys=JwksKeys(f"{registry_url}/id/.well-known/openid-configuration/jwks"),
        )
        with _serve(make_app(connector)) as connector_url:
            registry.application_create(
                application_uri=uri,
                names={"en": "Bench connector"},
                connector_url=f"{connector_url}/authenticate",
                public_keys=[public_key_to_jwk(app_key.public_key())],
            )
            eis = registry.application_create(
                application_uri=f"bench-{run}.example.com/eis",
                names={"en": "Bench EIS"},
                scope="sec",
            )
            user = User.objects.create_user(username=f"bench-{run}", password=None, is_staff=True)
            token, _ = issue_access_token(application=eis, user=user, scope="sec")
            session = requests.Session()
            session.trust_env = False
            body = {"url": f"app://{uri}", "context": "Bench1"}
            headers = {"Authorization": f"Bearer {token}"}
            endpoint = f"{registry_url}/api/connectors/resolve"

            def over_http() -> None:
                response = session.post(endpoint, json=body, headers=headers, timeout=30)
                if response.status_code != 200:
                    raise SystemExit(
                        f"resolve failed: HTTP {response.status_code} {response.text[:200]}"
                    )

            def in_process() -> None:
                resolve_connector(url=body["url"], context=body["context"])

            mode, resolve = ("over HTTP: POST /api/connectors/resolve", over_http)
            if (
                getattr(django_resolve("/api/connectors/resolve").func, "view_class", None)
                is not ResolveConnectorView
            ):
                mode = "in-process resolve_connector() (the API route is not wired yet)"
                resolve = in_process
            for _ in range(5):  # warm-up: JWKS fetch, key caches, connections
                resolve()
            timer.reset()
            done = 0
            start = time.perf_counter()
            while done < count and time.perf_counter() - start < budget:
                resolve()
                done += 1
            elapsed = time.perf_counter() - start

    _report(mode, done, elapsed, timer)


def _report(mode: str, done: int, elapsed: float, timer: Timer) -> None:
    per = elapsed / done
    rsa4 = {
        k: v
        for k, v in timer.seconds.items()
        if k.startswith("rsa:") and "other" not in k and "bearer" not in k
    }
    rsa_total = sum(rsa4.values()) / done
    handshake = timer.seconds.get("handshake (AAS side, total)", 0.0) / done
    bearer = timer.seconds.get("rsa: bearer token check", 0.0) / done
    print(f"mode: {mode}")
    print(
        f"resolves: {done} in {elapsed:.2f} s = {done / elapsed:.1f} resolves/s "
        f"({per * 1000:.2f} ms each)"
    )
    print("per resolve, milliseconds:")
    for kind in sorted(rsa4):
        print(f"  {kind:<40} {rsa4[kind] / done * 1000:7.3f}")
    print(f"  {'= the handshake RSA (2 sign + 2 verify)':<40} {rsa_total * 1000:7.3f}")
    print(f"  {'handshake, AAS side, total':<40} {handshake * 1000:7.3f}")
    print(f"  {'handshake overhead (total - RSA)':<40} {(handshake - rsa_total) * 1000:7.3f}")
    print(f"  {'resolve around it (HTTP in, auth, JSON)':<40} {(per - handshake) * 1000:7.3f}")
    print(f"  {'  of which bearer-token RSA verify':<40} {bearer * 1000:7.3f}")
    print(f"share of the whole resolve in the handshake RSA: {rsa_total / per:.0%}")
    print(f"share of the handshake in its RSA:               {rsa_total / handshake:.0%}")
    verdict = "met" if handshake - rsa_total < rsa_total else "NOT met"
    print(f"target (handshake overhead < its RSA cost): {verdict}")


if __name__ == "__main__":
    main()
