"""Failure throttling for client authentication and HTTP Basic.

SPEC section 3: from the 20th failure of one client id (or Basic user) from one address within
5 minutes, answer 429 with Retry-After, without slowing other clients. Counters live in
Django's default cache, so with Redis (`CACHE_URL`) they hold across every worker and server.

Usage on an authentication path::

    throttle = FailureThrottle("token")
    throttle.check(identity, address)          # raises TooManyFailures while blocked
    ...
    if failed:
        throttle.record_failure(identity, address)   # raises TooManyFailures on the 20th

If the cache cannot be reached (Redis down), the throttle lets requests through and logs one
line a minute: sign-ins and token requests keep working on the database alone, unthrottled
until the cache is back, instead of every one of them answering 500. The Redis client gives
up after a short timeout (settings.CACHES); after it could not connect or got no answer, this
process leaves the cache alone for CACHE_RETRY_SECONDS, so a cache that accepts connections
but never answers costs one timeout per process every few seconds, not one per request.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from trustregistry.common import clock
from trustregistry.common.exceptions import TooManyFailures
from trustregistry.common.logging import shown

logger = logging.getLogger(__name__)

try:  # the errors of a cache that cannot be reached; only Redis has them here
    from redis.exceptions import ConnectionError as _CacheUnreachable
    from redis.exceptions import RedisError as _CacheDown
    from redis.exceptions import TimeoutError as _CacheTimeout
except ImportError:  # pragma: no cover - redis is a dependency
    _CacheDown = _CacheUnreachable = _CacheTimeout = OSError  # type: ignore[assignment,misc]

_F = TypeVar("_F", bound=Callable[..., Any])
_last_logged = 0.0
CACHE_RETRY_SECONDS = 5.0
_cache_down_until = 0.0


def _open_when_the_cache_is_down(method: _F) -> _F:
    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        global _last_logged, _cache_down_until
        if time.monotonic() < _cache_down_until:
            return None  # failed moments ago: do not wait for its timeout again
        try:
            return method(*args, **kwargs)
        except (_CacheDown, OSError) as exc:
            now = time.monotonic()
            if isinstance(exc, (_CacheUnreachable, _CacheTimeout, OSError)):
                # Unreachable or not answering: the next requests would wait for it too. Any
                # other error (one refused command) concerns this request only.
                _cache_down_until = now + CACHE_RETRY_SECONDS
            if now - _last_logged >= 60:
                _last_logged = now
                logger.error("throttle: the cache cannot be reached (%s)", type(exc).__name__)
            return None

    return guarded  # type: ignore[return-value]


def _window() -> int:
    return int(getattr(settings, "TRUSTREGISTRY_THROTTLE_WINDOW", 300))


class FailureThrottle:
    """Failures counted per (identity, address) in a window of TRUSTREGISTRY_THROTTLE_WINDOW
    seconds; blocked from the `limit_setting`-th (a setting read on each use, so tests and
    operators can change it; 0 turns this throttle off)."""

    def __init__(self, scope: str, *, limit_setting: str = "TRUSTREGISTRY_THROTTLE_FAILURES"):
        self.scope = scope
        self.limit_setting = limit_setting

    def _limit(self) -> int:
        return int(getattr(settings, self.limit_setting, 20))

    def _keys(self, identity: str, address: str) -> tuple[str, str]:
        """(the count's key prefix, the window start's key). Each window counts under its own
        key (the prefix and the window's start), so a new window never has to clear an old
        count, which concurrent first failures would otherwise clear under each other."""
        # Hash the identity: a client id or username is caller-controlled input and must not
        # shape the cache key (length, control characters).
        digest = hashlib.sha256(f"{identity}\x00{address}".encode()).hexdigest()[:40]
        base = f"tr:throttle:{self.scope}:{digest}"
        return f"{base}:n", f"{base}:t"

    @staticmethod
    def _count_key(prefix: str, started: float) -> str:
        return f"{prefix}:{int(started * 1000)}"

    def _window_started(self, started_key: str, now: float) -> float | None:
        """When the current window began, or None when there is none: the cache's expiry ends
        a window, and so does the registry's clock (the one function tests can move), so a
        window never outlives its length even where the cache keeps keys longer."""
        started = cache.get(started_key)
        if started is None or started + _window() <= now:
            return None
        return float(started)

    @_open_when_the_cache_is_down
    def check(self, identity: str, address: str) -> None:
        limit = self._limit()
        if limit <= 0:
            return
        prefix, started_key = self._keys(identity, address)
        now = clock.now().timestamp()
        started = self._window_started(started_key, now)
        if started is None:
            return
        if (cache.get(self._count_key(prefix, started)) or 0) >= limit:
            raise TooManyFailures(max(1, math.ceil(started + _window() - now)))

    @_open_when_the_cache_is_down
    def record_failure(self, identity: str, address: str) -> None:
        limit = self._limit()
        if limit <= 0:
            return
        prefix, started_key = self._keys(identity, address)
        window = _window()
        now = clock.now().timestamp()
        started = self._window_started(started_key, now)
        if started is None:
            # A new window: add() lets exactly one of concurrent first failures start it, and
            # the others count in it. (set(): a start the cache still keeps although the
            # registry's clock has moved past its window.)
            if not cache.add(started_key, now, window):
                started = self._window_started(started_key, now)
                if started is None:
                    cache.set(started_key, now, window)
            started = started if started is not None else now
        count_key = self._count_key(prefix, started)
        cache.add(count_key, 0, window)
        try:
            count = cache.incr(count_key)
        except ValueError:  # expired between add and incr: the window is over, start one
            cache.set(started_key, now, window)
            started = now
            cache.set(self._count_key(prefix, started), 1, window)
            count = 1
        if count >= limit:
            retry_after = max(1, math.ceil(started + window - now))
            if count == limit:
                # The decision, once: the refusals until the window ends follow from it.
                logger.warning(
                    "throttle %s: %s from %s blocked for %d s (%d failures within %d s)",
                    self.scope,
                    shown(identity) if identity else "any name",
                    address,
                    retry_after,
                    count,
                    window,
                )
            raise TooManyFailures(retry_after)

    @_open_when_the_cache_is_down
    def reset(self, identity: str, address: str) -> None:
        prefix, started_key = self._keys(identity, address)
        started = cache.get(started_key)
        keys = [started_key]
        if isinstance(started, int | float):
            keys.append(self._count_key(prefix, started))
        cache.delete_many(keys)


def client_address(request) -> str:  # type: ignore[no-untyped-def]
    """The caller's address. Behind a reverse proxy, set TRUSTREGISTRY_TRUSTED_PROXY_COUNT."""
    hops = int(getattr(settings, "TRUSTREGISTRY_TRUSTED_PROXY_COUNT", 0))
    meta = getattr(request, "META", None) or getattr(request, "headers", {})
    if hops > 0:
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        parts = [p.strip() for p in forwarded.split(",") if p.strip()]
        if len(parts) >= hops:
            return parts[-hops]
    return str(meta.get("REMOTE_ADDR", "") or "unknown")
