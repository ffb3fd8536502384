"""The WSGI entry point refuses to serve on broken configuration (gunicorn runs no system
checks): without DJANGO_SECRET_KEY outside development mode it must not boot a worker that
answers every request, /healthz included, with 500."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from trustregistry.checks import refuse_configuration_errors

ROOT = Path(__file__).resolve().parent.parent


def _python(
    code: str, *args: str, timeout: float = 60, **env_changes: str | None
) -> subprocess.CompletedProcess[str]:
    """`python -c code *args` in a process of its own with the production settings, its
    environment changed (None: unset)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "trustregistry.settings"}
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _import_wsgi(**env_changes: str | None) -> subprocess.CompletedProcess[str]:
    return _python("import trustregistry.wsgi", **env_changes)


def test_no_secret_key_in_production_refuses_to_serve():
    done = _import_wsgi(DJANGO_SECRET_KEY=None, DJANGO_DEBUG=None)
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr


def test_a_usable_configuration_serves():
    done = _import_wsgi(DJANGO_SECRET_KEY="x" * 60, DJANGO_DEBUG=None)
    assert done.returncode == 0, done.stderr


def test_refusal_names_every_error(settings):
    settings.SECRET_KEY = ""
    settings.TRUSTREGISTRY_TOKEN_AUDIENCE = ""
    with pytest.raises(ImproperlyConfigured) as raised:
        refuse_configuration_errors()
    assert "trustregistry.E001" in str(raised.value)
    assert "trustregistry.E008" in str(raised.value)


def test_warnings_do_not_refuse(settings):
    settings.TRUSTREGISTRY_ISSUER = "https://registry.example.com/auth"  # W002 only
    refuse_configuration_errors()
