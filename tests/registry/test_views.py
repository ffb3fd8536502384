"""Health probes and the secret-hash tool (SPEC section 9)."""

import re
import threading
import urllib.error
import urllib.request

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.db import OperationalError

from trustregistry.registry import secrets

DEMO_HASH = "T/AGymuI51LwjLeIFxRQXOs9IHnupDKs/ajhWODR2C4="


def test_healthz_touches_no_database(client):
    # No django_db mark: any query would raise.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_answers_ok_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["database"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_json_when_the_database_is_down(client, monkeypatch):
    from django.db import connections

    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "temporarily_unavailable"


@pytest.mark.django_db
def test_readyz_during_an_outage_is_one_log_line_naming_the_cause(
    client, monkeypatch, captured_request_logs
):
    # A load balancer probes every few seconds: each failed probe also logged django.request's
    # "Service Unavailable: /readyz", and neither line said why.
    from django.db import connections

    def refuse(*args, **kwargs):
        raise OperationalError("connection failed: Connection refused\n\tIs the server running?")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    assert client.get("/readyz").status_code == 503
    assert captured_request_logs.getvalue().splitlines() == [
        "readiness: database unavailable (OperationalError: connection failed: Connection refused)"
    ]


def test_sha256_get_answers_the_erpnet_hash_as_text(client, interop_json):
    vector = interop_json("secret_hash_vector.json")
    response = client.get("/sys/tools/sha256", {"secret": vector["secret"]})
    assert response.status_code == 200
    assert response.content.decode() == vector["ApplicationSecretHash"]
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]


def test_sha256_hashes_non_ascii_secrets_as_utf8(client):
    import base64
    import hashlib

    response = client.get("/sys/tools/sha256", {"secret": "парола ü"})
    expected = base64.b64encode(hashlib.sha256("парола ü".encode()).digest()).decode()
    assert response.content.decode() == expected


def test_sha256_form_page_and_post(client):
    page = client.get("/sys/tools/sha256")
    assert page.status_code == 200 and b'name="secret"' in page.content
    assert "no-store" in page["Cache-Control"]
    posted = client.post("/sys/tools/sha256", {"secret": "DEMO"})
    assert posted.status_code == 200 and DEMO_HASH.encode() in posted.content
    assert b"DEMO" not in posted.content.replace(b"ERP.net", b"")  # the secret is not echoed
    assert "no-store" in posted["Cache-Control"]


def test_sha256_post_needs_csrf():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/sys/tools/sha256", {"secret": "DEMO"})
    assert response.status_code == 403


def test_sha256_refuses_empty_and_huge_secrets(client):
    assert client.post("/sys/tools/sha256", {"secret": ""}).status_code == 400
    assert client.get("/sys/tools/sha256", {"secret": "x" * 5000}).status_code == 400


def test_sha256_refusal_is_tied_to_the_secret_input(client):
    # The refusal stood above the result, away from the form and tied to nothing: focus on the
    # input said neither that it was invalid nor why.
    fresh = client.get("/sys/tools/sha256").content.decode()
    assert "aria-invalid" not in fresh and "secret-error" not in fresh
    for posted in ({"secret": ""}, {"secret": "x" * 5000}):
        body = client.post("/sys/tools/sha256", posted).content.decode()
        tag = re.search(r'<input id="secret"[^>]*>', body)
        assert tag is not None
        assert 'aria-invalid="true"' in tag[0] and 'aria-describedby="secret-error"' in tag[0]
        assert re.search(r'<p class="error" id="secret-error" role="alert">[^<]+</p>', body)


def test_sha256_input_fits_its_column(client):
    # width: 100% plus padding and border (content-box) made the input wider than the page's
    # column: the page scrolled sideways by a pixel or two at any window width.
    body = client.get("/sys/tools/sha256").content.decode()
    rule = re.search(r"\n\s*input \{([^}]*)\}", body)
    assert rule is not None and "width: 100%" in rule[1]
    assert "box-sizing: border-box" in rule[1]


class _LoggingHandler(WSGIRequestHandler):
    """runserver's own handler: logs every request line to django.server."""


@pytest.mark.django_db(transaction=True)
def test_the_secret_never_reaches_the_request_logs(captured_request_logs):
    server = WSGIServer(("127.0.0.1", 0), _LoggingHandler)
    server.set_app(WSGIHandler())  # not get_wsgi_application(): it would reconfigure logging
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{base}/sys/tools/sha256?secret=HunterTwo42", timeout=5) as r:
            assert r.read().decode() == secrets.hash_secret("HunterTwo42")
        # A 4xx goes through django.request too.
        try:
            urllib.request.urlopen(
                f"{base}/sys/tools/sha256?secret={'HunterTwo42' * 400}", timeout=5
            )
        except urllib.error.HTTPError as exc:
            assert exc.code == 400
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    logged = captured_request_logs.getvalue()
    assert "/sys/tools/sha256" in logged  # the lines were written...
    assert "HunterTwo42" not in logged  # ...without the secret
    assert "secret=[redacted]" in logged


@pytest.mark.django_db
def test_ssl_redirect_spares_the_health_probes(client, settings):
    settings.SECURE_SSL_REDIRECT = True  # DJANGO_SSL_REDIRECT=on
    page = client.get("/admin/login/")
    assert page.status_code == 301 and page["Location"] == "https://testserver/admin/login/"
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    # behind the TLS proxy (DJANGO_BEHIND_TLS_PROXY=on) a request that came in as https passes
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def test_hsts_header_when_configured(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000  # DJANGO_HSTS_SECONDS
    assert "Strict-Transport-Security" not in client.get("/healthz")  # never over plain http
    secure = client.get("/healthz", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000"
