"""The framework-free connector: one answer per token, replay refused."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connector import tokens
from connector.keys import KeyFormatError
from connector.service import Connector, MemoryReplayGuard, RefusalLog
from connector.trust import PinnedCertificates

INSIDE = 1639640500


@pytest.fixture(scope="module")
def app_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def devnet_connector(interop, app_key):
    return Connector(
        application_uri="123123123123123123",
        private_key=app_key,
        trusted_issuer="SuperOffice AS",
        keys=PinnedCertificates.from_pem((interop / "devnet-auth_DevNet.crt").read_text()),
    )


def test_answers_the_superoffice_token_once(interop, devnet_connector, app_key):
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text()
    first = devnet_connector.authenticate(token, now=INSIDE)
    assert first.succeeded and first.reason is None and first.context == "Cust12020"
    tokens.verify_application_token(
        first.signed_application_token,
        expected_nonce="9AB41493762B0C5B6E0F1AB35F032B95",
        public_keys=[app_key.public_key()],
        now=INSIDE,
    )
    second = devnet_connector.authenticate(token, now=INSIDE + 1)
    assert second.as_json() == {
        "Succeeded": False,
        "Reason": "The SignedToken has already been answered (replay).",
        "SignedApplicationToken": None,
    }


def test_refusal_does_not_burn_the_nonce(interop, devnet_connector):
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text()
    late = devnet_connector.authenticate(token, now=1639640741 + 61)
    assert not late.succeeded and "expired" in late.reason
    assert devnet_connector.authenticate(token, now=INSIDE).succeeded


def test_memory_replay_guard_forgets_after_keep_until():
    guard = MemoryReplayGuard()
    assert guard("N1", 200, 100) is True
    assert guard("N1", 200, 150) is False
    assert guard("N1", 300, 201) is True


def test_memory_replay_guard_full_of_live_nonces_refuses():
    guard = MemoryReplayGuard(max_entries=2)
    assert guard("a", 10, 0) and guard("b", 10, 0)
    assert guard("c", 10, 0) is False
    assert guard("c", 20, 11) is True  # expired entries make room


def test_connector_needs_an_rsa_key(interop):
    with pytest.raises(KeyFormatError, match="RSA"):
        Connector(
            application_uri="x",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            trusted_issuer="i",
            keys=lambda h: [],
        )


def test_a_refusal_is_logged_for_the_connectors_operator_with_its_reason_only(
    interop, devnet_connector, caplog
):
    """Whatever serves the connector (the WSGI or ASGI app, the Django app, a Flask view),
    the operator can tell why the AAS's handshakes fail: the reason, never the token."""
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    with caplog.at_level("INFO", logger="connector.service"):
        assert devnet_connector.authenticate(token, now=INSIDE).succeeded
        assert not caplog.records  # an answered handshake is not news
        devnet_connector.authenticate(token, now=INSIDE + 1)
        devnet_connector.authenticate(token, now=1639640741 + 61)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "handshake refused: The SignedToken has already been answered (replay)."),
        ("WARNING", "handshake refused: The SignedToken has expired."),
    ]
    assert token.split(".")[1][:20] not in caplog.text


def test_a_flood_of_refusals_does_not_flood_the_log(interop, devnet_connector, caplog):
    """Anybody can send a connector tokens to refuse: at most 20 lines a minute, then one line
    counting the rest once the minute has passed."""
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    late = 1639640741 + 61
    with caplog.at_level("WARNING", logger="connector.service"):
        for i in range(25):
            devnet_connector.authenticate(token, now=late + i)
        assert len(caplog.records) == 20
        devnet_connector.authenticate(token, now=late + 61)
    assert [r.getMessage() for r in caplog.records[20:]] == [
        "handshake refused 5 more times within 60 s (not logged one by one)",
        "handshake refused: The SignedToken has expired.",
    ]


def test_a_clock_set_back_does_not_silence_the_refusal_log(caplog):
    """The window is measured on the wall clock the handshake is judged by: set back (NTP
    stepping it, an operator's correction) by an hour, it made every refusal of the hour that
    followed one of the window already full, and none was logged. The window now ends a
    minute after the step at the latest."""
    log = RefusalLog(limit=2, window=60)
    with caplog.at_level("WARNING", logger="connector.service"):
        for _ in range(3):
            log("The SignedToken has expired.", 10_000.0)
        log("The SignedToken has expired.", 10_000.0 - 3600)  # set back: still counted
        log("The SignedToken has expired.", 10_000.0 - 3600 + 59.9)
        assert len(caplog.records) == 2
        log("The SignedToken has expired.", 10_000.0 - 3600 + 60)
    assert [r.getMessage() for r in caplog.records] == [
        "handshake refused: The SignedToken has expired.",
        "handshake refused: The SignedToken has expired.",
        "handshake refused 3 more times within 60 s (not logged one by one)",
        "handshake refused: The SignedToken has expired.",
    ]
