"""The Redis cache backend keeps its client between operations and otherwise behaves as
Django's (against the Redis on 127.0.0.1:6379)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from trustregistry.common.redis_cache import RedisCache

REDIS = "redis://127.0.0.1:6379/7"


@pytest.fixture
def cache():  # type: ignore[no-untyped-def]
    backend = RedisCache(REDIS, {"KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"})
    yield backend
    backend.delete_many(["a", "n", "t"])


def test_one_client_serves_every_operation(cache):  # type: ignore[no-untyped-def]
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    assert cache.add("a", 1, 30) is True and cache.add("a", 2, 30) is False
    assert cache.get("a") == 1 and cache.get("missing", "default") == "default"
    cache.set("n", 0, 30)
    assert cache.incr("n") == 1 and cache.incr("n", 5) == 6
    cache.set("t", {"started": 1.5}, 30)
    assert cache.get_many(["a", "t"]) == {"a": 1, "t": {"started": 1.5}}
    cache.delete_many(["a", "n", "t"])
    assert cache.get("a") is None
    assert cache._cache.get_client() is client


def test_several_servers_each_get_their_own_client():
    backend = RedisCache(f"{REDIS};redis://127.0.0.1:6379/8", {})
    writer = backend._cache.get_client(write=True)
    reader = backend._cache.get_client()  # the second server: reads go to replicas
    assert writer is not reader and backend._cache.get_client() is reader
    assert writer.connection_pool.connection_kwargs["db"] == 7
    assert reader.connection_pool.connection_kwargs["db"] == 8


def test_settings_use_it_for_a_redis_cache_url():
    env = {**os.environ, "CACHE_URL": "redis://127.0.0.1:6379/3"}
    env.setdefault("DJANGO_SECRET_KEY", "x" * 50)
    out = subprocess.run(
        [sys.executable, "-c", "from trustregistry import settings; "
         "print(settings.CACHES['default']['BACKEND'])"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out.strip() == "trustregistry.common.redis_cache.RedisCache"
