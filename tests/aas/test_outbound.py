"""The AAS's outbound call (`trustregistry/aas/outbound.py`) against real servers on
127.0.0.1: https verified against the trusted CAs and the host name, no proxy taken from the
environment, a bounded number of kept connections, answers read within the cap and within
the time."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from http.server import ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from connector.keys import private_key_to_pem, public_key_to_jwk
from connector.service import Connector
from connector.wsgi import make_app
from tests import factories
from tests.aas.conftest import CONNECTOR_URI
from tests.connector.servers import KeepAliveConnector, closed_port_url, serve, trickling_server
from trustregistry.aas import outbound, services
from trustregistry.aas.errors import ConnectorUnreachable


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _tls_files(tmp_path, *, ip: str | None = "127.0.0.1") -> tuple[str, str, str]:
    """(CA file, server certificate chain file, server key file): a CA and a server
    certificate it signs, for `ip` (or only for the DNS name `localhost` when ip is None)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Test CA"))
        .issuer_name(_name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    if ip:
        names.append(x509.IPAddress(ipaddress.ip_address(ip)))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("connector"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, chain_file, key_file = (
        tmp_path / "ca.pem",
        tmp_path / "server.pem",
        tmp_path / "server.key",
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(private_key_to_pem(key))
    return str(ca_file), str(chain_file), str(key_file)


def _server_context(chain_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_file, key_file)
    return context


@pytest.fixture
def fresh_client():
    """This thread's connections and the cached TLS context (which reads SSL_CERT_FILE when
    it is made) start anew, and end so."""
    outbound.close_connections()
    outbound.tls_context.cache_clear()
    yield
    outbound.close_connections()
    outbound.tls_context.cache_clear()


@pytest.fixture
def real_connector(aas_pinned, app_key):
    return make_app(
        Connector(
            application_uri=CONNECTOR_URI,
            private_key=app_key,
            trusted_issuer=settings.TRUSTREGISTRY_AAS_ISSUER,
            keys=aas_pinned,
        )
    )


def _record(base: str, app_key):  # type: ignore[no-untyped-def]
    return factories.TrustedApplicationFactory(
        client_id=CONNECTOR_URI,
        connector_url=f"{base}/authenticate",
        public_keys=[public_key_to_jwk(app_key.public_key())],
    )


@pytest.mark.django_db
def test_https_connector_with_a_trusted_certificate(
    tmp_path, monkeypatch, fresh_client, real_connector, app_key
):
    ca_file, chain_file, key_file = _tls_files(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    with serve(real_connector, tls=_server_context(chain_file, key_file)) as base:
        assert base.startswith("https://127.0.0.1:")
        _record(base, app_key)
        resolved = services.resolve_connector(url=f"app://{CONNECTOR_URI}", context="C1")
        assert resolved.url == f"{base}/authenticate"


@pytest.mark.django_db
def test_https_connector_with_an_untrusted_certificate_is_unreachable(
    tmp_path, fresh_client, real_connector, app_key, caplog
):
    _, chain_file, key_file = _tls_files(tmp_path)  # its CA is not among the trusted ones
    with serve(real_connector, tls=_server_context(chain_file, key_file)) as base:
        _record(base, app_key)
        with pytest.raises(ConnectorUnreachable, match="TLS certificate is not trusted") as info:
            services.resolve_connector(url=f"app://{CONNECTOR_URI}", context="C1")
    assert base not in info.value.message
    port = base.rsplit(":", 1)[1]
    assert all(port not in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_https_connector_whose_certificate_names_another_host_is_unreachable(
    tmp_path, monkeypatch, fresh_client, real_connector, app_key
):
    ca_file, chain_file, key_file = _tls_files(tmp_path, ip=None)  # for "localhost" only
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    with serve(real_connector, tls=_server_context(chain_file, key_file)) as base:
        _record(base, app_key)  # https://127.0.0.1:…
        with pytest.raises(ConnectorUnreachable, match="TLS certificate is not trusted"):
            services.resolve_connector(url=f"app://{CONNECTOR_URI}", context="C1")


@pytest.mark.django_db
def test_proxy_settings_in_the_environment_are_not_used(
    monkeypatch, fresh_client, real_connector, app_key
):
    proxy = closed_port_url().rsplit("/", 1)[0]  # a proxy that would refuse every call
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with serve(real_connector) as base:
        _record(base, app_key)
        resolved = services.resolve_connector(url=f"app://{CONNECTOR_URI}", context="C1")
    assert resolved.url == f"{base}/authenticate"


def _answering(body_chunks):  # type: ignore[no-untyped-def]
    def app(environ, start_response):  # type: ignore[no-untyped-def]
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/json")])
        return body_chunks

    return app


def _post(url: str, max_bytes: int = 64) -> outbound.Answer:
    return outbound.post(url, b"{}", {}, connect_timeout=3.0, read_timeout=3.0, max_bytes=max_bytes)


def test_a_body_within_the_cap_is_read_whole_and_a_longer_one_cut_at_the_cap(fresh_client):
    with serve(_answering([b'{"a": ', b'"' + b"x" * 40 + b'"}'])) as base:
        answer = _post(f"{base}/x")
        assert answer.status == 200 and not answer.too_large(64)
        assert answer.body == b'{"a": "' + b"x" * 40 + b'"}'
    with serve(_answering([b"y" * 50] * 4)) as base:
        answer = _post(f"{base}/x")
        assert answer.too_large(64) and len(answer.body) == 65
    assert outbound._connections() == {}  # neither connection is kept (closed, or cut off)


def test_kept_connections_are_bounded_per_thread(monkeypatch, fresh_client):
    monkeypatch.setattr(outbound, "MAX_ORIGINS_PER_THREAD", 2)
    handler = type("Handler", (KeepAliveConnector,), {"big": 10, "connections": []})
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(3)]
    for server in servers:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
    try:
        for server in servers:
            assert _post(f"http://127.0.0.1:{server.server_port}/x").status == 200
            assert len(outbound._connections()) <= 2
        assert [origin[2] for origin in outbound._connections()] == [
            servers[1].server_port,
            servers[2].server_port,
        ]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_only_http_and_https_urls_are_called(fresh_client):
    for url in ("ftp://127.0.0.1/x", "file:///etc/passwd", "http:///nohost"):
        with pytest.raises(ValueError):
            _post(url)


def test_a_connector_trickling_its_answer_runs_out_of_time(fresh_client, monkeypatch):
    # Each byte comes well within the read timeout; the whole answer would take 2 s.
    listener, thread = trickling_server(drips=40, interval=0.05)
    try:
        port = listener.getsockname()[1]
        with pytest.raises(TimeoutError):
            outbound.post(
                f"http://127.0.0.1:{port}/authenticate",
                b"{}",
                {},
                connect_timeout=3.0,
                read_timeout=0.3,
                max_bytes=64,
            )
        assert outbound._connections() == {}  # that connection is closed, not kept
    finally:
        thread.join(timeout=5)
        listener.close()


def test_an_answer_within_the_time_is_read(fresh_client):
    listener, thread = trickling_server(drips=3, interval=0.01)
    try:
        port = listener.getsockname()[1]
        answer = outbound.post(
            f"http://127.0.0.1:{port}/authenticate",
            b"{}",
            {},
            connect_timeout=3.0,
            read_timeout=5.0,
            max_bytes=64,
        )
        assert (answer.status, answer.body) == (200, b"{}")
    finally:
        thread.join(timeout=5)
        listener.close()
