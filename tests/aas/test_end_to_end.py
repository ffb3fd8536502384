"""End to end over real HTTP on 127.0.0.1: the registry (pytest-django's live_server) resolves
app:// through POST /api/connectors/resolve against a connector that is a second live server
and trusts the AAS through the registry's JWKS, fetched over HTTP, or the connector app in the
registry's own process, trusting its JWKS or a pinned certificate file."""

import itertools
import os

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command

from connector.django_app import config
from connector.keys import private_key_to_pem, public_key_to_jwk
from connector.service import Connector
from connector.trust import JwksKeys
from connector.wsgi import make_app
from tests import factories
from tests.connector.servers import serve
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.oauth.access_tokens import issue_access_token
from trustregistry.registry import services as registry_services

URI = "e2e.example.com/connector"
JWKS_PATH = "/id/.well-known/openid-configuration/jwks"


@pytest.fixture
def bearer(transactional_db):
    eis = factories.TrustedApplicationFactory(client_id="eis.example.com/eis", scope="sec")
    user = factories.StaffUserFactory(username="eis-operator")
    return issue_access_token(application=eis, user=user, scope="sec")[0]


def _resolve(live_server, bearer, uri=URI):
    return requests.post(
        f"{live_server.url}/api/connectors/resolve",
        json={"url": f"app://{uri}", "context": "Cust12020"},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
    )


def _connector(live_server, settings):  # type: ignore[no-untyped-def]
    """A connector with a key of its own, trusting the live registry's JWKS; (its key, it)."""
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    connector = Connector(
        application_uri=URI,
        private_key=app_key,
        trusted_issuer=settings.TRUSTREGISTRY_AAS_ISSUER,
        keys=JwksKeys(f"{live_server.url}{JWKS_PATH}"),
    )
    return app_key, connector


def test_resolve_over_http_then_key_replaced_then_disabled(live_server, bearer, settings):
    app_key, connector = _connector(live_server, settings)
    with serve(make_app(connector)) as connector_base:
        record = factories.TrustedApplicationFactory(
            client_id=URI,
            connector_url=f"{connector_base}/authenticate",
            public_keys=[public_key_to_jwk(app_key.public_key())],
        )
        ok = _resolve(live_server, bearer)
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"url": f"{connector_base}/authenticate"}

        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        registry_services.application_update(
            application=record, public_keys=[public_key_to_jwk(other.public_key())]
        )
        replaced = _resolve(live_server, bearer)
        assert replaced.status_code == 502
        assert replaced.json()["error"] == "handshake_failed"
        assert "not signed by the application's key" in replaced.json()["message"]
        assert connector_base not in replaced.text

        registry_services.application_set_enabled(application=record, enabled=False)
        disabled = _resolve(live_server, bearer)
        assert disabled.status_code == 403
        assert disabled.json() == {
            "error": "application_disabled",
            "message": "The application is disabled.",
        }


def test_resolve_against_the_asgi_connector_under_uvicorn(live_server, bearer, settings):
    from connector.asgi import make_app as make_asgi_app
    from tests.connector.servers import serve_asgi

    app_key, connector = _connector(live_server, settings)
    with serve_asgi(make_asgi_app(connector)) as connector_base:
        factories.TrustedApplicationFactory(
            client_id=URI,
            connector_url=f"{connector_base}/authenticate",
            public_keys=[public_key_to_jwk(app_key.public_key())],
        )
        for _ in range(3):  # the AAS's kept-alive connection is reused
            ok = _resolve(live_server, bearer)
            assert ok.status_code == 200, ok.text
            assert ok.json() == {"url": f"{connector_base}/authenticate"}


def _connector_in_the_registry(settings, live_server, key_file) -> None:  # type: ignore[no-untyped-def]
    """The connector app at /connector/ in the registry's own process (as `make run`),
    trusting the AAS through the JWKS URL."""
    config.reset_caches()
    settings.CONNECTOR_APPLICATION_URI = URI
    settings.CONNECTOR_PRIVATE_KEY_FILE = str(key_file)
    settings.CONNECTOR_TRUSTED_ISSUER = settings.TRUSTREGISTRY_AAS_ISSUER
    settings.CONNECTOR_AAS_CERTIFICATE_FILE = ""
    settings.CONNECTOR_AAS_JWKS_URL = f"{live_server.url}{JWKS_PATH}"


def _resolves_to_the_connector_in_the_registry(live_server, bearer) -> None:  # type: ignore[no-untyped-def]
    try:
        ok = _resolve(live_server, bearer)
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"url": f"{live_server.url}/connector/authenticate"}
    finally:
        config.reset_caches()


def test_demo_layout_connector_served_by_the_registry_itself(
    live_server, bearer, settings, tmp_path
):
    """As `make run`: the connector app at /connector/authenticate in the same process,
    trusting the AAS through the JWKS URL, its key in a PEM file."""

    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "connector.pem"
    key_file.write_bytes(private_key_to_pem(app_key))
    _connector_in_the_registry(settings, live_server, key_file)
    factories.TrustedApplicationFactory(
        client_id=URI,
        connector_url=f"{live_server.url}/connector/authenticate",
        public_keys=[public_key_to_jwk(app_key.public_key())],
    )
    _resolves_to_the_connector_in_the_registry(live_server, bearer)


def test_connector_holding_superoffices_sample_xml_key(live_server, bearer, settings, interop):
    """The key format vendors hold: the connector app reads SuperOffice's sample .NET
    `<RSAKeyValue>` private key file as it ships (BOM, declaration, tabs); the record holds its
    public half as .NET XML, created over the API. The registry resolves over HTTP, and the
    stored key is that XML's, normalised."""
    from connector.keys import load_private_key, public_jwk_of_private, rsa_public_key_to_xml

    key_file = interop / "connector-samples_LocalhostPrivateKey.xml"
    private = load_private_key(key_file.read_bytes())
    _connector_in_the_registry(settings, live_server, key_file)
    admin = factories.TrustedApplicationFactory(
        client_id="admin.example.com/tool", scope="sec update"
    )
    token = issue_access_token(
        application=admin, user=factories.StaffUserFactory(username="keeper", is_superuser=True),
        scope="sec update",
    )[0]  # fmt: skip
    created = requests.post(
        f"{live_server.url}/api/trusted-applications/",
        json={
            "application_uri": URI,
            "names": {"en": "SuperOffice sample connector"},
            "connector_url": f"{live_server.url}/connector/authenticate",
            "public_keys": [rsa_public_key_to_xml(private.public_key())],
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    assert created.json()["public_keys"] == [public_jwk_of_private(private)]
    _resolves_to_the_connector_in_the_registry(live_server, bearer)


def _handshake_ok(live_server, bearer) -> None:  # type: ignore[no-untyped-def]
    ok = _resolve(live_server, bearer)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"url": f"{live_server.url}/connector/authenticate"}


_later = itertools.count(1)


def _pin(path, *options: str) -> None:  # type: ignore[no-untyped-def]
    """Write the connector's pinned certificate file as the README says (`aas_certificate`).
    The connector app re-reads it when its mtime changes: moved on by a further second each
    time, as a file system with coarse timestamps would not do for two writes ms apart."""
    call_command("aas_certificate", str(path), *options)
    stamp = os.stat(path).st_mtime + next(_later)
    os.utime(path, (stamp, stamp))


def test_a_connector_pinning_the_active_and_next_certificates_keeps_accepting_handshakes(
    live_server, bearer, settings, tmp_path
):
    """The README's zero-downtime rotation for a connector that pins the AAS certificate
    (CONNECTOR_AAS_CERTIFICATE_FILE), the connector app served by the registry's own process:
    stage, give the connector the active and the next certificate, rotate, later drop the old
    one. Every handshake on the way succeeds; a file with the old certificate alone, as before
    staged rotations, is refused from the rotation on."""
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "connector.pem"
    key_file.write_bytes(private_key_to_pem(app_key))
    _connector_in_the_registry(settings, live_server, key_file)
    settings.CONNECTOR_AAS_JWKS_URL = ""
    pinned, old_only = tmp_path / "aas.pem", tmp_path / "old-only.pem"
    settings.CONNECTOR_AAS_CERTIFICATE_FILE = str(pinned)
    factories.TrustedApplicationFactory(
        client_id=URI,
        connector_url=f"{live_server.url}/connector/authenticate",
        public_keys=[public_key_to_jwk(app_key.public_key())],
    )
    try:
        _pin(pinned)
        _pin(old_only)
        _handshake_ok(live_server, bearer)
        old = SigningKey.objects.signing(KeyPurpose.AAS).get()

        call_command("rotate_keys", "--purpose", "aas", "--stage")
        staged = SigningKey.objects.staged(KeyPurpose.AAS).get()
        _handshake_ok(live_server, bearer)  # still signed by the old key
        _pin(pinned, "--with-next")
        assert pinned.read_text() == old.certificate_pem + staged.certificate_pem
        _handshake_ok(live_server, bearer)

        call_command("rotate_keys", "--purpose", "aas")
        assert SigningKey.objects.signing(KeyPurpose.AAS).get().kid == staged.kid
        _handshake_ok(live_server, bearer)  # signed by the key staged and pinned in advance

        _pin(pinned)  # later: the old certificate leaves the file
        assert pinned.read_text() == staged.certificate_pem
        _handshake_ok(live_server, bearer)

        settings.CONNECTOR_AAS_CERTIFICATE_FILE = str(old_only)
        refused = _resolve(live_server, bearer)
        assert refused.status_code == 502, refused.text
        assert refused.json()["error"] == "handshake_failed"
    finally:
        config.reset_caches()
