"""Settings read from the environment: a CACHE_URL that parses but cannot be used stops every
`manage.py` command with one line naming it (it used to pass `check` and fail at the first
cache use: a traceback, or a 500 from every token request while /readyz answered 200)."""

import pytest

from tests.test_checks import _manage
from tests.test_wsgi import _import_wsgi


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:notaport/0",  # passed check; every token request answered 500
        "redis://127.0.0.1:99999/0",
        "redis://:s3cret-pw@127.0.0.1:6379/0,redis://127.0.0.1:x/0",
        "memcache://127.0.0.1:11211",  # a class Django no longer has
        "pymemcache://127.0.0.1:11211",  # a client package that is not installed: a traceback
        "redis://127.0.0.1:6379/0?socket_timeout=abc",  # a TypeError at the first cache use
        "redis://127.0.0.1:6379/0?socket_connect_timeout=0",
    ],
)
def test_a_cache_url_that_cannot_be_used_is_one_line_from_manage_py(url):
    done = _manage("check", DJANGO_DEBUG="1", CACHE_URL=url)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("Configuration error: CACHE_URL"), done.stderr
    assert "Traceback" not in done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/10",
        "rediss://:pw@127.0.0.1:6380/0",
        "redis://127.0.0.1:6379/0,redis://127.0.0.1:6380/0",
        "redis://127.0.0.1:6379/0?socket_timeout=0.5&socket_connect_timeout=2",
        "locmemcache://",
    ],
)
def test_usable_cache_urls_pass(url):
    done = _manage("check", DJANGO_DEBUG="1", CACHE_URL=url)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "redis://admin:s3cret/pw@redis.example.com:6379/0",  # an unencoded "/" in the password
        "redis://127.0.0.1:6379/0,redis://:s3cret/pw@127.0.0.2:6379/0",
    ],
)
def test_a_malformed_cache_url_never_prints_its_password(url):
    done = _manage("check", DJANGO_DEBUG="1", CACHE_URL=url)
    assert done.returncode == 1 and "Configuration error: CACHE_URL" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
    served = _import_wsgi(DJANGO_DEBUG="1", CACHE_URL=url)  # the server's log: the traceback
    assert served.returncode != 0 and "CACHE_URL cannot be used" in served.stderr
    assert "s3cret" not in served.stderr + served.stdout
