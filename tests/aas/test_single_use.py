"""A reply is accepted once, also when two app servers (two threads, two database
connections) receive it at the same moment."""

import threading

import pytest
from django.db import OperationalError, connection

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
        except OperationalError as exc:
            # SQLite's shared in-memory test database reports lock contention at once instead
            # of waiting; the reply is not accepted either way.
            outcomes.append(f"db: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=server) for _ in range(servers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == servers
    assert outcomes.count("accepted") == 1
    refused = [o for o in outcomes if o != "accepted"]
    for outcome in refused:
        assert outcome == "The reply's nonce was already used or has expired." or (
            connection.vendor == "sqlite" and outcome.startswith("db: ") and "locked" in outcome
        ), outcome
