"""Resolve and every failure path of the AAS side, against real connectors on 127.0.0.1."""

import datetime as dt
import json
import logging
from urllib.parse import quote

import pytest
import time_machine

from connector import tokens
from connector.keys import public_key_to_jwk
from tests import factories
from tests.aas.conftest import CONNECTOR_URI
from tests.connector.servers import closed_port_url
from trustregistry.aas import services
from trustregistry.aas.errors import (
    ApplicationDisabled,
    ConnectorUnreachable,
    HandshakeFailed,
    InvalidResolveRequest,
    UnknownApplication,
)
from trustregistry.aas.models import PendingHandshake
from trustregistry.common import clock


def _resolve(uri, context="Cust1"):
    return services.resolve_connector(url=f"app://{uri}", context=context)


def test_resolve_runs_the_handshake_and_returns_the_url(connector_record, connector_url):
    assert _resolve(CONNECTOR_URI).url == connector_url
    pending = PendingHandshake.objects.get()
    assert pending.used_at is not None and pending.context == "Cust1"


def test_https_url_is_returned_unchanged(db):
    assert services.resolve_connector(url="https://legacy.example/c", context=None).url == (
        "https://legacy.example/c"
    )


@pytest.mark.parametrize(
    "url", [None, "", 5, "http://x.example/c", "ftp://x", "app:/x", "x" * 3000]
)
def test_invalid_urls(db, url):
    with pytest.raises(InvalidResolveRequest):
        services.resolve_connector(url=url, context="c")


@pytest.mark.parametrize("context", [None, "", "  ", "a\nb", "x" * 201])
def test_context_is_required_for_app_urls(connector_record, context):
    with pytest.raises(InvalidResolveRequest, match="context"):
        _resolve(CONNECTOR_URI, context=context)


def test_unknown_application(db):
    for uri in ("nobody.example/app", "bad uri with spaces", "CONNECTOR.example.com/app"):
        with pytest.raises(UnknownApplication):
            _resolve(uri)


def test_disabled_record(connector_record):
    connector_record.is_enabled = False
    connector_record.save()
    with pytest.raises(ApplicationDisabled) as info:
        _resolve(CONNECTOR_URI)
    assert info.value.code == "application_disabled" and info.value.status == 403


def test_record_without_key_or_url(connector_record):
    connector_record.public_keys = []
    connector_record.save()
    with pytest.raises(HandshakeFailed, match="no public key"):
        _resolve(CONNECTOR_URI)
    connector_record.connector_url = ""
    connector_record.save()
    with pytest.raises(HandshakeFailed, match="no connector URL"):
        _resolve(CONNECTOR_URI)


def test_record_key_replaced_by_another(connector_record, other_key):
    connector_record.public_keys = [public_key_to_jwk(other_key.public_key())]
    connector_record.save()
    with pytest.raises(HandshakeFailed, match="not signed by the application's key"):
        _resolve(CONNECTOR_URI)


def test_connector_refusing_gives_its_reason(connector_record, settings):
    settings.TRUSTREGISTRY_AAS_ISSUER = "https://someone-else.example/id"
    with pytest.raises(HandshakeFailed, match="connector refused the handshake: .*wrong issuer"):
        _resolve(CONNECTOR_URI)


def test_the_token_the_connector_gets(scripted):
    scripted.answer = lambda c: ("200 OK", [], b'{"Succeeded": false, "Reason": "just looking"}')
    with time_machine.travel(1_700_000_000, tick=False), pytest.raises(HandshakeFailed):
        _resolve("scripted.example.com/app", context="Cust42")
    [claims] = scripted.seen
    assert claims["aud"] == "spn:scripted.example.com/app"
    assert claims["sub"] == claims[tokens.CONTEXT_CLAIM] == "Cust42"
    assert (claims["nbf"], claims["exp"]) == (1_700_000_000 - 60, 1_700_000_000 + 300)
    assert len(claims["nonce"]) == 32 and claims["nonce"] == claims["nonce"].upper()


def _reply(app_key, nonce=None, *, now=None, token=None):
    def answer(claims):
        value = token or tokens.sign_application_token(
            nonce=nonce or claims["nonce"], private_key=app_key, now=now or clock.now().timestamp()
        )
        body = {"Succeeded": True, "Reason": None, "SignedApplicationToken": value}
        return "200 OK", [], json.dumps(body).encode()

    return answer


def test_scripted_connector_with_a_correct_reply_passes(scripted, app_key):
    scripted.answer = _reply(app_key)
    assert _resolve("scripted.example.com/app").url == scripted.record.connector_url


@pytest.mark.parametrize(
    "make_token, reason",
    [
        (lambda good: ".".join(good.split(".")[:2]), "exactly three parts"),
        (lambda good: good + ".extra", "exactly three parts"),
        (lambda good: "", "no SignedApplicationToken"),
    ],
)
def test_reply_with_two_or_four_parts(scripted, app_key, make_token, reason):
    def answer(claims):
        good = tokens.sign_application_token(nonce=claims["nonce"], private_key=app_key)
        body = {"Succeeded": True, "SignedApplicationToken": make_token(good)}
        return "200 OK", [], json.dumps(body).encode()

    scripted.answer = answer
    with pytest.raises(HandshakeFailed, match=reason):
        _resolve("scripted.example.com/app")


def test_reply_timestamp_16_minutes_off(scripted, app_key):
    scripted.answer = _reply(app_key, now=clock.now().timestamp() - 16 * 60)
    with pytest.raises(HandshakeFailed, match="15 minutes"):
        _resolve("scripted.example.com/app")


def test_reply_signed_by_another_key(scripted, other_key):
    scripted.answer = _reply(other_key)
    with pytest.raises(HandshakeFailed, match="not signed by the application's key"):
        _resolve("scripted.example.com/app")


def test_reply_with_the_nonce_of_another_attempt(scripted, app_key):
    scripted.answer = _reply(app_key, nonce=tokens.new_nonce())
    with pytest.raises(HandshakeFailed, match="another handshake"):
        _resolve("scripted.example.com/app")


def test_replayed_reply_from_an_earlier_attempt(scripted, app_key):
    captured = []

    def first(claims):
        status, headers, body = _reply(app_key)(claims)
        captured.append(body)
        return status, headers, body

    scripted.answer = first
    _resolve("scripted.example.com/app")
    scripted.answer = lambda claims: ("200 OK", [], captured[0])
    with pytest.raises(HandshakeFailed, match="another handshake"):
        _resolve("scripted.example.com/app")


def test_a_reply_is_accepted_once(scripted, app_key):
    attempt = services.begin_handshake(application=scripted.record, context="c")
    reply = tokens.sign_application_token(
        nonce=attempt.nonce, private_key=app_key, now=clock.now().timestamp()
    )
    services.complete_handshake(attempt=attempt, reply_token=reply)
    with pytest.raises(HandshakeFailed, match="already used or has expired"):
        services.complete_handshake(attempt=attempt, reply_token=reply)


def test_a_late_reply_after_the_nonce_expired(scripted, app_key):
    attempt = services.begin_handshake(application=scripted.record, context="c")
    later = clock.now() + dt.timedelta(seconds=tokens.TOKEN_LIFETIME_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        reply = tokens.sign_application_token(
            nonce=attempt.nonce, private_key=app_key, now=later.timestamp()
        )
        with pytest.raises(HandshakeFailed, match="already used or has expired"):
            services.complete_handshake(attempt=attempt, reply_token=reply)


def test_record_disabled_during_the_handshake(scripted, app_key):
    scripted.answer = _reply(app_key)
    attempt = services.begin_handshake(application=scripted.record, context="c")
    answer = services.call_connector(attempt)
    type(scripted.record).objects.filter(pk=scripted.record.pk).update(is_enabled=False)
    with pytest.raises(ApplicationDisabled):
        services.complete_handshake(attempt=attempt, reply_token=answer["SignedApplicationToken"])


def _replied(scripted, app_key):
    """A handshake whose connector has answered, not yet accepted: (attempt, reply)."""
    scripted.answer = _reply(app_key)
    attempt = services.begin_handshake(application=scripted.record, context="c")
    return attempt, services.call_connector(attempt)["SignedApplicationToken"]


def _record_now(scripted, **fields):
    type(scripted.record).objects.filter(pk=scripted.record.pk).update(**fields)


def test_record_key_replaced_during_the_handshake(scripted, app_key, other_key):
    # The key that signed the reply left the record while the connector worked (it leaked,
    # say): the reply is refused as one signed by no key of the record.
    attempt, reply = _replied(scripted, app_key)
    _record_now(scripted, public_keys=[public_key_to_jwk(other_key.public_key())])
    with pytest.raises(HandshakeFailed, match="not signed by the application's key"):
        services.complete_handshake(attempt=attempt, reply_token=reply)


def test_record_keys_removed_during_the_handshake(scripted, app_key):
    attempt, reply = _replied(scripted, app_key)
    _record_now(scripted, public_keys=[])
    with pytest.raises(HandshakeFailed, match="no public key"):
        services.complete_handshake(attempt=attempt, reply_token=reply)


def test_a_key_added_during_the_handshake_keeps_the_reply_good(scripted, app_key, other_key):
    attempt, reply = _replied(scripted, app_key)
    keys = [public_key_to_jwk(other_key.public_key()), *scripted.record.public_keys]
    _record_now(scripted, public_keys=keys)
    services.complete_handshake(attempt=attempt, reply_token=reply)


@pytest.mark.parametrize("new_url", ["", "http://127.0.0.1:9/elsewhere"])
def test_connector_url_changed_during_the_handshake(scripted, app_key, new_url):
    # The URL the connector proved itself at is no longer the record's: never handed out.
    attempt, reply = _replied(scripted, app_key)
    _record_now(scripted, connector_url=new_url)
    with pytest.raises(HandshakeFailed, match="connector URL changed during the handshake"):
        services.complete_handshake(attempt=attempt, reply_token=reply)


@pytest.mark.parametrize(
    "answer, reason",
    [
        (("500 Internal Server Error", [], b"boom"), "answered HTTP 500"),
        (("200 OK", [], b"<html>"), "answered HTTP 200 without a handshake answer"),
        (("200 OK", [], b"[]"), "without a handshake answer"),
        (("302 Found", [("Location", "http://127.0.0.1:1/x")], b""), "redirect"),
        (("200 OK", [], b'{"Succeeded": false, "Reason": null}'), "no reason given"),
        (("200 OK", [], b'{"Succeeded": "yes", "SignedApplicationToken": "x"}'), "refused"),
        (
            ("401 Unauthorized", [], b'{"Succeeded": false, "Reason": "bad\\u0000 token"}'),
            "bad  token",
        ),
        (("202 Accepted", [], b'{"Succeeded": true, "SignedApplicationToken": "x"}'), "HTTP 202"),
    ],
)
def test_connector_answers_that_are_not_a_pass(scripted, answer, reason):
    scripted.answer = lambda claims: answer
    with pytest.raises(HandshakeFailed, match=reason):
        _resolve("scripted.example.com/app")


def test_connector_answering_10_mb(scripted):
    chunk = b"x" * (1024 * 1024)
    scripted.answer = lambda claims: ("200 OK", [], [chunk] * 10)
    with pytest.raises(HandshakeFailed, match="too large"):
        _resolve("scripted.example.com/app")


@pytest.mark.parametrize("echo", ["{url}", "{URL}", "{origin}", "{host}"])
def test_connector_reason_never_echoes_the_url(scripted, echo):
    url = scripted.record.connector_url
    origin = url.rsplit("/", 1)[0]
    said = echo.format(url=url, URL=url.upper(), origin=origin, host=origin.split("//")[1])
    body = json.dumps({"Succeeded": False, "Reason": f"I am {said}"}).encode()
    scripted.answer = lambda claims: ("200 OK", [], body)
    with pytest.raises(HandshakeFailed) as info:
        _resolve("scripted.example.com/app")
    port = origin.rsplit(":", 1)[1]
    assert port not in info.value.message and "[connector]" in info.value.message


@pytest.mark.parametrize(
    "said",
    ["{path}?{query}", "{path}", "{query}", "{PATH}"],
    ids=["path+query", "path", "query", "upper"],
)
def test_connector_reason_never_echoes_the_path_or_query_of_its_url(scripted, said, caplog):
    """Connectors that share a host are told apart by the path (a tenant's) or a key in the
    query: echoed in the connector's reason, they reached the API's answer, the history and the
    log line, with only the scheme, host and port replaced."""
    base = scripted.record.connector_url.rsplit("/", 1)[0]
    path, query = "/tenants/7f3a9c2e/authenticate", "key=K-44119"
    type(scripted.record).objects.filter(pk=scripted.record.pk).update(
        connector_url=f"{base}{path}?{query}"
    )
    echoed = said.format(path=path, query=query, PATH=path.upper())
    body = json.dumps({"Succeeded": False, "Reason": f"No tenant at {echoed}"}).encode()
    scripted.answer = lambda claims: ("200 OK", [], body)
    with caplog.at_level(logging.INFO), pytest.raises(HandshakeFailed) as info:
        _resolve("scripted.example.com/app")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "No tenant at [connector]" in info.value.message
    for part in ("7f3a9c2e", "7F3A9C2E", "K-44119"):
        assert part not in info.value.message and part not in logged


def test_connector_reason_never_echoes_its_url_percent_encoded(scripted, caplog):
    """A connector that quotes its own URL as a parameter (`redirect=https%3A%2F%2F…`) had it
    passed on whole, in the answer and in the log line: "%2F" before the host made it look
    like part of a word, and the encoded path and query matched nothing."""
    base = scripted.record.connector_url.rsplit("/", 1)[0]
    url = f"{base}/tenants/7f3a9c2e/authenticate?key=K-44119"
    type(scripted.record).objects.filter(pk=scripted.record.pk).update(connector_url=url)
    body = json.dumps({"Succeeded": False, "Reason": f"Unknown audience {quote(url, safe='')}"})
    scripted.answer = lambda claims: ("200 OK", [], body.encode())
    with caplog.at_level(logging.INFO), pytest.raises(HandshakeFailed) as info:
        _resolve("scripted.example.com/app")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    port = base.rsplit(":", 1)[1]
    for part in ("7f3a9c2e", "K-44119", "127.0.0.1", port):
        assert part not in info.value.message and part not in logged, info.value.message
    assert "Unknown audience [connector]" in info.value.message


@pytest.mark.parametrize(
    ("path_and_query", "reason", "passed_on"),
    [
        ("/a", "Invalid nonce/audience", "Invalid nonce/audience"),
        ("/?x", "Token expired", "Token expired"),
        ("/authenticate?v", "Invalid signature", "Invalid signature"),
        ("/a", "No tenant at /a", "No tenant at [connector]"),
        ("/?x", "Unknown key x", "Unknown key [connector]"),
    ],
    ids=["short-path", "one-letter-query", "query-in-a-word", "path-alone", "query-alone"],
)
def test_a_short_path_or_query_is_not_replaced_inside_the_words_of_a_reason(
    scripted, path_and_query, reason, passed_on
):
    """A connector at `/a`, or with a query `x`, had every "/a" and "x" of its reason replaced
    in any letter case ("Token e[connector]pired"): a part of the URL is replaced where it
    stands alone, not inside a word."""
    base = scripted.record.connector_url.rsplit("/", 1)[0]
    type(scripted.record).objects.filter(pk=scripted.record.pk).update(
        connector_url=f"{base}{path_and_query}"
    )
    body = json.dumps({"Succeeded": False, "Reason": reason}).encode()
    scripted.answer = lambda claims: ("200 OK", [], body)
    with pytest.raises(HandshakeFailed) as info:
        _resolve("scripted.example.com/app")
    assert info.value.message.endswith(passed_on), info.value.message


def test_a_connector_answering_deeply_nested_json_is_handshake_failed(scripted):
    scripted.answer = lambda claims: ("200 OK", [], b"[" * 30_000 + b"]" * 30_000)
    with pytest.raises(HandshakeFailed, match="without a handshake answer"):
        _resolve("scripted.example.com/app")


def test_connector_unreachable_keeps_the_url_out_of_answer_and_logs(db, app_key, caplog):
    url = closed_port_url()
    factories.TrustedApplicationFactory(
        client_id="gone.example.com/app",
        connector_url=url,
        public_keys=[public_key_to_jwk(app_key.public_key())],
    )
    # At the project's log level (INFO); urllib3's own DEBUG lines name host and port.
    with caplog.at_level(logging.INFO), pytest.raises(ConnectorUnreachable) as info:
        _resolve("gone.example.com/app")
    assert info.value.code == "connector_unreachable"
    assert url not in info.value.message
    port = url.split(":")[2].split("/")[0]
    assert caplog.records and all(port not in r.getMessage() for r in caplog.records)


def test_connector_too_slow_is_unreachable(scripted, monkeypatch):
    import threading

    release = threading.Event()
    monkeypatch.setattr(services, "READ_TIMEOUT_SECONDS", 0.2)

    def slow(claims):
        release.wait(5)
        return "200 OK", [], b"{}"

    scripted.answer = slow
    try:
        with pytest.raises(ConnectorUnreachable, match="in time"):
            _resolve("scripted.example.com/app")
    finally:
        release.set()


def test_pending_nonces_are_purged_in_batches(scripted):
    for _ in range(3):
        services.begin_handshake(application=scripted.record, context="c")
    assert services.purge_expired_handshakes() == 0
    later = clock.now() + dt.timedelta(seconds=tokens.TOKEN_LIFETIME_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert services.purge_expired_handshakes(batch_size=2) == 2
        assert services.purge_expired_handshakes(batch_size=2) == 1
    assert not PendingHandshake.objects.exists()


def test_handshake_test_notes_outcome_in_history(connector_record, staff_user, other_key):
    result = services.run_handshake_test(application=connector_record, actor=staff_user)
    assert result.ok and "proved" in result.message
    latest = connector_record.history.order_by("-history_id").first()
    assert latest.history_change_reason == "handshake tested: ok"
    assert latest.history_user == staff_user

    connector_record.public_keys = [public_key_to_jwk(other_key.public_key())]
    connector_record.save()
    result = services.run_handshake_test(application=connector_record, actor=staff_user)
    assert not result.ok and "not signed" in result.message
    assert connector_record.connector_url not in result.message
    latest = connector_record.history.order_by("-history_id").first()
    assert latest.history_change_reason.startswith("handshake tested: failed (")
    assert len(latest.history_change_reason) <= 100


def test_a_long_reason_from_the_connector_is_noted_whole(scripted, staff_user):
    reason = "The SignedToken is meant for another application: " + "x" * 140  # 191 characters
    scripted.answer = lambda claims: (
        "200 OK",
        [],
        json.dumps({"Succeeded": False, "Reason": reason, "SignedApplicationToken": None}).encode(),
    )
    result = services.run_handshake_test(application=scripted.record, actor=staff_user)
    assert not result.ok and reason in result.message
    latest = scripted.record.history.order_by("-history_id").first()
    assert latest.history_change_reason.startswith("handshake tested: failed (")
    assert reason in latest.history_change_reason  # not cut at the old column's 100 characters
