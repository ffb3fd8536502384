import socket
import threading
import time

import pytest
import time_machine
from django.test import override_settings

from trustregistry.common.exceptions import TooManyFailures
from trustregistry.common.throttle import FailureThrottle, client_address


def test_twentieth_failure_is_refused_with_retry_after():
    throttle = FailureThrottle("test-a")
    for _ in range(19):
        throttle.record_failure("client-1", "10.0.0.1")
    throttle.check("client-1", "10.0.0.1")  # 19 failures: still allowed
    with pytest.raises(TooManyFailures) as exc:
        throttle.record_failure("client-1", "10.0.0.1")
    assert 1 <= exc.value.retry_after <= 300
    with pytest.raises(TooManyFailures):
        throttle.check("client-1", "10.0.0.1")


def test_other_clients_and_addresses_are_not_slowed():
    throttle = FailureThrottle("test-b")
    for _ in range(25):
        try:
            throttle.record_failure("client-2", "10.0.0.2")
        except TooManyFailures:
            pass
    throttle.check("client-3", "10.0.0.2")
    throttle.check("client-2", "10.0.0.3")
    with pytest.raises(TooManyFailures):
        throttle.check("client-2", "10.0.0.2")


def test_retry_after_counts_down_with_the_clock():
    throttle = FailureThrottle("test-c")
    with time_machine.travel("2026-01-01 12:00:00Z", tick=False) as traveller:
        for _ in range(19):
            throttle.record_failure("client-4", "10.0.0.4")
        traveller.shift(120)
        with pytest.raises(TooManyFailures) as exc:
            throttle.record_failure("client-4", "10.0.0.4")
        assert exc.value.retry_after == 180


def test_client_address_ignores_forwarded_for_unless_proxies_are_trusted(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4", REMOTE_ADDR="10.9.9.9")
    assert client_address(request) == "10.9.9.9"
    settings.TRUSTREGISTRY_TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "1.2.3.4"


def test_concurrent_first_failures_are_all_counted_in_redis(settings):
    """At a window's start every failure counts: none clears another's (against the Redis on
    127.0.0.1:6379, as production shares counts between servers)."""
    import threading
    import uuid

    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "trustregistry.common.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/7",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}",
        }
    }
    settings.TRUSTREGISTRY_THROTTLE_FAILURES = 1000
    throttle = FailureThrottle("test-race")
    for round_ in range(5):
        identity = f"racer-{round_}"
        barrier = threading.Barrier(16)

        def fail(identity: str = identity) -> None:
            barrier.wait(10)
            throttle.record_failure(identity, "10.0.0.9")

        threads = [threading.Thread(target=fail) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        prefix, started_key = throttle._keys(identity, "10.0.0.9")
        assert cache.get(throttle._count_key(prefix, cache.get(started_key))) == 16
        settings.TRUSTREGISTRY_THROTTLE_FAILURES = 16
        with pytest.raises(TooManyFailures):
            throttle.check(identity, "10.0.0.9")
        settings.TRUSTREGISTRY_THROTTLE_FAILURES = 1000


def _hanging_cache():  # type: ignore[no-untyped-def]
    """A "Redis" on 127.0.0.1 that accepts connections and never answers: (its URL, the list
    of connections it accepted, stop)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline and len(accepted) < 100:
            try:
                accepted.append(listener.accept()[0])  # held open, never answered
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()

    return f"redis://127.0.0.1:{listener.getsockname()[1]}/0", accepted, close


def _wait_for(condition, seconds: float = 3.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_cache_that_never_answers_is_left_alone_for_a_while():
    """One timeout, then the throttle lets requests through without asking the cache, until
    CACHE_RETRY_SECONDS have passed: not one timeout per request."""
    from trustregistry.common import throttle as module

    url, accepted, close = _hanging_cache()
    hanging = {
        "default": {
            "BACKEND": "trustregistry.common.redis_cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
        }
    }
    try:
        with override_settings(CACHES=hanging):
            throttle = FailureThrottle("hanging")
            throttle.check("client-9", "10.0.0.9")  # one timeout, then let through
            assert _wait_for(lambda: len(accepted) >= 1)
            asked = len(accepted)
            for _ in range(5):
                throttle.check("client-9", "10.0.0.9")
                throttle.record_failure("client-9", "10.0.0.9")
            time.sleep(0.2)  # a connection attempt would have been accepted by now
            assert len(accepted) == asked  # not asked again while it is known down
            module._cache_down_until = 0.0  # as CACHE_RETRY_SECONDS later
            throttle.check("client-9", "10.0.0.9")
            assert _wait_for(lambda: len(accepted) > asked)  # asked again
    finally:
        close()


def test_one_refused_command_does_not_pause_the_throttle(monkeypatch):
    """Only a cache that cannot be reached or does not answer pauses it: an error of one
    command (Redis answering, but refusing it) leaves the next request throttled as before."""
    from django.core.cache import cache
    from redis.exceptions import ResponseError

    throttle = FailureThrottle("test-refused")
    for _ in range(19):
        throttle.record_failure("client-8", "10.0.0.8")
    with pytest.raises(TooManyFailures):
        throttle.record_failure("client-8", "10.0.0.8")
    real_get = cache.get
    calls = []

    def refuse_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not calls:
            calls.append(1)
            raise ResponseError("OOM command not allowed")
        return real_get(*args, **kwargs)

    monkeypatch.setattr(cache, "get", refuse_once)
    throttle.check("client-8", "10.0.0.8")  # that one request goes through (fail open)
    with pytest.raises(TooManyFailures):
        throttle.check("client-8", "10.0.0.8")  # the next is throttled again


def test_the_decision_to_block_is_logged_once_with_the_identity_and_address(caplog):
    # README, Audit trail: one WARNING when a block begins; the refusals that follow it are
    # the request log's 429 lines.
    throttle = FailureThrottle("test-log")
    caplog.set_level("INFO", logger="trustregistry.common.throttle")
    for _ in range(19):
        throttle.record_failure("client-9", "10.0.0.9")
    assert not caplog.records
    for _ in range(2):
        with pytest.raises(TooManyFailures):
            throttle.record_failure("client-9", "10.0.0.9")
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith(
        "throttle test-log: 'client-9' from 10.0.0.9 blocked for "
    ) and record.getMessage().endswith(" s (20 failures within 300 s)")
