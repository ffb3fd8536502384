from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from connector.keys import public_key_to_jwk
from connector.service import Connector
from connector.trust import PinnedCertificates
from connector.wsgi import make_app
from tests import factories
from tests.connector.servers import serve

CONNECTOR_URI = "connector.example.com/app"


@pytest.fixture(scope="session")
def app_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def aas_pinned(db):
    from trustregistry.keys.services import aas_certificate_pem

    return PinnedCertificates.from_pem(aas_certificate_pem())


@pytest.fixture
def connector_url(aas_pinned, app_key):
    """A real connector (the framework-free one) on 127.0.0.1, trusting the AAS certificate."""
    connector = Connector(
        application_uri=CONNECTOR_URI,
        private_key=app_key,
        trusted_issuer=settings.TRUSTREGISTRY_AAS_ISSUER,
        keys=aas_pinned,
    )
    with serve(make_app(connector)) as base:
        yield f"{base}/authenticate"


@pytest.fixture
def connector_record(connector_url, app_key):
    return factories.TrustedApplicationFactory(
        client_id=CONNECTOR_URI,
        connector_url=connector_url,
        public_keys=[public_key_to_jwk(app_key.public_key())],
        scope="sec",
    )


class Scripted:
    """A misbehaving connector: `answer(claims)` returns (status line, headers, body)."""

    def __init__(self):
        self.answer = lambda claims: ("200 OK", [], b"{}")
        self.seen: list[dict] = []
        self.requests: list[tuple[dict, str]] = []  # (WSGI environ, SignedToken as sent)

    def wsgi(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length))
        self.requests.append((environ, body["SignedToken"]))
        claims = jwt.decode(body["SignedToken"], options={"verify_signature": False})
        self.seen.append(claims)
        status, headers, payload = self.answer(claims)
        start_response(status, [("Content-Type", "application/json"), *headers])
        return payload if isinstance(payload, list) else [payload]


@pytest.fixture
def scripted(db, app_key):
    script = Scripted()
    with serve(script.wsgi) as base:
        script.record = factories.TrustedApplicationFactory(
            client_id="scripted.example.com/app",
            connector_url=f"{base}/authenticate",
            public_keys=[public_key_to_jwk(app_key.public_key())],
        )
        yield script
