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
