"""Django's Redis cache backend, keeping its `redis.Redis` client instead of building a new one
for every cache operation.

Django's `RedisCacheClient.get_client` wraps the connection pool in a fresh `redis.Redis` on
each call, and redis-py's constructor registers some 170 response callbacks each time: on the
token endpoint, whose failure throttle reads the cache once per request, that cost more than
the Redis round trip itself (bench/load_profile.py). A `redis.Redis` is safe to share between
threads and holds no connection of its own (it borrows one from the pool per command), and
Django's caches are per thread anyway, so one client per pool is kept. Everything else is
Django's backend unchanged. Used by settings.CACHES whenever `CACHE_URL` is Redis.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # Django's private attributes, untyped in django-stubs
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pools = django_client._pools
            if index not in pools:  # as Django's _get_connection_pool, for this index
                pools[index] = django_client._pool_class.from_url(
                    django_client._servers[index], **django_client._pool_options
                )
            client = self._clients[index] = django_client._client(connection_pool=pools[index])
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
