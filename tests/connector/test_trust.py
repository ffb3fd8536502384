"""The AAS keys a connector trusts: pinned certificates and the JWKS, fetched over real HTTP."""

import json
import time
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connector import trust
from connector.keys import public_key_to_jwk
from connector.tokens import HandshakeError
from tests.connector.servers import (
    closed_port_url,
    json_app,
    raw_server,
    serve,
    trickling_server,
)

DEVNET_KID = "B0AD4C0BFD8913B8040F3E8AD16A91F585222C33"
DEVNET_X5T = "sK1MC_2JE7gEDz6K0WqR9YUiLDM"


@pytest.fixture(scope="module")
def two_keys():
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


def _jwk(key, kid, x5t=None):
    # As the AAS publishes its key: with its certificate's thumbprint.
    jwk = {**public_key_to_jwk(key.public_key()), "kid": kid, "use": "sig", "alg": "RS256"}
    return {**jwk, "x5t": x5t or f"thumb-of-{kid}"}


def test_pinned_certificate_matches_kid_or_x5t(interop):
    pinned = trust.PinnedCertificates.from_pem((interop / "devnet-auth_DevNet.crt").read_text())
    assert len(pinned({"kid": DEVNET_KID})) == 1
    assert len(pinned({"kid": DEVNET_KID.lower()})) == 1
    assert len(pinned({"x5t": DEVNET_X5T})) == 1
    assert len(pinned({})) == 1
    with pytest.raises(HandshakeError, match="does not trust"):
        pinned({"kid": "NOPE"})
    with pytest.raises(HandshakeError, match="does not trust"):
        pinned({"x5t": "bm9wZQ"})


def test_pinned_file_may_hold_two_certificates_for_rotation(interop, tmp_path, db):
    from trustregistry.keys.services import aas_certificate_pem

    devnet = (interop / "devnet-auth_DevNet.crt").read_text()
    path = tmp_path / "aas.pem"
    path.write_text(devnet.strip() + "\n" + aas_certificate_pem())
    pinned = trust.PinnedCertificates.from_file(str(path))
    assert len(pinned({"kid": DEVNET_KID})) == 1
    assert len(pinned({})) == 2


def test_pinned_bundle_with_text_around_its_certificates_is_read(interop, tmp_path, db):
    from trustregistry.keys.services import aas_certificate_pem

    devnet = (interop / "devnet-auth_DevNet.crt").read_text()
    bundle = f"subject=CN = Müller\n{devnet.strip()}\n# issued to Zoë\n{aas_certificate_pem()}"
    path = tmp_path / "bundle.pem"
    path.write_bytes(bundle.encode("utf-8"))
    pinned = trust.PinnedCertificates.from_file(str(path))
    assert len(pinned({})) == 2 and len(pinned({"kid": DEVNET_KID})) == 1


def test_a_pinned_file_that_is_no_certificate_is_a_format_error(tmp_path):
    from connector.keys import KeyFormatError

    path = tmp_path / "aas.pem"
    path.write_bytes("no certificate here, Zoë".encode())
    with pytest.raises(KeyFormatError):
        trust.PinnedCertificates.from_file(str(path))


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_jwks_is_cached_and_refetched_once_a_minute_per_unknown_kid(two_keys):
    served = {"keys": [_jwk(two_keys[0], "one")]}
    calls = []

    def fetch(url):
        calls.append(url)
        return json.loads(json.dumps(served))

    clock = FakeClock()
    keys = trust.JwksKeys("https://aas.example/jwks", fetch=fetch, clock=clock)
    assert keys({"kid": "one"})[0].public_numbers() == two_keys[0].public_key().public_numbers()
    assert keys({"kid": "one"}) and len(calls) == 1  # cached

    with pytest.raises(HandshakeError, match="does not trust"):
        keys({"kid": "two"})
    assert len(calls) == 2  # one refetch for the unknown kid
    served["keys"].append(_jwk(two_keys[1], "two"))
    clock.now += 30
    with pytest.raises(HandshakeError, match="does not trust"):
        keys({"kid": "two"})
    assert len(calls) == 2  # not again within the minute
    clock.now += 31
    assert keys({"kid": "two"})
    assert len(calls) == 3

    clock.now += trust.JWKS_CACHE_SECONDS + 1
    keys({"kid": "one"})
    assert len(calls) == 4  # stale cache refreshed


def _counted_jwks(two_keys):  # type: ignore[no-untyped-def]
    """JwksKeys serving key "one", its fetches counted, its clock in the test's hand."""
    calls: list[str] = []
    clock = FakeClock()
    keys = trust.JwksKeys(
        "https://aas.example/jwks",
        fetch=lambda url: calls.append(url) or {"keys": [_jwk(two_keys[0], "one")]},
        clock=clock,
    )
    return keys, calls, clock


def test_many_made_up_kids_do_not_become_many_fetches(two_keys):
    keys, calls, clock = _counted_jwks(two_keys)
    for n in range(50):
        with pytest.raises(HandshakeError):
            keys({"kid": f"made-up-{n}"})
    assert len(calls) == 1  # the first load, which was already a fetch for the unknown kid
    clock.now += 5
    for n in range(50):
        with pytest.raises(HandshakeError):
            keys({"kid": f"made-up-again-{n}"})
    assert len(calls) == 2  # one refetch


def test_a_kid_not_in_a_jwks_just_fetched_is_not_fetched_for_again_at_once(two_keys):
    """The keys were fetched in this very call (at start, or because the cache went stale): a
    second fetch a millisecond later cannot know more, and would double the AAS's load of
    every connector start and every token with an unknown kid."""
    keys, calls, clock = _counted_jwks(two_keys)
    with pytest.raises(HandshakeError, match="does not trust"):
        keys({"kid": "two"})
    assert len(calls) == 1
    clock.now += trust.JWKS_CACHE_SECONDS + 1
    with pytest.raises(HandshakeError, match="does not trust"):
        keys({"kid": "three"})
    assert len(calls) == 2
    clock.now += trust.UNKNOWN_KID_REFETCH_SECONDS
    with pytest.raises(HandshakeError, match="does not trust"):
        keys({"kid": "three"})
    assert len(calls) == 3  # a minute later, once more


def test_token_without_kid_is_refused_in_jwks_mode(two_keys):
    keys = trust.JwksKeys("https://aas.example/jwks", fetch=lambda url: {"keys": []})
    with pytest.raises(HandshakeError, match="names no key"):
        keys({"alg": "RS256"})


def test_jwks_fetched_over_http_and_jku_is_never_followed(two_keys):
    jwks = {"keys": [_jwk(two_keys[0], "aas-1")]}
    attacker_hits = []
    aas = json_app(
        {
            "/jwks": lambda body: (
                "200 OK",
                [("Content-Type", "application/json")],
                json.dumps(jwks).encode(),
            )
        }
    )
    attacker = json_app(
        {
            "/jwks": lambda body: (
                attacker_hits.append(1)
                or ("200 OK", [], json.dumps({"keys": [_jwk(two_keys[1], "evil")]}).encode())
            )
        }
    )
    with serve(aas) as aas_url, serve(attacker) as attacker_url:
        keys = trust.JwksKeys(f"{aas_url}/jwks")
        good = jwt.encode({"x": 1}, two_keys[0], algorithm="RS256", headers={"kid": "aas-1"})
        header = jwt.get_unverified_header(good)
        assert keys(header)
        evil_header = {"alg": "RS256", "kid": "evil", "jku": f"{attacker_url}/jwks"}
        with pytest.raises(HandshakeError, match="does not trust"):
            keys(evil_header)
    assert attacker_hits == []


def test_jwks_fetch_refuses_redirects_and_huge_bodies():
    big = b'{"keys": [' + b" " * (trust.JWKS_MAX_BYTES + 10) + b"]}"
    app = json_app(
        {
            "/redirect": lambda body: ("302 Found", [("Location", "/jwks")], b""),
            "/jwks": lambda body: ("200 OK", [], b'{"keys": []}'),
            "/big": lambda body: ("200 OK", [], big),
            "/notjson": lambda body: ("200 OK", [], b"<html>"),
        }
    )
    with serve(app) as url:
        assert trust.fetch_jwks(f"{url}/jwks") == {"keys": []}
        for path in ("/redirect", "/big", "/notjson"):
            with pytest.raises((OSError, ValueError)):
                trust.fetch_jwks(f"{url}{path}")
            with pytest.raises(HandshakeError, match="could not fetch"):
                trust.JwksKeys(f"{url}{path}")({"kid": "x"})


def test_unreachable_jwks_is_a_refusal_not_a_crash():
    keys = trust.JwksKeys(closed_port_url())
    with pytest.raises(HandshakeError, match="could not fetch"):
        keys({"kid": "x"})


def test_only_keys_published_with_a_certificate_thumbprint_are_aas_keys(two_keys):
    # The registry's JWKS also holds its OIDC keys (no certificate): they sign ID and access
    # tokens, never SignedTokens, and a connector must not take them for the AAS's.
    oidc = {k: v for k, v in _jwk(two_keys[1], "oidc-1").items() if k != "x5t"}
    keys = trust.JwksKeys(
        "https://aas.example/jwks",
        fetch=lambda url: {"keys": [_jwk(two_keys[0], "aas-1", "T1"), oidc]},
    )
    assert keys({"kid": "aas-1"}) and keys({"kid": "aas-1", "x5t": "T1"})
    with pytest.raises(HandshakeError, match="does not trust"):
        keys({"kid": "oidc-1"})
    with pytest.raises(HandshakeError, match="does not trust"):
        keys({"kid": "aas-1", "x5t": "another-certificate"})


def _scripted_jwks(two_keys):  # type: ignore[no-untyped-def]
    """JwksKeys whose fetch answers the last of `answers` (an exception is raised): first
    key "one"; its fetches counted, its clock in the test's hand."""
    answers: list[object] = [{"keys": [_jwk(two_keys[0], "one")]}]
    calls: list[str] = []

    def fetch(url):  # type: ignore[no-untyped-def]
        calls.append(url)
        answer = answers[-1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    clock = FakeClock()
    keys = trust.JwksKeys("https://aas.example/jwks", fetch=fetch, clock=clock)
    return SimpleNamespace(keys=keys, answers=answers, calls=calls, clock=clock, fetch=fetch)


def test_a_failed_fetch_is_not_repeated_by_every_request_and_known_keys_keep_working(two_keys):
    jwks = _scripted_jwks(two_keys)
    keys, answers, calls, clock = jwks.keys, jwks.answers, jwks.calls, jwks.clock
    assert keys({"kid": "one"}) and len(calls) == 1
    answers.append(OSError("connection refused"))
    clock.now += trust.JWKS_CACHE_SECONDS + 1  # stale: the next request refetches, and fails
    for _ in range(20):
        assert keys({"kid": "one"})  # the key at hand still serves
    assert len(calls) == 2
    clock.now += trust.FAILED_FETCH_RETRY_SECONDS
    assert keys({"kid": "one"}) and len(calls) == 3  # tried again after the pause

    # Never fetched at all: refused at once while the pause lasts.
    down = trust.JwksKeys(
        "https://aas.example/jwks",
        fetch=lambda url: calls.append(url) or jwks.fetch(url),
        clock=clock,
    )
    before = len(calls)
    for _ in range(20):
        with pytest.raises(HandshakeError, match="could not fetch"):
            down({"kid": "one"})
    assert len(calls) - before == 2  # its own first try, and fetch() inside it, once


def _answer(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.mark.parametrize(
    ("answer", "fetches"),
    [
        (b"HTTP/1.1 abc\r\n\r\n", 1),  # http.client.BadStatusLine
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 1),  # bad chunk
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 1),  # header line too long
        (_answer(b"[" * 100000), 1),  # nested deeper than Python parses
        # A member that is no string: that key is skipped, so the kid is unknown (the keys
        # were just fetched: no refetch for it follows at once).
        (_answer(b'{"keys": [{"kty": "RSA", "kid": "k", "x5t": "t", "n": 1, "e": "AQAB"}]}'), 1),
    ],
)
def test_a_garbage_jwks_is_a_refusal_not_a_crash(answer, fetches):
    listener, thread = raw_server(answer, connections=fetches)
    try:
        keys = trust.JwksKeys(f"http://127.0.0.1:{listener.getsockname()[1]}/jwks")
        with pytest.raises(HandshakeError):
            keys({"kid": "k"})
        assert keys.fetch_count == fetches
    finally:
        thread.join(timeout=5)
        listener.close()


def test_a_trickling_jwks_runs_out_of_time_as_a_whole():
    # Each byte within the timeout; the whole answer would take 2 s.
    listener, thread = trickling_server(drips=40, interval=0.05)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            trust.fetch_jwks(f"http://127.0.0.1:{listener.getsockname()[1]}/jwks", timeout=0.3)
        assert time.monotonic() - started < 1.5
    finally:
        thread.join(timeout=5)
        listener.close()


def test_two_keys_published_under_one_kid_both_verify(two_keys):
    # RFC 7517: kids SHOULD (not MUST) differ. The connector keeps both and tries each; the
    # token's x5t, when present, still picks between them.
    served = {"keys": [_jwk(two_keys[0], "same", "T0"), _jwk(two_keys[1], "same", "T1")]}
    keys = trust.JwksKeys("https://aas.example/jwks", fetch=lambda url: served)
    numbers = {k.public_numbers() for k in keys({"kid": "same"})}
    assert numbers == {k.public_key().public_numbers() for k in two_keys}
    (only,) = keys({"kid": "same", "x5t": "T1"})
    assert only.public_numbers() == two_keys[1].public_key().public_numbers()
    with pytest.raises(HandshakeError, match="does not trust"):
        keys({"kid": "same", "x5t": "T2"})


@pytest.mark.parametrize(
    ("answer", "logged"),
    [
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "answered HTTP 404"),
        (_answer(b'{"no": "keys"}'), "not a JWKS"),
        # The answer's own text never reaches the log: only what kind of failure it was.
        (b"HTTP/1.1 SECRET-TEXT\r\n\r\n", "BadStatusLine"),
    ],
)
def test_a_failed_jwks_fetch_is_logged_once_for_the_connectors_operator(caplog, answer, logged):
    """The refusal ("could not fetch the AAS keys") goes to the AAS; before, the connector's
    own log said nothing, so its operator could not tell a wrong JWKS URL from a refused
    token. One warning per failed fetch, which is tried at most every 10 s."""
    listener, thread = raw_server(answer, connections=1)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/jwks"
        keys = trust.JwksKeys(url)
        with caplog.at_level("WARNING", logger="connector.trust"):
            for _ in range(3):
                with pytest.raises(HandshakeError, match="could not fetch"):
                    keys({"kid": "k"})
    finally:
        thread.join(timeout=5)
        listener.close()
    [record] = [r for r in caplog.records if r.name == "connector.trust"]
    assert record.levelname == "WARNING"
    assert url in record.getMessage() and logged in record.getMessage()
    assert "SECRET-TEXT" not in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pa55@aas.example/id/jwks?sig=abc#x", "https://aas.example/id/jwks"),
        ("http://127.0.0.1:8000/jwks", "http://127.0.0.1:8000/jwks"),
        ("http://[::1/jwks", "(an unreadable URL)"),
    ],
)
def test_a_url_is_shown_without_its_credentials(url, shown):
    assert trust.shown_url(url) == shown


def test_a_failed_fetch_logs_no_credentials_of_the_jwks_url(caplog):
    """An operator may put a proxy's basic-auth credentials or a signed query in the URL: the
    warning names the place, not those."""
    listener, thread = raw_server(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 1)
    try:
        port = listener.getsockname()[1]
        keys = trust.JwksKeys(f"http://ops:pa55word@127.0.0.1:{port}/jwks?sig=s3cret")
        with caplog.at_level("WARNING", logger="connector.trust"):
            with pytest.raises(HandshakeError, match="could not fetch"):
                keys({"kid": "k"})
    finally:
        thread.join(timeout=5)
        listener.close()
    assert f"http://127.0.0.1:{port}/jwks" in caplog.text
    assert "pa55word" not in caplog.text and "s3cret" not in caplog.text


def test_a_refresh_under_way_does_not_hold_up_handshakes_signed_by_a_known_key(two_keys):
    """The cache went stale and one handshake refetches (up to JWKS_TIMEOUT_SECONDS when the
    AAS is slow): the others meanwhile are answered from the keys at hand, not queued."""
    import threading

    release = threading.Event()
    started = threading.Event()
    calls = []

    def fetch(url):  # type: ignore[no-untyped-def]
        calls.append(url)
        if len(calls) == 2:  # the refresh: slow
            started.set()
            release.wait(timeout=10)
        return {"keys": [_jwk(two_keys[0], "one")]}

    clock = FakeClock()
    keys = trust.JwksKeys("https://aas.example/jwks", fetch=fetch, clock=clock)
    assert keys({"kid": "one"})
    clock.now += trust.JWKS_CACHE_SECONDS + 1
    refresher = threading.Thread(target=keys, args=({"kid": "one"},))
    refresher.start()
    try:
        assert started.wait(timeout=5)
        done = threading.Event()
        other = threading.Thread(target=lambda: (keys({"kid": "one"}), done.set()))
        other.start()
        assert done.wait(timeout=2), "a handshake waited for another's refresh"
        other.join(timeout=2)
        assert len(calls) == 2  # one refresh, not one per handshake
    finally:
        release.set()
        refresher.join(timeout=5)


def _blocking_jwks(two_keys):  # type: ignore[no-untyped-def]
    """JwksKeys (never stale: its clock stands) whose fetches of key "one" each wait for
    `release`, counted in `calls`."""
    import threading

    release = threading.Event()
    calls: list[str] = []

    def fetch(url):  # type: ignore[no-untyped-def]
        calls.append(url)
        release.wait(timeout=10)
        return {"keys": [_jwk(two_keys[0], "one")]}

    return (
        trust.JwksKeys("https://aas.example/jwks", fetch=fetch, clock=FakeClock()),
        release,
        calls,
    )


def test_at_start_handshakes_wait_for_the_one_first_fetch(two_keys):
    """With no keys at hand there is nothing to answer from: a second handshake waits for the
    first's fetch and uses its keys, rather than fetching again."""
    import threading

    keys, release, calls = _blocking_jwks(two_keys)
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(keys({"kid": "one"}))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    while not calls:
        threading.Event().wait(0.01)
    threading.Event().wait(0.1)  # the others have arrived and wait
    release.set()
    for thread in threads:
        thread.join(timeout=5)
    assert len(results) == 4 and len(calls) == 1


def test_a_handshake_that_waited_for_a_fetch_does_not_fetch_again_for_its_unknown_kid(two_keys):
    """At start, one handshake fetches; another, for a kid the keys turn out not to hold, waits
    for that fetch: it has just seen the JWKS as it is, and a second fetch could not know more."""
    import threading

    release = threading.Event()
    calls = []

    def fetch(url):  # type: ignore[no-untyped-def]
        calls.append(url)
        release.wait(timeout=10)
        return {"keys": [_jwk(two_keys[0], "one")]}

    # The second handshake reads the clock holding the lock, and holds it until it waits for
    # the fetch; the fetch cannot finish before that. A fixed pause for it to arrive was not
    # enough on a busy machine: arriving after the fetch, it rightly fetched for its kid.
    second_arrived = threading.Event()

    def clock() -> float:
        if threading.current_thread().name == "second":
            second_arrived.set()
        return 1000.0

    keys = trust.JwksKeys("https://aas.example/jwks", fetch=fetch, clock=clock)
    outcomes: list[object] = []

    def handshake(kid: str) -> None:
        try:
            outcomes.append(keys({"kid": kid}))
        except HandshakeError as exc:
            outcomes.append(exc.reason)

    first = threading.Thread(target=handshake, args=("one",))
    first.start()
    while not calls:
        threading.Event().wait(0.01)
    second = threading.Thread(target=handshake, args=("two",), name="second")
    second.start()
    assert second_arrived.wait(timeout=5)
    release.set()
    first.join(timeout=5)
    second.join(timeout=5)
    assert len(outcomes) == 2 and len(calls) == 1


def test_a_kid_met_in_the_pause_after_a_failed_fetch_keeps_its_refetch(two_keys):
    """No fetch is made within FAILED_FETCH_RETRY_SECONDS of a failed one: a kid met in that
    pause was counted as refetched all the same, and refused for the rest of its minute
    although the AAS answered again after the pause."""
    jwks = _scripted_jwks(two_keys)
    keys, answers, calls, clock = jwks.keys, jwks.answers, jwks.calls, jwks.clock
    assert keys({"kid": "one"}) and len(calls) == 1
    answers.append(OSError("connection refused"))
    with pytest.raises(HandshakeError):
        keys({"kid": "two"})  # its refetch fails
    assert len(calls) == 2
    clock.now += trust.ANY_UNKNOWN_KID_REFETCH_SECONDS
    with pytest.raises(HandshakeError):
        keys({"kid": "three"})  # in the pause: no fetch
    assert len(calls) == 2
    answers.append({"keys": [_jwk(two_keys[0], "one"), _jwk(two_keys[1], "three")]})
    clock.now += trust.FAILED_FETCH_RETRY_SECONDS
    assert keys({"kid": "three"}) and len(calls) == 3 and keys.fetch_count == 3
