import pytest
import time_machine

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
