"""A reply is accepted once, also when two app servers (two threads, two database
connections) receive it at the same moment."""

import threading

import pytest
from django.db import connection

from connector import tokens
from connector.keys import public_key_to_jwk
from tests import factories
from trustregistry.aas import services
from trustregistry.aas.errors import HandshakeFailed
from trustregistry.common import clock


@pytest.mark.django_db(transaction=True)
def test_concurrent_replies_to_one_nonce_are_accepted_once(app_key):
    record = factories.TrustedApplicationFactory(
        client_id="race.example.com/app",
        connector_url="http://127.0.0.1:9/authenticate",
        public_keys=[public_key_to_jwk(app_key.public_key())],
    )
    attempt = services.begin_handshake(application=record, context="c")
    reply = tokens.sign_application_token(
        nonce=attempt.nonce, private_key=app_key, now=clock.now().timestamp()
    )
    servers = 4
    barrier = threading.Barrier(servers)
    outcomes: list[str] = []

    def server():
        try:
            barrier.wait(timeout=10)
            services.complete_handshake(attempt=attempt, reply_token=reply)
            outcomes.append("accepted")
        except HandshakeFailed as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=server) for _ in range(servers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("accepted") == 1
    assert outcomes.count("The reply's nonce was already used or has expired.") == servers - 1
